import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../../../src/domain/errors.js';
import { blobId, open, seal, sealParts, SEAL_OVERHEAD, type DataKey, type DataKeyLookup } from '../../../src/repository/crypto.js';
import { PackFileWriter, readPackHeader, type BlobType, type FinishedPack } from '../../../src/repository/pack.js';
import { thrownBy } from '../../helpers/thrown.js';
import { STAGING_PREFIX } from '../../../src/ports/object-storage.js';

/** Staged packs are storage staging files named `pack-…`: prune finds and removes stale ones by the prefix. */
const PACK_STAGING = `${STAGING_PREFIX}pack-`;

/** The code of the IntegrityError `fn` throws. */
const thrownCode = (fn: () => unknown): string => thrownBy(fn, IntegrityError).code;

const dataKey: DataKey = { id: 0x01020304, key: randomBytes(32) };
const lookup: DataKeyLookup = (id) => (id === dataKey.id ? dataKey : undefined);
const idKey = randomBytes(32);

interface Blob {
  type: BlobType;
  plaintext: Buffer;
  id: Buffer;
  sealed: Buffer;
}

function makeBlob(type: BlobType, plaintext: Buffer): Blob {
  const id = blobId(idKey, plaintext);
  return { type, plaintext, id, sealed: seal(dataKey, plaintext, id) };
}

let directory: string;

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'chrono-pack-'));
});

afterAll(async () => {
  await rm(directory, { recursive: true, force: true });
});

async function buildPack(blobs: readonly Blob[]): Promise<FinishedPack & { bytes: Buffer; writer: PackFileWriter }> {
  const writer = new PackFileWriter(directory);
  for (const blob of blobs) writer.add(blob.type, blob.id, blob.sealed, blob.plaintext.length);
  const finished = await writer.finish(dataKey);
  return { ...finished, bytes: await readFile(finished.path), writer };
}

const BLOBS = [
  makeBlob('data', randomBytes(1000)),
  makeBlob('tree', Buffer.from(JSON.stringify({ nodes: [] }))),
  makeBlob('data', Buffer.alloc(0)),
  makeBlob('data', randomBytes(70_000)),
];

