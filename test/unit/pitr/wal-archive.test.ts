import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, IntegrityError, StorageError } from '../../../src/domain/errors.js';
import type { DataKey } from '../../../src/repository/crypto.js';
import { listArchivedClusters, WalArchive } from '../../../src/pitr/wal-archive.js';
import { parseWalFileName } from '../../../src/pitr/wal-names.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import type { StorageOperation } from '../../../src/storage/retrying-object-storage.js';
import { InterceptingObjectStorage } from '../../helpers/storage-faults.js';

const key: DataKey = { id: 7, key: randomBytes(32) };
const keys = { writeKey: key, lookup: (id: number) => (id === key.id ? key : undefined) };
const SEGMENT = parseWalFileName('000000010000000000000003')!;

/** A segment-like payload: some WAL, then the zero-filled tail of a switched segment. */
function segmentBytes(): Buffer {
  const bytes = Buffer.alloc(1024 * 1024);
  randomBytes(64 * 1024).copy(bytes);
  return bytes;
}

/** Lets a test decide what a call does: fail it, or change what gets written. */
class Misbehaving extends InterceptingObjectStorage {
  failPut = false;
  corruptPut = false;

  /** Runs after each write of this storage (a concurrent writer's turn). */
  afterPut: (() => Promise<void>) | undefined;

  override async put(key: string, data: Uint8Array): Promise<void> {
    if (this.afterPut) {
      await super.put(key, data);
      await this.afterPut();
      return;
    }
    if (this.corruptPut) {
      const copy = Buffer.from(data);
      copy[copy.length - 1]! ^= 1;
      return super.put(key, copy);
    }
    return super.put(key, data);
  }

  protected around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    if (operation === 'put' && this.failPut) return Promise.reject(new StorageError('local.io', `cannot write ${key}`, { retryable: true }));
    return call();
  }
}

let root: string;
let storage: Misbehaving;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'chrono-wal-'));
  storage = new Misbehaving(new LocalObjectStorage(root));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('WalArchive', () => {
  it('stores a segment compressed and sealed under its cluster and timeline, and gives it back', async () => {
    const archive = new WalArchive(storage, keys, '42');
    const content = segmentBytes();
    expect(await archive.push(SEGMENT, content)).toBe('archived');
    const [stored] = await archive.list();
    expect(stored?.key).toBe('wal/42/00000001/000000010000000000000003');
    expect(stored!.size).toBeLessThan(content.length / 4);
    expect((await archive.fetch(SEGMENT))?.equals(content)).toBe(true);
    expect(await archive.fetch(parseWalFileName('000000010000000000000004')!)).toBeUndefined();
    expect(await listArchivedClusters(storage)).toEqual(['42']);
  });

  it('accepts the same content again and refuses different content, keeping the original', async () => {
    const archive = new WalArchive(storage, keys, '42');
    const content = segmentBytes();
    await archive.push(SEGMENT, content);
    expect(await archive.push(SEGMENT, Buffer.from(content))).toBe('already-archived');
    const other = Buffer.from(content);
    other[10]! ^= 1;
    await expect(archive.push(SEGMENT, other)).rejects.toThrow(ConflictError);
    expect((await archive.fetch(SEGMENT))?.equals(content)).toBe(true);
  });

  it('keeps clusters apart: the same name in another cluster is another object, and a moved object does not open', async () => {
    const a = new WalArchive(storage, keys, '1');
    const b = new WalArchive(storage, keys, '2');
    await a.push(SEGMENT, segmentBytes());
    expect(await b.fetch(SEGMENT)).toBeUndefined();
    await storage.put(b.keyOf(SEGMENT), await storage.get(a.keyOf(SEGMENT)));
    await expect(b.fetch(SEGMENT)).rejects.toThrow(IntegrityError);
  });

  it('archives nothing when the write fails, or when what was written does not read back the same', async () => {
    const archive = new WalArchive(storage, keys, '42');
    storage.failPut = true;
    await expect(archive.push(SEGMENT, segmentBytes())).rejects.toThrow(StorageError);
    expect(await archive.list()).toEqual([]);
    storage.failPut = false;
    storage.corruptPut = true;
    await expect(archive.push(SEGMENT, segmentBytes())).rejects.toThrow(/reads back different/);
    expect(await archive.list()).toEqual([]);
    storage.corruptPut = false;
    expect(await archive.push(SEGMENT, segmentBytes())).toBe('archived');
  });

  it('a concurrent push of the same file that replaced ours is a success, and neither copy is removed', async () => {
    const content = segmentBytes();
    const archive = new WalArchive(storage, keys, '42');
    // Another pusher's own sealing of the same content (another nonce: other bytes)...
    const elsewhere = new LocalObjectStorage(join(root, 'elsewhere'));
    await new WalArchive(elsewhere, keys, '42').push(SEGMENT, content);
    const theirs = await elsewhere.get(archive.keyOf(SEGMENT));
    // ...lands between our write and our read-back.
    storage.afterPut = () => new LocalObjectStorage(root).put(archive.keyOf(SEGMENT), theirs);
    await expect(archive.push(SEGMENT, content)).resolves.toBe('archived');
    storage.afterPut = undefined;
    expect((await storage.get(archive.keyOf(SEGMENT))).equals(theirs)).toBe(true);
  });

  it('records restore points by name', async () => {
    const archive = new WalArchive(storage, keys, '42');
    await archive.saveRestorePoint({ name: 'before upgrade/é', lsn: '0/3000028', timeline: 1, time: '2026-01-01T00:00:00.000Z' });
    expect(await archive.loadRestorePoint('before upgrade/é')).toEqual({ name: 'before upgrade/é', lsn: '0/3000028', timeline: 1, time: '2026-01-01T00:00:00.000Z' });
    expect((await archive.listRestorePoints()).map((p) => p.name)).toEqual(['before upgrade/é']);
    expect(await archive.list()).toEqual([]);
  });
});
