import type { Command } from 'commander';
import { fileURLToPath } from 'node:url';
import { parseDuration } from '../../domain/duration.js';
import { localSettings } from '../../runtime/local-settings.js';
import { parsePgTarget } from '../../sources/postgres/pg-target.js';
import { collect, print, snapshotJson, withDeps, type GlobalOptions } from '../command-support.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration, formatTable } from '../format.js';
import type { WalInvocation } from '../../pitr/wal-cli.js';

/** bin/chrono-backup.js, which restore_command calls (from dist/cli/commands/ or src/cli/commands/). */
const CLI_PATH = fileURLToPath(new URL('../../../bin/chrono-backup.js', import.meta.url));

/**
 * PostgreSQL point-in-time recovery: WAL archiving (`wal-push`, `wal-fetch`), base backups, restore
 * points, restores to a target and the recoverability window. The modules behind them load when a
 * command runs, so other commands do not pay for them.
 */
export function registerPitrCommands(program: Command): void {
  program
    .command('wal-push')
    .description("archive one WAL file (PostgreSQL's archive_command: chrono-backup wal-push %p)")
    .argument('<path>', 'the file to archive (%p, relative to the data directory)')
    .option('--system-id <id>', "the cluster's system identifier (default: from the segment, else global/pg_control)")
    .option('--async', 'hand the file to a background pusher that pushes ahead of PostgreSQL, and exit once it is archived (also CHRONO_BACKUP_WAL_ASYNC=1)')
    .option('--spool <dir>', 'with --async: status files and the pusher lock (default: pg_wal/.chrono-wal-async; also CHRONO_BACKUP_WAL_SPOOL)')
    .option('--async-concurrency <n>', 'with --async: pushes at once (1-32; default 4, or CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY)')
    .option('--async-queue <n>', 'with --async: files pushed ahead of PostgreSQL at most (default 64, or CHRONO_BACKUP_WAL_ASYNC_QUEUE)')
    .action(async (path: string, opts, command: Command) => {
      // The lean entry's checks, so both entries accept and refuse the same values.
      const { MAX_ASYNC_CONCURRENCY, MAX_ASYNC_QUEUE, parseWhole } = await import('../../pitr/wal-async-settings.js');
      return runWal(command, 'wal-push', [path], opts.systemId, undefined, {
        ...(opts.async ? { async: true } : {}),
        ...(opts.spool !== undefined ? { spool: opts.spool } : {}),
        ...(opts.asyncConcurrency !== undefined ? { asyncConcurrency: parseWhole(opts.asyncConcurrency, '--async-concurrency', 1, MAX_ASYNC_CONCURRENCY) } : {}),
        ...(opts.asyncQueue !== undefined ? { asyncQueue: parseWhole(opts.asyncQueue, '--async-queue', 1, MAX_ASYNC_QUEUE) } : {}),
      });
    });

  program
    .command('wal-fetch')
    .description("restore one archived WAL file (PostgreSQL's restore_command: chrono-backup wal-fetch %f %p)")
    .argument('<file>', 'the WAL file name (%f)')
    .argument('<path>', 'where to write it (%p)')
    .option('--system-id <id>', "the cluster's system identifier (default: from global/pg_control)")
    .option('--prefetch <n>', 'also fetch the next n segments into the data directory, for the next calls (pitr-restore uses 8)', '0')
    .action(async (file: string, path: string, opts, command: Command) => runWal(command, 'wal-fetch', [file, path], opts.systemId, opts.prefetch));

  program
    .command('basebackup')
    .description('take a PostgreSQL base backup (pg_basebackup) for point-in-time recovery')
    .requiredOption('--postgres <url>', 'the server: postgres://user@host:5432 (a replication-capable user; password from PGPASSWORD or .pgpass)')
    .option('--tag <tag>', 'label the snapshot (repeatable)', collect, [])
    .option('--lock-wait <duration>', 'how long to wait for a conflicting lock', '10m')
    .action(async (opts, command: Command) => {
      const target = parsePgTarget(opts.postgres, '--postgres');
      const lockWaitMs = parseDuration(opts.lockWait, 'lock-wait');
      return withDeps(command, true, async (deps, options) => {
        const { takeBaseBackup } = await import('../../app/pitr.js');
        const result = await takeBaseBackup(deps, target, { tags: opts.tag, lockWaitMs });
        const snapshot = result.snapshots[0]!;
        const physical = snapshot.details?.physical;
        print(options, { id: result.backupId, snapshots: result.snapshots.map(snapshotJson), warnings: result.warnings }, () =>
          [
            ...result.warnings.map((warning) => `warning: ${warning}`),
            `base backup ${snapshot.id} saved: ${formatBytes(snapshot.stats.totalBytes)} (${formatBytes(snapshot.stats.bytesStored)} stored) in ${formatDuration(snapshot.stats.durationMs)}`,
            ...(physical ? [`cluster ${physical.systemIdentifier}, timeline ${physical.timeline}, WAL ${physical.startLsn} – ${physical.stopLsn}, ended ${physical.stopTime}`] : []),
          ].join('\n'),
        );
        if (result.warnings.length > 0) process.exitCode = EXIT.partial;
      });
    });

  program
    .command('restore-point')
    .description('create a named restore point on the server (pg_create_restore_point) and record it')
    .argument('<name>', 'the restore point name (pitr-restore --target-name)')
    .requiredOption('--postgres <url>', 'the server: postgres://user@host:5432')
    .option('--no-switch-wal', 'do not switch to a new WAL segment (the point is archived when its segment fills)')
    .action(async (name: string, opts, command: Command) => {
      const target = parsePgTarget(opts.postgres, '--postgres');
      return withDeps(command, false, async (deps, options) => {
        const { createRestorePoint } = await import('../../app/pitr.js');
        const point = await createRestorePoint(deps, target, name, { switchWal: opts.switchWal !== false });
        print(options, point, () => `restore point "${point.name}" at ${point.lsn} (timeline ${point.timeline}, cluster ${point.systemIdentifier}, ${point.time})`);
      });
    });

  program
    .command('pitr-restore')
    .description('restore a PostgreSQL cluster to a moment: base backup + archived WAL')
    .option('--target-time <time>', 'recover up to this time (ISO 8601 with a time zone)')
    .option('--target-xid <xid>', 'recover up to and including this transaction')
    .option('--target-lsn <lsn>', 'recover up to this WAL position (X/Y)')
    .option('--target-name <name>', 'recover up to this restore point')
    .option('--latest', 'recover everything archived')
    .requiredOption('--data-dir <dir>', 'a new or empty data directory')
    .option('--system-id <id>', 'the cluster, when the repository holds several')
    .option('--base-backup <id>', 'restore from this base backup (default: the newest that ends before the target)')
    .option('--start', 'start PostgreSQL and wait until it has recovered and promoted')
    .option('--server-option <name=value>', 'with --start: a server setting for this start, e.g. port=5433 (repeatable)', collect, [])
    .option('--wait-timeout <duration>', 'with --start: how long recovery may take', '30m')
    .option('--tablespace-mapping <olddir=newdir>', 'restore the tablespace that was at olddir into newdir, a new or empty directory (repeatable; as pg_basebackup\'s option; \\= for an = in a path)', collect, [])
    .action(async (opts, command: Command) => {
      const { parseRecoveryTarget } = await import('../../pitr/recovery-target.js');
      const { parseTablespaceMappings } = await import('../../pitr/tablespaces.js');
      const tablespaceMappings = parseTablespaceMappings(opts.tablespaceMapping);
      const target = parseRecoveryTarget({ targetTime: opts.targetTime, targetXid: opts.targetXid, targetLsn: opts.targetLsn, targetName: opts.targetName, latest: opts.latest });
      const timeoutMs = parseDuration(opts.waitTimeout, 'wait-timeout');
      const globals = command.optsWithGlobals<GlobalOptions>();
      return withDeps(command, false, async (deps, options) => {
        const { pitrRestore } = await import('../../app/pitr.js');
        const { restoreCommandFor } = await import('../../pitr/recovery-config.js');
        // restore_command names the cluster, known once the base backup is chosen: built then.
        const settings = localSettings(process.env, globals.repo ? { repository: globals.repo } : {});
        const result = await pitrRestore(deps, {
          target,
          dataDirectory: opts.dataDir,
          ...(opts.systemId ? { systemIdentifier: opts.systemId } : {}),
          ...(opts.baseBackup ? { baseBackup: opts.baseBackup } : {}),
          restoreCommand: (systemIdentifier) => restoreCommandFor(settings, systemIdentifier, { node: process.execPath, cli: CLI_PATH }),
          ...(opts.start ? { start: { serverOptions: opts.serverOption, timeoutMs } } : {}),
          tablespaceMappings,
        });
        print(options, result, () =>
          [
            ...result.warnings.map((warning) => `warning: ${warning}`),
            `restored base backup ${result.baseBackup} of cluster ${result.systemIdentifier} into ${result.dataDirectory} in ${formatDuration(result.extractMs)}; recovery target: ${result.target}`,
            ...(result.tablespaces ?? []).map((t) => `tablespace ${t.name} (oid ${t.oid}, was ${t.location}) restored into ${t.directory}`),
            result.recovery
              ? `PostgreSQL recovered and promoted in ${formatDuration(result.recovery.durationMs)} (${result.recovery.state})`
              : `start PostgreSQL on ${result.dataDirectory} to recover to the target; it promotes there`,
          ].join('\n'),
        );
      });
    });

  registerWalPrune(program);

  program
    .command('pitr-status')
    .description('per PostgreSQL cluster: the earliest and latest restorable moment and gaps in the WAL archive')
    .option('--system-id <id>', 'only this cluster')
    .action(async (opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const { refreshRecoveryWindows } = await import('../../app/pitr.js');
        // Recorded in the catalog as well, where the metrics read it.
        const status = await refreshRecoveryWindows(deps, opts.systemId ? { systemIdentifier: opts.systemId } : {});
        print(options, status, () =>
          status.windows.length === 0
            ? 'no base backups and no archived WAL'
            : status.windows
                .map((window) =>
                  [
                    `cluster ${window.systemIdentifier}: ${window.earliest ? `restorable from ${window.earliest} to ${window.latest} (segment ${window.latestSegment}, LSN ${window.latestLsn})` : 'not restorable (no usable base backup)'}`,
                    `  timeline ${window.timeline}, ${window.segments} segments archived (${formatBytes(window.archivedBytes)})`,
                    ...(window.ranges.length > 1 ? window.ranges.map((range) => `  range ${range.from} – ${range.to} (from ${range.baseBackup})`) : []),
                    ...window.timelineSwitches.map((s) => `  timeline switch ${s.from} → ${s.to} at ${s.lsn}`),
                    ...window.gaps.map((gap) => `  GAP: ${gap.kind === 'missing-history' ? `history file ${gap.from} missing` : `${gap.count} segment(s) missing: ${gap.from}${gap.count > 1 ? ` – ${gap.to}` : ''}`}`),
                    formatTable(
                      ['BASE BACKUP', 'TIMELINE', 'ENDED', 'STOP LSN', 'RESTORABLE UNTIL'],
                      window.baseBackups.map((b) => [b.id, String(b.timeline), b.stopTime, b.stopLsn, b.restorableUntil ?? (b.usable ? '' : 'not on the current timeline')]),
                    ),
                  ].join('\n'),
                )
                .join('\n\n'),
        );
        if (status.windows.some((window) => window.gaps.length > 0)) process.exitCode = EXIT.partial;
      }),
    );
}

