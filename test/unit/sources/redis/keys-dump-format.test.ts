import { describe, expect, it } from '@jest/globals';
import { IntegrityError } from '../../../../src/domain/errors.js';
import { decodeKeysDump, encodeEnd, encodeHeader, encodeRecord, type DumpedKey } from '../../../../src/sources/redis/keys-dump-format.js';

const records: DumpedKey[] = [
  { db: 0, key: Buffer.from('plain'), expireAt: -1, payload: Buffer.from([0, 1, 2, 3]) },
  { db: 7, key: Buffer.from([0xff, 0x00, 0x0a]), expireAt: 1_900_000_000_123, payload: Buffer.alloc(9_000, 9) },
  { db: 7, key: Buffer.alloc(0), expireAt: -1, payload: Buffer.alloc(0) },
];

async function* chunks(bytes: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

async function decode(bytes: Buffer, size = 5): Promise<DumpedKey[]> {
  const out: DumpedKey[] = [];
  for await (const record of decodeKeysDump(chunks(bytes, size))) out.push({ ...record, key: Buffer.from(record.key), payload: Buffer.from(record.payload) });
  return out;
}

const file = Buffer.concat([encodeHeader(), ...records.map(encodeRecord), encodeEnd(records.length)]);

describe('keys.dump format', () => {
  it('round-trips records, whatever the chunk boundaries', async () => {
    expect(await decode(file, 3)).toEqual(records);
    expect(await decode(file, 1 << 20)).toEqual(records);
  });

  it('detects truncation, a wrong count, trailing bytes and a foreign file', async () => {
    await expect(decode(file.subarray(0, file.length - 4))).rejects.toThrow(IntegrityError);
    await expect(decode(file.subarray(0, file.length - 9))).rejects.toThrow(/truncated/);
    await expect(decode(Buffer.concat([encodeHeader(), encodeRecord(records[0]!), encodeEnd(2)]))).rejects.toThrow(/says it holds 2 keys but 1/);
    await expect(decode(Buffer.concat([file, Buffer.from('x')]))).rejects.toThrow(/after its end record/);
    await expect(decode(Buffer.from('REDIS0010 not ours at all'))).rejects.toThrow(/header/);
  });
});
