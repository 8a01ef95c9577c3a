import type { Command } from 'commander';
import { runRestore, type RestoreInput, type RestoreResult } from '../../app/run-restore.js';
import { SOURCE_KINDS, type SourceKind } from '../../domain/snapshot.js';
import { ValidationError } from '../../domain/errors.js';
import type { Plan } from '../../domain/plan.js';
import { parsePgTarget } from '../../sources/postgres/pg-target.js';
import { parseRedisTarget } from '../../sources/redis/redis-target.js';
import { lookupPlan } from '../../runtime/plan-lookup.js';
import { collect, print } from '../command-support.js';
import { replicaOption, withFailoverDeps } from './replicate.js';
import { formatBytes, formatDuration } from '../format.js';

/** `chrono-backup restore`: one snapshot or a whole group, each source to its own kind of target. */
export function registerRestoreCommand(program: Command): void {
  program
    .command('restore')
    .description('restore a snapshot, or every snapshot of a backup id ("latest" for the newest), each to its target')
    .argument('<id>', 'snapshot id, backup id or latest')
    .option('--target <dir>', 'directory for files and config (database snapshots without a server target: their dump files)')
    .option('--plan <name>', 'take the targets from this plan (full system recovery)')
    .option('--plans <file>', 'plan file (default: plans in the catalog, then $CHRONO_BACKUP_PLANS or ~/.chrono-backup/plans.yaml)')
    .option('--only <source>', `restore only this source of the group: ${SOURCE_KINDS.join(' | ')} (repeatable)`, collect, [])
    .option('--include <path>', 'restore only this path inside a files snapshot (repeatable)', collect, [])
    .option('--force', 'restore into a non-empty target directory, replacing entries in the way')
    .option('--target-postgres <url>', 'PostgreSQL server to restore into; with a database name, restore into that database')
    .option('--database <name>', 'restore only this database of the snapshot (repeatable)', collect, [])
    .option('--table <name>', 'restore only this table, `table` or `schema.table` (repeatable)', collect, [])
    .option('--schema <name>', 'restore only this schema (repeatable)', collect, [])
    .option('--no-globals', 'do not recreate roles')
    .option('--target-redis <url>', 'Redis server to restore into (password from REDISCLI_AUTH)')
    .option('--redis-data-dir <dir>', 'write dump.rdb into this data directory of a stopped Redis server')
    .option('--confirm-overwrite', 'restore into an existing database or over existing Redis keys')
    .addOption(replicaOption())
    .action(async (id: string, opts, command: Command) => {
      const plan = opts.plan ? await lookupPlan(opts.plan, opts.plans) : undefined;
      const input = restoreInput(id, opts, plan);
      return withFailoverDeps(
        command,
        [id],
        async (deps, options, served) => {
          const result = await runRestore(deps, input);
          print(options, { ...result, ...(served.failedOver ? { servedBy: served.servedBy } : {}) }, () => describeRestore(result));
          if (result.sources.some((source) => source.warnings.length > 0)) process.exitCode = 3;
        },
        plan?.repository,
      );
    });
}

interface RestoreOptions {
  target?: string;
  only: string[];
  include: string[];
  force?: boolean;
  targetPostgres?: string;
  database: string[];
  table: string[];
  schema: string[];
  globals: boolean;
  targetRedis?: string;
  redisDataDir?: string;
  confirmOverwrite?: boolean;
}

/** Command-line options first, then the plan's restore targets. */
function restoreInput(id: string, opts: RestoreOptions, plan: Plan | undefined): RestoreInput {
  const only = opts.only.map((kind) => {
    if (!(SOURCE_KINDS as readonly string[]).includes(kind)) throw new ValidationError(`--only must be one of ${SOURCE_KINDS.join(', ')} (got "${kind}")`, 'only');
    return kind as SourceKind;
  });
  const postgresUrl = opts.targetPostgres ?? plan?.restore?.postgres;
  const redisUrl = opts.targetRedis ?? plan?.restore?.redis;
  const target = opts.target ?? plan?.restore?.files;
  return {
    snapshotId: id,
    ...(target ? { target } : {}),
    include: opts.include,
    force: opts.force === true,
    ...(only.length > 0 ? { only } : {}),
    confirmOverwrite: opts.confirmOverwrite === true,
    ...(postgresUrl
      ? {
          postgres: {
            target: parsePgTarget(postgresUrl, opts.targetPostgres ? '--target-postgres' : `plans.${plan!.name}.restore.postgres`),
            globals: opts.globals,
            ...(opts.database.length > 0 ? { databases: opts.database } : {}),
            ...(opts.table.length > 0 ? { tables: opts.table } : {}),
            ...(opts.schema.length > 0 ? { schemas: opts.schema } : {}),
          },
        }
      : {}),
    ...(redisUrl || opts.redisDataDir
      ? { redis: { ...(redisUrl ? { target: parseRedisTarget(redisUrl, {}, opts.targetRedis ? '--target-redis' : `plans.${plan!.name}.restore.redis`) } : {}), ...(opts.redisDataDir ? { dataDirectory: opts.redisDataDir } : {}) } }
      : {}),
  };
}

function describeRestore(result: RestoreResult): string {
  return result.sources
    .flatMap((source) => [
      `restored ${source.snapshot} (${source.source}) to ${source.into.join(', ')}${source.files !== undefined ? `: ${source.files} files` : ''}${source.keys !== undefined ? `: ${source.keys} keys` : ''}${source.bytes !== undefined ? `, ${formatBytes(source.bytes)}` : ''} in ${formatDuration(source.durationMs)}`,
      ...source.warnings.map((warning) => `warning: ${warning}`),
    ])
    .concat(result.skipped.length ? [`${result.skipped.length} special entries skipped`] : [])
    .join('\n');
}
