import { mkdir, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { exitCodeFor, EXIT } from '../cli/exit-codes.js';
import { IntegrityError } from '../domain/errors.js';
import type { AlertStateStore } from '../ports/alert-state-store.js';
import { BacklogMonitor, type BacklogWarning } from './wal-async-backlog.js';
import { tryAcquirePusherLock } from './wal-async-lock.js';
import { listReady, runPusher, type PushResult } from './wal-async-pusher.js';
import { repositoryFingerprint, type WalAsyncSettings } from './wal-async-settings.js';
import { listStatuses, removePusherInfo, removeTemporaries, touchPusherInfo, writePusherInfo, writeStatus } from './wal-async-spool.js';
import { WalArchive } from './wal-archive.js';
import { prepareWalPush, type WalCommandContext } from './wal-commands.js';
import { openWalRepository, type OpenedWalRepository } from './wal-repository.js';

export interface PusherDaemonOptions {
  /** pg_wal of the cluster. */
  walDir: string;
  spool: string;
  /** The data directory (global/pg_control names the cluster of history and backup files). */
  cwd: string;
  env: NodeJS.ProcessEnv;
  repository?: string;
  systemIdentifier?: string;
  settings: WalAsyncSettings;
}

const HEARTBEAT_MS = 2000;

/**
 * `chrono-backup wal-push-daemon <pg_wal>` — the background pusher a foreground `wal-push --async`
 * starts (detached) when none runs. Takes the spool's exclusive lock (another pusher holds it: exits 0
 * at once), opens the repository once and pushes what PostgreSQL marked ready (wal-async-pusher.ts),
 * warns in the server log (its stderr) when the backlog grows or pg_wal's filesystem fills, and exits
 * when idle, after a failure, on SIGTERM/SIGINT, or when pg_wal is gone. Returns the exit status.
 */
export async function runPusherDaemon(options: PusherDaemonOptions): Promise<number> {
  const { walDir, spool, env, settings } = options;
  await mkdir(spool, { recursive: true, mode: 0o700 });
  const lock = tryAcquirePusherLock(spool);
  if (!lock) return EXIT.ok;
  const fingerprint = repositoryFingerprint(env, options.repository, options.systemIdentifier);
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  let heartbeat: NodeJS.Timeout | undefined;
  try {
    await removeTemporaries(spool);
    await writePusherInfo(spool, { pid: process.pid, fingerprint, walDir, startedAt: new Date().toISOString() });
    heartbeat = setInterval(() => void touchPusherInfo(spool, new Date()), HEARTBEAT_MS);
    let opened: OpenedWalRepository;
    try {
      opened = await openWalRepository(env, options.repository);
    } catch (error) {
      await reportOpenFailure(options, fingerprint, error, log);
      return exitCodeFor(error);
    }
    try {
      const alerts = new BacklogAlerts(env, walDir, log);
      const monitor = new BacklogMonitor({ walDir, spool, thresholds: settings.warn, write: log });
      const summary = await runPusher({
        walDir,
        spool,
        fingerprint,
        concurrency: settings.concurrency,
        queue: settings.queue,
        idleMs: settings.idleMs,
        push: repositoryPush(opened, options),
        exitCodeOf: exitCodeFor,
        log,
        signal: stop.signal,
        onPass: async () => {
          const found = await monitor.check().catch((error: Error) => void log(`chrono-backup wal-push: could not measure the archiving backlog: ${error.message}`));
          if (found) await alerts.update(found.warning, found.written);
        },
      });
      return summary.reason === 'failure' ? EXIT.failure : EXIT.ok;
    } finally {
      await opened.close().catch(() => undefined);
    }
  } finally {
    clearInterval(heartbeat);
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    await removePusherInfo(spool, process.pid);
    lock.release();
  }
}

/**
 * The push of one ready file through the repository opened once: the checks of `wal-push` (a complete
 * segment of the right cluster), then WalArchive.push (idempotent, read back). The file's size and
 * modification time go into its `.ok`; a file that changed while it was read is not archived.
 */
function repositoryPush(opened: OpenedWalRepository, options: PusherDaemonOptions): (name: string) => Promise<PushResult | undefined> {
  const archives = new Map<string, WalArchive>();
  const context: WalCommandContext = { env: options.env, cwd: options.cwd, ...(options.repository ? { repository: options.repository } : {}), ...(options.systemIdentifier ? { systemIdentifier: options.systemIdentifier } : {}) };
  return async (name) => {
    const path = join(options.walDir, name);
    const before = await stat(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      throw error;
    });
    if (!before) return undefined;
    const prepared = await prepareWalPush(path, context);
    const after = await stat(path);
    if (after.size !== before.size || after.mtimeMs !== before.mtimeMs) throw new IntegrityError('wal_changed', `${name} changed while it was read; not archived`, { details: { file: name } });
    let archive = archives.get(prepared.systemIdentifier);
    if (!archive) archives.set(prepared.systemIdentifier, (archive = new WalArchive(opened.storage, opened.keyring, prepared.systemIdentifier)));
    const outcome = await archive.push(prepared.file, prepared.content);
    return { size: before.size, mtimeMs: before.mtimeMs, outcome, systemIdentifier: prepared.systemIdentifier };
  };
}

/**
 * The repository could not be opened (unreachable, wrong key): every file the pusher would have pushed
 * gets the error, so the foreground waiting for one of them fails now instead of at its time limit.
 */
async function reportOpenFailure(options: PusherDaemonOptions, fingerprint: string, error: unknown, log: (line: string) => void): Promise<void> {
  const message = `could not open the repository: ${error instanceof Error ? error.message : String(error)}`;
  log(`chrono-backup wal-push: ${message}`);
  const statuses = await listStatuses(options.spool);
  const code = (error as { code?: unknown }).code;
  const waiting = ((await listReady(options.walDir)) ?? []).filter((name) => !statuses.get(name)?.has('ok')).slice(0, options.settings.queue);
  for (const name of waiting) {
    await writeStatus(options.spool, name, { kind: 'error', message, exitCode: exitCodeFor(error), fingerprint, ...(typeof code === 'string' ? { code } : {}) }).catch(() => undefined);
  }
}

/**
 * The backlog warning as an alert (`storage_issue`) through the channels the environment configures,
 * and its recovery once the backlog is gone. The alert modules load only when there is something to
 * send; a pusher that never warns never loads them.
 */
class BacklogAlerts {
  private state: AlertStateStore | undefined;
  private open = false;
  private readonly key: string;

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    walDir: string,
    private readonly log: (line: string) => void,
  ) {
    this.key = `wal_backlog:${hostname()}:${walDir}`;
  }

  async update(warning: BacklogWarning | undefined, written: boolean): Promise<void> {
    if (warning && !written) return;
    if (!warning && !this.open) return;
    try {
      const [{ raiseAlerts }, { memoryAlertStateStore }, { jsonLogger }] = await Promise.all([import('../alerts/raise-alerts.js'), import('../ports/alert-state-store.js'), import('../util/json-logger.js')]);
      this.state ??= memoryAlertStateStore();
      const options = { env: this.env, state: this.state };
      if (warning) await raiseAlerts([{ type: 'storage_issue', severity: warning.severity, key: this.key, title: `WAL archiving backlog on ${hostname()}`, details: warning.details }], jsonLogger('warn'), options);
      else await raiseAlerts([], jsonLogger('warn'), { ...options, resolved: [this.key] });
      this.open = warning !== undefined;
    } catch (error) {
      this.log(`chrono-backup wal-push: could not send the backlog alert: ${(error as Error).message}`);
    }
  }
}
