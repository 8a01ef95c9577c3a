import { Command, Option } from 'commander';
import { runBackup } from '../app/run-backup.js';
import { runRestore } from '../app/run-restore.js';
import { verifyRepository, VERIFY_LEVELS, type VerifyLevel } from '../app/verify-repository.js';
import { forgetSnapshots } from '../app/forget-snapshots.js';
import { pruneRepository } from '../app/prune-repository.js';
import { repositoryStats } from '../app/repository-stats.js';
import { rebuildCatalog } from '../app/rebuild-catalog.js';
import { repairIndex } from '../app/repair-index.js';
import { addKeySlot, listKeys, rotateDataKey } from '../app/manage-keys.js';
import { openOrCreate } from '../app/repository-session.js';
import { parseBackupType, parseCompression } from '../domain/backup-types.js';
import { parseDuration } from '../domain/duration.js';
import { BackupError, ValidationError } from '../domain/errors.js';
import { silentProgress } from '../ports/progress.js';
import { keyProvider } from '../runtime/local-runtime.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { formatBytes, formatDuration, formatTable } from './format.js';
import { collect, print, snapshotJson, withDeps } from './command-support.js';

export function buildProgram(): Command {
  const program = new Command('chrono-backup')
    .description('Encrypted, deduplicating backups of files, configuration and databases')
    .option('--repo <location>', 'repository folder or URL: s3://, gs://, azure://, sftp://, ftp://, ftps:// (default: $CHRONO_BACKUP_REPO, $BACKUP_LOCAL_PATH or ~/.chrono-backup/repo)')
    .option('--json', 'print machine-readable JSON on stdout')
    .option('--no-progress', 'do not draw progress on the terminal')
    .showHelpAfterError();

  program
    .command('init')
    .description('create a repository (a first backup does this on its own)')
    .action(async (_opts, command: Command) =>
      withDeps(command, true, async (deps, options) => {
        const repository = await openOrCreate(deps, true);
        print(options, { repository: repository.config.id, location: deps.storage.location }, () => `repository ${repository.config.id} ready at ${deps.storage.location}`);
      }),
    );

  program
    .command('backup')
    .description('back up files and directories (and optionally config files and environment variables)')
    .argument('[paths...]', 'files and directories to back up')
    .option('--type <type>', 'full | incremental | differential', 'full')
    .option('--exclude <glob>', 'skip matching entries (repeatable): *.log, cache/**, /abs/path', collect, [])
    .option('--compression <codec>', 'zstd | lz4 | gzip | none', 'zstd')
    .option('--tag <tag>', 'label the snapshot (repeatable)', collect, [])
    .option('--config <file>', 'a configuration file to capture (repeatable)', collect, [])
    .option('--env <name>', 'an environment variable to capture, or PREFIX_* (repeatable)', collect, [])
    .option('--lock-wait <duration>', 'how long to wait for a conflicting lock (e.g. 10m)', '10m')
    .action(async (paths: string[], opts, command: Command) => {
      // Validate before building dependencies: those create the default key file of a new repository.
      const type = parseBackupType(opts.type);
      const compression = parseCompression(opts.compression);
      const lockWaitMs = parseDuration(opts.lockWait, 'lock-wait');
      return withDeps(command, true, async (deps, options) => {
        const result = await runBackup(deps, {
          paths,
          type,
          exclude: opts.exclude,
          compression,
          tags: opts.tag,
          configFiles: opts.config,
          environment: opts.env,
          scan: deps.progress !== silentProgress,
          lockWaitMs,
        });
        const first = result.snapshots[0]!;
        print(options, { id: result.backupId, snapshots: result.snapshots.map(snapshotJson), warnings: result.warnings }, () =>
          [
            ...result.warnings.map((warning) => `warning: ${warning}`),
            ...result.snapshots.map(
              (s) =>
                `snapshot ${s.id} saved (${s.source}): ${s.stats.items} items, ${formatBytes(s.stats.totalBytes)} total, ${formatBytes(s.stats.bytesRead)} read, ${formatBytes(s.stats.bytesAdded)} new (${formatBytes(s.stats.bytesStored)} stored) in ${formatDuration(first.stats.durationMs)}`,
            ),
          ].join('\n'),
        );
        if (result.warnings.length > 0) process.exitCode = EXIT.partial;
      });
    });

  program
    .command('snapshots')
    .description('list snapshots, oldest first')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const repository = await openOrCreate(deps, false);
        const snapshots = await repository.listSnapshots();
        print(options, snapshots.map(snapshotJson), () =>
          formatTable(
            ['ID', 'TYPE', 'SOURCE', 'TIME', 'PATHS', 'SIZE', 'ADDED', 'TAGS'],
            snapshots.map((s) => [s.id, s.type, s.source, s.time, s.paths.join(' '), formatBytes(s.stats.totalBytes), formatBytes(s.stats.bytesAdded), s.tags.join(',')]),
          ),
        );
      }),
    );

  program
    .command('restore')
    .description('restore a snapshot (or a backup id, or "latest") into a directory')
    .argument('<id>', 'snapshot id, backup id or latest')
    .requiredOption('--target <dir>', 'directory to restore into')
    .option('--include <path>', 'restore only this path inside the snapshot (repeatable)', collect, [])
    .option('--force', 'restore into a non-empty target, replacing entries in the way')
    .action(async (id: string, opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const result = await runRestore(deps, { snapshotId: id, target: opts.target, include: opts.include, force: opts.force === true });
        print(options, result, () => `restored ${result.snapshots.join(', ')} to ${result.target}: ${result.files} files, ${result.directories} directories, ${formatBytes(result.bytes)}${result.skipped.length ? ` (${result.skipped.length} special entries skipped)` : ''}`);
      }),
    );

  program
    .command('verify')
    .description('check snapshots and data: structure, a sampled read, or a full read')
    .argument('[id]', 'only this snapshot or backup id')
    .addOption(new Option('--level <level>', 'structure | read | full').choices(VERIFY_LEVELS as unknown as string[]).default('structure'))
    .option('--read-percent <n>', 'with --level read: percentage of packs to read', (v) => Number(v))
    .action(async (id: string | undefined, opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const result = await verifyRepository(deps, { ...(id ? { snapshotId: id } : {}), level: opts.level as VerifyLevel, ...(opts.readPercent !== undefined ? { readPercent: opts.readPercent } : {}) });
        print(options, result, () =>
          [
            `verify ${result.level}: ${result.snapshotsChecked} snapshots, ${result.packsChecked} packs, ${result.blobsChecked} blobs, ${formatBytes(result.bytesRead)} read`,
            ...result.problems.slice(0, 50).map((p) => `problem: ${p.message}`),
            result.ok ? 'no problems found' : `DAMAGED snapshots: ${result.damagedSnapshots.join(', ') || '(none; unreferenced data is damaged)'}`,
          ].join('\n'),
        );
        if (!result.ok) process.exitCode = EXIT.integrity;
      }),
    );

  program
    .command('forget')
    .description('remove snapshots (their data goes at the next prune)')
    .argument('<ids...>', 'snapshot or backup ids')
    .action(async (ids: string[], _opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const forgotten = await forgetSnapshots(deps, ids);
        print(options, { forgotten }, () => forgotten.map((id) => `forgot ${id}`).join('\n'));
      }),
    );

  program
    .command('prune')
    .description('delete data no snapshot references')
    .option('--grace <duration>', 'keep unreferenced packs younger than this', '1h')
    .option('--dry-run', 'only report what would be removed')
    .option('--lock-wait <duration>', 'wait this long for running backups instead of refusing', '0')
    .action(async (opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const result = await pruneRepository(deps, { graceMs: parseDuration(opts.grace, 'grace'), dryRun: opts.dryRun === true, lockWaitMs: parseDuration(opts.lockWait, 'lock-wait') });
        print(options, result, () =>
          `${result.dryRun ? 'would remove' : 'removed'} ${result.packsDeleted} unused and ${result.orphanPacksDeleted} orphan packs, repacked ${result.packsRepacked}, freeing ${formatBytes(result.bytesFreed)}; ${result.packsKeptForGrace} kept within the grace period`,
        );
      }),
    );

  program
    .command('stats')
    .description('repository size, deduplication and compression')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const stats = await repositoryStats(deps);
        print(options, stats, () =>
          [
            `repository ${stats.repository} at ${stats.location}`,
            `snapshots ${stats.snapshots}, packs ${stats.packs}, blobs ${stats.blobs}`,
            `logical ${formatBytes(stats.logicalBytes)}, unique ${formatBytes(stats.uniqueBytes)}, stored ${formatBytes(stats.storedBytes)}`,
            `dedup ×${stats.dedupRatio.toFixed(2)}, compression ×${stats.compressionRatio.toFixed(2)}`,
          ].join('\n'),
        );
      }),
    );

  const repair = program.command('repair').description('repair repository metadata from the data itself');
  repair
    .command('index')
    .description('rebuild the index from the pack headers (after damaged or lost index files)')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const result = await repairIndex(deps);
        print(options, result, () =>
          [
            `indexed ${result.blobsIndexed} blobs in ${result.packsIndexed} packs, replacing ${result.indexFilesReplaced} index files`,
            ...result.damagedPacks.map((p) => `damaged pack ${p.pack}: ${p.message}`),
          ].join('\n'),
        );
        if (result.damagedPacks.length > 0) process.exitCode = EXIT.integrity;
      }),
    );

  const catalog = program.command('catalog').description('the local catalog (an index of the repository)');
  catalog
    .command('rebuild')
    .description('recreate the catalog from the repository alone')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const result = await rebuildCatalog(deps);
        print(options, result, () => `catalog rebuilt: ${result.snapshots} snapshots of repository ${result.repository}`);
      }),
    );

  const keys = program.command('keys').description('credentials that open the repository, and data keys');
  keys
    .command('list')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const listing = await listKeys(deps);
        print(options, listing, () =>
          [
            formatTable(['SLOT', 'KIND', 'CREDENTIAL', 'CREATED'], listing.slots.map((s) => [s.id, s.kind, s.description, s.created])),
            '',
            formatTable(['DATA KEY', 'CREATED', 'ACTIVE'], listing.dataKeys.map((k) => [k.id, k.created, k.active ? 'yes' : ''])),
          ].join('\n'),
        );
      }),
    );
  keys
    .command('add')
    .description('let another passphrase or key file open the repository')
    .option('--passphrase-env <var>', 'read the new passphrase from this environment variable')
    .option('--key-file <path>', 'use this key file (created when missing)')
    .action(async (opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        if (Boolean(opts.passphraseEnv) === Boolean(opts.keyFile)) throw new ValidationError('give exactly one of --passphrase-env or --key-file', 'keys add');
        const setting = opts.passphraseEnv
          ? { kind: 'passphrase' as const, passphrase: requireEnv(opts.passphraseEnv), source: opts.passphraseEnv as string }
          : { kind: 'key-file' as const, path: opts.keyFile as string, isDefault: true };
        const slot = await addKeySlot(deps, await keyProvider(setting, true));
        print(options, slot, () => `added key slot ${slot.id} (${slot.kind})`);
      }),
    );
  keys
    .command('rotate')
    .description('add a new data key for everything written from now on')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const key = await rotateDataKey(deps);
        print(options, key, () => `new data key ${key.id} is active; older data stays readable with the older keys`);
      }),
    );

  return program;
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new ValidationError(`environment variable ${name} is not set`, 'passphrase-env');
  return value;
}

