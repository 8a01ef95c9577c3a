import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tryAcquirePusherLock } from '../../../src/pitr/wal-async-lock.js';
import {
  HEARTBEAT_STALE_MS,
  listStatuses,
  okApplies,
  pusherState,
  readStatus,
  removePusherInfo,
  removeTemporaries,
  spoolDirectory,
  writePusherInfo,
  writeStatus,
  type PushStatus,
} from '../../../src/pitr/wal-async-spool.js';

const NAME = '000000010000000000000007';
const ok = (over: Partial<Extract<PushStatus, { kind: 'ok' }>> = {}): PushStatus => ({ kind: 'ok', size: 1024, mtimeMs: 1000.5, fingerprint: 'f1', outcome: 'archived', systemIdentifier: '42', ...over });
const error: PushStatus = { kind: 'error', message: 'access denied to object wal/42/…', exitCode: 8, fingerprint: 'f1', code: 'storage.access_denied' };

let spool: string;
beforeEach(async () => {
  spool = await mkdtemp(join(tmpdir(), 'chrono-async-spool-'));
});
afterEach(async () => {
  await rm(spool, { recursive: true, force: true });
});

describe('status files', () => {
  it('live in pg_wal by default, where no base backup copies them', () => {
    expect(spoolDirectory('/pg/data/pg_wal')).toBe('/pg/data/pg_wal/.chrono-wal-async');
    expect(spoolDirectory('/pg/data/pg_wal', '/var/spool/chrono')).toBe('/var/spool/chrono');
  });

  it('round-trip, and leave no temporary behind', async () => {
    expect(await readStatus(spool, NAME)).toBeUndefined();
    await writeStatus(spool, NAME, error);
    expect(await readStatus(spool, NAME)).toEqual(error);
    await writeStatus(spool, NAME, ok());
    // The success replaces the failure: a retry that worked is not reported as failed.
    expect(await readStatus(spool, NAME)).toEqual(ok());
    expect(await readdir(spool)).toEqual([`${NAME}.ok`]);
  });

  it('read a damaged status as absent, never as a success, and remove it', async () => {
    await writeFile(join(spool, `${NAME}.ok`), '{"kind":"ok","size":1');
    expect(await readStatus(spool, NAME)).toBeUndefined();
    await writeFile(join(spool, `${NAME}.ok`), JSON.stringify({ kind: 'error', message: 'x', exitCode: 1, fingerprint: 'f1' }));
    expect(await readStatus(spool, NAME)).toBeUndefined();
    expect(await readdir(spool)).toEqual([]);
  });

  it('count an ok only for the same file under the same repository settings', () => {
    const status = ok() as Extract<PushStatus, { kind: 'ok' }>;
    expect(okApplies(status, { size: 1024, mtimeMs: 1000.5 }, 'f1')).toBe(true);
    expect(okApplies(status, { size: 1024, mtimeMs: 1000.5 }, 'f2')).toBe(false);
    expect(okApplies(status, { size: 1024, mtimeMs: 2000 }, 'f1')).toBe(false);
    expect(okApplies(status, { size: 2048, mtimeMs: 1000.5 }, 'f1')).toBe(false);
  });

  it('are listed by file, and temporaries of killed writers are swept', async () => {
    await writeStatus(spool, NAME, ok());
    await writeStatus(spool, '00000002.history', error);
    await writeFile(join(spool, `.tmp-${NAME}.ok-0a0b0c0d`), 'half');
    await writeFile(join(spool, 'pusher.lock'), '');
    expect(await listStatuses(spool)).toEqual(
      new Map([
        [NAME, new Set(['ok'])],
        ['00000002.history', new Set(['error'])],
      ]),
    );
    await removeTemporaries(spool);
    expect((await readdir(spool)).sort()).toEqual([`${NAME}.ok`, '00000002.history.error', 'pusher.lock']);
  });
});

describe('the pusher pid file', () => {
  const info = (pid: number) => ({ pid, fingerprint: 'f1', walDir: '/pg/data/pg_wal', startedAt: '2026-01-01T00:00:00Z' });

  it('says running only for a live process with a fresh heartbeat and the same settings', async () => {
    const now = Date.now();
    const walDir = '/pg/data/pg_wal';
    expect(await pusherState(spool, 'f1', walDir, now)).toEqual({ state: 'absent' });
    await writePusherInfo(spool, info(process.pid));
    expect(await pusherState(spool, 'f1', walDir, now)).toEqual({ state: 'running', pid: process.pid });
    expect(await pusherState(spool, 'f2', walDir, now)).toEqual({ state: 'other-settings', pid: process.pid });
    expect(await pusherState(spool, 'f1', '/pg/other/pg_wal', now)).toEqual({ state: 'other-cluster', pid: process.pid, walDir });
    // A dead pid, or a heartbeat gone quiet (hung, or the pid reused by another program): absent.
    expect(await pusherState(spool, 'f1', walDir, now, () => false)).toEqual({ state: 'absent' });
    const old = new Date(now - HEARTBEAT_STALE_MS - 1000);
    await utimes(join(spool, 'pusher.json'), old, old);
    expect(await pusherState(spool, 'f1', walDir, now)).toEqual({ state: 'absent' });
  });

  it('is removed only by its own pusher', async () => {
    await writePusherInfo(spool, info(12345));
    await removePusherInfo(spool, process.pid);
    expect(await readdir(spool)).toEqual(['pusher.json']);
    await removePusherInfo(spool, 12345);
    expect(await readdir(spool)).toEqual([]);
  });
});

describe('the pusher lock', () => {
  it('is exclusive, and free again once released', () => {
    const first = tryAcquirePusherLock(spool);
    expect(first).toBeDefined();
    expect(tryAcquirePusherLock(spool)).toBeUndefined();
    first!.release();
    const second = tryAcquirePusherLock(spool);
    expect(second).toBeDefined();
    second!.release();
  });

  it('is held by another process while it lives, and released by the kernel when it is killed', async () => {
    // Another process takes the same SQLite lock as tryAcquirePusherLock (any SQLite client holding the
    // file exclusively keeps a pusher out).
    const holder = execFile(process.execPath, [
      '--input-type=module',
      '-e',
      `import Database from 'better-sqlite3'; const db = new Database(${JSON.stringify(join(spool, 'pusher.lock'))}, { timeout: 0 }); db.pragma('journal_mode = MEMORY'); db.pragma('locking_mode = EXCLUSIVE'); db.exec('BEGIN EXCLUSIVE'); console.log('held'); setInterval(() => {}, 1000);`,
    ], { cwd: process.cwd() });
    const exited = new Promise((done) => holder.once('exit', done));
    await new Promise<void>((done, fail) => {
      holder.stdout!.on('data', (chunk: Buffer) => chunk.toString().includes('held') && done());
      holder.once('exit', () => fail(new Error('the holder exited early')));
    });
    expect(tryAcquirePusherLock(spool)).toBeUndefined();
    holder.kill('SIGKILL');
    await exited;
    // No stale lock to detect or take over: the next pusher simply gets it.
    const lock = tryAcquirePusherLock(spool);
    expect(lock).toBeDefined();
    lock!.release();
  });
});
