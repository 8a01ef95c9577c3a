import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError, NotFoundError } from '../../../src/domain/errors.js';
import { seal, type DataKey, type DataKeyLookup } from '../../../src/repository/crypto.js';
import { indexKey, LAYOUT } from '../../../src/repository/layout.js';
import { MasterIndex, readIndexFile, writeIndexFile } from '../../../src/repository/master-index.js';
import type { BlobType, PackEntry } from '../../../src/repository/pack.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';

const oldKey: DataKey = { id: 1, key: randomBytes(32) };
const newKey: DataKey = { id: 2, key: randomBytes(32) };
const lookup: DataKeyLookup = (id) => [oldKey, newKey].find((key) => key.id === id);

function entry(type: BlobType, offset: number, length: number): PackEntry {
  return { type, id: randomBytes(32), offset, length, rawLength: length * 2 };
}

function packId(): string {
  return randomBytes(32).toString('hex');
}

async function expectIntegrity(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(IntegrityError);
  expect((error as IntegrityError).code).toBe(code);
}

/** A damaged index file does not stop loading: it is skipped and reported (repair index rebuilds it). */
async function expectSkippedAsDamaged(storage: LocalObjectStorage, code: string): Promise<void> {
  const index = await MasterIndex.load(storage, lookup);
  expect(index.damagedFiles).toEqual([expect.objectContaining({ code })]);
  expect(index.files.size).toBe(0);
}

