import type { Command } from 'commander';
import { healthReport } from '../../app/health-report.js';
import { ValidationError } from '../../domain/errors.js';
import { print, withDeps } from '../command-support.js';
import { healthAlerts, raiseAlerts } from '../alerting.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../format.js';

/** `chrono-backup health`: every health check, ok / warn / fail with its numbers. */
export function registerHealthCommand(program: Command): void {
  program
    .command('health')
    .description('health checks: success rate, backup and verification age, performance, storage, quota (exit 0 ok, 3 warn, 1 fail)')
    .option('--quota <bytes>', 'storage quota in bytes (default: $CHRONO_BACKUP_QUOTA_BYTES, none)')
    .option('--max-backup-age <hours>', 'a last successful backup older than this warns', (value) => positive(value, 'max-backup-age'))
    .option('--max-verified-age <hours>', 'a last successful verification older than this warns', (value) => positive(value, 'max-verified-age'))
    .action(async (opts: { quota?: string; maxBackupAge?: number; maxVerifiedAge?: number }, command: Command) => {
      const quotaText = opts.quota ?? process.env.CHRONO_BACKUP_QUOTA_BYTES;
      const quotaBytes = quotaText === undefined ? undefined : positive(quotaText, opts.quota ? 'quota' : 'CHRONO_BACKUP_QUOTA_BYTES');
      return withDeps(command, false, async (deps, options) => {
        const report = await healthReport(deps, {
          ...(quotaBytes !== undefined ? { quotaBytes } : {}),
          thresholds: { ...(opts.maxBackupAge ? { maxBackupAgeHours: opts.maxBackupAge } : {}), ...(opts.maxVerifiedAge ? { maxVerifiedAgeHours: opts.maxVerifiedAge } : {}) },
        });
        await raiseAlerts(healthAlerts(report.checks, deps.storage.location), deps.logger);
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
