import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { StorageError } from '../../../src/domain/errors.js';
import { archiveOrder, runPusher, type PusherOptions, type PushResult } from '../../../src/pitr/wal-async-pusher.js';
import { readStatus, writeStatus } from '../../../src/pitr/wal-async-spool.js';
import { scratchWalDirectory } from '../../helpers/wal-directory.js';

const segment = (n: number) => `0000000100000000000000${n.toString(16).toUpperCase().padStart(2, '0')}`;
const result: PushResult = { size: 16, mtimeMs: 1, outcome: 'archived', systemIdentifier: '42' };

let root: string;
let walDir: string;
let spool: string;
beforeEach(async () => {
  ({ root, walDir, spool } = await scratchWalDirectory('chrono-async-pusher-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function markReady(...names: string[]): Promise<void> {
  for (const name of names) await writeFile(join(walDir, 'archive_status', `${name}.ready`), '');
}

/** What PostgreSQL does once wal-push exits 0 (on the .ok): the .ready becomes .done. */
async function acknowledge(name: string): Promise<void> {
  await rename(join(walDir, 'archive_status', `${name}.ready`), join(walDir, 'archive_status', `${name}.done`));
}

async function spoolFiles(suffix: string): Promise<string[]> {
  return (await readdir(spool)).filter((name) => name.endsWith(suffix)).sort();
}

function options(over: Partial<PusherOptions>): PusherOptions {
  return { walDir, spool, fingerprint: 'f1', concurrency: 2, queue: 64, idleMs: 50, pollMs: 5, push: async () => result, exitCodeOf: () => 8, log: () => undefined, ...over };
}

describe('archive order', () => {
  it('is PostgreSQL’s: timeline history files first, then the lowest name', () => {
    expect(archiveOrder([segment(3), '00000002.history', segment(1), `${segment(2)}.00000028.backup`, segment(2)])).toEqual(['00000002.history', segment(1), segment(2), `${segment(2)}.00000028.backup`, segment(3)]);
  });
});

describe('the pusher', () => {
  it('pushes every ready file oldest first, at most `concurrency` at once, and writes .ok after each push', async () => {
    await markReady(segment(3), segment(1), segment(2), '00000002.history', segment(4));
    const started: string[] = [];
    let inFlight = 0;
    let most = 0;
    const summary = await runPusher(
      options({
        push: async (name) => {
          started.push(name);
          most = Math.max(most, ++inFlight);
          // No .ok before the push has returned.
          expect(await readStatus(spool, name)).toBeUndefined();
          await new Promise((done) => setTimeout(done, 10));
          inFlight--;
          return { ...result, size: name.length };
        },
      }),
    );
    expect(summary).toEqual({ pushed: 5, failed: 0, reason: 'idle' });
    expect(started).toEqual(['00000002.history', segment(1), segment(2), segment(3), segment(4)]);
    expect(most).toBe(2);
    expect(await readStatus(spool, segment(1))).toEqual({ kind: 'ok', ...result, size: 24, fingerprint: 'f1' });
    expect(await spoolFiles('.ok')).toHaveLength(5);
  });

  it('runs no more than `queue` files ahead of PostgreSQL, and goes on as PostgreSQL collects them', async () => {
    const names = Array.from({ length: 8 }, (_, i) => segment(i + 1));
    await markReady(...names);
    const pushed: string[] = [];
    const stop = new AbortController();
    const running = runPusher(options({ queue: 3, idleMs: 60_000, signal: stop.signal, push: async (name) => (pushed.push(name), result) }));
    /** Waits for `count` pushes, then a while longer: a pusher that would overrun its bound has done so by then. */
    const settle = async (count: number) => {
      for (let waited = 0; pushed.length < count && waited < 5000; waited += 5) await new Promise((done) => setTimeout(done, 5));
      await new Promise((done) => setTimeout(done, 50));
    };
    await settle(3);
    expect(pushed).toEqual(names.slice(0, 3));
    expect(await spoolFiles('.ok')).toEqual(names.slice(0, 3).map((name) => `${name}.ok`));
    await acknowledge(names[0]!);
    await settle(4);
    expect(pushed).toEqual(names.slice(0, 4));
    await acknowledge(names[1]!);
    await acknowledge(names[2]!);
    await settle(6);
    expect(pushed).toEqual(names.slice(0, 6));
    // The statuses of what PostgreSQL marked done are cleared.
    expect(await spoolFiles('.ok')).toEqual(names.slice(3, 6).map((name) => `${name}.ok`));
    stop.abort();
    expect(await running).toEqual({ pushed: 6, failed: 0, reason: 'stopped' });
  });

  it('records a failure as .error (never .ok), lets the pushes in flight finish, and stops', async () => {
    await markReady(segment(1), segment(2), segment(3), segment(4));
    const lines: string[] = [];
    const summary = await runPusher(
      options({
        log: (line) => lines.push(line),
        push: async (name) => {
          if (name === segment(1)) {
            await new Promise((done) => setTimeout(done, 5));
            throw new StorageError('access_denied', `access denied to object wal/42/00000001/${name}`);
          }
          await new Promise((done) => setTimeout(done, 30));
          return result;
        },
      }),
    );
    expect(summary).toEqual({ pushed: 1, failed: 1, reason: 'failure' });
    expect(await readStatus(spool, segment(1))).toEqual({ kind: 'error', message: `access denied to object wal/42/00000001/${segment(1)}`, exitCode: 8, fingerprint: 'f1', code: 'storage.access_denied' });
    expect(await spoolFiles('.ok')).toEqual([`${segment(2)}.ok`]);
    // Nothing started after the failure.
    expect(await readStatus(spool, segment(3))).toBeUndefined();
    expect(lines).toEqual([expect.stringContaining(`${segment(1)} not archived: access denied`)]);
  });

  it('writes nothing for a push that never returned', async () => {
    await markReady(segment(1));
    let release: (() => void) | undefined;
    const stop = new AbortController();
    const hung = () =>
      new Promise<PushResult>((_, fail) => {
        release = () => fail(new Error('killed'));
      });
    const running = runPusher(options({ signal: stop.signal, push: hung }));
    await new Promise((done) => setTimeout(done, 30));
    expect(await readdir(spool)).toEqual([]);
    stop.abort();
    release!();
    expect((await running).reason).toBe('stopped');
    expect(await spoolFiles('.ok')).toEqual([]);
  });

  it('retries what an earlier pusher failed, and drops statuses of files no longer ready', async () => {
    await markReady(segment(2));
    await writeStatus(spool, segment(2), { kind: 'error', message: 'earlier failure', exitCode: 8, fingerprint: 'f1' });
    await writeStatus(spool, segment(1), { kind: 'ok', ...result, fingerprint: 'f1' });
    await writeStatus(spool, segment(0), { kind: 'error', message: 'gone', exitCode: 8, fingerprint: 'f1' });
    const pushed: string[] = [];
    expect(await runPusher(options({ push: async (name) => (pushed.push(name), result) }))).toMatchObject({ pushed: 1, reason: 'idle' });
    expect(pushed).toEqual([segment(2)]);
    expect(await readdir(spool)).toEqual([`${segment(2)}.ok`]);
  });

  it('skips a ready file that is gone, and stops when pg_wal is', async () => {
    await markReady(segment(1));
    expect(await runPusher(options({ push: async () => undefined }))).toEqual({ pushed: 0, failed: 0, reason: 'idle' });
    expect(await readdir(spool)).toEqual([]);
    const running = runPusher(options({ idleMs: 60_000, push: async () => undefined }));
    await rm(walDir, { recursive: true });
    expect((await running).reason).toBe('gone');
  });
});
