import { describe, expect, it } from '@jest/globals';
import { createCipheriv, createHash } from 'node:crypto';
import { ValidationError } from '../../../src/domain/errors.js';
import { Chunker, DEFAULT_CHUNKER_PARAMS, gearTable, type ChunkerParams } from '../../../src/repository/chunker.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const SMALL: ChunkerParams = { minSize: 2 * KiB, avgSize: 8 * KiB, maxSize: 32 * KiB };

/** Deterministic, incompressible bytes: an AES-CTR keystream keyed by the seed. */
function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Runs `data` through a chunker, pushing it in pieces whose sizes cycle through `pieces`. */
function chunkAll(data: Buffer, options: { gear?: Int32Array; params?: ChunkerParams; pieces?: readonly number[] } = {}): Buffer[] {
  const chunker = new Chunker(options.gear ?? gearTable(Buffer.from('test secret')), options.params ?? DEFAULT_CHUNKER_PARAMS);
  const chunks: Buffer[] = [];
  const emit = (chunk: Buffer) => chunks.push(chunk);
  const pieces = options.pieces ?? [data.length];
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = Math.max(1, pieces[i % pieces.length]!);
    chunker.push(data.subarray(offset, offset + size), emit);
    offset += size;
  }
  chunker.finish(emit);
  return chunks;
}

function sizes(chunks: readonly Buffer[]): number[] {
  return chunks.map((chunk) => chunk.length);
}

function digests(chunks: readonly Buffer[]): string[] {
  return chunks.map((chunk) => createHash('sha256').update(chunk).digest('hex'));
}

/** Offsets just past each cut, i.e. the boundaries the chunker chose. */
function boundaries(chunks: readonly Buffer[]): number[] {
  let at = 0;
  return chunks.map((chunk) => (at += chunk.length));
}

function expectWithinBounds(chunks: readonly Buffer[], params: ChunkerParams): void {
  chunks.forEach((chunk, i) => {
    expect(chunk.length).toBeLessThanOrEqual(params.maxSize);
    if (i < chunks.length - 1) expect(chunk.length).toBeGreaterThanOrEqual(params.minSize);
    else expect(chunk.length).toBeGreaterThan(0);
  });
}

describe('gearTable', () => {
  it('derives 256 values deterministically from the secret', () => {
    const a = gearTable(Buffer.from('secret one'));
    expect(a).toHaveLength(256);
    expect(gearTable(Buffer.from('secret one'))).toEqual(a);
    // Pseudo-random: practically all values distinct.
    expect(new Set(a).size).toBeGreaterThan(250);
  });

  it('differs for another secret', () => {
    const a = gearTable(Buffer.from('secret one'));
    const b = gearTable(Buffer.from('secret two'));
    const same = a.filter((value, i) => value === b[i]).length;
    expect(same).toBeLessThan(3);
  });
});

