import { gunzipSync, gzipSync, constants as zlibConstants } from 'node:zlib';
import lz4 from 'lz4';
import { Compressor, Decompressor } from 'zstd-napi';
import type { Compression } from '../domain/backup-types.js';
import { IntegrityError } from '../domain/errors.js';

/**
 * Per-blob compression. A blob's plaintext is `codec byte | payload`; the codec byte says how the
 * payload was compressed, so each blob decodes on its own whatever the repository's current setting.
 */
export const CODEC = { none: 0, gzip: 1, lz4: 2, zstd: 3 } as const satisfies Record<Compression, number>;

/** Below this ratio of compressed to raw size compression is kept; above it the raw bytes are stored. */
const WORTHWHILE_RATIO = 0.97;
/** Probing a slice first saves compressing whole incompressible chunks (media, archives, ciphertext). */
const PROBE_BYTES = 64 * 1024;
const PROBE_RATIO = 0.95;

export class BlobCodec {
  private readonly zstd = new Compressor();
  private readonly zstdProbe = new Compressor();
  private readonly unzstd = new Decompressor();

  constructor(zstdLevel = 3) {
    this.zstd.setParameters({ compressionLevel: zstdLevel });
    this.zstdProbe.setParameters({ compressionLevel: 1 });
  }

  /** Returns `codec byte | payload`, falling back to `none` where compression does not pay. */
  encode(raw: Uint8Array, compression: Compression): Buffer {
    return Buffer.concat(this.encodeParts(raw, compression));
  }

  /** The same as two parts, the codec byte and the payload (`raw` itself when stored uncompressed). */
  encodeParts(raw: Uint8Array, compression: Compression): [Buffer, Uint8Array] {
    if (compression !== 'none' && raw.length >= 64 && this.worthTrying(raw)) {
      const packed = this.compress(raw, compression);
      if (packed.length < raw.length * WORTHWHILE_RATIO) return [CODEC_BYTES[compression], packed];
    }
    return [CODEC_BYTES.none, raw];
  }

  decode(encoded: Uint8Array, what: string): Buffer {
    if (encoded.byteLength === 0) throw new IntegrityError('malformed', `${what} is empty: it has no codec byte`);
    const payload = Buffer.from(encoded.buffer, encoded.byteOffset + 1, encoded.byteLength - 1);
    try {
      switch (encoded[0]) {
        case CODEC.none:
          return payload;
        case CODEC.zstd:
          return this.unzstd.decompress(payload);
        case CODEC.lz4:
          return lz4.decode(payload);
        case CODEC.gzip:
          return gunzipSync(payload);
      }
    } catch (error) {
      throw new IntegrityError('decompression_failed', `${what} could not be decompressed`, { cause: error });
    }
    throw new IntegrityError('unknown_codec', `${what} has unknown codec ${encoded[0]}`);
  }

  private worthTrying(raw: Uint8Array): boolean {
    if (raw.length <= PROBE_BYTES * 2) return true;
    const middle = Math.floor(raw.length / 2);
    const probe = raw.subarray(middle, middle + PROBE_BYTES);
    return this.zstdProbe.compress(probe).length < probe.length * PROBE_RATIO;
  }

  private compress(raw: Uint8Array, compression: Exclude<Compression, 'none'>): Buffer {
    switch (compression) {
      case 'zstd':
        return this.zstd.compress(raw);
      case 'lz4':
        return lz4.encode(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength));
      case 'gzip':
        return gzipSync(raw, { level: zlibConstants.Z_DEFAULT_COMPRESSION });
    }
  }
}

const CODEC_BYTES: Record<Compression, Buffer> = {
  none: Buffer.from([CODEC.none]),
  gzip: Buffer.from([CODEC.gzip]),
  lz4: Buffer.from([CODEC.lz4]),
  zstd: Buffer.from([CODEC.zstd]),
};
