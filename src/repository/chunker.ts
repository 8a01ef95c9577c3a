import { createHmac } from 'node:crypto';
import { ValidationError } from '../domain/errors.js';

/**
 * Content-defined chunking (FastCDC-style gear hash with normalised chunk sizes).
 *
 * Cut points depend only on content, so an insertion early in a file shifts one or two chunks instead
 * of every chunk after it, and identical regions of different files produce identical chunks. The gear
 * table is derived from a per-repository secret, so chunk sizes of known content cannot be used to
 * fingerprint files in someone else's repository.
 */
export interface ChunkerParams {
  minSize: number;
  avgSize: number;
  maxSize: number;
}

export const DEFAULT_CHUNKER_PARAMS: ChunkerParams = { minSize: 512 * 1024, avgSize: 1024 * 1024, maxSize: 8 * 1024 * 1024 };

/** 256 pseudo-random 32-bit gear values from the repository's chunker secret. */
export function gearTable(secret: Buffer): Int32Array {
  const table = new Int32Array(256);
  for (let block = 0; block < 32; block++) {
    const digest = createHmac('sha256', secret).update(`gear-${block}`).digest();
    for (let i = 0; i < 8; i++) table[block * 8 + i] = digest.readInt32LE(i * 4);
  }
  return table;
}

/** A mask of the top `bits` bits: the top of a shift-left gear hash mixes the most recent 32 bytes. */
function topBitsMask(bits: number): number {
  return (~0 << (32 - bits)) | 0;
}

/**
 * Streaming chunker: `push` bytes as they are read, receive finished chunks through `emit`, then
 * `finish`. Emitted buffers are fresh copies the caller owns. Memory is bounded by `maxSize`.
 */
export class Chunker {
  private buffer: Buffer;
  private readonly maskSmall: number;
  private readonly maskLarge: number;
  /** Bytes of the current chunk held in `buffer` (the chunk always starts at offset 0). */
  private length = 0;
  /** Next offset to feed into the hash. */
  private scanned = 0;
  private hash = 0;

  /**
   * @param sizeHint expected input size: the buffer starts that small (small files are the common
   * case) and grows up to `maxSize` only if more arrives.
   * @param allocate where emitted chunks are copied to (a pool, so chunk buffers are reused)
   */
  constructor(
    private readonly gear: Int32Array,
    private readonly params: ChunkerParams = DEFAULT_CHUNKER_PARAMS,
    sizeHint: number = params.maxSize,
    private readonly allocate: (size: number) => Buffer = (size) => Buffer.allocUnsafeSlow(size),
  ) {
    validateParams(params);
    this.buffer = Buffer.allocUnsafe(Math.min(params.maxSize, Math.max(64 * 1024, sizeHint)));
    // Normalised chunking: a harder condition before the average size and an easier one after it
    // narrows the size distribution around the average.
    const avgBits = Math.round(Math.log2(params.avgSize));
    this.maskSmall = topBitsMask(avgBits + 1);
    this.maskLarge = topBitsMask(avgBits - 3);
  }

  push(data: Uint8Array, emit: (chunk: Buffer) => void): void {
    let offset = 0;
    while (offset < data.length) {
      if (this.length === this.buffer.length && this.buffer.length < this.params.maxSize) this.grow();
      const room = this.buffer.length - this.length;
      const take = Math.min(room, data.length - offset);
      this.buffer.set(data.subarray(offset, offset + take), this.length);
      this.length += take;
      offset += take;
      this.cutAll(emit);
    }
  }

  private grow(): void {
    const larger = Buffer.allocUnsafe(Math.min(this.params.maxSize, this.buffer.length * 2));
    this.buffer.copy(larger, 0, 0, this.length);
    this.buffer = larger;
  }

  finish(emit: (chunk: Buffer) => void): void {
    if (this.length > 0) this.emitChunk(this.length, emit);
  }

  private cutAll(emit: (chunk: Buffer) => void): void {
    while (true) {
      const cut = this.findCut();
      if (cut < 0) return;
      this.emitChunk(cut, emit);
    }
  }

  /** Offset just past the cut, or -1 when more data is needed to decide. */
  private findCut(): number {
    const { minSize, avgSize, maxSize } = this.params;
    const length = this.length;
    if (this.scanned < minSize) {
      // The first minSize bytes of a chunk can never hold a cut point, so they are not hashed at all.
      if (length < minSize) return -1;
      this.scanned = minSize;
      this.hash = 0;
    }
    const gear = this.gear;
    const buffer = this.buffer;
    let hash = this.hash;
    let i = this.scanned;
    const smallEnd = Math.min(length, avgSize);
    const maskSmall = this.maskSmall;
    for (; i < smallEnd; i++) {
      hash = ((hash << 1) + gear[buffer[i]!]!) | 0;
      if ((hash & maskSmall) === 0) return i + 1;
    }
    const largeEnd = Math.min(length, maxSize);
    const maskLarge = this.maskLarge;
    for (; i < largeEnd; i++) {
      hash = ((hash << 1) + gear[buffer[i]!]!) | 0;
      if ((hash & maskLarge) === 0) return i + 1;
    }
    this.hash = hash;
    this.scanned = i;
    return length >= maxSize ? maxSize : -1;
  }

  private emitChunk(size: number, emit: (chunk: Buffer) => void): void {
    const chunk = this.allocate(size);
    this.buffer.copy(chunk, 0, 0, size);
    const rest = this.length - size;
    if (rest > 0) this.buffer.copyWithin(0, size, this.length);
    this.length = rest;
    this.scanned = 0;
    this.hash = 0;
    emit(chunk);
  }
}

function validateParams({ minSize, avgSize, maxSize }: ChunkerParams): void {
  if (!(minSize > 64 && minSize < avgSize && avgSize < maxSize)) {
    throw new ValidationError('chunker sizes must satisfy 64 < min < avg < max', 'chunker');
  }
}
