import { ConflictError, IntegrityError, NotFoundError } from '../domain/errors.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { BlobCodec } from '../repository/codec.js';
import { open, seal, type DataKey, type DataKeyLookup } from '../repository/crypto.js';
import { parseWalFileName, type WalFileName } from './wal-names.js';

/**
 * The WAL archive inside a repository: one sealed object per archived file,
 * `wal/<system identifier>/<timeline, 8 hex>/<file name>`, holding `codec byte | payload` (zstd) sealed
 * with the repository's newest data key and the associated data `wal:<system identifier>/<file name>`
 * (an object moved to another name or cluster fails to open).
 *
 * One object per file rather than chunked blobs in packs: archiving is idempotent by name (a retry
 * finds the object and compares), a restore fetches a segment with one GET and no index, and nothing
 * is lost to deduplication — WAL never repeats, and the zero-filled tail of a switched segment is what
 * compression removes. Pruning WAL is deleting objects, without repacking.
 */
export const WAL_PREFIX = 'wal/';

/** The keys a WAL archive seals and opens with (a repository's keyring provides them). */
export interface WalKeys {
  readonly writeKey: DataKey;
  readonly lookup: DataKeyLookup;
}

export interface ArchivedWalFile {
  file: WalFileName;
  key: string;
  /** Stored (sealed) size. */
  size: number;
  /** When it was archived (the storage's modification time). */
  archivedAt: Date;
}

/** A named restore point created through `chrono-backup restore-point`, kept so a restore can pick its base backup. */
export interface RestorePointRecord {
  name: string;
  lsn: string;
  timeline: number;
  time: string;
}

export type PushOutcome = 'archived' | 'already-archived';

export class WalArchive {
  private readonly codec = new BlobCodec();

  constructor(
    private readonly storage: ObjectStorage,
    private readonly keys: WalKeys,
    readonly systemIdentifier: string,
  ) {}

  keyOf(file: WalFileName): string {
    return `${WAL_PREFIX}${this.systemIdentifier}/${file.timeline.toString(16).toUpperCase().padStart(8, '0')}/${file.name}`;
  }

  /**
   * Stores `content` under the file's name and returns only once the stored object has been read back
   * and matches what was sent. A file already archived with the same content is a success (PostgreSQL
   * retries a push whose acknowledgement it lost); with different content it is a ConflictError, and the
   * archived copy is left as it is.
   */
  async push(file: WalFileName, content: Buffer): Promise<PushOutcome> {
    const key = this.keyOf(file);
    if ((await this.storage.head(key)) !== undefined) {
      const archived = await this.fetch(file);
      if (archived?.equals(content)) return 'already-archived';
      throw new ConflictError('wal_differs', `${file.name} of cluster ${this.systemIdentifier} is already archived with different content; refusing to overwrite it (two clusters with the same system identifier archiving into one repository?)`, {
        details: { file: file.name, systemIdentifier: this.systemIdentifier },
      });
    }
    const sealed = seal(this.keys.writeKey, this.codec.encode(content, 'zstd'), this.aad(file));
    await this.storage.put(key, sealed);
    // A put that reported success is not yet proof: read it back, so exit 0 means the bytes are there.
    let stored: Buffer | undefined;
    let failure: unknown;
    try {
      stored = await this.storage.get(key);
    } catch (error) {
      failure = error;
    }
    if (stored?.equals(sealed)) return 'archived';
    // Another push of the same file (a `wal-push` run by hand while the archiver pushes it) may have put
    // its own sealing of the same content over ours and verified it: that copy is as good, and removing
    // it would leave a hole the other push has already reported as archived.
    if (await this.holds(file, content)) return 'archived';
    // Whatever is there is not what we sent: remove it, so the retry PostgreSQL makes starts afresh
    // instead of comparing against a damaged copy.
    await this.storage.delete(key).catch(() => undefined);
    throw new IntegrityError('wal_unverified', `${file.name} was written but ${failure ? `could not be read back: ${(failure as Error).message}` : 'reads back different from what was written'}; not archived`, {
      ...(failure ? { cause: failure } : {}),
      details: { file: file.name },
    });
  }

