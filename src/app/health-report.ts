import { asBackupError } from '../domain/errors.js';
import { DEFAULT_HEALTH_THRESHOLDS, lastSuccessAge, overall, performance, recoveryPoint, storageQuota, successRate, type HealthCheck, type HealthStatus, type HealthThresholds, type RunFacts } from '../domain/health.js';
import type { RunRecord } from '../ports/catalog.js';
import type { ScheduleStore } from '../ports/schedule-store.js';
import { DEFAULT_OVERDUE_LIMITS, overdueSchedules, type OverdueLimits } from '../domain/schedule-health.js';
import { scheduleFacts } from './scheduler.js';
import type { AppDeps } from './deps.js';
import { repositoryStats } from './repository-stats.js';
import { testStorage } from './test-storage.js';
import { refreshRecoveryWindows } from './pitr.js';

export interface HealthInput {
  thresholds?: Partial<HealthThresholds>;
  /** Storage quota in bytes; absent means none. */
  quotaBytes?: number;
  /** A storage round trip slower than this (ms) warns (default 5 s). */
  slowStorageMs?: number;
  /** With a recovery point objective (minutes), the `recovery_point` check of WAL archiving runs too. */
  rpoMinutes?: number;
  /** With a schedule store, the `overdue_schedules` check runs too. */
  schedules?: ScheduleStore;
  overdue?: Partial<OverdueLimits>;
}

export interface HealthReport {
  status: HealthStatus;
  time: string;
  checks: HealthCheck[];
}

/** Canary size of the storage check: enough to see a broken backend, small enough to run hourly. */
const CANARY_BYTES = 256 * 1024;

/**
 * Runs every health check: the backup success rate, the age of the last backup and of the last
 * verification, performance against the plan's recent median (all from the catalog's run records),
 * a canary write/read/list/delete on the repository's storage, and the space used against a quota.
 * Checks never throw: a check that cannot run is itself a failed check.
 */
export async function healthReport(deps: AppDeps, input: HealthInput = {}): Promise<HealthReport> {
  const limits = { ...DEFAULT_HEALTH_THRESHOLDS, ...input.thresholds };
  const now = deps.clock.now();
  const runs = (await deps.catalog.listRuns({ limit: 2000 })).map(runFacts);
  const checks: HealthCheck[] = [
    successRate(runs, now, limits),
    lastSuccessAge('last_backup_age', 'backup', runs, now, limits.maxBackupAgeHours),
    lastSuccessAge('last_verified_age', 'verify', runs, now, limits.maxVerifiedAgeHours),
    performance(runs, limits),
    await storageCheck(deps, input.slowStorageMs ?? 5000),
    await quotaCheck(deps, input.quotaBytes),
    ...(input.schedules ? [await overdueCheck(input.schedules, now, input.overdue)] : []),
    ...(input.rpoMinutes !== undefined ? [await recoveryPointCheck(deps, now, input.rpoMinutes)] : []),
  ];
  return { status: overall(checks), time: now.toISOString(), checks };
}

function runFacts(run: RunRecord): RunFacts {
  const plan = run.summary?.plan;
  return { kind: run.kind, status: run.status, startedAt: run.startedAt, ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}), ...(typeof plan === 'string' ? { plan } : {}) };
}

async function storageCheck(deps: AppDeps, slowMs: number): Promise<HealthCheck> {
  try {
    const result = await testStorage(deps, { sizeBytes: CANARY_BYTES });
    const failed = result.steps.find((step) => step.status === 'failed');
    const totalMs = result.steps.reduce((sum, step) => sum + (step.latencyMs ?? 0), 0);
    const values = { location: deps.storage.location, roundTripMs: Math.round(totalMs) };
    if (failed) return { name: 'storage', status: 'fail', message: `${failed.step} failed: ${failed.error?.message ?? 'unknown error'}`, values };
    return { name: 'storage', status: totalMs > slowMs ? 'warn' : 'ok', message: `canary write, read, list and delete took ${Math.round(totalMs)} ms`, values };
  } catch (error) {
    return { name: 'storage', status: 'fail', message: asBackupError(error).message, values: { location: deps.storage.location } };
  }
}

async function quotaCheck(deps: AppDeps, quotaBytes: number | undefined): Promise<HealthCheck> {
  try {
    return storageQuota((await repositoryStats(deps)).storedBytes, quotaBytes);
  } catch (error) {
    return { name: 'storage_quota', status: 'fail', message: asBackupError(error).message, values: { quotaBytes: quotaBytes ?? null } };
  }
}

/** Against windows computed now, and recorded: the hourly check also keeps the metrics' record fresh. */
async function recoveryPointCheck(deps: AppDeps, now: Date, rpoMinutes: number): Promise<HealthCheck> {
  try {
    return recoveryPoint((await refreshRecoveryWindows(deps, { restorePoints: false })).windows, now, rpoMinutes);
  } catch (error) {
    return { name: 'recovery_point', status: 'fail', message: asBackupError(error).message, values: { rpoMinutes } };
  }
}

async function overdueCheck(store: ScheduleStore, now: Date, limits: Partial<OverdueLimits> | undefined): Promise<HealthCheck> {
  try {
    return overdueSchedules(await scheduleFacts(store, now), now, { ...DEFAULT_OVERDUE_LIMITS, ...limits });
  } catch (error) {
    return { name: 'overdue_schedules', status: 'fail', message: asBackupError(error).message, values: {} };
  }
}
