import { readdir, stat, statfs as fsStatfs, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { formatBytes } from '../cli/format.js';
import type { BacklogThresholds } from './wal-async-settings.js';

/** What waits for archiving in pg_wal, and the room left on its filesystem. */
export interface Backlog {
  /** `.ready` files in `pg_wal/archive_status`: WAL PostgreSQL has not yet archived (and cannot remove). */
  readyFiles: number;
  readyBytes: number;
  /** Space an unprivileged process may still use on pg_wal's filesystem. */
  freeBytes: number;
  totalBytes: number;
}

/** The part of `fs.statfs` the monitor reads (injected by tests). */
export type StatFs = (path: string) => Promise<{ bsize: number; blocks: number; bavail: number }>;

export interface BacklogWarning {
  /** `critical` when the filesystem is short of space, `warning` when only the backlog is long. */
  severity: 'warning' | 'critical';
  message: string;
  details: Record<string, string | number>;
}

/** Counts the `.ready` files of `walDir` (and their sizes) and reads its filesystem's free space. */
export async function measureBacklog(walDir: string, statfs: StatFs = fsStatfs): Promise<Backlog> {
  const names = (await readdir(join(walDir, 'archive_status')).catch(() => [] as string[])).filter((entry) => entry.endsWith('.ready'));
  let readyBytes = 0;
  for (const entry of names) readyBytes += (await stat(join(walDir, entry.slice(0, -'.ready'.length))).catch(() => undefined))?.size ?? 0;
  const fs = await statfs(walDir);
  return { readyFiles: names.length, readyBytes, freeBytes: fs.bavail * fs.bsize, totalBytes: fs.blocks * fs.bsize };
}

/**
 * The warning a backlog deserves under `thresholds`, or undefined. PostgreSQL keeps every WAL file
 * until it is archived; when pg_wal's filesystem fills, the server stops (PANIC) — this says so early,
 * with the numbers and what to do, before it happens.
 */
export function backlogWarning(backlog: Backlog, thresholds: BacklogThresholds, walDir: string): BacklogWarning | undefined {
  const longBacklog = backlog.readyFiles > thresholds.readyFiles;
  const percentFree = backlog.totalBytes > 0 ? (backlog.freeBytes * 100) / backlog.totalBytes : 100;
  const lowSpace = backlog.freeBytes < thresholds.freeBytes || percentFree < thresholds.freePercent;
  if (!longBacklog && !lowSpace) return undefined;
  const waiting = `${backlog.readyFiles} WAL file(s) (${formatBytes(backlog.readyBytes)}) wait for archiving in ${walDir}`;
  const space = `${formatBytes(backlog.freeBytes)} free on its filesystem (${percentFree.toFixed(1)}%)`;
  const headline = lowSpace ? `pg_wal's filesystem is running out of space: ${space}; ${waiting}` : `WAL archiving is falling behind: ${waiting}; ${space}`;
  const advice = lowSpace && !longBacklog
    ? 'PostgreSQL stops when pg_wal fills: free space or grow the filesystem.'
    : 'PostgreSQL keeps WAL until it is archived and stops when pg_wal fills: check the wal-push errors above and the repository (chrono-backup storage test), raise --async-concurrency if the storage has capacity to spare, or free space on the filesystem.';
  return {
    severity: lowSpace ? 'critical' : 'warning',
    message: `${headline}. ${advice}`,
    details: { walDirectory: walDir, readyFiles: backlog.readyFiles, readyBytes: backlog.readyBytes, freeBytes: backlog.freeBytes, freePercent: Number(percentFree.toFixed(1)) },
  };
}

const LAST_WARNING = 'last-warning';

/**
 * True for at most one caller per `intervalMs` across processes (the pusher and every foreground of the
 * same spool), which then owns the warning. The shared state is a file's modification time; two
 * processes racing may both win once, which only repeats a line.
 */
export async function claimWarning(spool: string, nowMs: number, intervalMs: number): Promise<boolean> {
  const path = join(spool, LAST_WARNING);
  const last = (await stat(path).catch(() => undefined))?.mtimeMs;
  if (last !== undefined && nowMs - last < intervalMs && nowMs >= last) return false;
  const now = new Date(nowMs);
  await writeFile(path, '', { flag: 'a' }).catch(() => undefined);
  await utimes(path, now, now).catch(() => undefined);
  return true;
}

export interface BacklogMonitorOptions {
  walDir: string;
  spool: string;
  thresholds: BacklogThresholds;
  /** Where a warning line goes: the server log (stderr). */
  write: (line: string) => void;
  now?: () => number;
  statfs?: StatFs;
  /** Measure at most this often (reading sizes of hundreds of files is not free). Default 5 s. */
  everyMs?: number;
}

/** Measures the backlog now and then and writes the rate-limited warning. */
export class BacklogMonitor {
  private lastCheck = -Infinity;
  private readonly now: () => number;

  constructor(private readonly options: BacklogMonitorOptions) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Undefined when it is not time to measure; otherwise the condition found (`warning` undefined when
   * all is well) and whether this call wrote the warning line.
   */
  async check(): Promise<{ warning: BacklogWarning | undefined; written: boolean } | undefined> {
    const { walDir, spool, thresholds, write, statfs, everyMs = 5000 } = this.options;
    const now = this.now();
    if (now - this.lastCheck < everyMs) return undefined;
    this.lastCheck = now;
    const warning = backlogWarning(await measureBacklog(walDir, statfs), thresholds, walDir);
    if (!warning || !(await claimWarning(spool, now, thresholds.intervalMs))) return { warning, written: false };
    write(`chrono-backup wal-push: ${warning.severity === 'critical' ? 'CRITICAL' : 'WARNING'}: ${warning.message}`);
    return { warning, written: true };
  }
}
