import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassphraseKeyProvider } from '../../../src/keys/local-key-provider.js';
import { BlobPool, type ChunkSink } from '../../../src/repository/blob-pool.js';
import { DEFAULT_CHUNKER_PARAMS } from '../../../src/repository/chunker.js';
import { Keyring } from '../../../src/repository/keyring.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { seededRandomBytes } from '../../helpers/fixture-tree.js';

const MiB = 1024 * 1024;
let dir: string;
let keyring: Keyring;
let pool: BlobPool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-pool-'));
  keyring = await Keyring.create(new LocalObjectStorage(join(dir, 'repo')), new PassphraseKeyProvider('pool test', { scrypt: { N: 1024 } }), 'repo-id', new Date());
  pool = new BlobPool(keyring, { compression: 'zstd', chunker: DEFAULT_CHUNKER_PARAMS, workers: 2 });
});

afterAll(async () => {
  await pool.close();
  await rm(dir, { recursive: true, force: true });
});

/** A sink that stores sealed blobs in memory and decides "new" for unseen ids, after a delay. */
function recordingSink(delayMs = 0) {
  const seen = new Set<string>();
  const stored = new Map<string, Buffer>();
  const sink: ChunkSink = {
    async reserve(id) {
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      if (seen.has(id)) return false;
      seen.add(id);
      return true;
    },
    store(id, sealed) {
      stored.set(id.toString('hex'), Buffer.concat(sealed));
    },
  };
  return { sink, stored };
}

describe('BlobPool', () => {
  it('chunks a file and a stream of the same bytes into the same blob ids', async () => {
    const data = seededRandomBytes(7, 5 * MiB + 123);
    const path = join(dir, 'file.bin');
    await writeFile(path, data);
    const fromFile = await pool.chunkFile(Buffer.from(path), data.length, recordingSink().sink);
    const pieces = Array.from({ length: 40 }, (_, i) => data.subarray(Math.floor((i * data.length) / 40), Math.floor(((i + 1) * data.length) / 40)));
    const fromStream = await pool.chunkStream(pieces, recordingSink().sink);
    expect(fromFile.bytes).toBe(data.length);
    expect(fromStream.ids).toEqual(fromFile.ids);
  });

  it('seals each new chunk once, and the sealed blobs open back to the data', async () => {
    const data = Buffer.concat([seededRandomBytes(1, 3 * MiB), seededRandomBytes(1, 3 * MiB)]); // a repeated half
    const { sink, stored } = recordingSink();
    const content = await pool.chunkStream([data], sink);
    expect(stored.size).toBe(new Set(content.ids).size);
    // openBlob takes its buffer over: give each call its own copy (the repeated half repeats ids).
    const reopened = await Promise.all(content.ids.map((id) => pool.openBlob(Buffer.from(id, 'hex'), Buffer.from(stored.get(id)!))));
    expect(Buffer.concat(reopened).equals(data)).toBe(true);
  });

  it('pauses a fast stream while the sink is slow, so memory stays bounded', async () => {
    let produced = 0;
    let maxAhead = 0;
    const { sink, stored } = recordingSink(20);
    const storedBytes = () => [...stored.values()].reduce((sum, blob) => sum + blob.length, 0);
    function* source() {
      for (let i = 0; i < 64; i++) {
        produced += MiB;
        maxAhead = Math.max(maxAhead, produced - storedBytes());
        yield seededRandomBytes(100 + i, MiB);
      }
    }
    const content = await pool.chunkStream(source(), sink);
    expect(content.bytes).toBe(64 * MiB);
    // Window (8 MiB) + pending chunks in the worker (4 MiB + one chunk) + the chunker's buffer.
    expect(maxAhead).toBeLessThan(32 * MiB);
  });

  it('rejects a stream that throws, naming no data', async () => {
    async function* failing() {
      yield Buffer.alloc(1024);
      throw new Error('source went away');
    }
    await expect(pool.chunkStream(failing(), recordingSink().sink)).rejects.toThrow('source went away');
  });
});