describe('Chunker', () => {
  it('emits chunks that concatenate back to the input', () => {
    const data = pseudoRandom(6 * MiB, 'concat');
    const chunks = chunkAll(data);
    expect(chunks.length).toBeGreaterThan(1);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('emits nothing for empty input and one short chunk for input below the minimum', () => {
    expect(chunkAll(Buffer.alloc(0))).toEqual([]);
    const data = pseudoRandom(1000, 'short');
    const chunks = chunkAll(data, { params: SMALL });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.equals(data)).toBe(true);
  });

  it('chooses the same cut points however the input is split into pushes (default sizes)', () => {
    const data = pseudoRandom(2.5 * MiB + 12345, 'push sizes');
    const reference = chunkAll(data);
    expect(reference.length).toBeGreaterThanOrEqual(2);
    const expected = digests(reference);
    expect(digests(chunkAll(data, { pieces: [1] }))).toEqual(expected);
    expect(digests(chunkAll(data, { pieces: [7, 4093, 65537, 1, 999_999, 3] }))).toEqual(expected);
    expect(digests(chunkAll(data, { pieces: [4 * MiB] }))).toEqual(expected);
    expect(digests(chunkAll(data, { pieces: [DEFAULT_CHUNKER_PARAMS.maxSize + 1] }))).toEqual(expected);
  });

  it('chooses the same cut points however the input is split into pushes (many small chunks)', () => {
    const data = pseudoRandom(768 * KiB + 7, 'push sizes small');
    const reference = chunkAll(data, { params: SMALL });
    expect(reference.length).toBeGreaterThan(40);
    const expected = sizes(reference);
    expect(sizes(chunkAll(data, { params: SMALL, pieces: [1] }))).toEqual(expected);
    expect(sizes(chunkAll(data, { params: SMALL, pieces: [3, 2047, 2049, 33 * KiB, 5] }))).toEqual(expected);
    expect(sizes(chunkAll(data, { params: SMALL, pieces: [SMALL.maxSize] }))).toEqual(expected);
  });

  it('chooses the same cut points whatever the size hint (the buffer grows as data arrives)', () => {
    const data = pseudoRandom(2 * MiB + 999, 'size hint');
    const expected = sizes(chunkAll(data, { params: SMALL }));
    const gear = gearTable(Buffer.from('test secret'));
    for (const hint of [0, 1, 4 * KiB, 100 * KiB, 10 * MiB]) {
      for (const params of [SMALL, DEFAULT_CHUNKER_PARAMS]) {
        const chunker = new Chunker(gear, params, hint);
        const chunks: Buffer[] = [];
        for (let offset = 0; offset < data.length; offset += 50_000) chunker.push(data.subarray(offset, offset + 50_000), (chunk) => chunks.push(chunk));
        chunker.finish((chunk) => chunks.push(chunk));
        expect(Buffer.concat(chunks).equals(data)).toBe(true);
        if (params === SMALL) expect(sizes(chunks)).toEqual(expected);
        else expect(sizes(chunks)).toEqual(sizes(chunkAll(data)));
      }
    }
  });

  it('copies chunks into buffers from the given allocator', () => {
    const data = pseudoRandom(300 * KiB, 'allocator');
    const requested: number[] = [];
    const chunker = new Chunker(gearTable(Buffer.from('test secret')), SMALL, 64 * KiB, (size) => {
      requested.push(size);
      return Buffer.alloc(64 * KiB).subarray(0, size);
    });
    const chunks: Buffer[] = [];
    chunker.push(data, (chunk) => chunks.push(chunk));
    chunker.finish((chunk) => chunks.push(chunk));
    expect(requested).toEqual(sizes(chunks));
    expect(sizes(chunks)).toEqual(sizes(chunkAll(data, { params: SMALL })));
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('keeps every chunk between the minimum and the maximum size', () => {
    const data = pseudoRandom(24 * MiB, 'bounds');
    expectWithinBounds(chunkAll(data), DEFAULT_CHUNKER_PARAMS);
    const small = chunkAll(data.subarray(0, 4 * MiB), { params: SMALL });
    expectWithinBounds(small, SMALL);
  });

  it('cuts at exactly the maximum size when the content never offers a cut point', () => {
    // With every gear value 0x80000001 the hash runs 0x80000001, 0x80000003, … and settles at 0x7fffffff:
    // its top bits are never all zero, so no position qualifies as a cut point.
    const gear = new Int32Array(256).fill(0x80000001 | 0);
    const data = pseudoRandom(3 * SMALL.maxSize + 100, 'no cut');
    expect(sizes(chunkAll(data, { gear, params: SMALL }))).toEqual([SMALL.maxSize, SMALL.maxSize, SMALL.maxSize, 100]);
    const defaults = chunkAll(Buffer.alloc(17 * MiB, 0xab), { gear });
    expect(sizes(defaults)).toEqual([8 * MiB, 8 * MiB, MiB]);
  });

  it('never cuts before the minimum size even when every byte qualifies', () => {
    // A gear of zeros keeps the hash at 0: every position is a cut point, but the first minSize bytes are skipped.
    const gear = new Int32Array(256);
    const data = pseudoRandom(10 * (SMALL.minSize + 1) + 5, 'always cut');
    const chunks = chunkAll(data, { gear, params: SMALL });
    expect(sizes(chunks)).toEqual([...Array<number>(10).fill(SMALL.minSize + 1), 5]);
  });

  it('averages about 1 MiB per chunk on random data with the default sizes', () => {
    const chunks = chunkAll(pseudoRandom(48 * MiB, 'average'));
    const mean = (48 * MiB) / chunks.length;
    expect(mean).toBeGreaterThan(0.8 * MiB);
    expect(mean).toBeLessThan(1.25 * MiB);
    // Normalised chunking: not everything is pinned to the minimum or maximum.
    const middle = chunks.filter((chunk) => chunk.length > DEFAULT_CHUNKER_PARAMS.minSize && chunk.length < DEFAULT_CHUNKER_PARAMS.maxSize);
    expect(middle.length).toBeGreaterThan(chunks.length * 0.9);
  });

  it('averages near the configured size for small parameters too', () => {
    const chunks = chunkAll(pseudoRandom(4 * MiB, 'average small'), { params: SMALL });
    const mean = (4 * MiB) / chunks.length;
    expect(mean).toBeGreaterThan(0.8 * SMALL.avgSize);
    expect(mean).toBeLessThan(1.25 * SMALL.avgSize);
  });

  it('resists shifts: an insertion near the start changes only the first one or two chunks', () => {
    const original = pseudoRandom(20 * MiB, 'shift');
    const inserted = pseudoRandom(100, 'inserted bytes');
    const modified = Buffer.concat([original.subarray(0, 4096), inserted, original.subarray(4096)]);
    const before = digests(chunkAll(original));
    const after = digests(chunkAll(modified));
    expect(before.length).toBeGreaterThan(10);

    const changed = after.filter((digest) => !before.includes(digest));
    expect(changed.length).toBeGreaterThanOrEqual(1);
    expect(changed.length).toBeLessThanOrEqual(2);
    // The changed chunks are at the front; everything after them is the same sequence.
    expect(after.slice(0, changed.length)).toEqual(changed);
    const unchanged = after.slice(changed.length);
    expect(unchanged.length).toBeGreaterThanOrEqual(before.length - 2);
    expect(before.slice(before.length - unchanged.length)).toEqual(unchanged);
  });

  it('resists shifts for a deletion as well', () => {
    const original = pseudoRandom(12 * MiB, 'shift delete');
    const modified = Buffer.concat([original.subarray(0, 1000), original.subarray(1333)]);
    const before = digests(chunkAll(original));
    const after = digests(chunkAll(modified));
    const shared = after.filter((digest) => before.includes(digest));
    expect(shared.length).toBeGreaterThanOrEqual(before.length - 2);
  });

  it('places boundaries differently under different secrets', () => {
    const data = pseudoRandom(16 * MiB, 'secrets');
    const a = boundaries(chunkAll(data, { gear: gearTable(Buffer.from('repository A')) }));
    const b = boundaries(chunkAll(data, { gear: gearTable(Buffer.from('repository B')) }));
    expect(a).not.toEqual(b);
    // Apart from the end of the input, hardly any boundary coincides.
    const common = a.filter((offset) => b.includes(offset) && offset !== data.length);
    expect(common.length).toBeLessThanOrEqual(2);
    // The same secret gives the same boundaries.
    expect(boundaries(chunkAll(data, { gear: gearTable(Buffer.from('repository A')) }))).toEqual(a);
  });

  it('splits zero-filled input into identical chunks within the size limits', () => {
    const data = Buffer.alloc(20 * MiB);
    for (const secret of ['zeros 1', 'zeros 2', 'zeros 3']) {
      const chunks = chunkAll(data, { gear: gearTable(Buffer.from(secret)) });
      expectWithinBounds(chunks, DEFAULT_CHUNKER_PARAMS);
      expect(Buffer.concat(chunks).equals(data)).toBe(true);
      // Every full chunk is the same, so a zero-filled file deduplicates to one blob (plus the tail).
      expect(new Set(digests(chunks.slice(0, -1))).size).toBe(1);
    }
  });

  it('emits fresh buffers that later pushes do not overwrite', () => {
    const data = pseudoRandom(256 * KiB, 'fresh');
    const chunker = new Chunker(gearTable(Buffer.from('fresh')), SMALL);
    const chunks: Buffer[] = [];
    const copies: Buffer[] = [];
    for (let offset = 0; offset < data.length; offset += 1000) {
      chunker.push(data.subarray(offset, offset + 1000), (chunk) => {
        chunks.push(chunk);
        copies.push(Buffer.from(chunk));
      });
    }
    chunker.finish((chunk) => {
      chunks.push(chunk);
      copies.push(Buffer.from(chunk));
    });
    expect(chunks.length).toBeGreaterThan(5);
    chunks.forEach((chunk, i) => {
      expect(chunk.equals(copies[i]!)).toBe(true);
      // Its own memory (transferable to a worker thread), not a view into the chunker's buffer.
      expect(chunk.byteOffset).toBe(0);
      expect(chunk.buffer.byteLength).toBe(chunk.length);
    });
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it('does not keep the caller’s input buffer: mutating it after push does not change later chunks', () => {
    const data = pseudoRandom(100 * KiB, 'mutate');
    const expected = sizes(chunkAll(data, { params: SMALL }));
    const chunker = new Chunker(gearTable(Buffer.from('test secret')), SMALL);
    const chunks: Buffer[] = [];
    const copy = Buffer.from(data);
    for (let offset = 0; offset < copy.length; offset += 3000) {
      const piece = copy.subarray(offset, offset + 3000);
      chunker.push(piece, (chunk) => chunks.push(chunk));
      piece.fill(0);
    }
    chunker.finish((chunk) => chunks.push(chunk));
    expect(sizes(chunks)).toEqual(expected);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });

  it.each<[string, ChunkerParams]>([
    ['min not above 64', { minSize: 64, avgSize: 128, maxSize: 256 }],
    ['min equal to avg', { minSize: 4096, avgSize: 4096, maxSize: 8192 }],
    ['min above avg', { minSize: 8192, avgSize: 4096, maxSize: 16384 }],
    ['avg equal to max', { minSize: 1024, avgSize: 4096, maxSize: 4096 }],
    ['avg above max', { minSize: 1024, avgSize: 8192, maxSize: 4096 }],
    ['NaN', { minSize: Number.NaN, avgSize: 4096, maxSize: 8192 }],
    ['negative', { minSize: -1, avgSize: 4096, maxSize: 8192 }],
  ])('rejects invalid sizes (%s) with a ValidationError', (_label, params) => {
    let caught: unknown;
    try {
      new Chunker(gearTable(Buffer.from('x')), params);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ValidationError);
    expect((caught as ValidationError).details).toEqual({ field: 'chunker' });
  });

  it('accepts the smallest valid sizes', () => {
    const params = { minSize: 65, avgSize: 128, maxSize: 256 };
    const data = pseudoRandom(10 * KiB, 'tiny');
    const chunks = chunkAll(data, { params });
    expectWithinBounds(chunks, params);
    expect(Buffer.concat(chunks).equals(data)).toBe(true);
  });
});
