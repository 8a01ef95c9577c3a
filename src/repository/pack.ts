import { createHash } from 'node:crypto';
import { IntegrityError } from '../domain/errors.js';
import { open, seal, type DataKey, type DataKeyLookup } from './crypto.js';

/**
 * Packs: many sealed blobs appended into one object of ~16 MiB, so a gigabyte costs tens of PUTs, not
 * thousands. Layout: `blob records | sealed header | header length (u32 LE)`. The header lists each
 * blob (type, id, offset, length, plaintext length) and is itself sealed, so a pack reveals neither
 * content nor blob ids. A pack's id is the SHA-256 of its bytes, which lets anyone check a pack's
 * integrity from its name without keys.
 */
export type BlobType = 'data' | 'tree';

export interface PackEntry {
  type: BlobType;
  id: Buffer;
  offset: number;
  /** Sealed length inside the pack. */
  length: number;
  /** Plaintext length before compression. */
  rawLength: number;
}

const ENTRY_SIZE = 1 + 32 + 4 + 4 + 4;
const HEADER_AAD = Buffer.from('pack-header');
const TYPE_CODE: Record<BlobType, number> = { data: 0, tree: 1 };

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;

/** Accumulates sealed blobs until the pack is big enough to upload. */
export class PackBuilder {
  private readonly parts: Buffer[] = [];
  private readonly entries: PackEntry[] = [];
  private size = 0;

  add(type: BlobType, id: Buffer, sealed: Buffer, rawLength: number): void {
    this.entries.push({ type, id, offset: this.size, length: sealed.length, rawLength });
    this.parts.push(sealed);
    this.size += sealed.length;
  }

  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Seals the header and returns the pack bytes, its id and its entries. */
  finish(dataKey: DataKey): { id: string; bytes: Buffer; entries: PackEntry[] } {
    const header = Buffer.allocUnsafe(this.entries.length * ENTRY_SIZE);
    this.entries.forEach((entry, i) => {
      const at = i * ENTRY_SIZE;
      header[at] = TYPE_CODE[entry.type];
      entry.id.copy(header, at + 1);
      header.writeUInt32LE(entry.offset, at + 33);
      header.writeUInt32LE(entry.length, at + 37);
      header.writeUInt32LE(entry.rawLength, at + 41);
    });
    const sealedHeader = seal(dataKey, header, HEADER_AAD);
    const trailer = Buffer.allocUnsafe(4);
    trailer.writeUInt32LE(sealedHeader.length, 0);
    const bytes = Buffer.concat([...this.parts, sealedHeader, trailer]);
    const id = createHash('sha256').update(bytes).digest('hex');
    return { id, bytes, entries: this.entries };
  }
}

/** Reads a whole pack's header. Throws IntegrityError if the pack is damaged. */
export function readPackHeader(keys: DataKeyLookup, packId: string, bytes: Buffer): PackEntry[] {
  if (bytes.length < 4) throw new IntegrityError('pack_truncated', `pack ${packId} is truncated`);
  const headerLength = bytes.readUInt32LE(bytes.length - 4);
  const headerStart = bytes.length - 4 - headerLength;
  if (headerStart < 0) throw new IntegrityError('pack_truncated', `pack ${packId} is truncated`);
  const header = open(keys, bytes.subarray(headerStart, bytes.length - 4), HEADER_AAD, `pack ${packId} header`);
  if (header.length % ENTRY_SIZE !== 0) throw new IntegrityError('pack_header', `pack ${packId} header is malformed`);
  const entries: PackEntry[] = [];
  for (let at = 0; at < header.length; at += ENTRY_SIZE) {
    const entry: PackEntry = {
      type: header[at] === TYPE_CODE.tree ? 'tree' : 'data',
      id: Buffer.from(header.subarray(at + 1, at + 33)),
      offset: header.readUInt32LE(at + 33),
      length: header.readUInt32LE(at + 37),
      rawLength: header.readUInt32LE(at + 41),
    };
    if (entry.offset + entry.length > headerStart) throw new IntegrityError('pack_header', `pack ${packId} header points past its data`);
    entries.push(entry);
  }
  return entries;
}

export function packHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
