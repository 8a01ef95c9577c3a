/**
 * Health checks as pure functions of the run history and a few measurements, so each verdict can be
 * tested on a scenario built for it. Each check answers ok / warn / fail with the numbers behind it.
 */
export type HealthStatus = 'ok' | 'warn' | 'fail';

export interface HealthCheck {
  name: 'success_rate' | 'last_backup_age' | 'last_verified_age' | 'performance' | 'storage' | 'storage_quota' | 'overdue_schedules' | 'recovery_point';
  status: HealthStatus;
  message: string;
  values: Record<string, number | string | null>;
}

/** What the checks read of a run (a subset of the catalog's run record). */
export interface RunFacts {
  kind: string;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  startedAt: string;
  finishedAt?: string;
  /** Plan of a backup run, when it had one (performance is compared within a plan). */
  plan?: string;
  /** Bytes a backup read, for its throughput. */
  bytesRead?: number;
}

export interface HealthThresholds {
  /** Window of the success rate, in hours (default 168: a week). */
  windowHours: number;
  /** Success rate below this warns; below half of it fails (default 0.9). */
  minSuccessRate: number;
  /** A last successful backup older than this warns; twice as old fails (default 26 h). */
  maxBackupAgeHours: number;
  /** A last successful verification older than this warns; twice as old fails (default 168 h). */
  maxVerifiedAgeHours: number;
  /** The last backup slower than this × the median of the previous ones of its plan warns (1.5). */
  degradationFactor: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { windowHours: 168, minSuccessRate: 0.9, maxBackupAgeHours: 26, maxVerifiedAgeHours: 168, degradationFactor: 1.5 };

const HOUR = 3_600_000;

/** Share of backup runs that succeeded within the window. No runs at all is a warning, not a pass. */
export function successRate(runs: readonly RunFacts[], now: Date, limits: HealthThresholds): HealthCheck {
  const since = now.getTime() - limits.windowHours * HOUR;
  const finished = runs.filter((run) => run.kind === 'backup' && run.status !== 'running' && Date.parse(run.startedAt) >= since);
  const succeeded = finished.filter((run) => run.status === 'succeeded').length;
  const values = { backups: finished.length, succeeded, windowHours: limits.windowHours, threshold: limits.minSuccessRate };
  if (finished.length === 0) return { name: 'success_rate', status: 'warn', message: `no backup ran in the last ${limits.windowHours} h`, values: { ...values, rate: null } };
  const rate = succeeded / finished.length;
  const status = rate >= limits.minSuccessRate ? 'ok' : rate >= limits.minSuccessRate / 2 ? 'warn' : 'fail';
  return { name: 'success_rate', status, message: `${succeeded} of ${finished.length} backups succeeded in the last ${limits.windowHours} h (${(rate * 100).toFixed(0)}%)`, values: { ...values, rate } };
}

/** Age of the newest successful run of `kind`: warn past the limit, fail past twice the limit. */
export function lastSuccessAge(name: 'last_backup_age' | 'last_verified_age', kind: string, runs: readonly RunFacts[], now: Date, limitHours: number): HealthCheck {
  const last = runs
    .filter((run) => run.kind === kind && run.status === 'succeeded')
    .map((run) => Date.parse(run.finishedAt ?? run.startedAt))
    .reduce((newest, time) => Math.max(newest, time), Number.NEGATIVE_INFINITY);
  const what = kind === 'backup' ? 'backup' : 'verification';
  if (!Number.isFinite(last)) return { name, status: 'fail', message: `no successful ${what} on record`, values: { ageHours: null, limitHours } };
  const ageHours = (now.getTime() - last) / HOUR;
  const status = ageHours <= limitHours ? 'ok' : ageHours <= 2 * limitHours ? 'warn' : 'fail';
  return { name, status, message: `last successful ${what} ${ageHours.toFixed(1)} h ago (limit ${limitHours} h)`, values: { ageHours: Number(ageHours.toFixed(2)), limitHours, last: new Date(last).toISOString() } };
}

/**
 * The newest successful backup against the median duration of the previous ones of the same plan (at
 * least three): slower than `degradationFactor` × the median warns.
 */
export function performance(runs: readonly RunFacts[], limits: HealthThresholds): HealthCheck {
  const backups = runs
    .filter((run) => run.kind === 'backup' && run.status === 'succeeded' && run.finishedAt)
    .sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt));
  const latest = backups.at(-1);
  const earlier = latest ? backups.slice(0, -1).filter((run) => run.plan === latest.plan).slice(-20) : [];
  if (!latest || earlier.length < 3) return { name: 'performance', status: 'ok', message: 'not enough backups of this plan to compare yet', values: { compared: earlier.length } };
  const duration = (run: RunFacts) => (Date.parse(run.finishedAt!) - Date.parse(run.startedAt)) / 1000;
  const durations = earlier.map(duration).sort((a, b) => a - b);
  const median = durations[Math.floor(durations.length / 2)]!;
  const seconds = duration(latest);
  const factor = median > 0 ? seconds / median : 1;
  const status = factor > limits.degradationFactor ? 'warn' : 'ok';
  return {
    name: 'performance',
    status,
    message: `last backup${latest.plan ? ` of plan ${latest.plan}` : ''} took ${seconds.toFixed(1)} s, ${factor.toFixed(2)}× the median of the ${earlier.length} before it`,
    values: { seconds, medianSeconds: median, factor: Number(factor.toFixed(2)), limit: limits.degradationFactor },
  };
}