describe('index files and MasterIndex', () => {
  let root: string;
  let storage: LocalObjectStorage;

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'chrono-index-'));
    storage = new LocalObjectStorage(root);
  });

  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('loads an empty index from an empty repository', async () => {
    const index = await MasterIndex.load(storage, lookup);
    expect(index.blobCount).toBe(0);
    expect(index.packIds()).toEqual([]);
    expect([...index.files]).toEqual([]);
  });

  it('round-trips blob locations through writeIndexFile and MasterIndex.load', async () => {
    const p1 = packId();
    const p2 = packId();
    const e1 = [entry('data', 0, 100), entry('tree', 100, 50)];
    const e2 = [entry('data', 0, 4096)];
    const id = await writeIndexFile(storage, newKey, [
      { id: p1, entries: e1 },
      { id: p2, entries: e2 },
    ]);

    expect(id).toMatch(/^[0-9a-f]{64}$/);
    expect(await readdir(join(root, 'index'))).toEqual([id]);

    const index = await MasterIndex.load(storage, lookup);
    expect(index.blobCount).toBe(3);
    expect(index.packIds().sort()).toEqual([p1, p2].sort());
    expect([...index.files]).toEqual([id]);
    const second = e1[1]!;
    expect(index.has(second.id.toString('hex'))).toBe(true);
    expect(index.get(second.id.toString('hex'))).toEqual({ pack: p1, type: 'tree', offset: 100, length: 50, rawLength: 100 });
    expect(index.get(e2[0]!.id.toString('hex'))).toEqual({ pack: p2, type: 'data', offset: 0, length: 4096, rawLength: 8192 });
    expect(index.has(randomBytes(32).toString('hex'))).toBe(false);
    expect(new Map(index.entries()).size).toBe(3);
  });

  it('names an index file by the SHA-256 of its sealed bytes and keeps it encrypted', async () => {
    const e = entry('data', 0, 10);
    const id = await writeIndexFile(storage, newKey, [{ id: 'a'.repeat(64), entries: [e] }]);
    const bytes = await storage.get(indexKey(id));
    expect(createHash('sha256').update(bytes).digest('hex')).toBe(id);
    expect(bytes.includes(Buffer.from('a'.repeat(64)))).toBe(false);
    expect(bytes.includes(Buffer.from(e.id.toString('hex')))).toBe(false);
  });

  it('merges several index files, including ones sealed with an older data key', async () => {
    const a = await writeIndexFile(storage, oldKey, [{ id: packId(), entries: [entry('data', 0, 1), entry('data', 1, 1)] }]);
    const b = await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, 1)] }]);
    const index = await MasterIndex.load(storage, lookup);
    expect(index.blobCount).toBe(3);
    expect([...index.files].sort()).toEqual([a, b].sort());
  });

  it('accepts a blob listed in two index files (either copy serves)', async () => {
    const shared = entry('data', 0, 10);
    const pa = packId();
    const pb = packId();
    await writeIndexFile(storage, newKey, [{ id: pa, entries: [shared] }]);
    await writeIndexFile(storage, newKey, [{ id: pb, entries: [{ ...shared, offset: 20 }] }]);
    const index = await MasterIndex.load(storage, lookup);
    expect(index.blobCount).toBe(1);
    const location = index.get(shared.id.toString('hex'))!;
    expect([pa, pb]).toContain(location.pack);
    expect(location.offset).toBe(location.pack === pa ? 0 : 20);
    expect(index.packIds().sort()).toEqual([pa, pb].sort());
  });

  it('hides index files that a newer one supersedes', async () => {
    const e1 = entry('data', 0, 10);
    const e2 = entry('data', 0, 20);
    const dropped = entry('data', 10, 5);
    const p1 = packId();
    const p2 = packId();
    const a = await writeIndexFile(storage, newKey, [{ id: p1, entries: [e1, dropped] }]);
    const b = await writeIndexFile(storage, newKey, [{ id: p2, entries: [e2] }]);
    // Prune repacked the live blobs of p1 and p2 into p3 and dropped one blob.
    const p3 = packId();
    const c = await writeIndexFile(storage, newKey, [{ id: p3, entries: [{ ...e1, offset: 0 }, { ...e2, offset: 10 }] }], [a, b]);

    const index = await MasterIndex.load(storage, lookup);
    expect([...index.files]).toEqual([c]);
    expect(index.packIds()).toEqual([p3]);
    expect(index.blobCount).toBe(2);
    expect(index.get(e1.id.toString('hex'))?.pack).toBe(p3);
    expect(index.get(e2.id.toString('hex'))).toMatchObject({ pack: p3, offset: 10 });
    expect(index.has(dropped.id.toString('hex'))).toBe(false);
  });

  it('records supersedes only when given', async () => {
    const plain = await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, 1)] }], []);
    expect(await readIndexFile(storage, lookup, plain)).not.toHaveProperty('supersedes');
    const replacing = await writeIndexFile(storage, newKey, [], [plain]);
    expect(await readIndexFile(storage, lookup, replacing)).toMatchObject({ version: 1, packs: [], supersedes: [plain] });
  });

  it('rejects an index file whose name does not match its content (renamed)', async () => {
    const id = await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, 1)] }]);
    const otherName = createHash('sha256').update('something else').digest('hex');
    await storage.put(indexKey(otherName), await storage.get(indexKey(id)));
    await storage.delete(indexKey(id));
    await expectSkippedAsDamaged(storage, 'integrity.index_hash');
    await expectIntegrity(readIndexFile(storage, lookup, otherName), 'integrity.index_hash');
  });

  it('rejects a damaged index file', async () => {
    const id = await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, 1)] }]);
    const bytes = await storage.get(indexKey(id));
    bytes[bytes.length >> 1]! ^= 0x04;
    await storage.put(indexKey(id), bytes);
    await expectSkippedAsDamaged(storage, 'integrity.index_hash');
  });

  it('rejects a truncated index file', async () => {
    const id = await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, 1)] }]);
    const bytes = await storage.get(indexKey(id));
    await storage.put(indexKey(id), bytes.subarray(0, bytes.length - 1));
    await expectSkippedAsDamaged(storage, 'integrity.index_hash');
  });

  it('rejects a correctly named file that is not a sealed index (wrong associated data)', async () => {
    const sealed = seal(newKey, Buffer.from(JSON.stringify({ version: 1, packs: [] })), Buffer.from('snapshot'));
    const id = createHash('sha256').update(sealed).digest('hex');
    await storage.put(`${LAYOUT.indexes}${id}`, sealed);
    await expectSkippedAsDamaged(storage, 'integrity.authentication_failed');
  });

  it('rejects an index file sealed with a data key the keyring does not have', async () => {
    await writeIndexFile(storage, { id: 99, key: randomBytes(32) }, [{ id: packId(), entries: [entry('data', 0, 1)] }]);
    await expectSkippedAsDamaged(storage, 'integrity.unknown_key');
  });

  it('reports a missing index file as NotFoundError', async () => {
    await expect(readIndexFile(storage, lookup, 'f'.repeat(64))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('loads many index files', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push(await writeIndexFile(storage, newKey, [{ id: packId(), entries: [entry('data', 0, i + 1)] }]));
    const index = await MasterIndex.load(storage, lookup);
    expect(index.blobCount).toBe(20);
    expect([...index.files].sort()).toEqual(ids.sort());
  });
});

describe('MasterIndex.addPack', () => {
  it('adds blobs and counts packs; the first location of a blob wins', () => {
    const index = new MasterIndex();
    const e = entry('data', 0, 10);
    index.addPack('p1', [e, entry('tree', 10, 5)]);
    index.addPack('p2', [{ ...e, offset: 99 }]);
    expect(index.blobCount).toBe(2);
    expect(index.get(e.id.toString('hex'))).toEqual({ pack: 'p1', type: 'data', offset: 0, length: 10, rawLength: 20 });
    expect(index.packIds()).toEqual(['p1', 'p2']);
  });
});
