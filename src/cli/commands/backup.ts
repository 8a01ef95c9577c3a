import { alertStateStoreOf } from '../../catalog/sqlite-alert-state-store.js';
import type { Command } from 'commander';
import { postgresSource, redisSource, type BackupSource } from '../../app/backup-sources.js';
import { planRun } from '../../app/plan-sources.js';
import { runBackup, type BackupInput, type BackupResult } from '../../app/run-backup.js';
import { parseBackupType, parseCompression } from '../../domain/backup-types.js';
import { parseDuration } from '../../domain/duration.js';
import { asBackupError, ValidationError } from '../../domain/errors.js';
import { parsePlanRunType } from '../../domain/plan.js';
import { silentProgress } from '../../ports/progress.js';
import { DEFAULT_PG_FINGERPRINT, PG_FINGERPRINT_LEVELS, type PgFingerprintLevel } from '../../sources/postgres/pg-fingerprint.js';
import { parsePgTarget } from '../../sources/postgres/pg-target.js';
import { parseRedisTarget } from '../../sources/redis/redis-target.js';
import { lookupPlan } from '../../runtime/plan-lookup.js';
import { collect, print, snapshotJson, withDeps } from '../command-support.js';
import { backupFailedAlert, raiseAlerts } from '../../alerts/raise-alerts.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration } from '../format.js';

/** `chrono-backup backup`: ad-hoc sources, or the sources of a plan. */
export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('back up files, configuration, PostgreSQL and Redis as one group of snapshots')
    .argument('[paths...]', 'files and directories to back up')
    .option('--plan <name>', 'back up the sources of this plan (see --plans)')
    .option('--plans <file>', 'plan file, YAML or JSON (default: plans in the catalog, then $CHRONO_BACKUP_PLANS or ~/.chrono-backup/plans.yaml)')
    .option('--type <type>', 'full | incremental | differential; with --plan also database_only | redis_only | files_only | config_only', 'full')
    .option('--postgres <url>', 'a PostgreSQL server or database: postgres://user@host:5432/db (password from PGPASSWORD or .pgpass; repeatable)', collect, [])
    .option('--pg-fingerprint <level>', `what else to record for restore tests: ${PG_FINGERPRINT_LEVELS.join(' | ')} (counts and checksums scan every table once more)`, DEFAULT_PG_FINGERPRINT)
    .option('--no-pg-globals', 'do not capture roles (pg_dumpall --globals-only)')
    .option('--redis <url>', 'a Redis server: redis://[user@]host:6379 or rediss:// (password from REDISCLI_AUTH; repeatable)', collect, [])
    .option('--exclude <glob>', 'skip matching entries (repeatable): *.log, cache/**, /abs/path', collect, [])
    .option('--compression <codec>', 'zstd | lz4 | gzip | none', 'zstd')
    .option('--tag <tag>', 'label the snapshots (repeatable)', collect, [])
    .option('--config <file>', 'a configuration file to capture (repeatable)', collect, [])
    .option('--env <name>', 'an environment variable to capture, or PREFIX_* (repeatable)', collect, [])
    .option('--lock-wait <duration>', 'how long to wait for a conflicting lock (e.g. 10m)', '10m')
    .action(async (paths: string[], opts, command: Command) => {
      // Everything is validated before dependencies are built: those create the key of a new repository.
      const lockWaitMs = parseDuration(opts.lockWait, 'lock-wait');
      const compressionGiven = command.getOptionValueSource('compression') === 'cli';
      let input: BackupInput;
      let repository: string | undefined;
      if (opts.plan) {
        if (paths.length > 0 || opts.postgres.length > 0 || opts.redis.length > 0 || opts.config.length > 0 || opts.env.length > 0) {
          throw new ValidationError('--plan takes its sources from the plan: give no paths, --postgres, --redis, --config or --env with it', 'plan');
        }
        const plan = await lookupPlan(opts.plan, opts.plans);
        const run = planRun(plan, parsePlanRunType(opts.type));
        repository = plan.repository;
        input = { type: run.backupType, label: run.label, plan: plan.name, sources: run.sources, compression: compressionGiven ? parseCompression(opts.compression) : (run.compression ?? 'zstd') };
      } else {
        const fingerprint = parseFingerprint(opts.pgFingerprint);
        const sources: BackupSource[] = [
          ...opts.postgres.map((url: string) => postgresSource(parsePgTarget(url, '--postgres'), { fingerprint, globals: opts.pgGlobals !== false })),
          ...opts.redis.map((url: string) => redisSource(parseRedisTarget(url, {}, '--redis'))),
        ];
        input = { paths, type: parseBackupType(opts.type), exclude: opts.exclude, configFiles: opts.config, environment: opts.env, sources, compression: parseCompression(opts.compression) };
      }
      return withDeps(
        command,
        true,
        async (deps, options) => {
          const what = input.plan ? `plan ${input.plan}` : deps.storage.location;
          let result: BackupResult;
          try {
            result = await runBackup(deps, { ...input, tags: opts.tag, scan: deps.progress !== silentProgress, lockWaitMs });
          } catch (error) {
            const failure = asBackupError(error);
            await raiseAlerts([backupFailedAlert(what, { repository: deps.storage.location, code: failure.code, error: failure.message })], deps.logger, { state: alertStateStoreOf(deps.catalog) });
            throw error;
          }
          if (result.failures.length > 0) {
            const failed = Object.fromEntries(result.failures.map((failure) => [`failed ${failure.source}`, failure.message]));
            await raiseAlerts([backupFailedAlert(what, { repository: deps.storage.location, backup: result.backupId, saved: result.snapshots.length, ...failed })], deps.logger, { state: alertStateStoreOf(deps.catalog) });
          }
          print(options, { id: result.backupId, snapshots: result.snapshots.map(snapshotJson), warnings: result.warnings, failures: result.failures }, () => describeBackup(result));
          if (result.warnings.length > 0 || result.failures.length > 0) process.exitCode = EXIT.partial;
        },
        repository,
      );
    });
}

function parseFingerprint(value: string): PgFingerprintLevel {
  if ((PG_FINGERPRINT_LEVELS as readonly string[]).includes(value)) return value as PgFingerprintLevel;
  throw new ValidationError(`--pg-fingerprint must be one of ${PG_FINGERPRINT_LEVELS.join(', ')}`, 'pg-fingerprint');
}

function describeBackup(result: BackupResult): string {
  return [
    ...result.warnings.map((warning) => `warning: ${warning}`),
    ...result.snapshots.map(
      (s) =>
        `snapshot ${s.id} saved (${s.source}${s.details?.pointInTime === false ? ', not point-in-time' : ''}): ${s.stats.items} items, ${formatBytes(s.stats.totalBytes)} total, ${formatBytes(s.stats.bytesRead)} read, ${formatBytes(s.stats.bytesAdded)} new (${formatBytes(s.stats.bytesStored)} stored) in ${formatDuration(s.stats.durationMs)}`,
    ),
    ...result.failures.map((failure) => `FAILED ${failure.source} ${failure.paths.join(' ')}: ${failure.message}`),
  ].join('\n');
}
