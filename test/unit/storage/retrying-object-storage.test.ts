import { describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockedError, NotFoundError, StorageError, ValidationError } from '../../../src/domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../../../src/ports/object-storage.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { isRetryableError, RetryingObjectStorage, type RetryInfo, type RetryOptions, type StorageOperation } from '../../../src/storage/retrying-object-storage.js';
import { describeObjectStorageContract } from '../../contract/object-storage.contract.js';

describeObjectStorageContract('RetryingObjectStorage over LocalObjectStorage', async () => {
  const base = await mkdtemp(join(tmpdir(), 'chrono-retry-contract-'));
  return { storage: new RetryingObjectStorage(new LocalObjectStorage(base)), cleanup: () => rm(base, { recursive: true, force: true }) };
});

/**
 * An in-memory ObjectStorage whose next calls can be made to fail. `failures[op]` is consumed one error
 * per call; `listFailAfter` makes a listing throw after yielding that many items.
 */
class FlakyStorage implements ObjectStorage {
  readonly location = 'memory://flaky';
  readonly objects = new Map<string, { data: Buffer; modified: Date }>();
  readonly calls: Record<StorageOperation, number> = { put: 0, get: 0, head: 0, list: 0, delete: 0 };
  readonly failures: Record<StorageOperation, unknown[]> = { put: [], get: [], head: [], list: [], delete: [] };
  listFailAfter: { items: number; error: unknown } | undefined;
  listsClosedEarly = 0;

  private failIfScheduled(operation: StorageOperation): void {
    this.calls[operation] += 1;
    const error = this.failures[operation].shift();
    if (error !== undefined) throw error;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    this.failIfScheduled('put');
    this.objects.set(key, { data: Buffer.from(data), modified: new Date() });
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    this.failIfScheduled('get');
    const object = this.objects.get(key);
    if (object === undefined) throw new NotFoundError('object', key);
    return range === undefined ? object.data : object.data.subarray(range.offset, range.offset + range.length);
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    this.failIfScheduled('head');
    const object = this.objects.get(key);
    return object && { key, size: object.data.length, modified: object.modified };
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    assertSafePrefix(prefix);
    this.failIfScheduled('list');
    let yielded = 0;
    let completed = false;
    try {
      for (const [key, object] of [...this.objects].sort(([a], [b]) => a.localeCompare(b))) {
        if (!key.startsWith(prefix)) continue;
        if (this.listFailAfter !== undefined && yielded === this.listFailAfter.items) throw this.listFailAfter.error;
        yielded += 1;
        yield { key, size: object.data.length, modified: object.modified };
      }
      completed = true;
    } finally {
      if (!completed) this.listsClosedEarly += 1;
    }
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    this.failIfScheduled('delete');
    this.objects.delete(key);
  }
}

const transient = (n = 1) => new StorageError('busy', `throttled ${n}`, { retryable: true });
const networkError = (code: string) => Object.assign(new Error(`socket failure ${code}`), { code });

/** A decorator over a fresh fake whose sleeps are recorded instead of waited. */
function setup(options: RetryOptions = {}) {
  const inner = new FlakyStorage();
  const sleeps: number[] = [];
  const retries: RetryInfo[] = [];
  const storage = new RetryingObjectStorage(inner, {
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onRetry: (info) => retries.push(info),
    ...options,
  });
  return { inner, storage, sleeps, retries };
}

/** Returns the given values in turn, then repeats the last one. */
function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
}

async function collect(iterable: AsyncIterable<ObjectInfo>): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of iterable) keys.push(item.key);
  return keys;
}

