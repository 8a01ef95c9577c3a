import { IntegrityError } from '../../domain/errors.js';

/**
 * `keys.dump`: the snapshot file of a SCAN-fallback backup, one record per key, restorable with
 * RESTORE into any Redis whose RDB version is at least the source's.
 *
 * ```
 * file    = magic record* end
 * magic   = "CHRONO-REDIS-KEYS/1\n"                      (20 bytes)
 * record  = 0x01 | db u32 | keyLength u32 | key | expireAt i64 | payloadLength u32 | payload
 * end     = 0x00 | recordCount u64
 * ```
 *
 * Integers are big-endian. `payload` is the key's DUMP output (it carries its own RDB version and
 * CRC-64, which RESTORE checks). `expireAt` is the absolute expiry in Unix milliseconds by the backup
 * host's clock (capture time + PTTL), or -1 for a key without a TTL: a restore recomputes the remaining
 * time then, so a key expires when it would have on the source and an expired key is not revived. The
 * end record makes a truncated file detectable.
 */
export const KEYS_DUMP_FILE = 'keys.dump';
const MAGIC = Buffer.from('CHRONO-REDIS-KEYS/1\n');

export interface DumpedKey {
  db: number;
  key: Buffer;
  /** Unix ms, or -1 for no expiry. */
  expireAt: number;
  payload: Buffer;
}

export function encodeHeader(): Buffer {
  return Buffer.from(MAGIC);
}

export function encodeRecord(record: DumpedKey): Buffer {
  const head = Buffer.alloc(9);
  head.writeUInt8(1, 0);
  head.writeUInt32BE(record.db, 1);
  head.writeUInt32BE(record.key.length, 5);
  const middle = Buffer.alloc(12);
  middle.writeBigInt64BE(BigInt(record.expireAt), 0);
  middle.writeUInt32BE(record.payload.length, 8);
  return Buffer.concat([head, record.key, middle, record.payload]);
}

export function encodeEnd(count: number): Buffer {
  const end = Buffer.alloc(9);
  end.writeUInt8(0, 0);
  end.writeBigUInt64BE(BigInt(count), 1);
  return end;
}

/** Reads the records of a keys.dump stream; throws an IntegrityError on a malformed or truncated file. */
export async function* decodeKeysDump(stream: AsyncIterable<Buffer>): AsyncGenerator<DumpedKey> {
  const reader = new ExactReader(stream[Symbol.asyncIterator]());
  const magic = await reader.read(MAGIC.length);
  if (!magic.equals(MAGIC)) throw new IntegrityError('redis_keys_dump', `${KEYS_DUMP_FILE} does not start with the Chrono keys.dump header`);
  let count = 0;
  while (true) {
    const tag = (await reader.read(1))[0];
    if (tag === 0) {
      const expected = (await reader.read(8)).readBigUInt64BE(0);
      if (expected !== BigInt(count)) throw new IntegrityError('redis_keys_dump', `${KEYS_DUMP_FILE} says it holds ${expected} keys but ${count} were read`);
      if (!(await reader.atEnd())) throw new IntegrityError('redis_keys_dump', `${KEYS_DUMP_FILE} has bytes after its end record`);
      return;
    }
    if (tag !== 1) throw new IntegrityError('redis_keys_dump', `${KEYS_DUMP_FILE}: unknown record type ${tag}`);
    const head = await reader.read(8);
    const key = await reader.read(head.readUInt32BE(4));
    const middle = await reader.read(12);
    const payload = await reader.read(middle.readUInt32BE(8));
    count++;
    yield { db: head.readUInt32BE(0), key, expireAt: Number(middle.readBigInt64BE(0)), payload };
  }
}

/** Reads exact byte counts from a chunked stream. */
class ExactReader {
  private chunks: Buffer[] = [];
  private buffered = 0;

  constructor(private readonly source: AsyncIterator<Buffer>) {}

  async read(length: number): Promise<Buffer> {
    while (this.buffered < length) {
      const next = await this.source.next();
      if (next.done) throw new IntegrityError('redis_keys_dump', `${KEYS_DUMP_FILE} is truncated`);
      this.chunks.push(next.value);
      this.buffered += next.value.length;
    }
    const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
    const out = all.subarray(0, length);
    this.chunks = all.length > length ? [all.subarray(length)] : [];
    this.buffered -= length;
    return out;
  }

  async atEnd(): Promise<boolean> {
    if (this.buffered > 0) return false;
    while (true) {
      const next = await this.source.next();
      if (next.done) return true;
      if (next.value.length > 0) return false;
    }
  }
}