  /** Whether the stored file opens and holds exactly `content`; any failure to read or open is a no. */
  private async holds(file: WalFileName, content: Buffer): Promise<boolean> {
    try {
      return (await this.fetch(file))?.equals(content) ?? false;
    } catch {
      return false;
    }
  }

  /** The archived file's content (authenticated and decompressed), or undefined when it is not archived. */
  async fetch(file: WalFileName): Promise<Buffer | undefined> {
    let sealed: Buffer;
    try {
      sealed = await this.storage.get(this.keyOf(file));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    const what = `archived WAL file ${file.name}`;
    return this.codec.decode(open(this.keys.lookup, sealed, this.aad(file), what), what);
  }

  /** Every archived file of this cluster (restore points excluded), in no particular order. */
  async list(): Promise<ArchivedWalFile[]> {
    const files: ArchivedWalFile[] = [];
    for await (const object of this.storage.list(`${WAL_PREFIX}${this.systemIdentifier}/`)) {
      const name = object.key.slice(object.key.lastIndexOf('/') + 1);
      const file = parseWalFileName(name);
      if (!file || object.key !== this.keyOf(file)) continue;
      files.push({ file, key: object.key, size: object.size, archivedAt: object.modified });
    }
    return files;
  }

  /** Removes an archived file (WAL retention); removing one that is already gone succeeds. */
  async remove(file: WalFileName): Promise<void> {
    await this.storage.delete(this.keyOf(file));
  }

  async saveRestorePoint(point: RestorePointRecord): Promise<void> {
    const key = this.restorePointKey(point.name);
    await this.storage.put(key, seal(this.keys.writeKey, Buffer.from(JSON.stringify(point)), Buffer.from(`restore-point:${this.systemIdentifier}/${point.name}`)));
  }

  async loadRestorePoint(name: string): Promise<RestorePointRecord | undefined> {
    let sealed: Buffer;
    try {
      sealed = await this.storage.get(this.restorePointKey(name));
    } catch (error) {
      if (error instanceof NotFoundError) return undefined;
      throw error;
    }
    return JSON.parse(open(this.keys.lookup, sealed, Buffer.from(`restore-point:${this.systemIdentifier}/${name}`), `restore point ${name}`).toString('utf8')) as RestorePointRecord;
  }

  async listRestorePoints(): Promise<RestorePointRecord[]> {
    const points: RestorePointRecord[] = [];
    for await (const object of this.storage.list(`${WAL_PREFIX}${this.systemIdentifier}/restore-points/`)) {
      const name = Buffer.from(object.key.slice(object.key.lastIndexOf('/') + 1), 'hex').toString('utf8');
      const point = await this.loadRestorePoint(name);
      if (point) points.push(point);
    }
    return points.sort((a, b) => a.time.localeCompare(b.time));
  }

  /** Names may hold any character; hex keeps the key inside the storage's alphabet. */
  private restorePointKey(name: string): string {
    return `${WAL_PREFIX}${this.systemIdentifier}/restore-points/${Buffer.from(name, 'utf8').toString('hex')}`;
  }

  private aad(file: WalFileName): Buffer {
    return Buffer.from(`wal:${this.systemIdentifier}/${file.name}`);
  }
}

/** The system identifiers of the clusters that have WAL in the repository. */
export async function listArchivedClusters(storage: ObjectStorage): Promise<string[]> {
  const clusters = new Set<string>();
  for await (const object of storage.list(WAL_PREFIX)) {
    const id = object.key.slice(WAL_PREFIX.length).split('/')[0];
    if (id && /^\d+$/.test(id)) clusters.add(id);
  }
  return [...clusters].sort();
}
