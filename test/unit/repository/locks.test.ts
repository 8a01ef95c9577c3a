import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockedError, NotFoundError } from '../../../src/domain/errors.js';
import type { Clock } from '../../../src/ports/clock.js';
import { assertSafeKey, type ObjectInfo, type ObjectStorage } from '../../../src/ports/object-storage.js';
import { listLiveLocks, RepositoryLock, type LockInfo, type LockKind, type LockOptions } from '../../../src/repository/locks.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';

/** A minimal in-memory ObjectStorage; {@link holdNextPut} makes the next put wait until released. */
class MemoryStorage implements ObjectStorage {
  readonly location = 'memory://locks';
  readonly objects = new Map<string, Buffer>();
  private nextPutGate: Promise<void> | undefined;
  /** Keys that are listed but whose get reports NotFound (deleted between list and get). */
  readonly vanishing = new Set<string>();

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    const copy = Buffer.from(data);
    const gate = this.nextPutGate;
    this.nextPutGate = undefined;
    if (gate) await gate;
    this.objects.set(key, copy);
  }

  /** The next put (only that one) waits until the returned function is called. */
  holdNextPut(): () => void {
    let open!: () => void;
    this.nextPutGate = new Promise<void>((resolve) => (open = resolve));
    return open;
  }

  async get(key: string): Promise<Buffer> {
    const data = this.objects.get(key);
    if (data === undefined || this.vanishing.has(key)) throw new NotFoundError('object', key);
    return Buffer.from(data);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const data = this.objects.get(key);
    return data ? { key, size: data.length, modified: new Date(0) } : undefined;
  }

  async *list(prefix: string): AsyncIterable<ObjectInfo> {
    for (const [key, data] of [...this.objects]) if (key.startsWith(prefix)) yield { key, size: data.length, modified: new Date(0) };
  }

  async delete(key: string): Promise<void> {
    this.objects.delete(key);
  }

  lockKeys(): string[] {
    return [...this.objects.keys()].filter((key) => key.startsWith('locks/'));
  }

  lockInfos(): LockInfo[] {
    return this.lockKeys().map((key) => JSON.parse(this.objects.get(key)!.toString('utf8')) as LockInfo);
  }
}

class FakeClock implements Clock {
  constructor(private ms: number) {}
  now(): Date {
    return new Date(this.ms);
  }
  advance(ms: number): void {
    this.ms += ms;
  }
}

const T0 = Date.parse('2024-12-24T12:00:00.000Z');
const held: RepositoryLock[] = [];

async function acquire(storage: ObjectStorage, kind: LockKind, options: Partial<LockOptions> & { clock: Clock }): Promise<RepositoryLock> {
  const lock = await RepositoryLock.acquire(storage, kind, { operation: kind === 'exclusive' ? 'prune' : 'backup', ...options });
  held.push(lock);
  return lock;
}

async function lockedError(promise: Promise<unknown>): Promise<LockedError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(LockedError);
  return error as LockedError;
}

function staleLock(id: string, kind: LockKind, expires: number): LockInfo {
  return { id, kind, operation: 'crashed', host: 'gone', pid: 1, created: new Date(expires - 120_000).toISOString(), expires: new Date(expires).toISOString() };
}

afterEach(async () => {
  jest.useRealTimers();
  await Promise.all(held.splice(0).map((lock) => lock.release()));
});

