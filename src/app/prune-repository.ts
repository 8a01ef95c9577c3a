import { IntegrityError, ValidationError } from '../domain/errors.js';
import { LAYOUT, packIdFromKey, packKey, indexKey } from '../repository/layout.js';
import type { BlobLocation } from '../repository/master-index.js';
import { writeIndexFile } from '../repository/master-index.js';
import { PackFileWriter, type PackEntry } from '../repository/pack.js';
import { putFromFile, STAGING_PREFIX } from '../ports/object-storage.js';
import { readdir, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/concurrency.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { walkSnapshotBlobs } from './snapshot-walk.js';

export interface PruneInput {
  /** Packs younger than this are never deleted or repacked: a backup may still be about to use them. */
  graceMs: number;
  /** Repack a pack when more than this share of its bytes is unused (default 0.2). */
  repackThreshold?: number;
  dryRun?: boolean;
  lockWaitMs?: number;
}

export interface PruneResult {
  dryRun: boolean;
  packsDeleted: number;
  packsRepacked: number;
  packsWritten: number;
  orphanPacksDeleted: number;
  blobsRemoved: number;
  bytesFreed: number;
  /** Unreferenced packs kept because they are younger than the grace period. */
  packsKeptForGrace: number;
  /** Staging files left by runs that died before uploading them. */
  stagingFilesRemoved: number;
}

interface PackUse {
  id: string;
  size: number;
  modified: Date;
  /** The blobs the index locates in this pack. */
  entries: PackEntry[];
  used: { id: string; location: BlobLocation }[];
  usedBytes: number;
  unusedBlobs: number;
}

/**
 * Removes data no snapshot references. Holds an exclusive lease (so no backup runs meanwhile) and
 * writes in a crash-safe order: new packs → new index (superseding the old ones) → delete old index
 * files → delete packs. Refuses to run when any snapshot's trees cannot be read, since it could then
 * not know what is still in use.
 */
export async function pruneRepository(deps: AppDeps, input: PruneInput): Promise<PruneResult> {
  const threshold = input.repackThreshold ?? 0.2;
  if (!(threshold >= 0 && threshold <= 1)) throw new ValidationError('repack threshold must be between 0 and 1', 'repack_threshold');
  return withRepository(deps, { lock: 'exclusive', operation: 'prune', lockWaitMs: input.lockWaitMs ?? 0 }, async (repository) => {
    const used = await usedBlobs(repository);
    const cutoff = deps.clock.now().getTime() - input.graceMs;
    const result: PruneResult = { dryRun: input.dryRun ?? false, packsDeleted: 0, packsRepacked: 0, packsWritten: 0, orphanPacksDeleted: 0, blobsRemoved: 0, bytesFreed: 0, packsKeptForGrace: 0, stagingFilesRemoved: 0 };

    const stored = new Map<string, { size: number; modified: Date }>();
    for await (const object of repository.storage.list(LAYOUT.packs)) stored.set(packIdFromKey(object.key), { size: object.size, modified: object.modified });
    const packs = new Map<string, PackUse>();
    for (const id of repository.index.packIds()) {
      const info = stored.get(id);
      if (info) packs.set(id, { id, ...info, entries: [], used: [], usedBytes: 0, unusedBlobs: 0 });
    }
    for (const [id, location] of repository.index.entries()) {
      const pack = packs.get(location.pack);
      if (!pack) continue;
      pack.entries.push({ type: location.type, id: Buffer.from(id, 'hex'), offset: location.offset, length: location.length, rawLength: location.rawLength });
      if (used.has(id)) {
        pack.used.push({ id, location });
        pack.usedBytes += location.length;
      } else pack.unusedBlobs++;
    }

    const toDelete: string[] = [];
    const toRepack: PackUse[] = [];
    const kept: PackUse[] = [];
    for (const [id, info] of stored) {
      if (packs.has(id)) continue;
      if (info.modified.getTime() < cutoff) {
        toDelete.push(id);
        result.orphanPacksDeleted++;
        result.bytesFreed += info.size;
      } else result.packsKeptForGrace++;
    }
    for (const pack of packs.values()) {
      const old = pack.modified.getTime() < cutoff;
      const unusedShare = 1 - pack.usedBytes / Math.max(1, pack.size);
      if (pack.used.length === 0 && old) {
        toDelete.push(pack.id);
        result.packsDeleted++;
        result.blobsRemoved += pack.unusedBlobs;
        result.bytesFreed += pack.size;
      } else if (pack.used.length > 0 && old && pack.unusedBlobs > 0 && unusedShare > threshold) {
        toRepack.push(pack);
        result.packsRepacked++;
        result.blobsRemoved += pack.unusedBlobs;
        result.bytesFreed += pack.size - pack.usedBytes;
      } else {
        if (pack.used.length === 0 || pack.unusedBlobs > 0) result.packsKeptForGrace += old ? 0 : 1;
        kept.push(pack);
      }
    }
    if (!result.dryRun) result.stagingFilesRemoved = await removeStaleStaging(repository.storage.scratchDirectory, cutoff);
    if (result.dryRun || (toDelete.length === 0 && toRepack.length === 0)) return result;

    deps.progress.phase('prune', { items: toRepack.length + toDelete.length });
    const newIndex: { id: string; entries: PackEntry[] }[] = kept.map((pack) => ({ id: pack.id, entries: pack.entries }));
    newIndex.push(...(await repack(repository, toRepack, () => deps.progress.advance({ items: 1 }))));
    result.packsWritten = newIndex.length - kept.length;

    const oldIndexes = [...repository.index.files];
    await writeIndexFile(repository.storage, repository.keyring.writeKey, newIndex, oldIndexes);
    await mapLimit(oldIndexes, 8, (id) => repository.storage.delete(indexKey(id)));
    await mapLimit([...toDelete, ...toRepack.map((pack) => pack.id)], 8, async (id) => {
      await repository.storage.delete(packKey(id));
      deps.progress.advance({ items: 1 });
    });
    deps.progress.done();
    return result;
  }, (result) => ({ summary: { ...result } }));
}

async function usedBlobs(repository: Repository): Promise<Set<string>> {
  const used = new Set<string>();
  const seenTrees = new Set<string>();
  for (const snapshot of await repository.listSnapshots()) {
    await walkSnapshotBlobs(
      repository,
      snapshot,
      ({ id }) => used.add(id),
      (treeId, error) => {
        throw new IntegrityError('prune_unsafe', `snapshot ${snapshot.id} has an unreadable tree ${treeId.slice(0, 16)} (${error.code}); run verify and forget damaged snapshots before pruning`);
      },
      seenTrees,
    );
  }
  return used;
}

/** Copies the used blobs of partly used packs into new packs. Sealed bytes move as they are. */
async function repack(repository: Repository, packs: PackUse[], advance: () => void): Promise<{ id: string; entries: PackEntry[] }[]> {
  const written: { id: string; entries: PackEntry[] }[] = [];
  let builder = new PackFileWriter(repository.storage.scratchDirectory);
  const upload = async () => {
    if (builder.count === 0) return;
    const pack = await builder.finish(repository.keyring.writeKey);
    builder = new PackFileWriter(repository.storage.scratchDirectory);
    await putFromFile(repository.storage, packKey(pack.id), pack.path);
    written.push({ id: pack.id, entries: pack.entries });
  };
  for (const pack of packs) {
    const bytes = await repository.storage.get(packKey(pack.id));
    for (const { id, location } of pack.used) {
      const sealed = Buffer.from(bytes.subarray(location.offset, location.offset + location.length));
      // Authenticate before copying: prune must never carry damaged data into a fresh pack.
      repository.openBlob(id, sealed);
      builder.add(location.type, Buffer.from(id, 'hex'), sealed, location.rawLength);
      if (builder.byteLength >= repository.config.packSize) await upload();
    }
    advance();
  }
  await upload();
  return written;
}

/**
 * Deletes staging files (`.~tmp-…`: packs, and objects whose writer died mid-put) older than the grace
 * period from the storage's scratch directory and below it.
 */
async function removeStaleStaging(directory: string | undefined, cutoff: number): Promise<number> {
  if (!directory) return 0;
  let removed = 0;
  const entries = await readdir(directory, { recursive: true, withFileTypes: true }).catch(() => []);
  for (const entry of entries) {
    if (!entry.isFile() || !entry.name.startsWith(STAGING_PREFIX)) continue;
    const path = join(entry.parentPath, entry.name);
    const info = await stat(path).catch(() => undefined);
    if (info && info.mtimeMs < cutoff && (await unlink(path).then(() => true, () => false))) removed++;
  }
  return removed;
}
