import { unlink } from 'node:fs/promises';
import { BackupError } from '../domain/errors.js';
import { collectEvery, fullCollector } from '../util/gc.js';
import { Semaphore } from '../util/concurrency.js';
import type { ChunkSink } from './blob-pool.js';
import { BlobCodec } from './codec.js';
import { blobId, sealParts } from './crypto.js';
import type { Compression } from '../domain/backup-types.js';
import { packKey } from './layout.js';
import { writeIndexFile } from './master-index.js';
import { PackFileWriter, type BlobType, type PackEntry } from './pack.js';
import { putFromFile } from '../ports/object-storage.js';
import type { Repository } from './repository.js';

const INDEX_INTERVAL_MS = 60_000;

/** Sealed bytes waiting for the staging file before reading pauses: keeps memory flat on slow disks. */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024;

export interface BlobWriterOptions {
  /** Packs uploading at once; more hides latency of remote backends at the cost of memory. */
  uploadConcurrency?: number;
  /**
   * An index file is written every this many packs, or once a minute, so an interrupted run's
   * uploads are reusable by the next run (unindexed packs are orphans for prune).
   */
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
  private readonly packers: Record<BlobType, PackFileWriter>;
  private readonly uploads = new Set<Promise<void>>();
  private readonly unindexed: { id: string; entries: PackEntry[] }[] = [];
  private indexing: Promise<void> = Promise.resolve();
  private lastIndexed = Date.now();
  private readonly codec = new BlobCodec();
  private failure: Error | undefined;
  private readonly uploadConcurrency: number;
  /**
   * The hard cap on pack transfers (`max_parallel_uploads`). `room()` alone is backpressure, not a cap:
   * it wakes every waiter at once, so with small packs several uploads can start together.
   */
  private readonly uploadSlots: Semaphore;
  /** Sealed blobs arrive from worker threads as large short-lived buffers; see util/gc.ts. */
  private readonly collectGarbage = collectEvery(16 * 1024 * 1024, fullCollector());
  private readonly indexEvery: number;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly repository: Repository,
    options: BlobWriterOptions = {},
  ) {
    this.uploadConcurrency = options.uploadConcurrency ?? 2;
    this.uploadSlots = new Semaphore(this.uploadConcurrency);
    this.indexEvery = options.indexEvery ?? 8;
    this.packers = { data: this.newPacker(), tree: this.newPacker() };
  }

  /** True when the blob must be stored; waits while uploads are saturated (backpressure). */
  async reserve(id: string): Promise<boolean> {
    this.throwIfFailed();
    if (this.reserved.has(id) || this.repository.index.has(id)) return false;
    this.reserved.add(id);
    await this.room();
    return true;
  }

  /** Resolves when another blob may be added without piling up memory: uploads and writes keep up. */
  async room(): Promise<void> {
    while (this.uploads.size >= this.uploadConcurrency || this.queuedBytes() > MAX_QUEUED_BYTES) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      this.throwIfFailed();
    }
  }

  store(id: Buffer, sealed: Buffer[], rawLength: number): void {
    this.add('data', id, sealed, rawLength);
    this.collectGarbage(rawLength);
  }

  /** Stores a small blob (a tree, a small file) sealed on this thread; returns its id. */
  addInline(type: BlobType, plaintext: Buffer, compression: Compression = 'zstd'): string {
    this.throwIfFailed();
    const id = blobId(this.repository.keyring.idKey, plaintext);
    const hex = id.toString('hex');
    if (this.reserved.has(hex) || this.repository.index.has(hex)) return hex;
    this.reserved.add(hex);
    this.add(type, id, sealParts(this.repository.keyring.writeKey, this.codec.encodeParts(plaintext, compression), id), plaintext.length);
    this.collectGarbage(plaintext.length);
    return hex;
  }

  /** True once an upload or index write has failed: nothing more this writer stores can become durable. */
  get failed(): boolean {
    return this.failure !== undefined;
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

  /** Removes the staging files of packs not yet uploaded (after a failed run). */
  async abort(): Promise<void> {
    this.failure ??= new BackupError('aborted', 'backup aborted');
    await Promise.allSettled([this.packers.data.abort(), this.packers.tree.abort(), ...this.uploads]);
  }

  private add(type: BlobType, id: Buffer, sealed: Buffer | Buffer[], rawLength: number): void {
    const packer = this.packers[type];
    const before = packer.byteLength;
    packer.add(type, id, sealed, rawLength);
    this.stats.blobsAdded++;
    this.stats.bytesAdded += rawLength;
    this.stats.bytesStored += packer.byteLength - before;
    if (packer.byteLength >= this.repository.config.packSize) this.startUpload(type);
  }

  private newPacker(): PackFileWriter {
    return new PackFileWriter(this.repository.storage.scratchDirectory, () => this.wakeAll());
  }

  private queuedBytes(): number {
    return this.packers.data.queuedBytes + this.packers.tree.queuedBytes;
  }

  private startUpload(type: BlobType): void {
    const packer = this.packers[type];
    this.packers[type] = this.newPacker();
    const upload = packer
      .finish(this.repository.keyring.writeKey)
      .then(async (pack) => {
        try {
          await this.uploadSlots.run(() => putFromFile(this.repository.storage, packKey(pack.id), pack.path));
        } catch (error) {
          await unlink(pack.path).catch(() => undefined);
          throw error;
        }
        return pack;
      })
      .then((pack) => {
        this.stats.packsWritten++;
        this.repository.index.addPack(pack.id, pack.entries);
        // Indexed now: the reservation is no longer needed, and at millions of blobs it is memory.
        for (const entry of pack.entries) this.reserved.delete(entry.id.toString('hex'));
        this.unindexed.push({ id: pack.id, entries: pack.entries });
        if (this.unindexed.length >= this.indexEvery || Date.now() - this.lastIndexed >= INDEX_INTERVAL_MS) this.scheduleIndex(false);
      })
      .catch((error: Error) => {
        this.failure ??= error;
      })
      .finally(() => {
        this.uploads.delete(upload);
        this.wakeAll();
      });
    this.uploads.add(upload);
  }

  private scheduleIndex(final: boolean): void {
    if (this.unindexed.length === 0) return;
    const packs = this.unindexed.splice(0);
    this.lastIndexed = Date.now();
    this.indexing = this.indexing.then(async () => {
      if (this.failure && !final) return;
      try {
        await writeIndexFile(this.repository.storage, this.repository.keyring.writeKey, packs);
      } catch (error) {
        this.failure ??= error as Error;
      }
    });
  }

  private wakeAll(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure instanceof BackupError ? this.failure : new BackupError('storage.upload_failed', this.failure.message, { cause: this.failure });
  }
}
