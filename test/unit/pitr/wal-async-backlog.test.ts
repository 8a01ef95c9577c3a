import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { backlogWarning, BacklogMonitor, claimWarning, measureBacklog, type Backlog, type StatFs } from '../../../src/pitr/wal-async-backlog.js';
import { WAL_ASYNC_DEFAULTS } from '../../../src/pitr/wal-async-settings.js';
import { scratchWalDirectory } from '../../helpers/wal-directory.js';

const GiB = 1024 ** 3;
const thresholds = WAL_ASYNC_DEFAULTS.warn;
/** A 100 GiB filesystem with `free` bytes available, in 4 KiB blocks. */
const disk = (free: number): StatFs => async () => ({ bsize: 4096, blocks: (100 * GiB) / 4096, bavail: Math.floor(free / 4096) });
const backlog = (over: Partial<Backlog>): Backlog => ({ readyFiles: 3, readyBytes: 3 * 16 * 1024 * 1024, freeBytes: 50 * GiB, totalBytes: 100 * GiB, ...over });

let root: string;
let walDir: string;
let spool: string;
beforeEach(async () => {
  ({ root, walDir, spool } = await scratchWalDirectory('chrono-async-backlog-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the backlog warning thresholds', () => {
  it('stay quiet while archiving keeps up and space is plenty', () => {
    expect(backlogWarning(backlog({}), thresholds, '/pg/pg_wal')).toBeUndefined();
    expect(backlogWarning(backlog({ readyFiles: 256 }), thresholds, '/pg/pg_wal')).toBeUndefined();
  });

  it('warn when more files wait than the threshold, naming the numbers and what to do', () => {
    const warning = backlogWarning(backlog({ readyFiles: 257, readyBytes: 257 * 16 * 1024 * 1024 }), thresholds, '/pg/pg_wal')!;
    expect(warning.severity).toBe('warning');
    expect(warning.message).toContain('WAL archiving is falling behind: 257 WAL file(s) (4.0 GiB) wait for archiving in /pg/pg_wal');
    expect(warning.message).toContain('50.0 GiB free on its filesystem (50.0%)');
    expect(warning.message).toMatch(/stops when pg_wal fills.*storage test.*--async-concurrency/);
    expect(warning.details).toMatchObject({ readyFiles: 257, freeBytes: 50 * GiB, freePercent: 50 });
  });

  it('are critical when free space falls below the size or the share', () => {
    // 900 MiB free: below 1 GiB.
    const bySize = backlogWarning(backlog({ freeBytes: 900 * 1024 * 1024 }), thresholds, '/pg/pg_wal')!;
    expect(bySize.severity).toBe('critical');
    expect(bySize.message).toContain("pg_wal's filesystem is running out of space: 900.0 MiB free on its filesystem (0.9%)");
    // 9 GiB of 100: above 1 GiB but below 10 %.
    expect(backlogWarning(backlog({ freeBytes: 9 * GiB }), thresholds, '/pg/pg_wal')?.severity).toBe('critical');
    expect(backlogWarning(backlog({ freeBytes: 11 * GiB }), thresholds, '/pg/pg_wal')).toBeUndefined();
    // Thresholds of 0 turn the checks off.
    expect(backlogWarning(backlog({ readyFiles: 10_000, freeBytes: 0 }), { ...thresholds, readyFiles: 10_000, freeBytes: 0, freePercent: 0 }, '/pg/pg_wal')).toBeUndefined();
  });

  it('are measured from archive_status and the filesystem', async () => {
    for (const [name, size] of [['000000010000000000000001', 4096], ['000000010000000000000002', 4096], ['00000002.history', 42]] as const) {
      await writeFile(join(walDir, name), Buffer.alloc(size));
      await writeFile(join(walDir, 'archive_status', `${name}.ready`), '');
    }
    await writeFile(join(walDir, 'archive_status', '000000010000000000000000.done'), '');
    expect(await measureBacklog(walDir, disk(5 * GiB))).toEqual({ readyFiles: 3, readyBytes: 4096 * 2 + 42, freeBytes: 5 * GiB, totalBytes: 100 * GiB });
    // The real statfs of the temporary folder's filesystem answers too.
    const real = await measureBacklog(walDir);
    expect(real.totalBytes).toBeGreaterThan(0);
    expect(real.freeBytes).toBeLessThanOrEqual(real.totalBytes);
  });
});

describe('the warning', () => {
  it('goes out at most once per interval, across processes sharing the spool', async () => {
    const t = 1_800_000_000_000;
    expect(await claimWarning(spool, t, 60_000)).toBe(true);
    expect(await claimWarning(spool, t + 1000, 60_000)).toBe(false);
    expect(await claimWarning(spool, t + 59_000, 60_000)).toBe(false);
    expect(await claimWarning(spool, t + 60_000, 60_000)).toBe(true);
    // A clock set back does not silence it for good.
    expect(await claimWarning(spool, t - 3_600_000, 60_000)).toBe(true);
  });

  it('is written by the monitor when a threshold is crossed, measured at most every few seconds', async () => {
    let now = 1_800_000_000_000;
    const lines: string[] = [];
    let free = 50 * GiB;
    const monitor = new BacklogMonitor({ walDir, spool, thresholds: { ...thresholds, readyFiles: 1 }, write: (line) => lines.push(line), now: () => now, statfs: async (path) => disk(free)(path), everyMs: 5000 });
    expect(await monitor.check()).toEqual({ warning: undefined, written: false });
    for (const name of ['000000010000000000000001', '000000010000000000000002']) await writeFile(join(walDir, 'archive_status', `${name}.ready`), '');
    // Not yet time to measure again.
    now += 1000;
    expect(await monitor.check()).toBeUndefined();
    now += 4000;
    const first = await monitor.check();
    expect(first).toMatchObject({ written: true, warning: { severity: 'warning' } });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^chrono-backup wal-push: WARNING: WAL archiving is falling behind: 2 WAL file\(s\)/);
    // Still behind 5 s later: measured, but the line is not repeated within the interval.
    now += 5000;
    expect(await monitor.check()).toMatchObject({ written: false, warning: { severity: 'warning' } });
    free = 100 * 1024 * 1024;
    now += 60_000;
    expect(await monitor.check()).toMatchObject({ written: true, warning: { severity: 'critical' } });
    expect(lines[1]).toMatch(/^chrono-backup wal-push: CRITICAL: pg_wal's filesystem is running out of space: 100\.0 MiB free/);
  });
});