/** Repository size against a quota: warn past 80 %, fail past 95 %; no quota is ok. */
export function storageQuota(storedBytes: number, quotaBytes: number | undefined): HealthCheck {
  if (quotaBytes === undefined) return { name: 'storage_quota', status: 'ok', message: `${storedBytes} bytes stored, no quota set`, values: { storedBytes, quotaBytes: null } };
  const used = storedBytes / quotaBytes;
  const status = used <= 0.8 ? 'ok' : used <= 0.95 ? 'warn' : 'fail';
  return { name: 'storage_quota', status, message: `${(used * 100).toFixed(1)}% of the quota used`, values: { storedBytes, quotaBytes, used: Number(used.toFixed(4)) } };
}

/** The worst of the statuses: the overall health. */
export function overall(checks: readonly HealthCheck[]): HealthStatus {
  return checks.some((check) => check.status === 'fail') ? 'fail' : checks.some((check) => check.status === 'warn') ? 'warn' : 'ok';
}

/**
 * Point-in-time recovery against the recovery point objective: for each PostgreSQL cluster archiving WAL,
 * how far the end of its recoverability window lags behind now. Past the RPO warns, past twice it fails;
 * a cluster with WAL but no restorable window (no usable base backup) fails.
 */
export function recoveryPoint(windows: readonly { systemIdentifier: string; latest?: string }[], now: Date, rpoMinutes: number): HealthCheck {
  if (windows.length === 0) return { name: 'recovery_point', status: 'ok', message: 'no cluster archives WAL here', values: { clusters: 0, rpoMinutes } };
  const lags = windows.map((window) => ({ cluster: window.systemIdentifier, minutes: window.latest ? (now.getTime() - Date.parse(window.latest)) / 60_000 : Number.POSITIVE_INFINITY }));
  const worst = lags.reduce((a, b) => (b.minutes > a.minutes ? b : a));
  const values = { clusters: windows.length, worstCluster: worst.cluster, lagMinutes: Number.isFinite(worst.minutes) ? Math.round(worst.minutes * 10) / 10 : null, rpoMinutes };
  if (!Number.isFinite(worst.minutes)) return { name: 'recovery_point', status: 'fail', message: `cluster ${worst.cluster} has WAL but no restorable window (no usable base backup)`, values };
  const status: HealthStatus = worst.minutes > 2 * rpoMinutes ? 'fail' : worst.minutes > rpoMinutes ? 'warn' : 'ok';
  return { name: 'recovery_point', status, message: `the newest restorable moment of cluster ${worst.cluster} is ${values.lagMinutes} min old (RPO ${rpoMinutes} min)`, values };
}
