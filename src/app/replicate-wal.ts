import { ConflictError, IntegrityError, type BackupError } from '../domain/errors.js';
import type { Progress } from '../ports/progress.js';
import { listArchivedClusters, WalArchive, type ArchivedWalFile, type RestorePointRecord } from '../pitr/wal-archive.js';
import { isWalNeeded, walNeededFrom } from '../pitr/wal-retention.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/concurrency.js';
import { listBaseBackups } from './pitr.js';

/** What a replication run did with the WAL archive (`wal/`). */
export interface WalCopyReport {
  /** WAL files (segments, .partial, .history, .backup) the replica lacked and received. */
  walFilesCopied: number;
  /** Stored (sealed, compressed) bytes of those files. */
  walBytesCopied: number;
  /** WAL files the replica already held (nothing transferred). */
  walFilesPresent: number;
  /** Segments older than every base backup of their cluster in the replica: of no use to its restores, not copied. */
  walFilesNotNeeded: number;
  /** Restore point records the replica lacked, or held with other content. */
  restorePointsCopied: number;
}

/**
 * Copies the WAL archive to a replica that already holds the snapshots of this run: every WAL file and
 * restore point record the replica lacks, so a point-in-time recovery can run from the replica alone.
 *
 * WAL objects travel as stored (sealed and compressed): the replica has the same data keys, and their
 * associated data names the cluster and file, not a location. Each copy is verified before it counts:
 * the object is read back from the replica and opened with the replica's keys through `WalArchive.fetch`,
 * the path `wal-fetch` takes during a restore. One that does not open is removed again and reported.
 *
 * Only WAL a restore from the replica can use is copied: the rule of WAL retention (src/pitr/wal-retention.ts, as `pruneWal` applies it), applied
 * to the replica's own base backups — segments from the start of its oldest base backup of the cluster
 * on, timeline history files always, everything when it holds no base backup of the cluster. So a
 * `cleanup` on the replica and the next replication agree, instead of the one deleting what the other
 * copies back. WAL is never deleted from a replica here; its retention is the replica's own `cleanup`.
 *
 * Restore point records are small and may be overwritten on the source (a name used again), so they are
 * compared by content and written through `WalArchive.saveRestorePoint` with the shared keys.
 *
 * Files are copied `concurrency` at a time. Every file that can be copied is copied before a problem is
 * reported.
 * @throws IntegrityError `wal_unverified` when copied files do not open from the replica (damaged in the source, or in transit).
 * @throws ConflictError `wal_differs` when the replica holds a file of the same name with another size (written by something other than replication).
 */
export async function copyWalArchive(primary: Repository, replica: Repository, options: { concurrency: number; progress: Progress }): Promise<WalCopyReport> {
  const report: WalCopyReport = { walFilesCopied: 0, walBytesCopied: 0, walFilesPresent: 0, walFilesNotNeeded: 0, restorePointsCopied: 0 };
  const clusters = await listArchivedClusters(primary.storage);
  if (clusters.length === 0) return report;
  const baseBackups = await listBaseBackups(replica);
  const differing: string[] = [];
  const unverified: { key: string; error: BackupError }[] = [];

  for (const cluster of clusters) {
    const source = new WalArchive(primary.storage, primary.keyring, cluster);
    const destination = new WalArchive(replica.storage, replica.keyring, cluster);
    const present = new Map((await destination.list()).map((file) => [file.key, file.size]));
    const from = walNeededFrom(baseBackups.filter((backup) => backup.details.physical.systemIdentifier === cluster).map((backup) => backup.details.physical));
    const missing: ArchivedWalFile[] = [];
    for (const file of await source.list()) {
      const size = present.get(file.key);
      if (size === file.size) report.walFilesPresent++;
      else if (size !== undefined) differing.push(file.key);
      else if (!isWalNeeded(file.file, from)) report.walFilesNotNeeded++;
      else missing.push(file);
    }

    options.progress.phase(`replicate WAL of cluster ${cluster}`, { items: missing.length, bytes: missing.reduce((sum, file) => sum + file.size, 0) });
    await mapLimit(missing, options.concurrency, async (file) => {
      const sealed = await primary.storage.get(file.key);
      await replica.storage.put(file.key, sealed);
      options.progress.advance({ items: 1, bytes: sealed.length });
      try {
        if ((await destination.fetch(file.file)) === undefined) throw new IntegrityError('wal_unverified', `${file.key} is missing from the replica right after it was written`);
      } catch (error) {
        if (!(error instanceof IntegrityError)) throw error;
        // Leave nothing that looks archived but does not restore; the next run tries again.
        await replica.storage.delete(file.key).catch(() => undefined);
        unverified.push({ key: file.key, error });
        return;
      }
      report.walFilesCopied++;
      report.walBytesCopied += sealed.length;
    });

    report.restorePointsCopied += await copyRestorePoints(source, destination);
  }

  if (unverified.length > 0) {
    throw new IntegrityError('wal_unverified', `${unverified.length} WAL file(s) did not open from the replica after copying and were not kept there (first: ${unverified[0]!.key}: ${unverified[0]!.error.message}); check the source with \`wal-fetch\` and run replicate again`, {
      cause: unverified[0]!.error,
      details: { files: unverified.map((u) => u.key) },
    });
  }
  if (differing.length > 0) {
    throw new ConflictError('wal_differs', `${differing.length} WAL file(s) exist in the replica with other content (first: ${differing[0]}): a replica's WAL must only be written by replication, never archived into directly`, {
      details: { files: differing },
    });
  }
  return report;
}

/** Restore points of one cluster the replica lacks or holds with other content; returns how many were written. */
async function copyRestorePoints(source: WalArchive, destination: WalArchive): Promise<number> {
  const held = new Map((await destination.listRestorePoints()).map((point) => [point.name, point]));
  let copied = 0;
  for (const point of await source.listRestorePoints()) {
    const existing = held.get(point.name);
    if (existing && sameRestorePoint(existing, point)) continue;
    await destination.saveRestorePoint(point);
    copied++;
  }
  return copied;
}

function sameRestorePoint(a: RestorePointRecord, b: RestorePointRecord): boolean {
  return a.lsn === b.lsn && a.timeline === b.timeline && a.time === b.time;
}