describe('PackFileWriter', () => {
  it('tracks the byte length and the blob count', async () => {
    const writer = new PackFileWriter(directory);
    expect(writer.byteLength).toBe(0);
    expect(writer.count).toBe(0);
    writer.add('data', BLOBS[0]!.id, BLOBS[0]!.sealed, 1000);
    writer.add('tree', BLOBS[1]!.id, BLOBS[1]!.sealed, BLOBS[1]!.plaintext.length);
    expect(writer.count).toBe(2);
    expect(writer.byteLength).toBe(BLOBS[0]!.sealed.length + BLOBS[1]!.sealed.length);
    await writer.abort();
  });

  it('writes a staging file in the given directory, readable only by its owner', async () => {
    const { path, size, bytes } = await buildPack(BLOBS);
    expect(path.startsWith(join(directory, PACK_STAGING))).toBe(true);
    expect(size).toBe(bytes.length);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it('lays blobs out back to back and records their offsets and lengths', async () => {
    const { bytes, entries } = await buildPack(BLOBS);
    let offset = 0;
    entries.forEach((entry, i) => {
      const blob = BLOBS[i]!;
      expect(entry).toEqual({ type: blob.type, id: blob.id, offset, length: blob.sealed.length, rawLength: blob.plaintext.length });
      expect(bytes.subarray(entry.offset, entry.offset + entry.length).equals(blob.sealed)).toBe(true);
      offset += blob.sealed.length;
    });
    // Each blob opens on its own from its slice of the pack, bound to its id.
    for (const entry of entries) {
      const plaintext = open(lookup, bytes.subarray(entry.offset, entry.offset + entry.length), entry.id, 'blob');
      expect(blobId(idKey, plaintext).equals(entry.id)).toBe(true);
    }
  });

  it('accepts a sealed blob in parts, as sealParts returns it', async () => {
    const plaintext = randomBytes(5000);
    const id = blobId(idKey, plaintext);
    const parts = sealParts(dataKey, [Buffer.from([0]), plaintext], id);
    const writer = new PackFileWriter(directory);
    writer.add('data', id, parts, plaintext.length);
    const { path, entries } = await writer.finish(dataKey);
    const bytes = await readFile(path);
    expect(entries[0]!.length).toBe(plaintext.length + 1 + SEAL_OVERHEAD);
    const opened = open(lookup, bytes.subarray(0, entries[0]!.length), id, 'blob');
    expect(opened.equals(Buffer.concat([Buffer.from([0]), plaintext]))).toBe(true);
  });

  it('writes packs larger than one write batch intact', async () => {
    const blobs = Array.from({ length: 40 }, (_, i) => makeBlob(i % 5 === 0 ? 'tree' : 'data', randomBytes(100_000 + i)));
    const { id, bytes, entries } = await buildPack(blobs);
    expect(bytes.length).toBeGreaterThan(3 * 1024 * 1024);
    expect(readPackHeader(lookup, id, bytes)).toEqual(entries);
    entries.forEach((entry, i) => expect(bytes.subarray(entry.offset, entry.offset + entry.length).equals(blobs[i]!.sealed)).toBe(true));
  });

  it('gives every pack a random 256-bit id, even for identical content', async () => {
    const one = await buildPack(BLOBS);
    const two = await buildPack(BLOBS);
    expect(one.id).toMatch(/^[0-9a-f]{64}$/);
    expect(two.id).toMatch(/^[0-9a-f]{64}$/);
    expect(one.id).not.toBe(two.id);
    expect(one.path).not.toBe(two.path);
  });

  it('ends with the sealed header and its length', async () => {
    const { bytes, writer } = await buildPack(BLOBS);
    const headerLength = bytes.readUInt32LE(bytes.length - 4);
    expect(headerLength).toBe(BLOBS.length * 45 + SEAL_OVERHEAD);
    expect(bytes.length).toBe(writer.byteLength + headerLength + 4);
  });

  it('does not reveal blob ids or plaintext in the clear', async () => {
    const text = makeBlob('data', Buffer.from('a recognisable plaintext sentence in a blob'));
    const { bytes } = await buildPack([...BLOBS, text]);
    for (const blob of [...BLOBS, text]) expect(bytes.includes(blob.id)).toBe(false);
    expect(bytes.includes(Buffer.from('recognisable'))).toBe(false);
  });

  it('abort removes the staging file', async () => {
    const own = join(directory, 'abort');
    let written!: () => void;
    const firstWrite = new Promise<void>((resolve) => (written = resolve));
    const writer = new PackFileWriter(own, () => written());
    writer.add('data', BLOBS[3]!.id, Buffer.alloc(2 * 1024 * 1024), 1); // over one batch: written at once
    await firstWrite;
    expect(writer.queuedBytes).toBe(0);
    const staged = await readdir(own);
    expect(staged).toHaveLength(1);
    expect(staged[0]!.startsWith(PACK_STAGING)).toBe(true);
    await writer.abort();
    expect(await readdir(own)).toEqual([]);
  });
});

describe('readPackHeader', () => {
  it('returns the entries the builder recorded', async () => {
    const { id, bytes, entries } = await buildPack(BLOBS);
    expect(readPackHeader(lookup, id, bytes)).toEqual(entries);
  });

  it('reads an empty pack', async () => {
    const { id, bytes } = await buildPack([]);
    expect(readPackHeader(lookup, id, bytes)).toEqual([]);
  });

  it('keeps the blob types', async () => {
    const { id, bytes } = await buildPack(BLOBS);
    expect(readPackHeader(lookup, id, bytes).map((entry) => entry.type)).toEqual(['data', 'tree', 'data', 'data']);
  });

  it('rejects a flipped byte in the sealed header', async () => {
    const { id, bytes } = await buildPack(BLOBS);
    const headerLength = bytes.readUInt32LE(bytes.length - 4);
    const headerStart = bytes.length - 4 - headerLength;
    for (const at of [headerStart + 1, headerStart + 20, bytes.length - 5]) {
      const bad = Buffer.from(bytes);
      bad[at]! ^= 0x80;
      expect(thrownCode(() => readPackHeader(lookup, id, bad))).toMatch(/^integrity\.(authentication_failed|unknown_key)$/);
    }
    const ciphertext = Buffer.from(bytes);
    ciphertext[headerStart + 30]! ^= 0x01;
    expect(thrownCode(() => readPackHeader(lookup, id, ciphertext))).toBe('integrity.authentication_failed');
  });

  it('rejects a damaged header length', async () => {
    const { id, bytes } = await buildPack(BLOBS);
    const shorter = Buffer.from(bytes);
    shorter.writeUInt32LE(bytes.readUInt32LE(bytes.length - 4) - 1, bytes.length - 4);
    expect(thrownCode(() => readPackHeader(lookup, id, shorter))).toMatch(/^integrity\./);
    const huge = Buffer.from(bytes);
    huge.writeUInt32LE(bytes.length, bytes.length - 4);
    expect(thrownCode(() => readPackHeader(lookup, id, huge))).toBe('integrity.pack_truncated');
  });

  it('rejects truncated packs', async () => {
    const { id, bytes } = await buildPack(BLOBS);
    expect(thrownCode(() => readPackHeader(lookup, id, bytes.subarray(0, 3)))).toBe('integrity.pack_truncated');
    expect(thrownCode(() => readPackHeader(lookup, id, Buffer.alloc(0)))).toBe('integrity.pack_truncated');
    // Losing the tail loses the trailer: the length read is garbage.
    expect(thrownCode(() => readPackHeader(lookup, id, bytes.subarray(0, bytes.length - 10)))).toMatch(/^integrity\./);
  });

  it('rejects a header sealed as something else (a blob moved into header position)', async () => {
    const { id } = await buildPack(BLOBS);
    const fakeHeader = seal(dataKey, Buffer.alloc(45), Buffer.from('not-the-pack-header'));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(fakeHeader.length, 0);
    expect(thrownCode(() => readPackHeader(lookup, id, Buffer.concat([fakeHeader, trailer])))).toBe('integrity.authentication_failed');
  });

  it('rejects a header whose entries point past the blob area', async () => {
    // A well-sealed header (someone holding the key) that lies about offsets.
    const entry = Buffer.alloc(45);
    entry.writeUInt32LE(0, 33);
    entry.writeUInt32LE(1000, 37);
    const sealedHeader = seal(dataKey, entry, Buffer.from('pack-header'));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(sealedHeader.length, 0);
    const bytes = Buffer.concat([Buffer.alloc(10), sealedHeader, trailer]);
    expect(thrownCode(() => readPackHeader(lookup, 'p', bytes))).toBe('integrity.pack_header');
  });

  it('rejects a header whose length is not a whole number of entries', async () => {
    const sealedHeader = seal(dataKey, Buffer.alloc(44), Buffer.from('pack-header'));
    const trailer = Buffer.alloc(4);
    trailer.writeUInt32LE(sealedHeader.length, 0);
    expect(thrownCode(() => readPackHeader(lookup, 'p', Buffer.concat([sealedHeader, trailer])))).toBe('integrity.pack_header');
  });

  it('needs the data key that sealed the header', async () => {
    const { id, bytes } = await buildPack(BLOBS);
    expect(thrownCode(() => readPackHeader(() => undefined, id, bytes))).toBe('integrity.unknown_key');
  });
});