describe('RetryingObjectStorage', () => {
  it('passes the inner location through', () => {
    expect(setup().storage.location).toBe('memory://flaky');
  });

  describe('transient failures', () => {
    it('succeeds after N retryable failures with exactly N retries and full-jitter delays', async () => {
      const { inner, storage, sleeps, retries } = setup({ random: sequence(0.5, 0.25, 0.999, 0) });
      inner.failures.put.push(transient(1), transient(2), transient(3), transient(4));
      await storage.put('data/ab/pack', Buffer.from('payload'));
      expect(inner.calls.put).toBe(5);
      expect(inner.objects.get('data/ab/pack')?.data.toString()).toBe('payload');
      // caps 200, 400, 800, 1600 (base 200 doubling) times random 0.5, 0.25, 0.999, 0, floored
      expect(sleeps).toEqual([100, 100, 799, 0]);
      expect(retries).toEqual([
        { operation: 'put', key: 'data/ab/pack', attempt: 1, delayMs: 100, code: 'storage.busy' },
        { operation: 'put', key: 'data/ab/pack', attempt: 2, delayMs: 100, code: 'storage.busy' },
        { operation: 'put', key: 'data/ab/pack', attempt: 3, delayMs: 799, code: 'storage.busy' },
        { operation: 'put', key: 'data/ab/pack', attempt: 4, delayMs: 0, code: 'storage.busy' },
      ]);
    });

    it('caps each delay at maxDelayMs', async () => {
      const { inner, storage, sleeps } = setup({ attempts: 7, baseDelayMs: 1000, maxDelayMs: 3000, random: () => 0.5 });
      inner.failures.get.push(...Array.from({ length: 6 }, (_, i) => transient(i)));
      inner.objects.set('k', { data: Buffer.from('v'), modified: new Date() });
      expect((await storage.get('k')).toString()).toBe('v');
      expect(sleeps).toEqual([500, 1000, 1500, 1500, 1500, 1500]);
    });

    it.each(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN'])('retries a plain network error %s', async (code) => {
      const { inner, storage, retries } = setup({ random: () => 0 });
      inner.failures.head.push(networkError(code));
      expect(await storage.head('missing')).toBeUndefined();
      expect(inner.calls.head).toBe(2);
      expect(retries.map((info) => info.code)).toEqual([code]);
    });

    it.each<[StorageOperation, (s: ObjectStorage) => Promise<unknown>]>([
      ['get', (s) => s.get('k', { offset: 1, length: 1 })],
      ['head', (s) => s.head('k')],
      ['delete', (s) => s.delete('k')],
      ['put', (s) => s.put('k', Buffer.from('new'))],
    ])('retries %s with the same arguments', async (operation, call) => {
      const { inner, storage } = setup({ random: () => 0 });
      inner.objects.set('k', { data: Buffer.from('xyz'), modified: new Date() });
      inner.failures[operation].push(transient(), networkError('ECONNRESET'));
      const result = await call(storage);
      expect(inner.calls[operation]).toBe(3);
      if (operation === 'get') expect(result).toEqual(Buffer.from('y'));
      if (operation === 'head') expect(result).toMatchObject({ key: 'k', size: 3 });
      if (operation === 'delete') expect(inner.objects.has('k')).toBe(false);
      if (operation === 'put') expect(inner.objects.get('k')?.data.toString()).toBe('new');
    });

    it('waits for real with the default sleep', async () => {
      const inner = new FlakyStorage();
      inner.failures.put.push(transient());
      const storage = new RetryingObjectStorage(inner, { baseDelayMs: 20, random: () => 0.99 });
      const started = Date.now();
      await storage.put('k', Buffer.from('v'));
      expect(inner.calls.put).toBe(2);
      // floor(0.99 * 20) = 19 ms; timers may fire a millisecond early
      expect(Date.now() - started).toBeGreaterThanOrEqual(18);
    });

    it('never hands error messages to onRetry', async () => {
      const { inner, storage, retries } = setup({ random: () => 0 });
      inner.failures.put.push(new StorageError('busy', 'upload to https://user:hunter2@host failed', { retryable: true }));
      await storage.put('k', Buffer.from('v'));
      expect(retries).toHaveLength(1);
      expect(JSON.stringify(retries)).not.toContain('hunter2');
      expect(Object.keys(retries[0]!).sort()).toEqual(['attempt', 'code', 'delayMs', 'key', 'operation']);
    });
  });

  describe('permanent failures', () => {
    it.each<[string, unknown]>([
      ['a non-retryable StorageError', new StorageError('access_denied', 'access denied to object k')],
      ['a NotFoundError', new NotFoundError('object', 'k')],
      ['a plain Error without a code', new Error('boom')],
      ['a plain Error with another code', networkError('ECONNREFUSED')],
      ['a non-Error value', 'string thrown'],
    ])('passes %s through after one call', async (_label, error) => {
      const { inner, storage, sleeps, retries } = setup();
      inner.failures.get.push(error);
      await expect(storage.get('k')).rejects.toBe(error);
      expect(inner.calls.get).toBe(1);
      expect(sleeps).toEqual([]);
      expect(retries).toEqual([]);
    });

    it('passes a ValidationError from key checks through at once', async () => {
      const { inner, storage, sleeps } = setup();
      await expect(storage.put('../x', Buffer.from('v'))).rejects.toBeInstanceOf(ValidationError);
      expect(inner.calls.put).toBe(0);
      expect(sleeps).toEqual([]);
    });

    it('treats a non-retryable BackupError as permanent even when its cause was a network error', async () => {
      const { inner, storage } = setup();
      const error = new StorageError('access_denied', 'denied', { cause: networkError('ECONNRESET') });
      inner.failures.delete.push(error);
      await expect(storage.delete('k')).rejects.toBe(error);
      expect(inner.calls.delete).toBe(1);
    });
  });

  describe('exhausted attempts', () => {
    it('rethrows the last error unchanged after the last attempt, without a final wait', async () => {
      const { inner, storage, sleeps, retries } = setup({ attempts: 3, random: () => 0.5 });
      const errors = [transient(1), transient(2), transient(3)];
      inner.failures.put.push(...errors);
      await expect(storage.put('k', Buffer.from('v'))).rejects.toBe(errors[2]);
      expect(inner.calls.put).toBe(3);
      expect(sleeps).toEqual([100, 200]);
      expect(retries.map((info) => info.attempt)).toEqual([1, 2]);
      expect(inner.objects.has('k')).toBe(false);
    });

    it('tries exactly once with attempts 1', async () => {
      const { inner, storage, sleeps } = setup({ attempts: 1 });
      const error = transient();
      inner.failures.head.push(error);
      await expect(storage.head('k')).rejects.toBe(error);
      expect(inner.calls.head).toBe(1);
      expect(sleeps).toEqual([]);
    });

    it('uses 5 attempts by default', async () => {
      const { inner, storage, sleeps } = setup({ random: () => 0.5 });
      inner.failures.get.push(...Array.from({ length: 10 }, (_, i) => transient(i)));
      await expect(storage.get('k')).rejects.toMatchObject({ message: 'throttled 4' });
      expect(inner.calls.get).toBe(5);
      expect(sleeps).toEqual([100, 200, 400, 800]);
    });

    it('retries a LockedError, which is retryable by design', async () => {
      const { inner, storage } = setup({ random: () => 0 });
      inner.failures.put.push(new LockedError('repository locked'));
      await storage.put('k', Buffer.from('v'));
      expect(inner.calls.put).toBe(2);
    });
  });

  describe('list', () => {
    function seeded(options: RetryOptions = {}) {
      const context = setup({ random: () => 0.5, ...options });
      for (const key of ['a/1', 'a/2', 'a/3', 'b/1']) context.inner.objects.set(key, { data: Buffer.from(key), modified: new Date() });
      return context;
    }

    it('retries a listing that fails before its first item', async () => {
      const { inner, storage, sleeps, retries } = seeded();
      inner.failures.list.push(transient(1), networkError('ETIMEDOUT'));
      expect(await collect(storage.list('a/'))).toEqual(['a/1', 'a/2', 'a/3']);
      expect(inner.calls.list).toBe(3);
      expect(sleeps).toEqual([100, 200]);
      expect(retries.map(({ operation, key, code }) => ({ operation, key, code }))).toEqual([
        { operation: 'list', key: 'a/', code: 'storage.busy' },
        { operation: 'list', key: 'a/', code: 'ETIMEDOUT' },
      ]);
    });

    it('retries a listing whose first item fails to arrive', async () => {
      const { inner, storage } = seeded();
      const error = transient();
      inner.listFailAfter = { items: 0, error };
      const listing = collect(storage.list('a/'));
      // Fails on every try (the fault stays), so all 5 attempts are used and the last error surfaces.
      await expect(listing).rejects.toBe(error);
      expect(inner.calls.list).toBe(5);
    });

    it('does not retry once an item has been yielded, so nothing is listed twice', async () => {
      const { inner, storage, sleeps } = seeded();
      const error = transient();
      inner.listFailAfter = { items: 2, error };
      const received: string[] = [];
      const failure = await (async () => {
        for await (const item of storage.list('a/')) received.push(item.key);
      })().catch((e: unknown) => e);
      expect(failure).toBe(error);
      expect(received).toEqual(['a/1', 'a/2']);
      expect(inner.calls.list).toBe(1);
      expect(sleeps).toEqual([]);
    });

    it('passes a permanent listing failure through at once', async () => {
      const { inner, storage } = seeded();
      const error = new StorageError('access_denied', 'denied');
      inner.failures.list.push(error);
      await expect(collect(storage.list(''))).rejects.toBe(error);
      expect(inner.calls.list).toBe(1);
    });

    it('rejects an invalid prefix without retrying', async () => {
      const { inner, storage, sleeps } = seeded();
      await expect(collect(storage.list('../'))).rejects.toBeInstanceOf(ValidationError);
      expect(inner.calls.list).toBe(0);
      expect(sleeps).toEqual([]);
    });

    it('closes the inner listing when the consumer stops early', async () => {
      const { inner, storage } = seeded();
      for await (const item of storage.list('')) {
        expect(item.key).toBe('a/1');
        break;
      }
      expect(inner.listsClosedEarly).toBe(1);
      for await (const item of storage.list('')) {
        if (item.key === 'a/2') break;
      }
      expect(inner.listsClosedEarly).toBe(2);
    });

    it('ends at once for an empty listing', async () => {
      const { inner, storage } = seeded();
      expect(await collect(storage.list('zzz/'))).toEqual([]);
      expect(inner.calls.list).toBe(1);
    });
  });

  describe('options', () => {
    it.each<[RetryOptions, string]>([
      [{ attempts: 0 }, 'attempts'],
      [{ attempts: 2.5 }, 'attempts'],
      [{ baseDelayMs: -1 }, 'baseDelayMs'],
      [{ maxDelayMs: Number.NaN }, 'maxDelayMs'],
    ])('rejects %j naming the field', (options, field) => {
      const create = () => new RetryingObjectStorage(new FlakyStorage(), options);
      expect(create).toThrow(ValidationError);
      try {
        create();
      } catch (error) {
        expect((error as ValidationError).details).toEqual({ field });
      }
    });
  });

  describe('isRetryableError', () => {
    it('follows the retryable flag of BackupErrors and the code of plain errors', () => {
      expect(isRetryableError(transient())).toBe(true);
      expect(isRetryableError(new StorageError('access_denied', 'x'))).toBe(false);
      expect(isRetryableError(networkError('EPIPE'))).toBe(true);
      expect(isRetryableError(networkError('ENOENT'))).toBe(false);
      expect(isRetryableError(null)).toBe(false);
      expect(isRetryableError(undefined)).toBe(false);
    });
  });
});
