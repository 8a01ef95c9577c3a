import { describe, expect, it } from '@jest/globals';
import { createCipheriv, createHash } from 'node:crypto';
import { COMPRESSIONS, type Compression } from '../../../src/domain/backup-types.js';
import { IntegrityError } from '../../../src/domain/errors.js';
import { BlobCodec, CODEC } from '../../../src/repository/codec.js';
import { thrownBy } from '../../helpers/thrown.js';

/** The code of the IntegrityError `fn` throws. */
const thrownCode = (fn: () => unknown): string => thrownBy(fn, IntegrityError).code;

function pseudoRandom(size: number, seed: string): Buffer {
  const key = createHash('sha256').update(seed).digest();
  return createCipheriv('aes-256-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/** Compressible but not trivially repetitive text. */
function text(size: number): Buffer {
  const words = ['backup', 'restore', 'snapshot', 'chunk', 'pack', 'index', 'lease', 'prune', 'tree', 'blob', 'key'];
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    const word = `${words[(i * 7 + (i >> 3)) % words.length]!}${i % 13 === 0 ? '\n' : ' '}`;
    parts.push(word);
    length += word.length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

const COMPRESSING = COMPRESSIONS.filter((c): c is Exclude<Compression, 'none'> => c !== 'none');

describe('BlobCodec', () => {
  const codec = new BlobCodec();

  it('assigns the documented codec bytes', () => {
    expect(CODEC).toEqual({ none: 0, gzip: 1, lz4: 2, zstd: 3 });
  });

  describe.each(COMPRESSIONS)('%s', (compression) => {
    it.each([
      ['short text', text(5000)],
      ['large text (probed)', text(300 * 1024)],
      ['random data', pseudoRandom(100 * 1024, `random ${compression}`)],
      ['large random data (probed)', pseudoRandom(400 * 1024, `large random ${compression}`)],
      ['a single byte', Buffer.from([42])],
      ['empty input', Buffer.alloc(0)],
    ])('round-trips %s', (_label, raw) => {
      const encoded = codec.encode(raw, compression);
      expect(codec.decode(encoded, 'blob').equals(raw)).toBe(true);
    });

    it('compresses text with its own codec byte (or stores it raw for none)', () => {
      const raw = text(64 * 1024);
      const encoded = codec.encode(raw, compression);
      expect(encoded[0]).toBe(CODEC[compression]);
      if (compression === 'none') expect(encoded.subarray(1).equals(raw)).toBe(true);
      else expect(encoded.length).toBeLessThan(raw.length / 2);
    });

    it('stores incompressible data with codec none, byte for byte', () => {
      for (const raw of [pseudoRandom(10 * 1024, 'incompressible small'), pseudoRandom(1024 * 1024, 'incompressible large')]) {
        const encoded = codec.encode(raw, compression);
        expect(encoded[0]).toBe(CODEC.none);
        expect(encoded.length).toBe(raw.length + 1);
        expect(encoded.subarray(1).equals(raw)).toBe(true);
      }
    });
  });

  it('encodeParts gives the codec byte and the payload, the raw input itself when stored uncompressed', () => {
    const raw = pseudoRandom(10_000, 'parts');
    const [codecByte, payload] = codec.encodeParts(raw, 'zstd');
    expect([...codecByte]).toEqual([CODEC.none]);
    expect(payload).toBe(raw);
    const compressible = text(10_000);
    const [zstdByte, packed] = codec.encodeParts(compressible, 'zstd');
    expect([...zstdByte]).toEqual([CODEC.zstd]);
    expect(Buffer.concat([zstdByte, packed]).equals(codec.encode(compressible, 'zstd'))).toBe(true);
    expect(codec.decode(Buffer.concat([zstdByte, packed]), 'blob').equals(compressible)).toBe(true);
  });

  it('does not compress inputs shorter than 64 bytes', () => {
    const raw = Buffer.alloc(63, 0x61);
    for (const compression of COMPRESSING) {
      const encoded = codec.encode(raw, compression);
      expect(encoded[0]).toBe(CODEC.none);
      expect(encoded.subarray(1).equals(raw)).toBe(true);
    }
    expect(codec.encode(Buffer.alloc(64, 0x61), 'zstd')[0]).toBe(CODEC.zstd);
  });

  it('stores a large chunk raw when its middle does not compress (probe)', () => {
    // Compressible ends around an incompressible middle: the probe samples the middle and skips compression.
    const raw = Buffer.concat([text(200 * 1024), pseudoRandom(128 * 1024, 'middle'), text(200 * 1024)]);
    const encoded = codec.encode(raw, 'zstd');
    expect(encoded[0]).toBe(CODEC.none);
    expect(codec.decode(encoded, 'blob').equals(raw)).toBe(true);
  });

  it('keeps raw bytes when compression saves less than 3 %', () => {
    // 2 % zeros in random data: every codec saves at most ~2 %, below the threshold.
    const raw = Buffer.concat([pseudoRandom(49 * 1024, 'almost'), Buffer.alloc(1024)]);
    for (const compression of COMPRESSING) expect(codec.encode(raw, compression)[0]).toBe(CODEC.none);
  });

  it('decodes a blob that sits at an offset inside a larger buffer', () => {
    for (const compression of COMPRESSIONS) {
      const raw = text(10_000);
      const encoded = codec.encode(raw, compression);
      const container = Buffer.concat([Buffer.from('prefix bytes'), encoded, Buffer.from('suffix')]);
      const view = container.subarray(12, 12 + encoded.length);
      expect(codec.decode(view, 'blob').equals(raw)).toBe(true);
      // A Uint8Array view (what a worker hands over) works too.
      const plain = new Uint8Array(container.buffer, container.byteOffset + 12, encoded.length);
      expect(codec.decode(plain, 'blob').equals(raw)).toBe(true);
    }
  });

  it('decodes whatever codec a blob was written with, whatever the current setting', () => {
    const raw = text(20_000);
    const blobs = COMPRESSIONS.map((compression) => new BlobCodec(19).encode(raw, compression));
    const other = new BlobCodec(1);
    for (const blob of blobs) expect(other.decode(blob, 'blob').equals(raw)).toBe(true);
  });

  it.each([4, 5, 0x7f, 0xff])('rejects unknown codec byte %i with integrity.unknown_codec', (byte) => {
    const encoded = Buffer.concat([Buffer.from([byte]), text(100)]);
    expect(thrownCode(() => codec.decode(encoded, 'blob x'))).toBe('integrity.unknown_codec');
  });

  it('names the blob in the error message', () => {
    try {
      codec.decode(Buffer.from([9, 1, 2]), 'blob 1234abcd');
      throw new Error('not thrown');
    } catch (error) {
      expect((error as Error).message).toContain('blob 1234abcd');
    }
  });

  it('rejects an empty encoding (not even a codec byte) with an IntegrityError', () => {
    expect(thrownCode(() => codec.decode(Buffer.alloc(0), 'blob'))).toBe('integrity.malformed');
  });

  describe('corrupted payloads', () => {
    const raw = text(50_000);
    const encoded = Object.fromEntries(COMPRESSING.map((compression) => [compression, codec.encode(raw, compression)])) as Record<Exclude<Compression, 'none'>, Buffer>;

    it('were really compressed (precondition)', () => {
      for (const compression of COMPRESSING) expect(encoded[compression][0]).toBe(CODEC[compression]);
    });

    it.each(COMPRESSING)('%s: random garbage after the codec byte → integrity.decompression_failed', (compression) => {
      const bad = Buffer.concat([Buffer.from([CODEC[compression]]), pseudoRandom(300, `garbage ${compression}`)]);
      expect(thrownCode(() => codec.decode(bad, 'blob'))).toBe('integrity.decompression_failed');
    });

    it.each(['gzip', 'zstd'] as const)('%s: truncated payload → integrity.decompression_failed', (compression) => {
      const blob = encoded[compression];
      for (const keep of [2, Math.floor(blob.length / 2), blob.length - 1]) {
        expect(thrownCode(() => codec.decode(blob.subarray(0, keep), 'blob'))).toBe('integrity.decompression_failed');
      }
    });

    it.each(['gzip', 'lz4'] as const)('%s: a flipped byte inside the payload → integrity.decompression_failed', (compression) => {
      const bad = Buffer.from(encoded[compression]);
      bad[Math.floor(bad.length / 2)]! ^= 0xff;
      expect(thrownCode(() => codec.decode(bad, 'blob'))).toBe('integrity.decompression_failed');
    });

    it.each(COMPRESSING)('%s: a damaged frame header → integrity.decompression_failed', (compression) => {
      const bad = Buffer.from(encoded[compression]);
      bad[1]! ^= 0xff; // first byte of the gzip / lz4 / zstd magic number
      expect(thrownCode(() => codec.decode(bad, 'blob'))).toBe('integrity.decompression_failed');
    });

    it('keeps the underlying error as the cause', () => {
      const bad = Buffer.concat([Buffer.from([CODEC.gzip]), Buffer.from('not gzip at all')]);
      try {
        codec.decode(bad, 'blob');
        throw new Error('not thrown');
      } catch (error) {
        expect(error).toBeInstanceOf(IntegrityError);
        // zlib's own error (from Node's realm, so checked by shape rather than instanceof).
        expect((error as IntegrityError).cause).toMatchObject({ code: 'Z_DATA_ERROR' });
      }
    });
  });
});
