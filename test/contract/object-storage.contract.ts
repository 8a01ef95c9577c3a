import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { BackupError, NotFoundError, ValidationError } from '../../src/domain/errors.js';
import type { ObjectInfo, ObjectStorage } from '../../src/ports/object-storage.js';

/** A fresh, empty storage for one test, and how to dispose of it. */
export interface ContractSubject {
  storage: ObjectStorage;
  cleanup: () => Promise<void>;
}

/** Keys every adapter must refuse with a ValidationError before touching the backend. */
const BAD_KEYS = ['', '../x', 'a/../../x', '/abs', 'a//b', 'a\\b', 'a/./b', '.', '..', 'a/', 'x/..', 'a b', 'a:b'];
const BAD_PREFIXES = ['../', '/abs', 'a//', 'a\\b', './', 'a/../'];

/** Drains a listing. `list` is called inside so an adapter that throws synchronously is also caught. */
async function listAll(storage: ObjectStorage, prefix: string): Promise<ObjectInfo[]> {
  const items: ObjectInfo[] = [];
  for await (const item of storage.list(prefix)) items.push(item);
  return items;
}

async function listKeys(storage: ObjectStorage, prefix: string): Promise<string[]> {
  return (await listAll(storage, prefix)).map((item) => item.key).sort();
}

function bytes(...values: number[]): Buffer {
  return Buffer.from(values);
}

/**
 * A Date by its tag, not instanceof: under Jest's VM modules a Date made by Node itself (fs.Stats) comes
 * from another realm and fails instanceof although it is a real Date.
 */
function expectValidDate(value: unknown): void {
  expect(Object.prototype.toString.call(value)).toBe('[object Date]');
  expect(Number.isFinite((value as Date).getTime())).toBe(true);
}

/** 0, 1, …, 255: every byte tells its own offset, so a wrong range shows at once. */
const RAMP = Buffer.from(Array.from({ length: 256 }, (_, i) => i));

/**
 * The ObjectStorage contract (see src/ports/object-storage.ts), checked through the port only, so the
 * same suite runs on every adapter. `create` must return an empty storage; it is called once per test.
 */
