import { Option, type Command } from 'commander';
import type { AppDeps } from '../../app/deps.js';
import { withFailover, type Replica, type Served } from '../../app/failover.js';
import { replicateRepository, type ReplicationResult } from '../../app/replicate-repository.js';
import { checkReplication } from '../../app/replication-policy.js';
import { parseDuration } from '../../domain/duration.js';
import { ValidationError } from '../../domain/errors.js';
import { localSettings } from '../../runtime/local-settings.js';
import { openLocalStorage } from '../../runtime/local-runtime.js';
import { redactLocation } from '../../storage/open-storage.js';
import { jsonLogger } from '../../util/json-logger.js';
import { collect, print, withDeps, type GlobalOptions } from '../command-support.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatDuration } from '../format.js';

/**
 * `replicate --to B [--from A] [SNAPSHOT...]` copies snapshots, and always the WAL archive, to a
 * replica; `replicate check` reports which snapshots fall short of a policy ("2 copies on 2 providers").
 */
export function registerReplicateCommand(program: Command): void {
  const replicate = program
    .command('replicate')
    .description('copy snapshots, with the WAL archive and restore points, to a replica repository, transferring only what it lacks (default: every snapshot)')
    .argument('[snapshots...]', 'snapshot ids, backup ids or latest')
    .option('--from <location>', 'source repository: folder, URL or @backend (default: --repo)')
    .option('--to <location>', 'destination: folder, URL or @backend; created as a replica when empty')
    .option('--lock-wait <duration>', 'how long to wait for a conflicting lock on the destination', '0')
    .action(async (snapshots: string[], opts: { from?: string; to?: string; lockWait: string }, command: Command) => {
      if (opts.to === undefined) throw new ValidationError('replicate needs --to LOCATION (a folder, a storage URL or @backend)', 'to');
      const lockWaitMs = parseDuration(opts.lockWait, 'lock-wait');
      return withSourceDeps(command, opts.from, async (deps, options) => {
        const destination = await openLocation(deps, opts.to!);
        try {
          const result = await replicateRepository(deps, destination.storage, { snapshots, lockWaitMs });
          print(options, result, () =>
            [
              ...(result.created ? [`created replica of ${result.source.repository} at ${result.destination.location}`] : []),
              ...result.snapshots.map((s) =>
                s.status === 'present'
                  ? `snapshot ${s.snapshotId}: already in the replica`
                  : `snapshot ${s.snapshotId}: ${s.blobsCopied} blobs copied (${formatBytes(s.bytesCopied)}), ${s.blobsSkipped} already there (${formatBytes(s.bytesSkipped)}), in ${formatDuration(s.durationMs)}`,
              ),
              ...(result.walFilesCopied + result.walFilesPresent + result.walFilesNotNeeded + result.restorePointsCopied > 0 ? [describeWalCopy(result)] : []),
              `${result.blobsCopied} blobs (${formatBytes(result.bytesCopied)}) copied to ${result.destination.location} in ${formatDuration(result.durationMs)}, each verified by its content hash`,
            ].join('\n'),
          );
        } finally {
          await destination.close();
        }
      });
    });

  replicate
    .command('check')
    .description('list snapshots held in fewer copies, or on fewer provider kinds, than the policy asks (the source counts as one)')
    .option('--from <location>', 'source repository (default: --repo)')
    .option('--copies <n>', 'copies each snapshot needs, the source included', '2')
    .option('--providers <n>', 'distinct provider kinds (s3, gcs, azure, sftp, ftp, local) the copies need', '1')
    .option('--replica <location>', 'a replica to count from (repeatable); without any, the catalog receipts count', collect, [])
    .action(async (opts: { from?: string; copies: string; providers: string; replica: string[] }, command: Command) => {
      const copies = Number(opts.copies);
      const providers = Number(opts.providers);
      return withSourceDeps(command, opts.from, async (deps, options) => {
        const opened = await Promise.all(opts.replica.map((location) => openLocation(deps, location)));
        try {
          const result = await checkReplication(deps, { copies, providers, ...(opened.length > 0 ? { replicas: opened.map((o) => o.storage) } : {}) });
          print(options, result, () =>
            [
              ...result.unusableReplicas.map((r) => `warning: replica ${r.location} not counted: ${r.reason}`),
              ...result.shortfalls.map((s) => `SHORT ${s.snapshotId}: ${s.copies} cop${s.copies === 1 ? 'y' : 'ies'} on ${s.providers.join(', ')} (${s.locations.join(', ')})`),
              result.ok
                ? `all ${result.snapshotsChecked} snapshots have ${copies} copies on ${providers} provider(s) (counted from ${result.basis})`
                : `${result.shortfalls.length} of ${result.snapshotsChecked} snapshots fall short of ${copies} copies on ${providers} provider(s) (counted from ${result.basis})`,
            ].join('\n'),
          );
          if (!result.ok) process.exitCode = EXIT.integrity;
        } finally {
          await Promise.all(opened.map((o) => o.close()));
        }
      });
    });
}

