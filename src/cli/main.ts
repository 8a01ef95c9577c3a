import { Command, Option } from 'commander';
import { alertStateStoreOf } from '../catalog/sqlite-alert-state-store.js';
import { verifyRepository, VERIFY_LEVELS, type VerifyLevel } from '../app/verify-repository.js';
import { forgetSnapshots } from '../app/forget-snapshots.js';
import { pruneRepository } from '../app/prune-repository.js';
import { repositoryStats } from '../app/repository-stats.js';
import { rebuildCatalog } from '../app/rebuild-catalog.js';
import { repairIndex } from '../app/repair-index.js';
import { addKeySlot, listKeys, rotateDataKey } from '../app/manage-keys.js';
import { openOrCreate } from '../app/repository-session.js';
import { parseDuration } from '../domain/duration.js';
import { BackupError, ValidationError } from '../domain/errors.js';
import { keyProvider } from '../runtime/local-runtime.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { formatBytes, formatTable, snapshotNotes } from './format.js';
import { print, snapshotJson, withDeps } from './command-support.js';
import { registerBackupCommand } from './commands/backup.js';
import { registerRestoreCommand } from './commands/restore.js';
import { registerRunsCommand } from './commands/runs.js';
import { registerHoldCommands } from './commands/holds.js';
import { registerHealthCommand } from './commands/health.js';
import { registerAlertCommands } from './commands/alerts.js';
import { raiseAlerts, verificationFailedAlert } from '../alerts/raise-alerts.js';
import { registerCleanupCommand } from './commands/cleanup.js';
import { registerPlanCommands } from './commands/plans.js';
import { registerReplicateCommand, replicaOption, withFailoverDeps } from './commands/replicate.js';
import { verifyByRestore } from './commands/restore-test.js';
import { registerStorageTestCommand } from './commands/storage-test.js';
import { registerStorageBackendCommands } from './commands/storage-backends.js';
import { registerScheduleCommands } from './commands/schedules.js';
import { registerAuditCommands } from './commands/audit.js';
import { registerMetricsCommand } from './commands/metrics.js';
import { registerUserCommands } from './commands/users.js';
import { registerPitrCommands } from './commands/pitr.js';

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

  registerBackupCommand(program);

  program
    .command('snapshots')
    .description('list snapshots, oldest first')
    .addOption(replicaOption())
    .action(async (_opts, command: Command) =>
      withFailoverDeps(command, [], async (deps, options, served) => {
        const repository = await openOrCreate(deps, false);
        const snapshots = await repository.listSnapshots();
        // The plain array stays the JSON shape; a failover says so on stderr (and in servedBy when it happened).
        print(options, served.failedOver ? { servedBy: served.servedBy, snapshots: snapshots.map(snapshotJson) } : snapshots.map(snapshotJson), () =>
          formatTable(
            ['ID', 'TYPE', 'SOURCE', 'TIME', 'PATHS', 'SIZE', 'ADDED', 'NOTES'],
            snapshots.map((s) => [s.id, s.type, s.source, s.time, s.paths.join(' '), formatBytes(s.stats.totalBytes), formatBytes(s.stats.bytesAdded), snapshotNotes(s)]),
          ),
        );
      }),
    );

  registerRestoreCommand(program);
  registerRunsCommand(program);
  registerHoldCommands(program);
  registerHealthCommand(program);
  registerAlertCommands(program);
  registerCleanupCommand(program);
  registerPlanCommands(program);
  registerReplicateCommand(program);
  registerScheduleCommands(program);
  registerAuditCommands(program);
  registerMetricsCommand(program);
  registerUserCommands(program);

  program
    .command('verify')
    .description('check snapshots and data: structure, a sampled read, a full read, or a test restore of databases')
    .argument('[id]', 'only this snapshot or backup id')
    .addOption(new Option('--level <level>', 'structure | read | full | restore-test').choices([...VERIFY_LEVELS, 'restore-test']).default('structure'))
    .option('--read-percent <n>', 'with --level read: percentage of packs to read', (v) => Number(v))
    .option('--scratch-postgres <url>', 'with --level restore-test: PostgreSQL server for scratch databases')
    .option('--scratch-redis <url>', 'with --level restore-test: an empty Redis server (emptied afterwards)')
    .option('--plan <name>', "with --level restore-test: take the scratch servers from this plan's verify section")
    .option('--plans <file>', 'plan file (default: plans in the catalog, then $CHRONO_BACKUP_PLANS or ~/.chrono-backup/plans.yaml)')
    .addOption(replicaOption())
    .action(async (id: string | undefined, opts, command: Command) => {
      if (opts.level === 'restore-test') return verifyByRestore(command, id, opts);
      return withFailoverDeps(command, id ? [id] : [], async (deps, options, served) => {
        const result = await verifyRepository(deps, { ...(id ? { snapshotId: id } : {}), level: opts.level as VerifyLevel, ...(opts.readPercent !== undefined ? { readPercent: opts.readPercent } : {}) });
        print(options, { ...result, ...(served.failedOver ? { servedBy: served.servedBy } : {}) }, () =>
          [
            `verify ${result.level}: ${result.snapshotsChecked} snapshots, ${result.packsChecked} packs, ${result.blobsChecked} blobs, ${formatBytes(result.bytesRead)} read`,
            ...result.problems.slice(0, 50).map((p) => `problem: ${p.message}`),
            result.ok ? 'no problems found' : `DAMAGED snapshots: ${result.damagedSnapshots.join(', ') || '(none; unreferenced data is damaged)'}`,
          ].join('\n'),
        );
        if (!result.ok) {
          await raiseAlerts([verificationFailedAlert(deps.storage.location, { level: result.level, damaged: result.damagedSnapshots.join(', ') || '(unreferenced data)', problems: result.problems.length })], deps.logger, { state: alertStateStoreOf(deps.catalog) });
          process.exitCode = EXIT.integrity;
        }
      });
    });

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

  const storage = program.command('storage').description('storage backends');
  registerStorageTestCommand(storage);
  registerStorageBackendCommands(storage);
  registerPitrCommands(program);

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
