import { LAYOUT } from '../repository/layout.js';
import type { AppDeps } from './deps.js';
import { openOrCreate } from './repository-session.js';

export interface RepositoryStats {
  repository: string;
  location: string;
  snapshots: number;
  blobs: number;
  packs: number;
  /** Bytes of source data described by all snapshots together. */
  logicalBytes: number;
  /** Unique plaintext bytes after deduplication. */
  uniqueBytes: number;
  /** Bytes the repository occupies in storage. */
  storedBytes: number;
  /** logical ÷ unique: how many times deduplication shrinks the data. */
  dedupRatio: number;
  /** unique ÷ stored pack bytes. */
  compressionRatio: number;
}

/** Sizes and ratios of the repository, read from the repository itself (no lock needed). */
export async function repositoryStats(deps: AppDeps): Promise<RepositoryStats> {
  const repository = await openOrCreate(deps, false);
  const snapshots = await repository.listSnapshots();
  let uniqueBytes = 0;
  for (const [, location] of repository.index.entries()) if (location.type === 'data') uniqueBytes += location.rawLength;
  let storedBytes = 0;
  let packBytes = 0;
  for await (const object of deps.storage.list('')) {
    storedBytes += object.size;
    if (object.key.startsWith(LAYOUT.packs)) packBytes += object.size;
  }
  const logicalBytes = snapshots.reduce((sum, snapshot) => sum + snapshot.stats.totalBytes, 0);
  return {
    repository: repository.config.id,
    location: deps.storage.location,
    snapshots: snapshots.length,
    blobs: repository.index.blobCount,
    packs: repository.index.packIds().length,
    logicalBytes,
    uniqueBytes,
    storedBytes,
    dedupRatio: uniqueBytes > 0 ? logicalBytes / uniqueBytes : 1,
    compressionRatio: packBytes > 0 ? uniqueBytes / packBytes : 1,
  };
}