describe('RepositoryLock', () => {
  it('lets shared leases coexist', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const a = await acquire(storage, 'shared', { clock });
    const b = await acquire(storage, 'shared', { clock, operation: 'restore' });
    expect(a.id).not.toBe(b.id);
    const live = await listLiveLocks(storage, clock);
    expect(live.map((lock) => lock.id).sort()).toEqual([a.id, b.id].sort());
    expect(live.find((lock) => lock.id === b.id)).toMatchObject({
      kind: 'shared',
      operation: 'restore',
      host: hostname(),
      pid: process.pid,
      created: new Date(T0).toISOString(),
      expires: new Date(T0 + 120_000).toISOString(),
    });
  });

  it('refuses an exclusive lease while a shared one is live, with a LockedError naming the holder', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const shared = await acquire(storage, 'shared', { clock, operation: 'backup' });
    const error = await lockedError(acquire(storage, 'exclusive', { clock, operation: 'prune' }));
    expect(error.code).toBe('locked');
    expect(error.retryable).toBe(true);
    expect(error.details).toMatchObject({ holder: 'backup', kind: 'shared' });
    expect(error.message).toContain('backup');
    // The failed attempt leaves nothing behind.
    expect(storage.lockKeys()).toEqual([`locks/${shared.id}`]);
  });

  it('refuses a shared lease while an exclusive one is live', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const exclusive = await acquire(storage, 'exclusive', { clock });
    const error = await lockedError(acquire(storage, 'shared', { clock }));
    expect(error.details).toMatchObject({ holder: 'prune', kind: 'exclusive' });
    expect(storage.lockKeys()).toEqual([`locks/${exclusive.id}`]);
  });

  it('refuses a second exclusive lease', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    await acquire(storage, 'exclusive', { clock });
    await lockedError(acquire(storage, 'exclusive', { clock }));
  });

  it('fails at once without sleeping when waitMs is 0', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    await acquire(storage, 'exclusive', { clock });
    const sleep = jest.fn(async (_ms: number) => undefined);
    await lockedError(acquire(storage, 'shared', { clock, waitMs: 0, sleep }));
    expect(sleep).not.toHaveBeenCalled();
  });

  it('with waitMs, keeps trying and succeeds once the holder releases', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const holder = await acquire(storage, 'exclusive', { clock });
    const sleeps: number[] = [];
    const lock = await acquire(storage, 'shared', {
      clock,
      waitMs: 60_000,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock.advance(ms);
        if (sleeps.length === 3) await holder.release();
      },
    });
    expect(sleeps).toHaveLength(3);
    for (const ms of sleeps) {
      expect(ms).toBeGreaterThanOrEqual(500);
      expect(ms).toBeLessThan(1500);
    }
    expect(storage.lockKeys()).toEqual([`locks/${lock.id}`]);
  });

  it('with waitMs, gives up with LockedError once the wait is over', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    await acquire(storage, 'exclusive', { clock });
    const sleeps: number[] = [];
    await lockedError(
      acquire(storage, 'shared', {
        clock,
        waitMs: 5000,
        sleep: async (ms) => {
          sleeps.push(ms);
          clock.advance(ms);
        },
      }),
    );
    // Between 5000/1500 and 5000/500 sleeps (plus the last attempt).
    expect(sleeps.length).toBeGreaterThanOrEqual(3);
    expect(sleeps.length).toBeLessThanOrEqual(10);
    expect(storage.lockKeys()).toHaveLength(1);
  });

  it('ignores and removes expired leases of crashed holders', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    await storage.put('locks/stale-exclusive', Buffer.from(JSON.stringify(staleLock('stale-exclusive', 'exclusive', T0 - 1))));
    await storage.put('locks/stale-at-now', Buffer.from(JSON.stringify(staleLock('stale-at-now', 'exclusive', T0))));
    const lock = await acquire(storage, 'exclusive', { clock });
    expect(storage.lockKeys()).toEqual([`locks/${lock.id}`]);
  });

  it('treats a lease as expired once the clock passes its expiry', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const old = await acquire(storage, 'exclusive', { clock, ttlMs: 60_000 });
    clock.advance(59_999);
    await lockedError(acquire(storage, 'exclusive', { clock }));
    clock.advance(2);
    const next = await acquire(storage, 'exclusive', { clock });
    expect(storage.lockKeys()).toEqual([`locks/${next.id}`]);
    expect(storage.lockKeys()).not.toContain(`locks/${old.id}`);
  });

  it('release deletes the lease object and is idempotent', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const lock = await acquire(storage, 'shared', { clock });
    expect(storage.lockKeys()).toEqual([`locks/${lock.id}`]);
    await lock.release();
    expect(storage.lockKeys()).toEqual([]);
    await lock.release();
    expect(storage.lockKeys()).toEqual([]);
    // Now an exclusive lease is possible.
    await acquire(storage, 'exclusive', { clock });
  });

  it('reserve() records the reservation where other holders see it', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const a = await acquire(storage, 'shared', { clock });
    const b = await acquire(storage, 'shared', { clock });
    await a.reserve('full_20241224_120000');
    const seenByB = (await listLiveLocks(storage, clock)).filter((info) => info.id !== b.id);
    expect(seenByB).toHaveLength(1);
    expect(seenByB[0]).toMatchObject({ id: a.id, reservation: 'full_20241224_120000', kind: 'shared' });
    await a.reserve('full_20241224_120000_abcd');
    expect((await listLiveLocks(storage, clock)).find((info) => info.id === a.id)?.reservation).toBe('full_20241224_120000_abcd');
  });

  it('renews its lease on a heartbeat', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const lock = await acquire(storage, 'shared', { clock, ttlMs: 30_000 });
    expect(storage.lockInfos()[0]!.expires).toBe(new Date(T0 + 30_000).toISOString());
    clock.advance(10_000);
    await jest.advanceTimersByTimeAsync(10_000);
    expect(storage.lockInfos()[0]!.expires).toBe(new Date(T0 + 40_000).toISOString());
    // Still live long after the first expiry because it keeps renewing.
    clock.advance(40_000);
    await jest.advanceTimersByTimeAsync(10_000);
    expect((await listLiveLocks(storage, clock)).map((info) => info.id)).toEqual([lock.id]);
    await lock.release();
    clock.advance(10_000);
    await jest.advanceTimersByTimeAsync(30_000);
    expect(storage.lockKeys()).toEqual([]);
  });

  it('does not resurrect its lease when a renewal is in flight during release', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const lock = await acquire(storage, 'shared', { clock, ttlMs: 3000 });
    const openGate = storage.holdNextPut();
    clock.advance(1000);
    await jest.advanceTimersByTimeAsync(1000); // heartbeat fires; its put waits at the gate
    const releasing = lock.release();
    await new Promise((resolve) => setImmediate(resolve));
    openGate();
    await releasing;
    await new Promise((resolve) => setImmediate(resolve));
    expect(storage.lockKeys()).toEqual([]);
  });

  it('does not lose a reservation to a slower heartbeat write', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const lock = await acquire(storage, 'shared', { clock, ttlMs: 3000 });
    const openGate = storage.holdNextPut();
    clock.advance(1000);
    await jest.advanceTimersByTimeAsync(1000); // heartbeat's put (without a reservation) is held
    const reserving = lock.reserve('full_20241224_120000');
    await new Promise((resolve) => setImmediate(resolve));
    openGate();
    await reserving;
    await new Promise((resolve) => setImmediate(resolve));
    expect(storage.lockInfos()).toEqual([expect.objectContaining({ id: lock.id, reservation: 'full_20241224_120000', expires: new Date(T0 + 4000).toISOString() })]);
  });

  it('skips a lease that disappears while the locks are listed', async () => {
    const storage = new MemoryStorage();
    const clock = new FakeClock(T0);
    const a = await acquire(storage, 'shared', { clock });
    const b = await acquire(storage, 'shared', { clock });
    storage.vanishing.add(`locks/${a.id}`);
    expect((await listLiveLocks(storage, clock)).map((info) => info.id)).toEqual([b.id]);
  });

  it('works on LocalObjectStorage: shared leases coexist, exclusive conflicts, release deletes', async () => {
    const root = await mkdtemp(join(tmpdir(), 'chrono-locks-'));
    try {
      const storage = new LocalObjectStorage(root);
      const clock = new FakeClock(T0);
      const a = await acquire(storage, 'shared', { clock });
      const b = await acquire(storage, 'shared', { clock });
      await lockedError(acquire(storage, 'exclusive', { clock }));
      expect((await readdir(join(root, 'locks'))).sort()).toEqual([a.id, b.id].sort());
      await a.release();
      await b.release();
      expect(await readdir(join(root, 'locks'))).toEqual([]);
      const exclusive = await acquire(storage, 'exclusive', { clock });
      await lockedError(acquire(storage, 'shared', { clock }));
      await exclusive.release();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
