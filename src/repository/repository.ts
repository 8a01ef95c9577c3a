import { ConflictError, IntegrityError, NotFoundError, ValidationError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { LegalHold } from '../domain/hold.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { BlobCodec } from './codec.js';
import { blobId, open, seal } from './crypto.js';
import { DEFAULT_CHUNKER_PARAMS, type ChunkerParams } from './chunker.js';
import { Keyring } from './keyring.js';
import { holdKey, LAYOUT, lastSegment, packKey, snapshotKey } from './layout.js';
import { MasterIndex, type BlobLocation } from './master-index.js';
import { DEFAULT_PACK_SIZE } from './pack.js';
import { decodeTree, type Tree } from './tree.js';
import { BlobWriter, type BlobWriterOptions } from './blob-writer.js';
import { mapLimit } from '../util/concurrency.js';
import { PackWindowReader } from './pack-window-reader.js';

/** The plaintext `config` object: what a reader needs before it has a key. Holds no secrets. */
export interface RepositoryConfig {
  format: 'chrono-backup';
  version: 1;
  id: string;
  created: string;
  chunker: ChunkerParams;
  packSize: number;
}

export interface InitOptions {
  now: Date;
  chunker?: ChunkerParams;
  packSize?: number;
}

/**
 * An opened backup repository: its config, its keys and its index over one ObjectStorage. Everything
 * needed to list, verify and restore lives in the storage itself (see docs/FORMAT.md).
 */
export class Repository {
  private readonly codec = new BlobCodec();
  private readonly windows: PackWindowReader;

  private constructor(
    readonly storage: ObjectStorage,
    readonly config: RepositoryConfig,
    readonly keyring: Keyring,
    public index: MasterIndex,
  ) {
    this.windows = new PackWindowReader(storage);
  }

  static async exists(storage: ObjectStorage): Promise<boolean> {
    return (await storage.head(LAYOUT.config)) !== undefined;
  }

  static async init(storage: ObjectStorage, provider: KeyProvider, options: InitOptions): Promise<Repository> {
    if (await Repository.exists(storage)) throw new ConflictError('repository_exists', `a repository already exists at ${storage.location}`);
    const config: RepositoryConfig = {
      format: 'chrono-backup',
      version: 1,
      id: randomId(16),
      created: options.now.toISOString(),
      chunker: options.chunker ?? DEFAULT_CHUNKER_PARAMS,
      packSize: options.packSize ?? DEFAULT_PACK_SIZE,
    };
    // Keys first, config last: a repository without a config is not a repository, so an interrupted
    // init leaves nothing that looks usable.
    const keyring = await Keyring.create(storage, provider, config.id, options.now);
    await storage.put(LAYOUT.config, Buffer.from(JSON.stringify(config, null, 2)));
    return new Repository(storage, config, keyring, new MasterIndex());
  }

  /**
   * Opens the repository and, unless `loadIndex` is false, its index (a caller that loads the index
   * later, under a lease, skips reading it twice).
   */
  static async open(storage: ObjectStorage, provider: KeyProvider, options: { loadIndex?: boolean } = {}): Promise<Repository> {
    const config = await readConfig(storage);
    const keyring = await Keyring.open(storage, provider, config.id);
    const index = options.loadIndex === false ? new MasterIndex() : await MasterIndex.load(storage, keyring.lookup);
    return new Repository(storage, config, keyring, index);
  }

  async reloadIndex(): Promise<void> {
    this.index = await MasterIndex.load(this.storage, this.keyring.lookup);
  }

  createWriter(options?: BlobWriterOptions): BlobWriter {
    return new BlobWriter(this, options);
  }

  locate(id: string): BlobLocation {
    const location = this.index.get(id);
    if (!location) throw new IntegrityError('blob_missing', `blob ${id.slice(0, 16)} is not in the index`, { details: { blob: id } });
    return location;
  }

  /**
   * The sealed bytes of a blob, in a buffer the caller owns: small blobs through shared windows of
   * their pack (neighbours are usually read together), others with a ranged request of their own.
   */
  async readSealed(id: string): Promise<Buffer> {
    const location = this.locate(id);
    if (this.windows.serves(location)) return this.windows.read(location, id);
    try {
      let sealed = await this.storage.get(packKey(location.pack), { offset: location.offset, length: location.length });
      // A short answer is a truncated pack or a transfer cut short: ask once more before calling it damage.
      if (sealed.length !== location.length) sealed = await this.storage.get(packKey(location.pack), { offset: location.offset, length: location.length });
      if (sealed.length !== location.length) throw new IntegrityError('pack_truncated', `pack ${location.pack} is truncated`);
      return sealed;
    } catch (error) {
      if (error instanceof NotFoundError) throw new IntegrityError('pack_missing', `pack ${location.pack} holding blob ${id.slice(0, 16)} is missing`, { cause: error, details: { pack: location.pack, blob: id } });
      throw error;
    }
  }

  /** Opens a sealed blob on this thread and checks it against its id. */
  openBlob(id: string, sealed: Buffer): Buffer {
    const idBytes = Buffer.from(id, 'hex');
    const what = `blob ${id.slice(0, 16)}`;
    const plain = this.codec.decode(open(this.keyring.lookup, sealed, idBytes, what), what);
    if (!blobId(this.keyring.idKey, plain).equals(idBytes)) throw new IntegrityError('blob_id_mismatch', `${what} content does not match its id`, { details: { blob: id } });
    return plain;
  }

  async loadBlob(id: string): Promise<Buffer> {
    return this.openBlob(id, await this.readSealed(id));
  }

  async loadTree(id: string): Promise<Tree> {
    return decodeTree(await this.loadBlob(id), id);
  }

  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    const sealed = seal(this.keyring.writeKey, Buffer.from(JSON.stringify(snapshot)), snapshotAad(snapshot.id));
    await this.storage.put(snapshotKey(snapshot.id), sealed);
  }

  async loadSnapshot(id: string): Promise<Snapshot> {
    if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new ValidationError(`invalid snapshot id "${id.slice(0, 80)}"`, 'snapshot');
    let sealed: Buffer;
    try {
      sealed = await this.storage.get(snapshotKey(id));
    } catch (error) {
      if (error instanceof NotFoundError) throw new NotFoundError('snapshot', id);
      throw error;
    }
    return JSON.parse(open(this.keyring.lookup, sealed, snapshotAad(id), `snapshot ${id}`).toString('utf8')) as Snapshot;
  }

  async listSnapshotIds(): Promise<string[]> {
    const ids: string[] = [];
    for await (const object of this.storage.list(LAYOUT.snapshots)) ids.push(lastSegment(object.key));
    return ids.sort();
  }

  /** All snapshots, oldest first. */
  async listSnapshots(): Promise<Snapshot[]> {
    const ids = await this.listSnapshotIds();
    const snapshots: Snapshot[] = new Array(ids.length);
    await mapLimit(ids, 8, async (id, i) => {
      snapshots[i] = await this.loadSnapshot(id);
    });
    return snapshots.sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
  }

  async deleteSnapshot(id: string): Promise<void> {
    await this.loadSnapshot(id); // NotFoundError for unknown ids, and proves we hold the key
    await this.storage.delete(snapshotKey(id));
  }

  /** Records a legal hold, sealed like a snapshot (its reason may be confidential). */
  async saveHold(hold: LegalHold): Promise<void> {
    await this.storage.put(holdKey(hold.id), seal(this.keyring.writeKey, Buffer.from(JSON.stringify(hold)), holdAad(hold.id)));
  }

  async listHolds(): Promise<LegalHold[]> {
    const holds: LegalHold[] = [];
    for await (const object of this.storage.list(LAYOUT.holds)) {
      const id = lastSegment(object.key);
      holds.push(JSON.parse(open(this.keyring.lookup, await this.storage.get(object.key), holdAad(id), `hold ${id}`).toString('utf8')) as LegalHold);
    }
    return holds.sort((a, b) => a.id.localeCompare(b.id));
  }

  async deleteHold(id: string): Promise<void> {
    await this.storage.delete(holdKey(id));
  }
}

export async function readConfig(storage: ObjectStorage): Promise<RepositoryConfig> {
  let bytes: Buffer;
  try {
    bytes = await storage.get(LAYOUT.config);
  } catch (error) {
    if (error instanceof NotFoundError) throw new NotFoundError('repository', storage.location);
    throw error;
  }
  const config = JSON.parse(bytes.toString('utf8')) as RepositoryConfig;
  if (config.format !== 'chrono-backup' || config.version !== 1) {
    throw new IntegrityError('unsupported_format', `${storage.location} is not a Chrono Backup repository of a supported version`);
  }
  return config;
}

function holdAad(id: string): Buffer {
  return Buffer.from(`hold:${id}`);
}

function snapshotAad(id: string): Buffer {
  return Buffer.from(`snapshot:${id}`);
}
