import { spawn } from 'node:child_process';
import { mkdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXIT } from '../cli/exit-codes.js';
import { BacklogMonitor } from './wal-async-backlog.js';
import { repositoryFingerprint, type WalAsyncSettings } from './wal-async-settings.js';
import { okApplies, pusherState, readStatus, removeStatus, spoolDirectory, type PushedOutcome } from './wal-async-spool.js';
import { requireWalFileName } from './wal-names.js';

/** bin/chrono-backup.js (from dist/pitr/ or src/pitr/): the pusher is the same CLI. */
const CLI_PATH = fileURLToPath(new URL('../../bin/chrono-backup.js', import.meta.url));

export interface AsyncPushRequest {
  /** `%p`: the file, relative to `cwd` (the data directory). */
  path: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  repository?: string;
  systemIdentifier?: string;
  settings: WalAsyncSettings;
}

export interface PusherLaunch {
  walDir: string;
  spool: string;
  request: AsyncPushRequest;
}

export interface AsyncPushDeps {
  /** Starts a background pusher; default {@link launchPusher}. */
  launch?: (launch: PusherLaunch) => void;
  /** Stops a pusher running with other repository settings; default SIGTERM. */
  stopPusher?: (pid: number) => void;
  /** Server log lines (backlog warnings). Default stderr. */
  write?: (line: string) => void;
  now?: () => number;
  /** Between looks at the status. Default 20 ms. */
  pollMs?: number;
}

export type AsyncPushResult =
  | { kind: 'pushed'; name: string; outcome: PushedOutcome; systemIdentifier: string }
  | { kind: 'failed'; name: string; message: string; exitCode: number; code?: string }
  | { kind: 'timeout'; name: string; waitedMs: number }
  /** PostgreSQL has not marked the file ready (`wal-push --async` run by hand): push it synchronously. */
  | { kind: 'not-queued' };

/** Look at the pusher at most this often, and start one at most this often. */
const LIVENESS_EVERY_MS = 500;
const RESPAWN_AFTER_MS = 2000;
/** A foreground that waited this long is behind: it measures the backlog too. */
const WARN_AFTER_MS = 1000;

/**
 * The foreground of `wal-push --async %p`, one process per WAL file, as archive_command: answers from
 * the spool what the background pusher did with the file. `.ok` (for this very file and these settings):
 * success. `.error`: that failure. Neither: makes sure a pusher runs and waits for the status, at most
 * `settings.waitMs`; then `timeout`, which the caller turns into a non-zero exit so PostgreSQL retries.
 * Success is never reported on any other ground. An `.error` it reports, and an `.ok` it finds stale,
 * are removed; an `.ok` it answers from is left for the pusher to clear.
 *
 * Loads nothing of the repository: when the pusher is ahead, the whole call is a stat, a read and an
 * unlink after the process start.
 */
export async function walPushAsync(request: AsyncPushRequest, deps: AsyncPushDeps = {}): Promise<AsyncPushResult> {
  const now = deps.now ?? Date.now;
  const target = resolve(request.cwd, request.path);
  const walDir = dirname(target);
  const name = requireWalFileName(basename(target), 'path').name;
  // PostgreSQL marks a file ready before it runs archive_command and keeps the mark until it exits 0.
  if (!(await exists(join(walDir, 'archive_status', `${name}.ready`)))) return { kind: 'not-queued' };
  const spool = spoolDirectory(walDir, request.settings.spool);
  await mkdir(spool, { recursive: true, mode: 0o700 });
  const fingerprint = repositoryFingerprint(request.env, request.repository, request.systemIdentifier);
  const launch = deps.launch ?? launchPusher;
  const write = deps.write ?? ((line: string) => void process.stderr.write(`${line}\n`));
  const monitor = new BacklogMonitor({ walDir, spool, thresholds: request.settings.warn, write, now });
  const started = now();
  let lastLook = -Infinity;
  let lastLaunch = -Infinity;
  let stopped: number | undefined;
  while (true) {
    const status = await readStatus(spool, name);
    if (status?.kind === 'ok') {
      const current = await stat(target).catch(() => undefined);
      // Left in place: the pusher removes it once PostgreSQL has marked the file done. Removed here, it
      // would leave the file ready without a status for a moment, and the pusher would push it again.
      if (current && okApplies(status, current, fingerprint)) return { kind: 'pushed', name, outcome: status.outcome, systemIdentifier: status.systemIdentifier };
      // Stale (another file under this name, or other settings): the pusher pushes it again.
      await removeStatus(spool, name, 'ok');
    } else if (status?.kind === 'error') {
      await removeStatus(spool, name, 'error');
      if (status.fingerprint === fingerprint) {
        return { kind: 'failed', name, message: status.message, exitCode: status.exitCode >= 1 && status.exitCode <= 125 ? status.exitCode : 1, ...(status.code ? { code: status.code } : {}) };
      }
    }
    const time = now();
    if (time - started >= request.settings.waitMs) return { kind: 'timeout', name, waitedMs: time - started };
    if (time - lastLook >= LIVENESS_EVERY_MS) {
      lastLook = time;
      const pusher = await pusherState(spool, fingerprint, walDir, time);
      if (pusher.state === 'other-cluster') {
        return { kind: 'failed', name, message: `the spool ${spool} is in use by the pusher of ${pusher.walDir}: give each cluster its own (--spool, CHRONO_BACKUP_WAL_SPOOL)`, exitCode: EXIT.usage };
      }
      if (pusher.state === 'other-settings' && stopped !== pusher.pid) {
        // Its pushes go to where the settings no longer point: stop it; its successor uses ours.
        (deps.stopPusher ?? stopProcess)(pusher.pid);
        stopped = pusher.pid;
      }
      if (pusher.state !== 'running' && time - lastLaunch >= RESPAWN_AFTER_MS) {
        lastLaunch = time;
        launch({ walDir, spool, request });
      }
    }
    if (time - started >= WARN_AFTER_MS) await monitor.check().catch(() => undefined);
    await new Promise((done) => setTimeout(done, deps.pollMs ?? 20));
  }
}

/**
 * Starts `chrono-backup wal-push-daemon` detached (its own session: it outlives this process and is
 * not in the archiver's process group), with this process's environment, working directory and
 * settings. Its stderr is ours — the server log — for its warnings and errors.
 */
export function launchPusher({ walDir, spool, request }: PusherLaunch): void {
  const args = [
    CLI_PATH,
    ...(request.repository ? ['--repo', request.repository] : []),
    'wal-push-daemon',
    '--spool',
    spool,
    '--async-concurrency',
    String(request.settings.concurrency),
    '--async-queue',
    String(request.settings.queue),
    ...(request.systemIdentifier ? ['--system-id', request.systemIdentifier] : []),
    '--',
    walDir,
  ];
  const child = spawn(process.execPath, args, { cwd: request.cwd, env: request.env, detached: true, stdio: ['ignore', 'ignore', 'inherit'] });
  // A failed start shows as no pusher at the next look, and the launch is repeated.
  child.on('error', () => undefined);
  child.unref();
}

function stopProcess(pid: number): void {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Gone already, or not ours to signal: the next look tells.
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