/** The WAL line of `replicate`: what was copied, what the replica had, and what it does not need. */
function describeWalCopy(result: ReplicationResult): string {
  const extra = [
    `${result.walFilesPresent} already there`,
    ...(result.walFilesNotNeeded > 0 ? [`${result.walFilesNotNeeded} not needed (older than the replica's oldest base backup)`] : []),
  ];
  return `WAL: ${result.walFilesCopied} files copied (${formatBytes(result.walBytesCopied)}), ${extra.join(', ')}; ${result.restorePointsCopied} restore point(s) copied; each read back and opened from the replica`;
}

/** Runs `work` with the dependencies of the source repository: `--from` when given, else `--repo`. */
function withSourceDeps(command: Command, from: string | undefined, work: (deps: AppDeps, options: GlobalOptions) => Promise<void>): Promise<void> {
  // A command's own option values win over the global ones in optsWithGlobals, which withDeps reads.
  if (from !== undefined) command.setOptionValue('repo', from);
  return withDeps(command, false, work);
}

/** Opens another location the way `--repo` is opened (retries, bandwidth limit, `@backend` from the catalog). */
function openLocation(deps: AppDeps, location: string): Promise<{ storage: AppDeps['storage']; close: () => Promise<void> }> {
  const settings = localSettings(process.env);
  return openLocalStorage(location, settings, deps.logger ?? jsonLogger(settings.logLevel), process.env, deps.catalog);
}

/** `--replica LOCATION` (repeatable) for the commands that fall back to replicas: snapshots, verify, restore. */
export function replicaOption(): Option {
  return new Option('--replica <location>', 'a replica to use when the repository is unreachable (repeatable; default: $CHRONO_BACKUP_REPLICAS, comma-separated)').argParser(collect);
}

/** The replicas of a command: its `--replica` options, else CHRONO_BACKUP_REPLICAS. */
export function replicaLocations(given: string[] | undefined, env: NodeJS.ProcessEnv): string[] {
  if (given !== undefined && given.length > 0) return given;
  return (env.CHRONO_BACKUP_REPLICAS ?? '')
    .split(',')
    .map((location) => location.trim())
    .filter((location) => location !== '');
}

/**
 * Like withDeps, for the read-only commands that fall back to a replica when the repository is
 * unreachable (see app/failover.ts): prints the notice on stderr and hands `served` to the command, whose
 * JSON result then carries `servedBy`.
 */
export function withFailoverDeps(command: Command, wanted: string[], work: (deps: AppDeps, options: GlobalOptions, served: Served) => Promise<void>, fallbackRepository?: string): Promise<void> {
  return withDeps(command, false, async (deps, options) => {
    const replicas: Replica[] = replicaLocations(command.opts<{ replica?: string[] }>().replica, process.env).map((location) => ({
      location: redactLocation(location),
      open: () => openLocation(deps, location),
    }));
    await withFailover(deps, replicas, { snapshots: wanted }, async (served, how) => {
      if (how.notice !== undefined) process.stderr.write(`notice: ${how.notice}\n`);
      await work(served, options, how);
    });
  }, fallbackRepository);
}
