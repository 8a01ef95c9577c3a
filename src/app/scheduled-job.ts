import type { AlertInput } from '../alerts/alert-dispatcher.js';
import { backupFailedAlert } from '../alerts/raise-alerts.js';
import { asBackupError, ValidationError } from '../domain/errors.js';
import type { Plan } from '../domain/plan.js';
import type { RetentionPolicy } from '../domain/retention.js';
import type { Schedule } from '../domain/schedule.js';
import { cleanup } from './cleanup.js';
import type { AppDeps } from './deps.js';
import { planRun } from './plan-sources.js';
import { runBackup } from './run-backup.js';
import type { JobOutcome, ScheduledJob } from './scheduler.js';

/** What scheduled jobs need from their driver (the CLI's `scheduler run`, the local server). */
export interface ScheduledJobContext {
  /**
   * Runs `work` with the dependencies of a repository — `repository` is a plan's location, undefined
   * for the driver's default — and releases them afterwards.
   */
  withDeps<T>(repository: string | undefined, work: (deps: AppDeps) => Promise<T>): Promise<T>;
  findPlan(name: string): Promise<Plan>;
  findPolicy(name: string): Promise<RetentionPolicy>;
  /** Delivers alerts (a failed scheduled backup); never throws. Absent: no alerts. */
  alert?(alerts: AlertInput[], deps: AppDeps): Promise<void>;
}

/**
 * The job a scheduler runs for an occurrence, through the same use cases as the commands: a backup
 * schedule backs up its plan ({@link planRun} + {@link runBackup}, as `backup --plan`), a retention
 * schedule applies its named policy with `cleanup`, confirmed (forget, then prune) — legal holds are
 * kept by cleanup itself. A backup with failed sources is `partial`; one that failed is `failed`, and
 * both raise a `backup_failed` alert.
 */
export function scheduledJob(context: ScheduledJobContext): ScheduledJob {
  return async (schedule: Schedule): Promise<JobOutcome> => {
    if (schedule.kind === 'retention') return retention(context, schedule);
    return backup(context, schedule);
  };
}

async function backup(context: ScheduledJobContext, schedule: Schedule): Promise<JobOutcome> {
  if (!schedule.plan) throw new ValidationError(`schedule ${schedule.name} names no plan`, 'plan');
  const plan = await context.findPlan(schedule.plan);
  const run = planRun(plan, schedule.backup_type ?? 'full');
  // The same alert (and throttling key) as `backup --plan`.
  const what = `plan ${plan.name}`;
  return context.withDeps(plan.repository, async (deps) => {
    try {
      const result = await runBackup(deps, { type: run.backupType, label: run.label, plan: plan.name, sources: run.sources, compression: run.compression ?? 'zstd' });
      if (result.failures.length === 0) return { status: 'succeeded', runId: result.backupId };
      const failed = Object.fromEntries(result.failures.map((failure) => [`failed ${failure.source}`, failure.message]));
      await context.alert?.([backupFailedAlert(what, { repository: deps.storage.location, backup: result.backupId, saved: result.snapshots.length, ...failed })], deps);
      return { status: 'partial', runId: result.backupId, error: result.failures.map((failure) => `${failure.source}: ${failure.message}`).join('; ') };
    } catch (error) {
      const failure = asBackupError(error);
      await context.alert?.([backupFailedAlert(what, { repository: deps.storage.location, code: failure.code, error: failure.message })], deps);
      return { status: 'failed', error: failure.message };
    }
  });
}

async function retention(context: ScheduledJobContext, schedule: Schedule): Promise<JobOutcome> {
  if (!schedule.retention_policy) throw new ValidationError(`schedule ${schedule.name} names no retention policy`, 'retention_policy');
  const policy = await context.findPolicy(schedule.retention_policy);
  const repository = schedule.plan ? (await context.findPlan(schedule.plan)).repository : undefined;
  return context.withDeps(repository, async (deps) => {
    await cleanup(deps, { policy, confirm: true });
    return { status: 'succeeded' };
  });
}
