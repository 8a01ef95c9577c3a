import { createHash } from 'node:crypto';
import { parseDuration } from '../domain/duration.js';
import { ValidationError } from '../domain/errors.js';

/**
 * The settings of asynchronous archiving (`wal-push --async`), from the environment with command-line
 * overrides. Kept free of the repository's modules: the foreground reads them once per WAL file.
 */
export interface WalAsyncSettings {
  /** Status files, the pusher's lock and its pid file; default `<pg_wal>/.chrono-wal-async`. */
  spool?: string;
  /** How long a foreground `wal-push --async` waits for its file's status before failing (PostgreSQL then retries). */
  waitMs: number;
  /** Pushes the background pusher runs at once. */
  concurrency: number;
  /** Files the pusher may run ahead of PostgreSQL: pushed but not yet acknowledged, plus those in flight. */
  queue: number;
  /** The pusher exits after this long with nothing to push. */
  idleMs: number;
  warn: BacklogThresholds;
}

/** When the archiving backlog in pg_wal deserves a warning in the server log (and an alert). */
export interface BacklogThresholds {
  /** More `.ready` files than this in `pg_wal/archive_status`. */
  readyFiles: number;
  /** Less free space than this on pg_wal's filesystem… */
  freeBytes: number;
  /** …or less than this share of it, in percent. */
  freePercent: number;
  /** At most one warning per this many ms (shared by the pusher and the foreground processes). */
  intervalMs: number;
}

export const WAL_ASYNC_DEFAULTS = {
  waitMs: 60_000,
  concurrency: 4,
  queue: 64,
  idleMs: 30_000,
  warn: { readyFiles: 256, freeBytes: 1024 * 1024 * 1024, freePercent: 10, intervalMs: 60_000 },
} as const satisfies WalAsyncSettings;

export const MAX_ASYNC_CONCURRENCY = 32;
export const MAX_ASYNC_QUEUE = 4096;

/** What the command line may override (`--spool`, `--async-concurrency`, `--async-queue`). */
export interface WalAsyncOverrides {
  spool?: string;
  concurrency?: number;
  queue?: number;
}

/**
 * CHRONO_BACKUP_WAL_SPOOL, CHRONO_BACKUP_WAL_ASYNC_WAIT (duration, default 60s),
 * CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY (1–32, default 4), CHRONO_BACKUP_WAL_ASYNC_QUEUE (files, default 64),
 * CHRONO_BACKUP_WAL_ASYNC_IDLE (duration, default 30s), CHRONO_BACKUP_WAL_WARN_BACKLOG (files, default
 * 256), CHRONO_BACKUP_WAL_WARN_FREE_MIB (default 1024), CHRONO_BACKUP_WAL_WARN_FREE_PERCENT (default 10),
 * CHRONO_BACKUP_WAL_WARN_INTERVAL (duration, default 60s). A bad value is a ValidationError naming the
 * variable: wal-push then fails, and the server log says why.
 */
export function walAsyncSettings(env: NodeJS.ProcessEnv, overrides: WalAsyncOverrides = {}): WalAsyncSettings {
  const spool = overrides.spool ?? (env.CHRONO_BACKUP_WAL_SPOOL || undefined);
  const d = WAL_ASYNC_DEFAULTS;
  return {
    ...(spool ? { spool } : {}),
    waitMs: durationSetting(env, 'CHRONO_BACKUP_WAL_ASYNC_WAIT', d.waitMs),
    concurrency: overrides.concurrency ?? wholeSetting(env, 'CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY', d.concurrency, 1, MAX_ASYNC_CONCURRENCY),
    queue: overrides.queue ?? wholeSetting(env, 'CHRONO_BACKUP_WAL_ASYNC_QUEUE', d.queue, 1, MAX_ASYNC_QUEUE),
    idleMs: durationSetting(env, 'CHRONO_BACKUP_WAL_ASYNC_IDLE', d.idleMs),
    warn: {
      readyFiles: wholeSetting(env, 'CHRONO_BACKUP_WAL_WARN_BACKLOG', d.warn.readyFiles, 0, Number.MAX_SAFE_INTEGER),
      freeBytes: wholeSetting(env, 'CHRONO_BACKUP_WAL_WARN_FREE_MIB', d.warn.freeBytes / (1024 * 1024), 0, 1 << 30) * 1024 * 1024,
      freePercent: wholeSetting(env, 'CHRONO_BACKUP_WAL_WARN_FREE_PERCENT', d.warn.freePercent, 0, 100),
      intervalMs: durationSetting(env, 'CHRONO_BACKUP_WAL_WARN_INTERVAL', d.warn.intervalMs),
    },
  };
}

/** CHRONO_BACKUP_WAL_ASYNC: `1`/`true`/`on`/`yes` turns `--async` on for every wal-push. */
export function asyncFromEnv(env: NodeJS.ProcessEnv): boolean {
  return /^(1|true|on|yes)$/i.test((env.CHRONO_BACKUP_WAL_ASYNC ?? '').trim());
}

/** Parses a whole number option or variable within [min, max]. */
export function parseWhole(text: string, name: string, min: number, max: number): number {
  const value = Number(text.trim());
  if (text.trim() === '' || !Number.isInteger(value) || value < min || value > max) throw new ValidationError(`${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(text.slice(0, 20))})`, name);
  return value;
}

function wholeSetting(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number, max: number): number {
  const text = env[name];
  return text === undefined || text.trim() === '' ? fallback : parseWhole(text, name, min, max);
}

function durationSetting(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const text = env[name];
  return text === undefined || text.trim() === '' ? fallback : parseDuration(text, name);
}

/**
 * Names where pushed files go, from the raw settings that choose the repository (not the resolved
 * location, whose modules the foreground does not load). A pusher started with other settings, and
 * the statuses it wrote, are not trusted: a file pushed to the old repository is not in the new one.
 * Hashed, so a URL's credentials never reach the spool.
 */
export function repositoryFingerprint(env: NodeJS.ProcessEnv, repository: string | undefined, systemIdentifier: string | undefined): string {
  const inputs = [repository ?? '', env.CHRONO_BACKUP_REPO ?? '', env.BACKUP_LOCAL_PATH ?? '', env.CHRONO_BACKUP_HOME ?? '', env.HOME ?? '', systemIdentifier ?? ''];
  return createHash('sha256').update(inputs.join('\0')).digest('hex').slice(0, 16);
}
