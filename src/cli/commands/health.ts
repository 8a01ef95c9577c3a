import type { Command } from 'commander';
import { healthReport } from '../../app/health-report.js';
import { scheduleStoreOf } from '../../catalog/sqlite-schedule-store.js';
import type { ScheduleStore } from '../../ports/schedule-store.js';
import { rpoSetting } from '../../runtime/health-settings.js';
import { ValidationError } from '../../domain/errors.js';
import { print, withDeps } from '../command-support.js';
import { healthAlerts, healthRecoveries, raiseAlerts } from '../../alerts/raise-alerts.js';
import { alertStateStoreOf } from '../../catalog/sqlite-alert-state-store.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../format.js';

/** `chrono-backup health`: every health check, ok / warn / fail with its numbers. */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('health checks: success rate, backup and verification age, performance, storage, quota, overdue schedules (exit 0 ok, 3 warn, 1 fail)')
    .option('--quota <bytes>', 'storage quota in bytes (default: $CHRONO_BACKUP_QUOTA_BYTES, none)')
    .option('--rpo <duration>', 'recovery point objective of WAL archiving, e.g. 15m: the recovery_point check (default: $CHRONO_BACKUP_PITR_RPO, none)')
    .option('--max-backup-age <hours>', 'a last successful backup older than this warns', (value) => positive(value, 'max-backup-age'))
    .option('--max-verified-age <hours>', 'a last successful verification older than this warns', (value) => positive(value, 'max-verified-age'))
    .action(async (opts: { quota?: string; rpo?: string; maxBackupAge?: number; maxVerifiedAge?: number }, command: Command) => {
      const rpoMinutes = rpoSetting(opts.rpo, process.env);
      const quotaText = opts.quota ?? process.env.CHRONO_BACKUP_QUOTA_BYTES;
      const quotaBytes = quotaText === undefined ? undefined : positive(quotaText, opts.quota ? 'quota' : 'CHRONO_BACKUP_QUOTA_BYTES');
      return withDeps(command, false, async (deps, options) => {
        const report = await healthReport(deps, {
          ...(quotaBytes !== undefined ? { quotaBytes } : {}),
          ...(rpoMinutes !== undefined ? { rpoMinutes } : {}),
          ...withSchedules(scheduleStoreOf(deps.catalog)),
          thresholds: { ...(opts.maxBackupAge ? { maxBackupAgeHours: opts.maxBackupAge } : {}), ...(opts.maxVerifiedAge ? { maxVerifiedAgeHours: opts.maxVerifiedAge } : {}) },
        });
        // Checks that are ok again send their recovery message (the open conditions live in the catalog).
        await raiseAlerts(healthAlerts(report.checks, deps.storage.location), deps.logger, { state: alertStateStoreOf(deps.catalog), resolved: healthRecoveries(report.checks, deps.storage.location) });
        print(options, report, () => [`health: ${report.status}`, formatTable(['CHECK', 'STATUS', 'DETAIL'], report.checks.map((check) => [check.name, check.status, check.message]))].join('\n'));
        process.exitCode = report.status === 'ok' ? EXIT.ok : report.status === 'warn' ? EXIT.partial : EXIT.failure;
      });
    });
}

function positive(value: string, field: string): number {
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0) throw new ValidationError(`${field} must be a positive number (got "${value}")`, field);
  return number;
}

/** The overdue-schedules check runs when the catalog keeps schedules. */
function withSchedules(store: ScheduleStore | undefined): { schedules?: ScheduleStore } {
  return store ? { schedules: store } : {};
}
