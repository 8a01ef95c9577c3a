import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * The spool of asynchronous archiving: a folder of small files through which the foreground
 * `wal-push --async` (one process per WAL file, started by PostgreSQL) and the background pusher
 * (wal-async-daemon.ts) talk. No module of the repository is loaded here.
 *
 * - `<file>.ok`: the pusher pushed `<file>` and read it back (WalArchive.push returned). Written only
 *   then, atomically (temporary file + rename), and holding the size and modification time of the
 *   file it read and the fingerprint of the repository settings: a foreground accepts it only for the
 *   same file under the same settings. The pusher removes it once PostgreSQL has marked the file done
 *   (`.done`), so a foreground asked again for the same file (PostgreSQL crashed before recording the
 *   success) still finds it.
 * - `<file>.error`: the last push of `<file>` failed; holds the message and the exit status. The
 *   foreground reports it, removes it and exits non-zero; PostgreSQL retries, and a new pusher retries.
 * - `pusher.json`: the running pusher (pid, settings fingerprint); its modification time is the
 *   pusher's heartbeat. `pusher.lock`: the pusher's exclusive lock (wal-async-lock.ts).
 * - `last-warning`: its modification time rate-limits the backlog warning across processes.
 *
 * By default the spool is `pg_wal/.chrono-wal-async`: on pg_wal's filesystem, and never in a base
 * backup (pg_basebackup copies no content of pg_wal), so a restored cluster cannot inherit statuses.
 */
export const ASYNC_SPOOL_DIRECTORY = '.chrono-wal-async';

/** A pusher whose heartbeat is older than this is taken for dead (hung, or its pid reused). */
export const HEARTBEAT_STALE_MS = 15_000;

export type PushedOutcome = 'archived' | 'already-archived';

export type PushStatus =
  | { kind: 'ok'; size: number; mtimeMs: number; fingerprint: string; outcome: PushedOutcome; systemIdentifier: string }
  | { kind: 'error'; message: string; exitCode: number; fingerprint: string; /** The BackupError code, when there is one. */ code?: string };

export type StatusKind = PushStatus['kind'];

/** The spool of the pg_wal folder `walDir`, unless one is configured. */
export function spoolDirectory(walDir: string, configured?: string): string {
  return configured ?? join(walDir, ASYNC_SPOOL_DIRECTORY);
}

/**
 * Records the outcome of a push, atomically: a reader finds the whole status or none. An `ok` also
 * removes an older `error` of the same file, so the failure is not reported after the retry succeeded.
 */
export async function writeStatus(spool: string, name: string, status: PushStatus): Promise<void> {
  await writeAtomically(join(spool, `${name}.${status.kind}`), JSON.stringify(status));
  if (status.kind === 'ok') await removeStatus(spool, name, 'error');
}

