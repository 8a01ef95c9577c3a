import { alertChannelsFromEnv } from '../alerts/alert-config.js';
import { AlertDispatcher, type AlertInput } from '../alerts/alert-dispatcher.js';
import { asBackupError } from '../domain/errors.js';
import type { HealthCheck } from '../domain/health.js';
import type { AlertType } from '../ports/alert-channel.js';
import type { Logger } from '../ports/logger.js';

/**
 * Raises alerts from a command's outcome through the channels the environment configures (none: no
 * alert). An alert can never fail the command that raised it: a bad channel configuration or an
 * unreachable channel is logged and the command's own result stands.
 */
export async function raiseAlerts(alerts: readonly AlertInput[], logger: Logger | undefined, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  if (alerts.length === 0) return;
  const log: Logger = logger ?? { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
  let dispatcher: AlertDispatcher;
  try {
    const channels = alertChannelsFromEnv(env);
    if (channels.length === 0) return;
    dispatcher = new AlertDispatcher({ channels, logger: log });
  } catch (error) {
    log.warn('alerts are misconfigured; none sent', { error: asBackupError(error).message });
    return;
  }
  for (const alert of alerts) await dispatcher.dispatch(alert);
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
};

/** One alert per health check that is not ok: warnings as warnings, failures as critical. */
export function healthAlerts(checks: readonly HealthCheck[], location: string): AlertInput[] {
  return checks
    .filter((check) => check.status !== 'ok')
    .map((check) => ({
      type: HEALTH_ALERTS[check.name],
      severity: check.status === 'fail' ? 'critical' : 'warning',
      key: `health:${check.name}:${location}`,
      title: `Health check ${check.name} is ${check.status}: ${check.message}`,
      details: detailsOf({ ...check.values, repository: location }),
    }));
}

/** Alert details carry only values: the checks' `null` (not measured) is left out. */
function detailsOf(values: Record<string, string | number | null>): Record<string, string | number> {
  return Object.fromEntries(Object.entries(values).filter((entry): entry is [string, string | number] => entry[1] !== null));
}