export function describeObjectStorageContract(name: string, create: () => Promise<ContractSubject>): void {
  describe(`ObjectStorage contract: ${name}`, () => {
    let subject: ContractSubject | undefined;
    let storage: ObjectStorage;

    beforeEach(async () => {
      subject = await create();
      storage = subject.storage;
    });

    afterEach(async () => {
      await subject?.cleanup();
      subject = undefined;
    });

    it('describes its location as a non-empty string', () => {
      expect(typeof storage.location).toBe('string');
      expect(storage.location.length).toBeGreaterThan(0);
    });

    describe('put and get', () => {
      it('round-trips an empty object', async () => {
        await storage.put('empty', new Uint8Array(0));
        const read = await storage.get('empty');
        expect(Buffer.isBuffer(read)).toBe(true);
        expect(read.length).toBe(0);
        expect((await storage.head('empty'))?.size).toBe(0);
      });

      it('round-trips a 1-byte object', async () => {
        await storage.put('one', bytes(0xa5));
        expect(await storage.get('one')).toEqual(bytes(0xa5));
      });

      it('round-trips 5 MiB of random bytes exactly', async () => {
        const data = randomBytes(5 * 1024 * 1024);
        await storage.put('data/ab/big', data);
        const read = await storage.get('data/ab/big');
        expect(read.length).toBe(data.length);
        // Buffer.equals, not toEqual: a 5 MiB diff would drown the report.
        expect(read.equals(data)).toBe(true);
      });

      it('accepts a plain Uint8Array and keeps what it held at the time of the put', async () => {
        const data = new Uint8Array([1, 2, 3]);
        await storage.put('plain', data);
        data[0] = 9;
        expect(await storage.get('plain')).toEqual(bytes(1, 2, 3));
      });

      it('overwrites an existing object, also with a shorter one', async () => {
        await storage.put('config', Buffer.alloc(100, 1));
        await storage.put('config', bytes(7, 8, 9));
        expect(await storage.get('config')).toEqual(bytes(7, 8, 9));
        expect((await storage.head('config'))?.size).toBe(3);
        expect(await listKeys(storage, '')).toEqual(['config']);
      });

      it('keeps keys apart that differ only by punctuation', async () => {
        await storage.put('k.a', bytes(1));
        await storage.put('k-a', bytes(2));
        await storage.put('k_a', bytes(3));
        expect(await storage.get('k.a')).toEqual(bytes(1));
        expect(await storage.get('k-a')).toEqual(bytes(2));
        expect(await storage.get('k_a')).toEqual(bytes(3));
      });

      it('throws NotFoundError for a missing key', async () => {
        const error = await storage.get('data/ab/missing').catch((e: unknown) => e);
        expect(error).toBeInstanceOf(NotFoundError);
        expect(error).toBeInstanceOf(BackupError);
        expect((error as NotFoundError).code).toBe('not_found');
        expect((error as NotFoundError).retryable).toBe(false);
      });

      it('treats a prefix that has objects below it as no object', async () => {
        await storage.put('data/ab/x', bytes(1));
        await expect(storage.get('data')).rejects.toBeInstanceOf(NotFoundError);
        await expect(storage.get('data/ab')).rejects.toBeInstanceOf(NotFoundError);
        expect(await storage.head('data/ab')).toBeUndefined();
      });

      it('throws NotFoundError below a key that is an object', async () => {
        await storage.put('file', bytes(1));
        await expect(storage.get('file/below')).rejects.toBeInstanceOf(NotFoundError);
        expect(await storage.head('file/below')).toBeUndefined();
      });
    });

    describe('ranged get', () => {
      beforeEach(async () => {
        await storage.put('ramp', RAMP);
      });

      it('reads from the start', async () => {
        expect(await storage.get('ramp', { offset: 0, length: 10 })).toEqual(RAMP.subarray(0, 10));
      });

      it('reads from the middle', async () => {
        expect(await storage.get('ramp', { offset: 100, length: 50 })).toEqual(RAMP.subarray(100, 150));
      });

      it('reads the last byte exactly', async () => {
        expect(await storage.get('ramp', { offset: 255, length: 1 })).toEqual(bytes(255));
      });

      it('clips a range that runs past the end', async () => {
        expect(await storage.get('ramp', { offset: 250, length: 100 })).toEqual(RAMP.subarray(250));
      });

      it('returns nothing for a range starting at or past the end, or of length 0', async () => {
        expect((await storage.get('ramp', { offset: 256, length: 10 })).length).toBe(0);
        expect((await storage.get('ramp', { offset: 1000, length: 10 })).length).toBe(0);
        expect((await storage.get('ramp', { offset: 10, length: 0 })).length).toBe(0);
      });

      it('reads a range deep inside a large object', async () => {
        const data = randomBytes(3 * 1024 * 1024);
        await storage.put('pack', data);
        const offset = 2 * 1024 * 1024 + 17;
        const read = await storage.get('pack', { offset, length: 4096 });
        expect(read.equals(data.subarray(offset, offset + 4096))).toBe(true);
      });

      it('throws NotFoundError for a range of a missing key', async () => {
        await expect(storage.get('missing', { offset: 0, length: 1 })).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('head', () => {
      it('reports size and modification time', async () => {
        await storage.put('index/one', Buffer.alloc(1234, 3));
        const info = await storage.head('index/one');
        expect(info?.key).toBe('index/one');
        expect(info?.size).toBe(1234);
        expectValidDate(info?.modified);
      });

      it('returns undefined for a missing key', async () => {
        expect(await storage.head('missing')).toBeUndefined();
        expect(await storage.head('deep/missing/key')).toBeUndefined();
      });
    });

    describe('list', () => {
      const layout: Record<string, number> = {
        'data/ab/0001': 10,
        'data/ab/0002': 20,
        'data/cd/0003': 30,
        'data/a1': 4,
        datax: 5,
        'index/ef': 6,
        config: 7,
      };

      beforeEach(async () => {
        for (const [key, size] of Object.entries(layout)) await storage.put(key, Buffer.alloc(size, 1));
      });

      it('lists everything under the empty prefix, each key once, with sizes and dates', async () => {
        const items = await listAll(storage, '');
        const keys = items.map((item) => item.key);
        expect(new Set(keys).size).toBe(keys.length);
        expect([...keys].sort()).toEqual(Object.keys(layout).sort());
        for (const item of items) {
          expect(item.size).toBe(layout[item.key]);
          expectValidDate(item.modified);
        }
      });

      it('lists the objects under a folder-like prefix, nested ones included', async () => {
        expect(await listKeys(storage, 'data/')).toEqual(['data/a1', 'data/ab/0001', 'data/ab/0002', 'data/cd/0003']);
        expect(await listKeys(storage, 'data/ab/')).toEqual(['data/ab/0001', 'data/ab/0002']);
        expect(await listKeys(storage, 'index/')).toEqual(['index/ef']);
      });

      it('matches the prefix as a string, not as a folder name', async () => {
        expect(await listKeys(storage, 'data')).toEqual(['data/a1', 'data/ab/0001', 'data/ab/0002', 'data/cd/0003', 'datax']);
        expect(await listKeys(storage, 'data/a')).toEqual(['data/a1', 'data/ab/0001', 'data/ab/0002']);
        expect(await listKeys(storage, 'data/ab/000')).toEqual(['data/ab/0001', 'data/ab/0002']);
        expect(await listKeys(storage, 'config')).toEqual(['config']);
      });

      it('lists nothing for a prefix without objects', async () => {
        expect(await listKeys(storage, 'locks/')).toEqual([]);
        expect(await listKeys(storage, 'data/zz/')).toEqual([]);
        expect(await listKeys(storage, 'config/')).toEqual([]);
      });

      it('lets the consumer stop early and keeps working afterwards', async () => {
        let seen = 0;
        for await (const item of storage.list('')) {
          expect(layout[item.key]).toBeDefined();
          seen += 1;
          break;
        }
        expect(seen).toBe(1);
        expect(await listKeys(storage, '')).toHaveLength(Object.keys(layout).length);
      });

      it('does not list deleted objects', async () => {
        await storage.delete('data/ab/0001');
        expect(await listKeys(storage, 'data/ab/')).toEqual(['data/ab/0002']);
      });
    });

    describe('atomic put', () => {
      it('never shows a partial object or a temporary name while a put is in flight', async () => {
        await storage.put('small', bytes(1));
        const data = randomBytes(5 * 1024 * 1024);
        let settled = false;
        const writing = storage.put('data/ab/big', data).finally(() => {
          settled = true;
        });
        let rounds = 0;
        // Observe until the put lands, and at least a few times, through list, head and get.
        while (!settled || rounds < 3) {
          rounds += 1;
          const items = await listAll(storage, '');
          for (const item of items) {
            expect(['small', 'data/ab/big']).toContain(item.key);
            if (item.key === 'data/ab/big') expect(item.size).toBe(data.length);
          }
          const info = await storage.head('data/ab/big');
          if (info !== undefined) expect(info.size).toBe(data.length);
          // Sequential, so a slow backend holds at most one extra copy in memory.
          const read = await storage.get('data/ab/big').catch((error: unknown) => error);
          if (Buffer.isBuffer(read)) expect(read.equals(data)).toBe(true);
          else expect(read).toBeInstanceOf(NotFoundError);
          if (rounds > 10_000) throw new Error('put did not finish');
        }
        await writing;
        expect(await listKeys(storage, '')).toEqual(['data/ab/big', 'small']);
      });

      it('leaves exactly one whole version when puts to the same key race', async () => {
        const versions = Array.from({ length: 8 }, (_, i) => Buffer.alloc(64 * 1024 + i, i + 1));
        await Promise.all(versions.map((version) => storage.put('raced', version)));
        const read = await storage.get('raced');
        expect(versions.some((version) => version.equals(read))).toBe(true);
        expect(await listKeys(storage, '')).toEqual(['raced']);
      });
    });

    describe('delete', () => {
      it('removes the object', async () => {
        await storage.put('locks/one', bytes(1));
        await storage.put('locks/two', bytes(2));
        await storage.delete('locks/one');
        expect(await storage.head('locks/one')).toBeUndefined();
        await expect(storage.get('locks/one')).rejects.toBeInstanceOf(NotFoundError);
        expect(await storage.get('locks/two')).toEqual(bytes(2));
      });

      it('is idempotent: deleting a missing or already deleted key succeeds', async () => {
        await storage.put('gone', bytes(1));
        await storage.delete('gone');
        await expect(storage.delete('gone')).resolves.toBeUndefined();
        await expect(storage.delete('never/existed')).resolves.toBeUndefined();
      });

      it('deleting a prefix name removes nothing below it', async () => {
        await storage.put('data/ab/x', bytes(1));
        await storage.delete('data');
        await storage.delete('data/ab');
        expect(await listKeys(storage, '')).toEqual(['data/ab/x']);
      });

      it('allows a deleted key to be written again', async () => {
        await storage.put('again', bytes(1));
        await storage.delete('again');
        await storage.put('again', bytes(2));
        expect(await storage.get('again')).toEqual(bytes(2));
      });
    });

    describe('key validation', () => {
      it.each(BAD_KEYS)('rejects key %j in every operation with a ValidationError', async (key) => {
        await expect(storage.put(key, bytes(1))).rejects.toBeInstanceOf(ValidationError);
        await expect(storage.get(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(storage.get(key, { offset: 0, length: 1 })).rejects.toBeInstanceOf(ValidationError);
        await expect(storage.head(key)).rejects.toBeInstanceOf(ValidationError);
        await expect(storage.delete(key)).rejects.toBeInstanceOf(ValidationError);
        const error = await storage.put(key, bytes(1)).catch((e: unknown) => e);
        expect((error as ValidationError).code).toBe('validation.invalid');
        expect((error as ValidationError).details).toMatchObject({ field: 'key' });
        // Nothing was written anywhere the storage can see.
        expect(await listKeys(storage, '')).toEqual([]);
      });

      it.each(BAD_PREFIXES)('rejects list prefix %j with a ValidationError', async (prefix) => {
        await expect(listAll(storage, prefix)).rejects.toBeInstanceOf(ValidationError);
      });

      it('accepts keys made of letters, digits, dots, dashes and underscores', async () => {
        const keys = ['A-Z_a-z.0-9', '..dots', 'snapshots/full_20241224_120000.json'];
        for (const key of keys) await storage.put(key, Buffer.from(key));
        for (const key of keys) expect((await storage.get(key)).toString()).toBe(key);
        expect(await listKeys(storage, '')).toEqual([...keys].sort());
      });
    });

    describe('concurrency', () => {
      it('lands all of 20 concurrent puts to distinct keys', async () => {
        const objects = Array.from({ length: 20 }, (_, i) => ({
          key: `data/${(i % 4).toString(16).padStart(2, '0')}/pack-${i}`,
          data: randomBytes(1000 + i * 37),
        }));
        await Promise.all(objects.map(({ key, data }) => storage.put(key, data)));
        expect(await listKeys(storage, '')).toEqual(objects.map(({ key }) => key).sort());
        const reads = await Promise.all(objects.map(({ key }) => storage.get(key)));
        reads.forEach((read, i) => expect(read.equals(objects[i]!.data)).toBe(true));
      });
    });
  });
}
