import type { AppDeps } from '../app/deps.js';
import { planRun } from '../app/plan-sources.js';
import { runBackup } from '../app/run-backup.js';
import { runRestore, type RestoreInput } from '../app/run-restore.js';
import { verifyRepository } from '../app/verify-repository.js';
import { backupFailedAlert, raiseAlerts, verificationFailedAlert } from '../alerts/raise-alerts.js';
import type { BackupJobRequest, Job, JobKind, JobService, ManagedRestoreJobRequest, RestoreJobRequest, VerifyJobRequest } from '../api/job-service.js';
import { asBackupError, BackupError, NotFoundError, ServiceUnavailableError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { AlertStateStore } from '../ports/alert-state-store.js';
import type { Catalog } from '../ports/catalog.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import { lookupPlan } from '../runtime/plan-lookup.js';
import { localRuntime } from '../runtime/local-runtime.js';
import type { LocalSettings } from '../runtime/local-settings.js';
import { parsePgTarget } from '../sources/postgres/pg-target.js';
import { parseRedisTarget } from '../sources/redis/redis-target.js';
import { rdsClientConfig } from '../workflows/aws-sdk-tasks.js';
import { checkRdsTargetTime, parseRdsRestore } from '../workflows/rds-restore-job.js';
import { localWorkflowRuntime } from '../workflows/local-workflow-runtime.js';
import { JobProgressRecorder } from './job-progress.js';
import { validateRestoredCounts } from './restore-validation.js';

export interface LocalJobRunnerOptions {
  catalog: Catalog;
  settings: LocalSettings;
  clock: Clock;
  logger: Logger;
  env: NodeJS.ProcessEnv;
  /** Open alert conditions, shared with the server's other alerting. */
  alertState: AlertStateStore;
  /** Finished jobs kept for polling; older ones are forgotten (their runs stay in the catalog). */
  keepFinished?: number;
}

interface RunningJob {
  job: Job;
  done: Promise<void>;
}

/**
 * Runs the API's backups, restores and verifications in this process, each with its own dependencies
 * over the server's shared catalog, and keeps their state for polling. Alerts are raised as the CLI
 * raises them. On shutdown, work still running after the grace period is marked interrupted, in the job
 * and in its catalog run, so nothing is left "running".
 */
export class LocalJobRunner implements JobService {
  private readonly jobs = new Map<string, RunningJob>();
  private accepting = true;

  constructor(private readonly options: LocalJobRunnerOptions) {}

  async startBackup(request: BackupJobRequest): Promise<Job> {
    const plan = await lookupPlan(request.plan, undefined, this.options.env);
    const run = planRun(plan, request.type, this.options.env);
    const repository = await this.repositoryFor(request.storageBackendId, plan.repository);
    return this.launch('backup', request.requestedBy, repository, true, async (deps) => {
      const what = `plan ${plan.name}`;
      try {
        const result = await runBackup(deps, { type: run.backupType, label: run.label, plan: plan.name, sources: run.sources, compression: run.compression ?? 'zstd', scan: true });
        if (result.failures.length > 0) {
          await raiseAlerts([backupFailedAlert(what, { repository: deps.storage.location, backup: result.backupId, saved: result.snapshots.length })], deps.logger, this.alertOptions());
        }
        const summary = {
          backup_id: result.backupId,
          snapshots: result.snapshots.map((snapshot) => ({ id: snapshot.id, source: snapshot.source, total_bytes: snapshot.stats.totalBytes, bytes_added: snapshot.stats.bytesAdded })),
          warnings: result.warnings,
          failures: result.failures,
        };
        if (!request.verify) return summary;
        deps.progress.phase('verify');
        const verification = await verifyRepository(deps, { snapshotId: result.backupId, level: 'read', readPercent: 100 });
        if (!verification.ok) await raiseAlerts([verificationFailedAlert(deps.storage.location, { backup: result.backupId, problems: verification.problems.length })], deps.logger, this.alertOptions());
        return { ...summary, verification: { ok: verification.ok, problems: verification.problems.length } };
      } catch (error) {
        const failure = asBackupError(error);
        await raiseAlerts([backupFailedAlert(what, { repository: deps.storage.location, code: failure.code, error: failure.message })], deps.logger, this.alertOptions());
        throw error;
      }
    });
  }

  async startRestore(request: RestoreJobRequest): Promise<Job> {
    const input: RestoreInput = {
      snapshotId: request.backupId,
      force: request.overwrite,
      confirmOverwrite: request.overwrite,
      env: this.options.env,
      ...(request.targetDirectory ? { target: request.targetDirectory } : {}),
      ...(request.include ? { include: request.include } : {}),
      ...(request.only ? { only: request.only } : {}),
      ...(request.targetPostgres ? { postgres: { target: parsePgTarget(request.targetPostgres, 'target_postgres') } } : {}),
      ...(request.targetRedis ? { redis: { target: parseRedisTarget(request.targetRedis, {}, 'target_redis') } } : {}),
    };
    const repository = await this.repositoryFor(request.storageBackendId);
    return this.launch('restore', request.requestedBy, repository, false, async (deps) => {
      const result = await runRestore(deps, input);
      const summary = { snapshots: result.snapshots, sources: result.sources, files: result.files, bytes: result.bytes };
      if (!request.validate) return summary;
      const validation = await validateRestoredCounts(deps, result, { partial: (request.include ?? []).length > 0 });
      return { ...summary, validation };
    });
  }

  /**
   * Runs the restore state machine's managed branch with the local runner: the same definition and
   * steps as in AWS, the RDS calls made with this machine's AWS credentials. The execution's run is the
   * job's run.
   */
  async startManagedRestore(request: ManagedRestoreJobRequest): Promise<Job> {
    const runId = `api-restore-${randomId(8)}`;
    checkRdsTargetTime(parseRdsRestore(request.rds, runId), this.options.clock.now());
    const [{ runLocalWorkflow }, { RDSClient }] = await Promise.all([import('../workflows/local-runner.js'), import('@aws-sdk/client-rds')]);
    const runtime = localWorkflowRuntime(this.options.settings, { env: this.options.env });
    return this.launch('restore', request.requestedBy, this.options.settings.repository, false, async () => {
      const rds = new RDSClient(rdsClientConfig(this.options.env));
      const execution = await runLocalWorkflow('restore', { rds: request.rds }, { runtime, executionName: runId, awsClients: { rds } }).finally(() => rds.destroy());
      const run = await this.options.catalog.getRun(runId);
      if (execution.status !== 'succeeded') throw new BackupError(run?.error?.code ?? `workflow.${execution.error?.Error ?? 'failed'}`, run?.error?.message ?? execution.error?.Cause ?? 'the managed restore failed');
      return { run_id: runId, ...((run?.summary?.results as Record<string, unknown> | undefined) ?? {}) };
    }, runId);
  }

  async startVerify(request: VerifyJobRequest): Promise<Job> {
    const repository = await this.repositoryFor(request.storageBackendId);
    return this.launch('verify', request.requestedBy, repository, false, async (deps) => {
      const result = await verifyRepository(deps, { snapshotId: request.backupId, level: request.level });
      if (!result.ok) await raiseAlerts([verificationFailedAlert(deps.storage.location, { backup: request.backupId, problems: result.problems.length })], deps.logger, this.alertOptions());
      return { ok: result.ok, level: result.level, problems: result.problems, damaged_snapshots: result.damagedSnapshots };
    });
  }

  private alertOptions() {
    return { env: this.options.env, state: this.options.alertState };
  }

  async getJob(id: string): Promise<Job | undefined> {
    const found = this.jobs.get(id);
    return found ? snapshotOf(found.job) : undefined;
  }

  async listJobs(): Promise<Job[]> {
    return [...this.jobs.values()].map((entry) => snapshotOf(entry.job)).reverse();
  }

  /**
   * Stops accepting work and waits up to `graceMs` for running jobs. Those still running are then
   * marked interrupted, with their catalog runs, and the method returns: the process may exit.
   */
  async shutdown(graceMs: number): Promise<{ finished: number; interrupted: number }> {
    this.accepting = false;
    const running = [...this.jobs.values()].filter((entry) => !isFinal(entry.job));
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, graceMs);
    });
    await Promise.race([Promise.all(running.map((entry) => entry.done)), graceOver]);
    clearTimeout(timer);
    let interrupted = 0;
    for (const { job } of running) {
      if (isFinal(job)) continue;
      interrupted++;
      const finishedAt = this.options.clock.now().toISOString();
      Object.assign(job, { status: 'interrupted', finishedAt, error: { code: 'interrupted', message: 'the server shut down before the job finished' } });
      if (job.runId) {
        await this.options.catalog
          .finishRun(job.runId, { status: 'interrupted', finishedAt, error: { code: 'interrupted', message: 'the server shut down before the run finished' } })
          .catch((error: unknown) => this.options.logger.error('could not mark run interrupted', { run: job.runId, error: asBackupError(error).message }));
      }
    }
    return { finished: running.length - interrupted, interrupted };
  }

  private repositoryFor(storageBackendId: number | undefined, planRepository?: string): Promise<string> {
    return repositoryLocation(this.options.catalog, storageBackendId, planRepository ?? this.options.settings.repository);
  }

  /** `runId`: the job's catalog run when known before the work starts (else the first run the work opens). */
  private launch(kind: JobKind, requestedBy: string, repository: string, mayCreate: boolean, work: (deps: AppDeps) => Promise<Record<string, unknown>>, runId?: string): Job {
    if (!this.accepting) throw new ServiceUnavailableError('the server is shutting down; no new jobs are accepted');
    const progress = new JobProgressRecorder();
    const job: Job = { id: `job-${randomId(8)}`, kind, status: 'queued', createdAt: this.options.clock.now().toISOString(), requestedBy, progress: progress.state, ...(runId ? { runId } : {}) };
    const done = (async () => {
      let deps: AppDeps | undefined;
      try {
        deps = await localRuntime({ ...this.options.settings, repository }, { progress, mayCreate, catalog: this.options.catalog, env: this.options.env });
        Object.assign(job, { status: 'running', startedAt: this.options.clock.now().toISOString() });
        // The first run is the job's own; a verification that follows a backup records a run of its own.
        const result = await work({ ...deps, observeRun: (run) => (job.runId ??= run.id) });
        if (job.status === 'running') Object.assign(job, { status: 'succeeded', result, finishedAt: this.options.clock.now().toISOString() });
      } catch (error) {
        const failure = asBackupError(error);
        this.options.logger.info('job failed', { job: job.id, kind, code: failure.code, error: failure.message });
        if (!isFinal(job)) Object.assign(job, { status: 'failed', error: { code: failure.code, message: failure.message }, finishedAt: this.options.clock.now().toISOString() });
      }
    })();
    this.jobs.set(job.id, { job, done });
    this.forgetOldJobs();
    return snapshotOf(job);
  }

  private forgetOldJobs(): void {
    const keep = this.options.keepFinished ?? 1000;
    const finished = [...this.jobs.values()].filter((entry) => isFinal(entry.job));
    for (const entry of finished.slice(0, Math.max(0, finished.length - keep))) this.jobs.delete(entry.job.id);
  }
}

/**
 * The repository a request works on: the named storage backend's (`@name`) when an id is given, else
 * `fallback` (a plan's repository, or the server's default).
 *
 * @throws NotFoundError naming `storage_backend_id` for an unknown backend.
 */
export async function repositoryLocation(catalog: Catalog, storageBackendId: number | undefined, fallback: string): Promise<string> {
  if (storageBackendId === undefined) return fallback;
  const backend = await catalog.getStorageBackend(storageBackendId);
  if (backend === undefined) throw new NotFoundError('storage backend', String(storageBackendId), { details: { field: 'storage_backend_id' } });
  return `@${backend.name}`;
}

function isFinal(job: Job): boolean {
  return job.status === 'succeeded' || job.status === 'failed' || job.status === 'interrupted';
}

/** A copy, so callers never hold the live object the job keeps updating. */
function snapshotOf(job: Job): Job {
  return structuredClone(job);
}
