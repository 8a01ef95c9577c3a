import { BackupError } from '../domain/errors.js';
import type { ChunkSink } from './blob-pool.js';
import { BlobCodec } from './codec.js';
import { blobId, seal } from './crypto.js';
import { packKey } from './layout.js';
import { writeIndexFile } from './master-index.js';
import { PackBuilder, type BlobType, type PackEntry } from './pack.js';
import type { Repository } from './repository.js';

export interface BlobWriterOptions {
  /** Packs uploading at once; more hides latency of remote backends at the cost of memory. */
  uploadConcurrency?: number;
  /** An index file is written every this many packs, so an interrupted run's uploads are reusable. */
  indexEvery?: number;
}

export interface WriterStats {
  blobsAdded: number;
  bytesAdded: number;
  bytesStored: number;
  packsWritten: number;
}

/**
 * Collects new blobs into packs and uploads them, keeping the write order of the format: a pack is
 * indexed only after it is durable, and the caller writes a snapshot only after `flush`.
 * Deduplication happens here: a blob already in the index, or already reserved by this run, is skipped.
 */
export class BlobWriter implements ChunkSink {
  readonly stats: WriterStats = { blobsAdded: 0, bytesAdded: 0, bytesStored: 0, packsWritten: 0 };
  private readonly reserved = new Set<string>();
  private readonly packers: Record<BlobType, PackBuilder> = { data: new PackBuilder(), tree: new PackBuilder() };
  private readonly uploads = new Set<Promise<void>>();
  private readonly unindexed: { id: string; entries: PackEntry[] }[] = [];
  private indexing: Promise<void> = Promise.resolve();
  private readonly codec = new BlobCodec();
  private failure: Error | undefined;
  private readonly uploadConcurrency: number;
  private readonly indexEvery: number;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly repository: Repository,
    options: BlobWriterOptions = {},
  ) {
    this.uploadConcurrency = options.uploadConcurrency ?? 3;
    this.indexEvery = options.indexEvery ?? 32;
  }

  /** True when the blob must be stored; waits while uploads are saturated (backpressure). */
  async reserve(id: string): Promise<boolean> {
    this.throwIfFailed();
    if (this.reserved.has(id) || this.repository.index.has(id)) return false;
    this.reserved.add(id);
    while (this.uploads.size >= this.uploadConcurrency) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.throwIfFailed();
    }
    return true;
  }

  store(id: Buffer, sealed: Buffer, rawLength: number): void {
    this.add('data', id, sealed, rawLength);
  }

  /** Stores a small blob (a tree, a manifest) sealed on this thread; returns its id. */
  addInline(type: BlobType, plaintext: Buffer): string {
    this.throwIfFailed();
    const id = blobId(this.repository.keyring.idKey, plaintext);
    const hex = id.toString('hex');
    if (this.reserved.has(hex) || this.repository.index.has(hex)) return hex;
    this.reserved.add(hex);
    this.add(type, id, seal(this.repository.keyring.writeKey, this.codec.encode(plaintext, 'zstd'), id), plaintext.length);
    return hex;
  }

  /** Uploads every pending pack and indexes it. After this resolves, all stored blobs are durable. */
  async flush(): Promise<void> {
    for (const type of ['data', 'tree'] as const) if (this.packers[type].count > 0) this.startUpload(type);
    while (this.uploads.size > 0) await Promise.allSettled([...this.uploads]);
    this.throwIfFailed();
    this.scheduleIndex(true);
    await this.indexing;
    this.throwIfFailed();
  }

  private add(type: BlobType, id: Buffer, sealed: Buffer, rawLength: number): void {
    const packer = this.packers[type];
    packer.add(type, id, sealed, rawLength);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += rawLength;
    this.stats.bytesStored += sealed.length;
    if (packer.byteLength >= this.repository.config.packSize) this.startUpload(type);
  }

  private startUpload(type: BlobType): void {
    const packer = this.packers[type];
    this.packers[type] = new PackBuilder();
    const pack = packer.finish(this.repository.keyring.writeKey);
    const upload = this.repository.storage
      .put(packKey(pack.id), pack.bytes)
      .then(() => {
        this.stats.packsWritten++;
        this.repository.index.addPack(pack.id, pack.entries);
        this.unindexed.push({ id: pack.id, entries: pack.entries });
        if (this.unindexed.length >= this.indexEvery) this.scheduleIndex(false);
      })
      .catch((error: Error) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.uploads.delete(upload);
        this.wakeOne();
      });
    this.uploads.add(upload);
  }

  private scheduleIndex(final: boolean): void {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed.splice(0);
    this.indexing = this.indexing.then(async () => {
      if (this.failure && !final) return;
      try {
        await writeIndexFile(this.repository.storage, this.repository.keyring.writeKey, packs);
      } catch (error) {
        this.failure ??= error as Error;
      }
    });
  }

  private wakeOne(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure instanceof BackupError ? this.failure : new BackupError('storage.upload_failed', this.failure.message, { cause: this.failure });
  }
}
