import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { listStatuses, removeStatus, writeStatus, type PushedOutcome } from './wal-async-spool.js';

/** What a push reports for the `.ok` file: the file it read, and what the archive said. */
export interface PushResult {
  size: number;
  mtimeMs: number;
  outcome: PushedOutcome;
  systemIdentifier: string;
}

export interface PusherOptions {
  /** pg_wal: its `archive_status/*.ready` files are the work. */
  walDir: string;
  spool: string;
  /** Of the repository settings the pushes go to; written into every status. */
  fingerprint: string;
  /** Pushes at once. */
  concurrency: number;
  /** Files ahead of PostgreSQL: statuses not yet collected plus pushes in flight. */
  queue: number;
  /** Ends after this long with nothing to push. */
  idleMs: number;
  /**
   * Pushes one file and resolves only once it is in the repository and was read back (WalArchive.push
   * returned); undefined when the file is gone (PostgreSQL drops an orphaned `.ready` itself).
   */
  push: (name: string) => Promise<PushResult | undefined>;
  /** The exit status the foreground reports for a failure. */
  exitCodeOf: (error: unknown) => number;
  /** A line for the server log. */
  log: (line: string) => void;
  /** Stops starting pushes; the ones in flight finish and record their status. */
  signal?: AbortSignal;
  /** Runs once per pass (the backlog warning); its failures are the caller's to handle. */
  onPass?: () => Promise<void>;
  /** Between passes when no push completes. Default 100 ms. */
  pollMs?: number;
  now?: () => number;
}

export interface PusherSummary {
  pushed: number;
  failed: number;
  /** `idle`: nothing to do for idleMs; `failure`: a push failed; `stopped`: signalled; `gone`: pg_wal disappeared. */
  reason: 'idle' | 'failure' | 'stopped' | 'gone';
}

/** The files PostgreSQL has marked ready to archive, or undefined when pg_wal is gone. */
export async function listReady(walDir: string): Promise<string[] | undefined> {
  try {
    return archiveOrder((await readdir(join(walDir, 'archive_status'))).filter((entry) => entry.endsWith('.ready')).map((entry) => entry.slice(0, -'.ready'.length)));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * The order PostgreSQL's archiver asks for files (pgarch.c): timeline history files first, then the
 * lowest name. Pushing in that order means the file the foreground waits for is pushed first.
 */
export function archiveOrder(names: readonly string[]): string[] {
  const history = (name: string) => (name.endsWith('.history') ? 0 : 1);
  return [...names].sort((a, b) => history(a) - history(b) || (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * The background pusher's loop: pushes the files PostgreSQL marked ready, oldest first, `concurrency`
 * at a time and never more than `queue` ahead of PostgreSQL (the first ready file is always allowed: it
 * is the one PostgreSQL waits for). Writes `<file>.ok` only after its push resolved and
 * `<file>.error` when it rejected; a process killed mid-push writes neither, and the next pusher pushes
 * the file again (pushes are idempotent). Removes statuses of files that are no longer ready (collected
 * by PostgreSQL, or archived some other way).
 *
 * After a failure it starts nothing new and returns once the pushes in flight have ended: the
 * foreground reports the failure, PostgreSQL retries, and the retry starts a fresh pusher (a fresh
 * connection to the storage) — so retries follow PostgreSQL's pace rather than hammering a storage that
 * is down.
 */
export async function runPusher(options: PusherOptions): Promise<PusherSummary> {
  const { walDir, spool, fingerprint, concurrency, queue, idleMs, push, pollMs = 100 } = options;
  const now = options.now ?? Date.now;
  const inFlight = new Set<string>();
  /** Files found gone: not retried by this pusher (PostgreSQL removes their `.ready`). */
  const gone = new Set<string>();
  let pushed = 0;
  let failed = 0;
  let lastBusy = now();
  let wake: (() => void) | undefined;
  /** A push ended (or a stop was asked for) since the last pass: pass again at once. */
  let signalled = false;
  const signal = () => {
    signalled = true;
    wake?.();
  };
  options.signal?.addEventListener('abort', signal, { once: true });
  // A new pusher retries every failure: the statuses of earlier failures would be reported after it
  // succeeded, each costing PostgreSQL a failed attempt and a pause.
  for (const [name, kinds] of await listStatuses(spool)) if (kinds.has('error')) await removeStatus(spool, name, 'error');

  const start = (name: string) => {
    inFlight.add(name);
    void (async () => {
      try {
        const result = await push(name);
        if (result) {
          await writeStatus(spool, name, { kind: 'ok', ...result, fingerprint });
          pushed++;
        } else gone.add(name);
      } catch (error) {
        failed++;
        const message = error instanceof Error ? error.message : String(error);
        const code = (error as { code?: unknown }).code;
        options.log(`chrono-backup wal-push: ${name} not archived: ${message}`);
        await writeStatus(spool, name, { kind: 'error', message, exitCode: options.exitCodeOf(error), fingerprint, ...(typeof code === 'string' ? { code } : {}) }).catch((write: Error) =>
          options.log(`chrono-backup wal-push: could not record the failure of ${name} in ${spool}: ${write.message}`),
        );
      } finally {
        inFlight.delete(name);
        signal();
      }
    })();
  };

  let reason: PusherSummary['reason'] | undefined;
  while (true) {
    if (options.signal?.aborted) reason ??= 'stopped';
    if (failed > 0) reason ??= 'failure';
    const ready = await listReady(walDir);
    if (!ready) reason ??= 'gone';
    const readySet = new Set(ready);
    const statuses = await listStatuses(spool);
    for (const [name, kinds] of statuses) {
      if (readySet.has(name) || inFlight.has(name)) continue;
      for (const kind of kinds) await removeStatus(spool, name, kind);
    }
    let ahead = inFlight.size;
    for (const name of ready ?? []) if (statuses.has(name) && !inFlight.has(name)) ahead++;
    let pending = 0;
    for (const [index, name] of (ready ?? []).entries()) {
      const kinds = statuses.get(name);
      if (kinds?.has('ok') || gone.has(name)) continue;
      pending++;
      const waiting = !inFlight.has(name) && !kinds?.has('error');
      // The first file is the one PostgreSQL asks for next: never held back by the bound.
      if (!waiting || reason !== undefined || inFlight.size >= concurrency || (index > 0 && ahead >= queue)) continue;
      start(name);
      ahead++;
    }
    if (inFlight.size > 0 || (pending > 0 && reason === undefined)) lastBusy = now();
    if (inFlight.size === 0) {
      if (reason !== undefined) return { pushed, failed, reason };
      if (pending === 0 && now() - lastBusy >= idleMs) return { pushed, failed, reason: 'idle' };
    }
    await options.onPass?.();
    if (!signalled) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wake = undefined;
    }
    signalled = false;
  }
}
