import { randomBytes } from 'node:crypto';
import { mkdir, open, unlink, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IntegrityError } from '../domain/errors.js';
import { STAGING_PREFIX } from '../ports/object-storage.js';
import { open as openSealed, seal, type DataKey, type DataKeyLookup } from './crypto.js';

/**
 * Packs: many sealed blobs appended into one object of ~16 MiB, so a gigabyte costs tens of PUTs, not
 * thousands. Layout: `blob records | sealed header | header length (u32 LE)`. The header lists each
 * blob (type, id, offset, length, plaintext length) and is itself sealed, so a pack reveals neither
 * content nor blob ids. Pack ids are random: every record and the header are authenticated, which
 * detects any change to a pack, so hashing whole packs would only cost time.
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

export interface FinishedPack {
  id: string;
  /** The staged pack file, to be moved into storage. */
  path: string;
  size: number;
  entries: PackEntry[];
}

const ENTRY_SIZE = 1 + 32 + 4 + 4 + 4;
const HEADER_AAD = Buffer.from('pack-header');
const TYPE_CODE: Record<BlobType, number> = { data: 0, tree: 1 };
/** Small records are gathered and written together: one syscall per megabyte, not per tree blob. */
const WRITE_BATCH_BYTES = 1024 * 1024;

export const DEFAULT_PACK_SIZE = 16 * 1024 * 1024;


/**
 * Builds a pack in a staging file as blobs arrive, so memory holds at most one write batch per pack
 * however large packs are. Writes are queued in order; `finish` waits for them.
 */
export class PackFileWriter {
  private readonly entries: PackEntry[] = [];
  private readonly path: string;
  private handle: Promise<FileHandle> | undefined;
  private batch: Buffer[] = [];
  private batchBytes = 0;
  private writes: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  private size = 0;
  /** Bytes accepted but not yet handed to the file system: what backpressure watches. */
  queuedBytes = 0;

  /**
   * @param directory where the staging file goes (the storage's scratch directory when it has one)
   * @param onWritten called after each batch reaches the file system, to release backpressure
   */
  constructor(
    private readonly directory: string = tmpdir(),
    private readonly onWritten: () => void = () => undefined,
  ) {
    this.path = join(directory, `${STAGING_PREFIX}pack-${randomBytes(12).toString('hex')}`);
  }

  /** Appends one sealed blob, given whole or in parts. */
  add(type: BlobType, id: Buffer, sealed: Buffer | readonly Buffer[], rawLength: number): void {
    const parts = Buffer.isBuffer(sealed) ? [sealed] : sealed;
    const length = parts.reduce((sum, part) => sum + part.length, 0);
    this.entries.push({ type, id, offset: this.size, length, rawLength });
    this.size += length;
    this.batch.push(...parts);
    this.batchBytes += length;
    this.queuedBytes += length;
    if (this.batchBytes >= WRITE_BATCH_BYTES) this.flushBatch();
  }

  get byteLength(): number {
    return this.size;
  }

  get count(): number {
    return this.entries.length;
  }

  /** Appends the sealed header and trailer and closes the staging file. */
  async finish(dataKey: DataKey): Promise<FinishedPack> {
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
    this.batch.push(sealedHeader, trailer);
    this.flushBatch();
    await this.writes;
    const handle = await this.file();
    await handle.close();
    if (this.failure) {
      await unlink(this.path).catch(() => undefined);
      throw this.failure;
    }
    return { id: randomBytes(32).toString('hex'), path: this.path, size: this.size + sealedHeader.length + 4, entries: this.entries };
  }

  /** Drops the staging file (after a failure). */
  async abort(): Promise<void> {
    await this.writes;
    if (this.handle) await (await this.handle).close().catch(() => undefined);
    await unlink(this.path).catch(() => undefined);
  }

  private flushBatch(): void {
    const parts = this.batch;
    const bytes = this.batchBytes;
    this.batch = [];
    this.batchBytes = 0;
    this.writes = this.writes.then(async () => {
      if (this.failure) return;
      try {
        await (await this.file()).writev(parts);
      } catch (error) {
        this.failure = error as Error;
      } finally {
        this.queuedBytes -= bytes;
        this.onWritten();
      }
    });
  }

  private file(): Promise<FileHandle> {
    this.handle ??= mkdir(this.directory, { recursive: true, mode: 0o700 }).then(() => open(this.path, 'wx', 0o600));
    return this.handle;
  }
}

/** Reads a whole pack's header. Throws IntegrityError if the pack is damaged. */
export function readPackHeader(keys: DataKeyLookup, packId: string, bytes: Buffer): PackEntry[] {
  if (bytes.length < 4) throw new IntegrityError('pack_truncated', `pack ${packId} is truncated`);
  const headerLength = bytes.readUInt32LE(bytes.length - 4);
  const headerStart = bytes.length - 4 - headerLength;
  if (headerStart < 0) throw new IntegrityError('pack_truncated', `pack ${packId} is truncated`);
  return parsePackHeader(keys, packId, bytes.subarray(headerStart, bytes.length - 4), headerStart);
}

/** Where a pack's sealed header starts and how long it is, from the pack size and its last 4 bytes. */
export function headerLocation(packId: string, packSize: number, trailer: Buffer): { offset: number; length: number } {
  const length = trailer.readUInt32LE(0);
  const offset = packSize - 4 - length;
  if (offset < 0) throw new IntegrityError('pack_truncated', `pack ${packId} is truncated`);
  return { offset, length };
}

/** Opens a sealed pack header whose data part is `dataLength` bytes long. */
export function parsePackHeader(keys: DataKeyLookup, packId: string, sealedHeader: Buffer, dataLength: number): PackEntry[] {
  const headerStart = dataLength;
  const header = openSealed(keys, sealedHeader, HEADER_AAD, `pack ${packId} header`);
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