/** The status of `name`: `ok` first (a retry may have succeeded after an error), then `error`. */
export async function readStatus(spool: string, name: string): Promise<PushStatus | undefined> {
  for (const kind of ['ok', 'error'] as const) {
    const text = await readFile(join(spool, `${name}.${kind}`), 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    const status = parseStatus(text, kind);
    // Unreadable: as if absent. Never a success by default.
    if (status) return status;
    await removeStatus(spool, name, kind);
  }
  return undefined;
}

/** Removes a status file; one already gone is fine. */
export async function removeStatus(spool: string, name: string, kind: StatusKind): Promise<void> {
  await unlink(join(spool, `${name}.${kind}`)).catch(() => undefined);
}

/**
 * Whether an `ok` speaks for the file PostgreSQL asks about now: pushed under the same repository
 * settings, from a file of the same size and modification time. Anything else is stale (the file was
 * rewritten, or the settings changed since) and must be pushed again.
 */
export function okApplies(status: Extract<PushStatus, { kind: 'ok' }>, file: { size: number; mtimeMs: number }, fingerprint: string): boolean {
  return status.fingerprint === fingerprint && status.size === file.size && status.mtimeMs === file.mtimeMs;
}

/** Every status file in the spool, by WAL file name. */
export async function listStatuses(spool: string): Promise<Map<string, Set<StatusKind>>> {
  const statuses = new Map<string, Set<StatusKind>>();
  for (const entry of await readdir(spool).catch(() => [] as string[])) {
    const match = /^([^.][^/]*)\.(ok|error)$/.exec(entry);
    if (!match) continue;
    const kinds = statuses.get(match[1]!) ?? new Set<StatusKind>();
    kinds.add(match[2] as StatusKind);
    statuses.set(match[1]!, kinds);
  }
  return statuses;
}

/** Removes temporaries that a process killed while writing left behind. */
export async function removeTemporaries(spool: string): Promise<void> {
  for (const entry of await readdir(spool).catch(() => [] as string[])) {
    if (entry.startsWith('.tmp-')) await unlink(join(spool, entry)).catch(() => undefined);
  }
}

function parseStatus(text: string, kind: StatusKind): PushStatus | undefined {
  let value: Record<string, unknown>;
  try {
    value = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return undefined;
  }
  if (value.kind !== kind || typeof value.fingerprint !== 'string') return undefined;
  const complete = kind === 'ok' ? typeof value.size === 'number' && typeof value.mtimeMs === 'number' && typeof value.outcome === 'string' && typeof value.systemIdentifier === 'string' : typeof value.message === 'string' && typeof value.exitCode === 'number';
  return complete ? (value as unknown as PushStatus) : undefined;
}

// ---- the pusher's pid file and heartbeat ----

export interface PusherInfo {
  pid: number;
  fingerprint: string;
  walDir: string;
  startedAt: string;
}

const PUSHER_INFO = 'pusher.json';

export async function writePusherInfo(spool: string, info: PusherInfo): Promise<void> {
  await writeAtomically(join(spool, PUSHER_INFO), JSON.stringify(info));
}

/** The heartbeat: the pusher touches its pid file while it runs. */
export async function touchPusherInfo(spool: string, now: Date): Promise<void> {
  await utimes(join(spool, PUSHER_INFO), now, now).catch(() => undefined);
}

/** Removes the pid file if it is still `pid`'s (a successor may have written its own). */
export async function removePusherInfo(spool: string, pid: number): Promise<void> {
  const current = await readPusherInfo(spool);
  if (current?.info.pid === pid) await unlink(join(spool, PUSHER_INFO)).catch(() => undefined);
}

export async function readPusherInfo(spool: string): Promise<{ info: PusherInfo; heartbeatMs: number } | undefined> {
  const path = join(spool, PUSHER_INFO);
  try {
    const [text, info] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
    const parsed = JSON.parse(text) as PusherInfo;
    return Number.isInteger(parsed.pid) && typeof parsed.fingerprint === 'string' ? { info: parsed, heartbeatMs: info.mtimeMs } : undefined;
  } catch {
    return undefined;
  }
}

export type PusherState = { state: 'running'; pid: number } | { state: 'absent' } | { state: 'other-settings'; pid: number } | { state: 'other-cluster'; pid: number; walDir: string };

/**
 * Whether a pusher for these settings and this pg_wal runs: its pid file names a live process whose
 * heartbeat is fresh. `other-settings`: a live pusher started with other repository settings (to be
 * stopped). `other-cluster`: a live pusher of another pg_wal holds the spool (two clusters were given one
 * spool, and the second's files would never be pushed).
 */
export async function pusherState(spool: string, fingerprint: string, walDir: string, nowMs: number, isAlive: (pid: number) => boolean = processAlive): Promise<PusherState> {
  const found = await readPusherInfo(spool);
  if (!found || nowMs - found.heartbeatMs > HEARTBEAT_STALE_MS || !isAlive(found.info.pid)) return { state: 'absent' };
  const { pid } = found.info;
  if (found.info.walDir !== walDir) return { state: 'other-cluster', pid, walDir: found.info.walDir };
  return found.info.fingerprint === fingerprint ? { state: 'running', pid } : { state: 'other-settings', pid };
}

/** Signal 0 probes a process; EPERM means it exists under another account. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temporary = join(dirname(path), `.tmp-${basename(path)}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(temporary, text, { mode: 0o600 });
    await rename(temporary, path);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}
