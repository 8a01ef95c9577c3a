import { alertChannelsFromEnv } from './alert-config.js';
import { AlertDispatcher, type AlertInput } from './alert-dispatcher.js';
import { asBackupError } from '../domain/errors.js';
import type { HealthCheck } from '../domain/health.js';
import type { AlertType } from '../ports/alert-channel.js';
import type { Logger } from '../ports/logger.js';
import type { AlertStateStore } from '../ports/alert-state-store.js';

export interface RaiseOptions {
  env?: NodeJS.ProcessEnv;
  /** Open conditions kept across runs (the catalog's); default: this process only. */
  state?: AlertStateStore;
  /** Condition keys that are known to have cleared: each open one gets one recovery message. */
  resolved?: readonly string[];
}

/**
 * Raises alerts from a command's outcome through the channels the environment configures (none: no
 * alert), and sends recovery messages for conditions that cleared. An alert can never fail the command
 * that raised it: a bad channel configuration or an unreachable channel is logged and the command's own
 * result stands.
 */
export async function raiseAlerts(alerts: readonly AlertInput[], logger: Logger | undefined, options: RaiseOptions = {}): Promise<void> {
  const { env = process.env, state, resolved = [] } = options;
  if (alerts.length === 0 && resolved.length === 0) return;
  const log: Logger = logger ?? { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  let dispatcher: AlertDispatcher;
  try {
    const channels = alertChannelsFromEnv(env);
    if (channels.length === 0) return;
    dispatcher = new AlertDispatcher({ channels, logger: log, ...(state ? { state } : {}) });
  } catch (error) {
    log.warn('alerts are misconfigured; none sent', { error: asBackupError(error).message });
    return;
  }
  try {
    for (const alert of alerts) await dispatcher.dispatch(alert);
    for (const key of resolved) await dispatcher.resolve(key);
  } catch (error) {
    // Only the state store can throw here (channels never do): the alerts themselves were attempted.
    log.warn('alert state could not be kept', { error: asBackupError(error).message });
  }
}

/** What a failed backup (or a backup with failed sources) says. */
export function backupFailedAlert(what: string, details: Record<string, string | number>): AlertInput {
  return { type: 'backup_failed', severity: 'critical', key: `backup_failed:${what}`, title: `Backup failed: ${what}`, details };
}

/** What a verification that found damage (or a restore-test that found differences) says. */
export function verificationFailedAlert(location: string, details: Record<string, string | number>): AlertInput {
  return { type: 'verification_failed', severity: 'critical', key: `verification_failed:${location}`, title: `Verification failed for ${location}`, details };
}

const HEALTH_ALERTS: Record<HealthCheck['name'], AlertType> = {
  success_rate: 'low_success_rate',
  last_backup_age: 'overdue_backup',
  last_verified_age: 'verification_failed',
  performance: 'performance_degradation',
  storage: 'storage_issue',
  storage_quota: 'storage_issue',
  overdue_schedules: 'overdue_backup',
  recovery_point: 'overdue_backup',
};

/** The condition key of a health check on a repository: the same for its alert and its recovery. */
export function healthKey(check: Pick<HealthCheck, 'name'>, location: string): string {
  return `health:${check.name}:${location}`;
}

/** The keys of checks that are ok now: any open alert for them gets its recovery message. */
export function healthRecoveries(checks: readonly HealthCheck[], location: string): string[] {
  return checks.filter((check) => check.status === 'ok').map((check) => healthKey(check, location));
}

/** One alert per health check that is not ok: warnings as warnings, failures as critical. */
export function healthAlerts(checks: readonly HealthCheck[], location: string): AlertInput[] {
  return checks
    .filter((check) => check.status !== 'ok')
    .map((check) => ({
      type: HEALTH_ALERTS[check.name],
      severity: check.status === 'fail' ? 'critical' : 'warning',
      key: healthKey(check, location),
      title: `Health check ${check.name} is ${check.status}: ${check.message}`,
      details: detailsOf({ ...check.values, repository: location }),
    }));
}

/** Alert details carry only values: the checks' `null` (not measured) is left out. */
function detailsOf(values: Record<string, string | number | null>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== null));
}
