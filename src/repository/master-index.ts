import { IntegrityError } from '../domain/errors.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { open, seal, type DataKey, type DataKeyLookup } from './crypto.js';
import { indexKey, LAYOUT, lastSegment } from './layout.js';
import { createHash } from 'node:crypto';
import { BlobCodec } from './codec.js';
import type { BlobType, PackEntry } from './pack.js';
import { mapLimit } from '../util/concurrency.js';

/**
 * The index: which pack holds each blob, at which offset. Index files (`index/<sha256>`) are sealed
 * JSON written after the packs they describe are durable; the in-memory MasterIndex merges them all.
 * A blob listed twice (two concurrent backups stored it) is fine: either copy serves.
 */
export interface BlobLocation {
  pack: string;
  type: BlobType;
  offset: number;
  length: number;
  rawLength: number;
}

interface IndexFile {
  version: 1;
  packs: { id: string; blobs: [type: BlobType, id: string, offset: number, length: number, rawLength: number][] }[];
  /** Index files this one replaces (written by prune): readers may ignore those. */
  supersedes?: string[];
}

const INDEX_AAD = Buffer.from('index');
const indexCodec = new BlobCodec();

export class MasterIndex {
  private readonly blobs = new Map<string, BlobLocation>();
  private readonly packs = new Map<string, number>();
  /** Index file ids loaded from storage. */
  readonly files = new Set<string>();
  /** Index files that could not be read: skipped, so the rest of the repository stays usable. */
  readonly damagedFiles: { id: string; code: string; message: string }[] = [];

  get blobCount(): number {
    return this.blobs.size;
  }

  has(id: string): boolean {
    return this.blobs.has(id);
  }

  get(id: string): BlobLocation | undefined {
    return this.blobs.get(id);
  }

  /** Pack ids and their blob counts. */
  packIds(): string[] {
    return [...this.packs.keys()];
  }

  entries(): IterableIterator<[string, BlobLocation]> {
    return this.blobs.entries();
  }

  addPack(packId: string, entries: readonly PackEntry[]): void {
    for (const entry of entries) {
      const id = entry.id.toString('hex');
      if (!this.blobs.has(id)) this.blobs.set(id, { pack: packId, type: entry.type, offset: entry.offset, length: entry.length, rawLength: entry.rawLength });
    }
    this.packs.set(packId, (this.packs.get(packId) ?? 0) + entries.length);
  }

  static async load(storage: ObjectStorage, keys: DataKeyLookup): Promise<MasterIndex> {
    const index = new MasterIndex();
    const files: { id: string; content: IndexFile }[] = [];
    const keysList: string[] = [];
    for await (const info of storage.list(LAYOUT.indexes)) keysList.push(info.key);
    await mapLimit(keysList, 8, async (key) => {
      const id = lastSegment(key);
      try {
        files.push({ id, content: await readIndexFile(storage, keys, id) });
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        index.damagedFiles.push({ id, code: error.code, message: error.message });
      }
    });
    const superseded = new Set(files.flatMap((file) => file.content.supersedes ?? []));
    for (const file of files) {
      if (superseded.has(file.id)) continue;
      index.files.add(file.id);
      for (const pack of file.content.packs) {
        index.addPack(pack.id, pack.blobs.map(([type, id, offset, length, rawLength]) => ({ type, id: Buffer.from(id, 'hex'), offset, length, rawLength })));
      }
    }
    return index;
  }
}

export async function readIndexFile(storage: ObjectStorage, keys: DataKeyLookup, id: string): Promise<IndexFile> {
  const sealed = await storage.get(indexKey(id));
  if (sha256Hex(sealed) !== id) throw new IntegrityError('index_hash', `index file ${id} is damaged: its content does not match its name (run \`chrono-backup repair index\`)`);
  try {
    const what = `index file ${id}`;
    return JSON.parse(indexCodec.decode(open(keys, sealed, INDEX_AAD, what), what).toString('utf8')) as IndexFile;
  } catch (error) {
    if (error instanceof SyntaxError) throw new IntegrityError('index_malformed', `index file ${id} is malformed`, { cause: error });
    throw error;
  }
}

/** Writes one index file for the given packs and returns its id. */
export async function writeIndexFile(
  storage: ObjectStorage,
  dataKey: DataKey,
  packs: { id: string; entries: readonly PackEntry[] }[],
  supersedes?: string[],
): Promise<string> {
  const content: IndexFile = {
    version: 1,
    packs: packs.map((pack) => ({ id: pack.id, blobs: pack.entries.map((e) => [e.type, e.id.toString('hex'), e.offset, e.length, e.rawLength]) })),
    ...(supersedes && supersedes.length > 0 ? { supersedes } : {}),
  };
  // Compressed like blobs (codec byte + payload): hex ids and offsets shrink to about half.
  const sealed = seal(dataKey, indexCodec.encode(Buffer.from(JSON.stringify(content)), 'zstd'), INDEX_AAD);
  const id = sha256Hex(sealed);
  await storage.put(indexKey(id), sealed);
  return id;
}

/** Index files are named by the SHA-256 of their sealed bytes: small, and checkable without keys. */
function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}