/** Registered by registerPitrCommands: WAL retention. */
function registerWalPrune(program: Command): void {
  program
    .command('wal-prune')
    .description('remove archived WAL older than the oldest base backup of each cluster (run after forget/cleanup)')
    .option('--dry-run', 'only report what would be removed')
    .option('--lock-wait <duration>', 'wait this long for running backups and restores', '0')
    .action(async (opts, command: Command) => {
      const lockWaitMs = parseDuration(opts.lockWait, 'lock-wait');
      return withDeps(command, false, async (deps, options) => {
        const { pruneWal } = await import('../../app/pitr.js');
        const result = await pruneWal(deps, { dryRun: opts.dryRun === true, lockWaitMs });
        print(options, result, () =>
          result.clusters
            .map((c) =>
              c.keptFrom
                ? `cluster ${c.systemIdentifier}: ${result.dryRun ? 'would remove' : 'removed'} ${c.deleted.length} WAL files (${formatBytes(c.deletedBytes)}) before ${c.keptFrom}; ${c.kept} kept`
                : `cluster ${c.systemIdentifier}: no base backup, all ${c.kept} WAL files kept`,
            )
            .join('\n') || 'no archived WAL',
        );
      });
    });
}

/** `asyncOptions`: wal-push's `--async` and its settings, already checked. */
async function runWal(command: Command, name: 'wal-push' | 'wal-fetch', positional: string[], systemIdentifier: string | undefined, prefetch?: string, asyncOptions: Pick<WalInvocation, 'async' | 'spool' | 'asyncConcurrency' | 'asyncQueue'> = {}): Promise<void> {
  const { parsePrefetch, runWalCommand } = await import('../../pitr/wal-cli.js');
  const globals = command.optsWithGlobals<GlobalOptions>();
  const ahead = prefetch !== undefined ? parsePrefetch(prefetch) : 0;
  process.exitCode = await runWalCommand({
    command: name,
    positional,
    ...asyncOptions,
    ...(globals.repo ? { repository: globals.repo } : {}),
    ...(systemIdentifier ? { systemIdentifier } : {}),
    ...(ahead > 0 ? { prefetch: ahead } : {}),
    ...(globals.json ? { json: true } : {}),
  });
}