export async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  // Subcommands copy this setting only when they are created, so it must reach each of them: otherwise
  // their own usage errors (unknown option, invalid choice, missing --target) exit 1 instead of 2.
  const override = (command: Command): void => {
    command.exitOverride();
    command.commands.forEach(override);
  };
  override(program);
  try {
    await program.parseAsync(argv);
  } catch (error) {
    const commanderCode = (error as { code?: string }).code;
    if (commanderCode?.startsWith('commander.')) {
      process.exitCode = commanderCode === 'commander.helpDisplayed' || commanderCode === 'commander.version' ? EXIT.ok : EXIT.usage;
      return;
    }
    reportError(error, argv.includes('--json'));
    process.exitCode = exitCodeFor(error);
  }
}

function reportError(error: unknown, json: boolean): void {
  const known = error instanceof BackupError;
  const code = known ? error.code : 'internal';
  const message = error instanceof Error ? error.message : String(error);
  if (json) process.stdout.write(`${JSON.stringify({ error: { code, message, ...(known && error.details ? { details: error.details } : {}) } }, null, 2)}\n`);
  process.stderr.write(`error: ${message}${known ? ` [${code}]` : ''}\n`);
  const level = (process.env.BACKUP_LOG_LEVEL || process.env.CHRONO_BACKUP_LOG_LEVEL || '').toLowerCase();
  if (!known && error instanceof Error && level === 'debug') process.stderr.write(`${error.stack}\n`);
}
