import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { walPushAsync, type AsyncPushDeps, type PusherLaunch } from '../../../src/pitr/wal-async-push.js';
import { repositoryFingerprint, WAL_ASYNC_DEFAULTS, type WalAsyncSettings } from '../../../src/pitr/wal-async-settings.js';
import { writePusherInfo, writeStatus } from '../../../src/pitr/wal-async-spool.js';

const NAME = '000000010000000000000005';
const env = { CHRONO_BACKUP_REPO: '/srv/repo', CHRONO_BACKUP_HOME: '/srv/home' };
const fingerprint = repositoryFingerprint(env, undefined, undefined);

let data: string;
let walDir: string;
let spool: string;
let launches: PusherLaunch[];
beforeEach(async () => {
  data = await mkdtemp(join(tmpdir(), 'chrono-async-push-'));
  walDir = join(data, 'pg_wal');
  spool = join(walDir, '.chrono-wal-async');
  await mkdir(join(walDir, 'archive_status'), { recursive: true });
  await writeFile(join(walDir, NAME), Buffer.alloc(1024, 7));
  await writeFile(join(walDir, 'archive_status', `${NAME}.ready`), '');
  launches = [];
});
afterEach(async () => {
  await rm(data, { recursive: true, force: true });
});

/** A clock that moves 50 ms per look, so waits of seconds take a few real milliseconds. */
function fastClock(): () => number {
  let t = Date.now();
  return () => (t += 50);
}

function push(settings: Partial<WalAsyncSettings> = {}, deps: AsyncPushDeps = {}) {
  return walPushAsync({ path: `pg_wal/${NAME}`, cwd: data, env, settings: { ...WAL_ASYNC_DEFAULTS, waitMs: 2000, ...settings } }, { launch: (launch) => launches.push(launch), now: fastClock(), pollMs: 1, ...deps });
}

async function okFor(over: { fingerprint?: string; mtimeMs?: number } = {}): Promise<void> {
  const file = await stat(join(walDir, NAME));
  await writeStatus(spool, NAME, { kind: 'ok', size: file.size, mtimeMs: over.mtimeMs ?? file.mtimeMs, fingerprint: over.fingerprint ?? fingerprint, outcome: 'archived', systemIdentifier: '42' });
}

describe('the foreground of wal-push --async', () => {
  it('exits 0 on the .ok of this file, and starts nothing', async () => {
    await mkdir(spool, { recursive: true });
    await okFor();
    expect(await push()).toEqual({ kind: 'pushed', name: NAME, outcome: 'archived', systemIdentifier: '42' });
    expect(launches).toEqual([]);
    // Left for the pusher, which clears it once PostgreSQL marks the file done; asked again (PostgreSQL
    // crashed before it recorded the success), the answer is the same.
    expect(await readdir(spool)).toEqual([`${NAME}.ok`]);
    expect(await push()).toMatchObject({ kind: 'pushed' });
  });

  it('reports an .error once, with its exit status, and takes it away', async () => {
    await mkdir(spool, { recursive: true });
    await writeStatus(spool, NAME, { kind: 'error', message: 'access denied to object wal/…', exitCode: 8, fingerprint, code: 'storage.access_denied' });
    expect(await push()).toEqual({ kind: 'failed', name: NAME, message: 'access denied to object wal/…', exitCode: 8, code: 'storage.access_denied' });
    expect(await readdir(spool)).toEqual([]);
    // A status outside PostgreSQL's "retry" range is not passed on: above 125 would stop the archiver.
    await writeStatus(spool, NAME, { kind: 'error', message: 'x', exitCode: 200, fingerprint });
    expect(await push()).toMatchObject({ kind: 'failed', exitCode: 1 });
  });

  it('starts a pusher when none runs, and waits for the verdict', async () => {
    const answered = push({}, { launch: (launch) => (launches.push(launch), void setTimeout(() => void okFor(), 20)), now: Date.now, pollMs: 5 });
    expect(await answered).toMatchObject({ kind: 'pushed', name: NAME });
    expect(launches).toHaveLength(1);
    expect(launches[0]).toMatchObject({ walDir, spool, request: { path: `pg_wal/${NAME}`, cwd: data } });
  });

  it('times out with no success when no verdict comes, starting a pusher again now and then', async () => {
    const result = await push({ waitMs: 5000 });
    expect(result).toEqual({ kind: 'timeout', name: NAME, waitedMs: expect.any(Number) });
    // Looks every 500 ms, starts one at most every 2 s: 3 in 5 s.
    expect(launches).toHaveLength(3);
  });

  it('does not start a second pusher while one runs, and stops one that pushes to another repository', async () => {
    await mkdir(spool, { recursive: true });
    await writePusherInfo(spool, { pid: process.pid, fingerprint, walDir, startedAt: new Date().toISOString() });
    expect(await push({ waitMs: 1000 })).toMatchObject({ kind: 'timeout' });
    expect(launches).toEqual([]);
    await writePusherInfo(spool, { pid: process.pid, fingerprint: 'elsewhere', walDir, startedAt: new Date().toISOString() });
    const stopped: number[] = [];
    expect(await push({ waitMs: 1000 }, { stopPusher: (pid) => stopped.push(pid) })).toMatchObject({ kind: 'timeout' });
    expect(stopped).toEqual([process.pid]);
    expect(launches).toHaveLength(1);
  });

  it('refuses a spool that another cluster’s pusher holds', async () => {
    await mkdir(spool, { recursive: true });
    await writePusherInfo(spool, { pid: process.pid, fingerprint, walDir: '/pg/other/pg_wal', startedAt: new Date().toISOString() });
    expect(await push()).toEqual({ kind: 'failed', name: NAME, message: `the spool ${spool} is in use by the pusher of /pg/other/pg_wal: give each cluster its own (--spool, CHRONO_BACKUP_WAL_SPOOL)`, exitCode: 2 });
    expect(launches).toEqual([]);
  });

  it('does not take the .ok of another file under this name, or of other settings, for a success', async () => {
    await mkdir(spool, { recursive: true });
    await okFor({ mtimeMs: 1 });
    expect(await push({ waitMs: 500 })).toMatchObject({ kind: 'timeout' });
    await okFor({ fingerprint: 'elsewhere' });
    expect(await push({ waitMs: 500 })).toMatchObject({ kind: 'timeout' });
    // Both were removed: the pusher pushes the file again.
    expect(await readdir(spool)).toEqual([]);
  });

  it('leaves a file PostgreSQL has not marked ready to the synchronous push', async () => {
    await rm(join(walDir, 'archive_status', `${NAME}.ready`));
    expect(await push()).toEqual({ kind: 'not-queued' });
    expect(launches).toEqual([]);
  });

  it('warns in the server log while it waits behind a long backlog', async () => {
    const lines: string[] = [];
    await push({ waitMs: 3000, warn: { ...WAL_ASYNC_DEFAULTS.warn, readyFiles: 0 } }, { write: (line) => lines.push(line) });
    expect(lines).toEqual([expect.stringMatching(/^chrono-backup wal-push: WARNING: WAL archiving is falling behind: 1 WAL file\(s\) \(1\.0 KiB\)/)]);
  });
});
