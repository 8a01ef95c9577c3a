import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassphraseKeyProvider } from '../../../src/keys/local-key-provider.js';
import type { ByteRange, ObjectStorage } from '../../../src/ports/object-storage.js';
import { PackWindowReader } from '../../../src/repository/pack-window-reader.js';
import { Repository } from '../../../src/repository/repository.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { seededRandomBytes } from '../../helpers/fixture-tree.js';

let dir: string;
let gets = 0;
let repository: Repository;
const blobs = new Map<string, Buffer>();

/** Counts ranged reads of packs, to show that neighbouring small blobs share one read. */
function counting(inner: LocalObjectStorage): ObjectStorage {
  return {
    location: inner.location,
    scratchDirectory: inner.scratchDirectory,
    put: (key, data) => inner.put(key, data),
    putFile: (key, path) => inner.putFile(key, path),
    get: (key: string, range?: ByteRange) => {
      if (key.startsWith('data/')) gets++;
      return inner.get(key, range);
    },
    head: (key) => inner.head(key),
    list: (prefix) => inner.list(prefix),
    delete: (key) => inner.delete(key),
  };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-window-'));
  const storage = counting(new LocalObjectStorage(join(dir, 'repo')));
  repository = await Repository.init(storage, new PassphraseKeyProvider('window test', { scrypt: { N: 1024 } }), { now: new Date() });
  const writer = repository.createWriter();
  for (let i = 0; i < 300; i++) {
    const data = seededRandomBytes(i + 1, 1000 + i * 37); // incompressible, ~1-12 KiB each
    blobs.set(writer.addInline('data', data, 'none'), data);
  }
  await writer.flush();
});

afterAll(async () => rm(dir, { recursive: true, force: true }));

it('returns every blob intact while reading each window of the pack once', async () => {
  gets = 0;
  const reader = new PackWindowReader(repository.storage);
  const ids = [...blobs.keys()];
  const locations = ids.map((id) => repository.locate(id));
  expect(locations.every((location) => location.length * 4 <= 1024 * 1024)).toBe(true);
  const sealed = await Promise.all(ids.map((id, i) => (reader.serves(locations[i]!) ? reader.read(locations[i]!, id) : repository.storage.get(`data/${locations[i]!.pack.slice(0, 2)}/${locations[i]!.pack}`, locations[i]!))));
  sealed.forEach((bytes, i) => expect(repository.openBlob(ids[i]!, bytes).equals(blobs.get(ids[i]!)!)).toBe(true));
  const totalBytes = sealed.reduce((sum, bytes) => sum + bytes.length, 0);
  // ~2 MiB of blobs in 1 MiB windows: a few window reads plus the blobs that cross a window edge.
  expect(gets).toBeLessThanOrEqual(Math.ceil(totalBytes / (1024 * 1024)) + 1 + 4);
});
