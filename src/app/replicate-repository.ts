import { timingSafeEqual } from 'node:crypto';
import { ConflictError, IntegrityError, KeyAccessError, type BackupError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { Snapshot } from '../domain/snapshot.js';
import type { ReplicaEndpoint } from '../ports/catalog.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import { LAYOUT } from '../repository/layout.js';
import { RepositoryLock } from '../repository/locks.js';
import { readConfig, Repository } from '../repository/repository.js';
import { providerOf } from '../storage/open-storage.js';
import { mapLimit } from '../util/concurrency.js';
import type { AppDeps } from './deps.js';
import { copyWalArchive, type WalCopyReport } from './replicate-wal.js';
import { withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';
import { walkSnapshotBlobs, type BlobReference } from './snapshot-walk.js';

export interface ReplicateOptions {
  /** Snapshot ids, backup ids or `latest`; every snapshot of the source when absent or empty. */
  snapshots?: string[];
  /** How long to wait for a conflicting lock on the destination (default 0: fail at once). */
  lockWaitMs?: number;
  /** Blobs (and WAL files) in flight at once (read, verified, queued for packing). Default 8. */
  concurrency?: number;
}

export interface SnapshotCopyReport {
  snapshotId: string;
  /** `copied` now, or already `present` in the destination (nothing transferred). */
  status: 'copied' | 'present';
  blobsCopied: number;
  bytesCopied: number;
  blobsSkipped: number;
  bytesSkipped: number;
  durationMs: number;
  receiptId?: string;
}

/** Counts of one run; the WAL counts are those of {@link copyWalArchive}. */
export interface ReplicationResult extends WalCopyReport {
  source: ReplicaEndpoint;
  destination: ReplicaEndpoint;
  /** True when this run created the destination repository. */
  created: boolean;
  /** Key slots and sealed data keys the destination lacked and received (never in plain text). */
  keyObjectsCopied: number;
  snapshots: SnapshotCopyReport[];
  blobsCopied: number;
  bytesCopied: number;
  durationMs: number;
}

/**
 * Copies snapshots and the WAL archive from the source repository (`source.storage`) to a replica at
 * `destination`, transferring only the blobs, WAL files and restore points the replica lacks.
 *
 * A replica is the same repository in another place: the same `config` (id, chunker, pack size), the
 * same key slots and the same sealed data keys, copied as stored — wrapped or sealed, never in plain
 * text — so every credential that opens the source opens the replica, blob ids agree, and sealed blobs
 * copy as they are. Each blob is authenticated and checked against its id (its keyed content hash)
 * before it is written; storage checksums and ETags are not trusted for that.
 *
 * After the snapshots, the WAL archive and restore points follow (see {@link copyWalArchive}), on every
 * run and whichever snapshots were asked for: WAL is what makes the base backups on the replica
 * restorable to a point in time, and which WAL the replica needs follows from the base backups it holds.
 *
 * Writes follow the format's order through the replica's own BlobWriter: packs, then the index, then the
 * snapshot object last. A run that dies leaves the replica consistent; the next run skips what was
 * indexed and copies the rest. Snapshots already present are skipped without reading them, so a second
 * run transfers nothing. Leases: shared on the source and shared on the destination, as a backup takes.
 *
 * @throws ConflictError `conflict.not_a_replica` when the destination holds another repository.
 * @throws KeyAccessError when the destination exists but the source's credentials do not open it.
 * @throws IntegrityError when a source snapshot is damaged (nothing of it is written as a snapshot).
 * @throws IntegrityError `wal_unverified`, ConflictError `wal_differs`: see {@link copyWalArchive} (thrown after everything else was copied).
 */
export async function replicateRepository(source: AppDeps, destination: ObjectStorage, options: ReplicateOptions = {}): Promise<ReplicationResult> {
  const started = source.clock.now().getTime();
  return withRepository(
    source,
    { lock: 'shared', operation: 'replicate' },
    async (primary) => {
      const snapshots = await selectSnapshots(primary, options.snapshots);
      // Checks that write nothing come first: a wrong destination or credential leaves it untouched.
      const existed = await checkDestination(primary, destination, source.keys);
      const lock = await RepositoryLock.acquire(destination, 'shared', { operation: 'replicate', clock: source.clock, waitMs: options.lockWaitMs ?? 0 });
      try {
        const keyObjectsCopied = await copyKeyObjects(primary.storage, destination);
        // The config last: until it exists, an interrupted first run leaves nothing that looks like a repository.
        if (!existed) await destination.put(LAYOUT.config, await primary.storage.get(LAYOUT.config));
        const replica = await Repository.open(destination, source.keys, { loadIndex: false });
        if (!timingSafeEqual(replica.keyring.idKey, primary.keyring.idKey)) {
          throw new IntegrityError('replica_key_mismatch', `${destination.location} claims repository id ${primary.config.id} but its keys differ from the source's: it is not a replica`);
        }
        await replica.reloadIndex();
        const endpoints = { source: endpoint(primary), destination: endpoint(replica) };
        const concurrency = options.concurrency ?? 8;
        const copier = new SnapshotCopier(source, primary, replica, endpoints, concurrency);
        const reports: SnapshotCopyReport[] = [];
        try {
          for (const snapshot of snapshots) reports.push(await copier.copy(snapshot));
        } finally {
          await copier.close();
        }
        // After the snapshots: a damaged WAL file must not hold back the copy of every snapshot, and the
        // base backups now in the replica decide which WAL it needs. A base backup restores without
        // the archive (its tar holds the WAL it needs to be consistent), so this order risks nothing.
        const wal = await copyWalArchive(primary, replica, { concurrency, progress: source.progress });
        source.progress.done();
        return {
          ...endpoints,
          created: !existed,
          keyObjectsCopied,
          snapshots: reports,
          ...wal,
          blobsCopied: reports.reduce((sum, r) => sum + r.blobsCopied, 0),
          bytesCopied: reports.reduce((sum, r) => sum + r.bytesCopied, 0),
          durationMs: source.clock.now().getTime() - started,
        };
      } finally {
        await lock.release().catch(() => undefined);
      }
    },
    (result) => ({
      summary: {
        destination: result.destination.location,
        created: result.created,
        snapshotsCopied: result.snapshots.filter((s) => s.status === 'copied').map((s) => s.snapshotId),
        blobsCopied: result.blobsCopied,
        bytesCopied: result.bytesCopied,
        walFilesCopied: result.walFilesCopied,
        walBytesCopied: result.walBytesCopied,
        restorePointsCopied: result.restorePointsCopied,
      },
    }),
  );
}

async function selectSnapshots(primary: Repository, wanted: string[] | undefined): Promise<Snapshot[]> {
  if (!wanted || wanted.length === 0) return primary.listSnapshots();
  const byId = new Map<string, Snapshot>();
  for (const id of wanted) for (const snapshot of await resolveSnapshots(primary, id)) byId.set(snapshot.id, snapshot);
  // Oldest first, like a listing: an incremental's parent is copied before it.
  return [...byId.values()].sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/** True when the destination already holds a repository, which must then be a replica the credentials open. */
async function checkDestination(primary: Repository, destination: ObjectStorage, keys: KeyProvider): Promise<boolean> {
  if (!(await Repository.exists(destination))) return false;
  const config = await readConfig(destination);
  if (config.id !== primary.config.id) {
    throw new ConflictError('not_a_replica', `${destination.location} holds another repository (${config.id}), not a replica of ${primary.config.id}: replicate into an empty location or an existing replica`, {
      details: { destination: destination.location, repository: config.id },
    });
  }
  try {
    await Repository.open(destination, keys, { loadIndex: false });
  } catch (error) {
    if (!(error instanceof KeyAccessError)) throw error;
    throw new KeyAccessError('replica_mismatch', `the credentials that open the source do not open the replica at ${destination.location} (${error.message})`, { cause: error });
  }
  return true;
}

/**
 * Copies the key slots and sealed data keys the destination lacks, byte for byte: slots hold the master
 * key wrapped by a credential, data keys are sealed under a key derived from it. A `keys add` or
 * `keys rotate` on the source thus reaches the replica at the next run, before any blob sealed with a
 * new data key. (A slot removed from the source stays on replicas.)
 */
async function copyKeyObjects(from: ObjectStorage, to: ObjectStorage): Promise<number> {
  let copied = 0;
  for (const prefix of [LAYOUT.keySlots, LAYOUT.dataKeys]) {
    const present = new Set<string>();
    for await (const object of to.list(prefix)) present.add(object.key);
    for await (const object of from.list(prefix)) {
      if (present.has(object.key)) continue;
      await to.put(object.key, await from.get(object.key));
      copied++;
    }
  }
  return copied;
}

function endpoint(repository: Repository): ReplicaEndpoint {
  return { repository: repository.config.id, location: repository.storage.location, provider: providerOf(repository.storage.location) };
}

/** Copies snapshots one at a time through one writer, so blobs shared between them travel once. */
class SnapshotCopier {
  private readonly writer: BlobWriter;
  private readonly pool: BlobPool;

  constructor(
    private readonly deps: AppDeps,
    private readonly primary: Repository,
    private readonly replica: Repository,
    private readonly endpoints: { source: ReplicaEndpoint; destination: ReplicaEndpoint },
    private readonly concurrency: number,
  ) {
    // An index file after every pack: a copy is often long and remote, and only indexed packs are
    // reused by the run that resumes an interrupted one.
    this.writer = replica.createWriter({ indexEvery: 1 });
    // The replica's keys check the blobs: what opens with them is what the replica can restore.
    this.pool = new BlobPool(replica.keyring, { compression: 'none', chunker: replica.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
  }

  async copy(snapshot: Snapshot): Promise<SnapshotCopyReport> {
    const started = this.deps.clock.now().getTime();
    const report: SnapshotCopyReport = { snapshotId: snapshot.id, status: 'copied', blobsCopied: 0, bytesCopied: 0, blobsSkipped: 0, bytesSkipped: 0, durationMs: 0 };
    if ((await this.replica.storage.head(`${LAYOUT.snapshots}${snapshot.id}`)) !== undefined) {
      const existing = await this.replica.loadSnapshot(snapshot.id);
      if (existing.tree !== snapshot.tree) {
        throw new ConflictError('snapshot_differs', `snapshot ${snapshot.id} exists in ${this.replica.storage.location} with other content: a replica must only be written by replication`);
      }
      return { ...report, status: 'present', durationMs: this.deps.clock.now().getTime() - started };
    }

    const blobs = await this.collectBlobs(snapshot);
    this.deps.progress.phase(`replicate ${snapshot.id}`, { items: blobs.length });
    try {
      await mapLimit(blobs, this.concurrency, async (blob) => {
        const location = this.primary.locate(blob.id);
        if (await this.copyBlob(blob)) {
          report.blobsCopied++;
          report.bytesCopied += location.length;
        } else {
          report.blobsSkipped++;
          report.bytesSkipped += location.length;
        }
        this.deps.progress.advance({ items: 1 });
      });
      // Every blob durable and indexed before the snapshot that names them.
      await this.writer.flush();
    } catch (error) {
      await this.writer.abort();
      throw error;
    }
    await this.replica.saveSnapshot(snapshot);
    report.durationMs = this.deps.clock.now().getTime() - started;
    report.receiptId = `receipt-${randomId(8)}`;
    await this.deps.catalog.recordReplication({
      id: report.receiptId,
      snapshotId: snapshot.id,
      ...this.endpoints,
      blobsCopied: report.blobsCopied,
      bytesCopied: report.bytesCopied,
      blobsSkipped: report.blobsSkipped,
      bytesSkipped: report.bytesSkipped,
      verified: true,
      time: this.deps.clock.now().toISOString(),
      durationMs: report.durationMs,
    });
    return report;
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  /** Every blob the snapshot references, once each; a damaged source tree stops the copy of this snapshot. */
  private async collectBlobs(snapshot: Snapshot): Promise<BlobReference[]> {
    const blobs = new Map<string, BlobReference>();
    const damaged: { treeId: string; error: BackupError }[] = [];
    await walkSnapshotBlobs(
      this.primary,
      snapshot,
      (blob) => {
        if (!blobs.has(blob.id)) blobs.set(blob.id, blob);
      },
      (treeId, error) => damaged.push({ treeId, error }),
    );
    if (damaged.length > 0) {
      const first = damaged[0]!;
      throw new IntegrityError('source_damaged', `snapshot ${snapshot.id} cannot be replicated: tree ${first.treeId.slice(0, 16)} of the source is unreadable (${first.error.message}); run \`chrono-backup verify\` on the source`, {
        cause: first.error,
        details: { snapshot: snapshot.id, trees: damaged.map((d) => d.treeId) },
      });
    }
    return [...blobs.values()];
  }

  /** Copies one blob unless the replica has it (or this run already took it); true when copied. */
  private async copyBlob(blob: BlobReference): Promise<boolean> {
    if (this.replica.index.has(blob.id)) return false;
    const id = Buffer.from(blob.id, 'hex');
    if (blob.type === 'tree') {
      // Trees are small: opened and checked here (loadBlob authenticates and checks the id), then
      // sealed again by the writer, which puts them in tree packs. The same keys give the same id. A tree
      // taken by an earlier snapshot of this run is in the index by now (each snapshot ends with a flush).
      const plain = await this.primary.loadBlob(blob.id);
      await this.writer.room();
      const written = this.writer.addInline('tree', plain);
      if (written !== blob.id) throw new IntegrityError('blob_id_mismatch', `tree ${blob.id.slice(0, 16)} gets another id in the replica: the keys differ`);
      return true;
    }
    if (!(await this.writer.reserve(blob.id))) return false;
    const location = this.primary.locate(blob.id);
    const sealed = await this.primary.readSealed(blob.id);
    // The pool takes its buffer over; the copy is what goes into the pack, exactly as read.
    const copy = Buffer.from(sealed);
    await this.pool.openBlob(id, sealed);
    this.writer.store(id, [copy], location.rawLength);
    return true;
  }
}
