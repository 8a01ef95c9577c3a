import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NotFoundError, StorageError, ValidationError } from '../../../src/domain/errors.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { LATENCY_BUCKETS_MS, MeteredObjectStorage } from '../../../src/storage/metered-object-storage.js';
import { RetryingObjectStorage, type RetryInfo } from '../../../src/storage/retrying-object-storage.js';
import { ThrottledObjectStorage } from '../../../src/storage/throttled-object-storage.js';
import { InterceptingObjectStorage } from '../../helpers/storage-faults.js';
import type { StorageOperation } from '../../../src/storage/retrying-object-storage.js';

let base: string;
let local: LocalObjectStorage;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'chrono-decorators-'));
  local = new LocalObjectStorage(join(base, 'repo'));
});

afterEach(async () => {
  await rm(base, { recursive: true, force: true });
});

/** A clock that only moves when the test says so, and a sleep that records its waits and returns at once. */
function fakeTime() {
  const time = { now: 0, waits: [] as number[] };
  return {
    time,
    now: () => time.now,
    sleep: async (ms: number) => {
      time.waits.push(Math.round(ms));
    },
  };
}

describe('ThrottledObjectStorage', () => {
  // 8 Mbit/s = 1 000 000 bytes/s = 1000 bytes per millisecond: waits read as kilobytes.
  const MBPS = 8;

  it('lets a burst through, then makes concurrent uploads share the rate in arrival order', async () => {
    const clock = fakeTime();
    const storage = new ThrottledObjectStorage(local, { mbps: MBPS, burstBytes: 50_000, now: clock.now, sleep: clock.sleep });
    const data = Buffer.alloc(100_000, 1);
    await Promise.all(['a', 'b', 'c', 'd'].map((key) => storage.put(key, data)));
    // Bucket of 50 kB: the first 100 kB owes 50 kB (50 ms); each next one another 100 kB.
    expect(clock.time.waits).toEqual([50, 150, 250, 350]);
    expect((await local.get('d')).equals(data)).toBe(true);
  });

  it('refills with time up to the burst only, and counts downloads in the same bucket', async () => {
    const clock = fakeTime();
    const storage = new ThrottledObjectStorage(local, { mbps: MBPS, burstBytes: 10_000, now: clock.now, sleep: clock.sleep });
    await local.put('obj', Buffer.alloc(30_000, 2));
    clock.time.now = 1_000_000; // a long idle spell refills only the burst
    await storage.get('obj'); // whole object: pays 30 kB after arrival → owes 20 kB
    await storage.get('obj', { offset: 0, length: 5_000 }); // a range pays before: owes 25 kB in all
    clock.time.now += 25; // 25 ms repay 25 kB: the bucket is empty, not in credit
    await storage.put('small', Buffer.alloc(1_000));
    expect(clock.time.waits).toEqual([20, 25, 1]);
  });

  it('charges putFile the file size, and leaves head, list and delete alone', async () => {
    const clock = fakeTime();
    const storage = new ThrottledObjectStorage(local, { mbps: MBPS, burstBytes: 0, now: clock.now, sleep: clock.sleep });
    const file = join(base, '.~tmp-file');
    await writeFile(file, Buffer.alloc(40_000, 3));
    await storage.putFile('data/ab/pack', file);
    await storage.head('data/ab/pack');
    for await (const item of storage.list('')) expect(item.key).toBe('data/ab/pack');
    await storage.delete('data/ab/pack');
    expect(clock.time.waits).toEqual([40]);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('defaults the burst to 100 ms of the rate and refuses a limit that is not positive', () => {
    expect(() => new ThrottledObjectStorage(local, { mbps: 0 })).toThrow(ValidationError);
    expect(() => new ThrottledObjectStorage(local, { mbps: Number.NaN })).toThrow(ValidationError);
    const clock = fakeTime();
    const storage = new ThrottledObjectStorage(local, { mbps: 80, now: clock.now, sleep: clock.sleep });
    expect(storage.location).toBe(local.location);
    expect(storage.scratchDirectory).toBe(local.scratchDirectory);
  });
});

describe('MeteredObjectStorage', () => {
  it('counts bytes, requests, errors and latency per operation', async () => {
    const clock = { now: 0 };
    /** Every call takes 30 ms on the fake clock. */
    class Slow extends InterceptingObjectStorage {
      protected async around<T>(_operation: StorageOperation, _key: string, call: () => Promise<T>): Promise<T> {
        clock.now += 30;
        return call();
      }
    }
    const storage = new MeteredObjectStorage(new Slow(local), { now: () => clock.now });
    await storage.put('a', Buffer.alloc(1000));
    await storage.put('b', Buffer.alloc(24));
    expect((await storage.get('a', { offset: 0, length: 100 })).length).toBe(100);
    await expect(storage.get('missing')).rejects.toBeInstanceOf(NotFoundError);
    await storage.head('a');
    const keys: string[] = [];
    for await (const item of storage.list('')) keys.push(item.key);
    await expect(storage.put('../bad', Buffer.alloc(1))).rejects.toBeInstanceOf(ValidationError);

    const metrics = storage.metrics();
    expect(keys.sort()).toEqual(['a', 'b']);
    expect(metrics.location).toBe(local.location);
    expect(metrics.bytesUp).toBe(1024);
    expect(metrics.bytesDown).toBe(100);
    expect(metrics.operations.put).toMatchObject({ requests: 3, errors: 1, errorsByCode: { 'validation.invalid': 1 } });
    expect(metrics.operations.get).toMatchObject({ requests: 2, errors: 1, errorsByCode: { not_found: 1 } });
    expect(metrics.operations.list).toMatchObject({ requests: 1, errors: 0 });
    expect(metrics.operations.delete).toMatchObject({ requests: 0, errors: 0 });
    expect(metrics.operations.get.latency).toMatchObject({ count: 2, sumMs: 60, maxMs: 30 });
    const buckets = metrics.operations.get.latency.buckets;
    expect(buckets.map((bucket) => bucket.leMs)).toEqual([...LATENCY_BUCKETS_MS]);
    expect(buckets.find((bucket) => bucket.leMs === 10)?.count).toBe(0);
    expect(buckets.find((bucket) => bucket.leMs === 50)?.count).toBe(2);
    // A snapshot, not a live view.
    metrics.operations.put.requests = 99;
    expect(storage.metrics().operations.put.requests).toBe(3);
  });

  it('counts putFile as a put of the file size', async () => {
    const storage = new MeteredObjectStorage(local);
    const file = join(base, '.~tmp-pack');
    await writeFile(file, Buffer.alloc(5000));
    await storage.putFile('data/ab/pack', file);
    expect(storage.metrics()).toMatchObject({ bytesUp: 5000, operations: { put: { requests: 1, errors: 0 } } });
  });
});

/** Calls to `stallFirst` hang (for good, or until released) the first `stalls` times; later ones pass. */
class Stalling extends InterceptingObjectStorage {
  stalls = 1;
  readonly late: Promise<unknown>[] = [];
  private releases: (() => void)[] = [];

  protected async around<T>(_operation: StorageOperation, _key: string, call: () => Promise<T>): Promise<T> {
    if (this.stalls <= 0) return call();
    this.stalls--;
    const late = new Promise<void>((resolve) => this.releases.push(resolve)).then(call);
    this.late.push(late.catch(() => undefined));
    return late;
  }

  /** Lets every stalled call go through now, late. */
  async release(): Promise<void> {
    for (const release of this.releases.splice(0)) release();
    await Promise.all(this.late);
  }
}

describe('RetryingObjectStorage attempt timeout', () => {
  it('abandons a stalled attempt and retries it with a retryable storage.timeout', async () => {
    const stalling = new Stalling(local);
    const retries: RetryInfo[] = [];
    const storage = new RetryingObjectStorage(stalling, { attemptTimeoutMs: 20, baseDelayMs: 0, onRetry: (info) => retries.push(info) });
    await storage.put('config', Buffer.from('v1'));
    expect(retries).toEqual([expect.objectContaining({ operation: 'put', key: 'config', attempt: 1, code: 'storage.timeout' })]);
    // The abandoned attempt lands late with the same bytes: the object is unchanged.
    await stalling.release();
    expect((await local.get('config')).toString()).toBe('v1');
  });

  it('fails with storage.timeout once every attempt stalled', async () => {
    const stalling = new Stalling(local);
    stalling.stalls = 2;
    const storage = new RetryingObjectStorage(stalling, { attempts: 2, attemptTimeoutMs: 10, baseDelayMs: 0 });
    const error = await storage.head('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect(error).toMatchObject({ code: 'storage.timeout', retryable: true });
    await stalling.release();
  });

  it('retries a stalled listing until its first item', async () => {
    await local.put('index/a', Buffer.from('a'));
    const stalling = new Stalling(local);
    const storage = new RetryingObjectStorage(stalling, { attemptTimeoutMs: 20, baseDelayMs: 0 });
    const keys: string[] = [];
    for await (const item of storage.list('index/')) keys.push(item.key);
    expect(keys).toEqual(['index/a']);
    await stalling.release();
  });

  it('treats a putFile whose abandoned attempt already stored the file as done', async () => {
    const stalling = new Stalling(local);
    const storage = new RetryingObjectStorage(stalling, { attemptTimeoutMs: 20, baseDelayMs: 0 });
    const file = join(local.location, '.~tmp-pack');
    await local.put('placeholder', Buffer.alloc(0));
    await writeFile(file, Buffer.alloc(3000, 7));
    // Attempt 1 stalls; attempt 2 starts and stalls in turn (also abandoned) while attempt 1 is let through.
    stalling.stalls = 2;
    const storing = storage.putFile('data/ab/pack', file);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await stalling.release();
    await storing;
    expect((await local.get('data/ab/pack')).equals(Buffer.alloc(3000, 7))).toBe(true);
    await expect(stat(file)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('reports a consumed staging file whose object never arrived as upload_lost', async () => {
    /** Takes the file away and fails, as an upload that deleted its source and then lost the object would. */
    class Losing extends InterceptingObjectStorage {
      protected async around<T>(operation: StorageOperation, _key: string, call: () => Promise<T>): Promise<T> {
        if (operation !== 'put') return call();
        await rm(file);
        throw new StorageError('busy', 'dropped', { retryable: true });
      }
    }
    const file = join(base, '.~tmp-lost');
    await writeFile(file, Buffer.alloc(10));
    const storage = new RetryingObjectStorage(new Losing(local), { baseDelayMs: 0 });
    await expect(storage.putFile('data/ab/lost', file)).rejects.toMatchObject({ code: 'storage.upload_lost', retryable: false });
  });

  it('refuses a timeout that is not positive', () => {
    expect(() => new RetryingObjectStorage(local, { attemptTimeoutMs: 0 })).toThrow(ValidationError);
  });
});
