import { BackupError } from '../domain/errors.js';
import { LAYOUT, indexKey, packIdFromKey, packKey } from '../repository/layout.js';
import { writeIndexFile } from '../repository/master-index.js';
import { headerLocation, parsePackHeader, type PackEntry } from '../repository/pack.js';
import { mapLimit } from '../util/concurrency.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';

export interface RepairIndexResult {
  packsIndexed: number;
  blobsIndexed: number;
  /** Packs whose header could not be read: their blobs stay unreachable; `verify` names the snapshots. */
  damagedPacks: { pack: string; message: string }[];
  indexFilesReplaced: number;
}

/**
 * Rebuilds the index from the packs themselves (each pack's sealed header lists its blobs): the
 * remedy for damaged or lost index files. Reads only pack headers, writes one index that supersedes
 * every old one, then deletes the old ones.
 */
export async function repairIndex(deps: AppDeps): Promise<RepairIndexResult> {
  return withRepository(deps, { lock: 'exclusive', operation: 'repair' }, async (repository) => {
    const packs: { id: string; size: number }[] = [];
    for await (const object of deps.storage.list(LAYOUT.packs)) packs.push({ id: packIdFromKey(object.key), size: object.size });
    deps.progress.phase('read pack headers', { items: packs.length });
    const indexed: { id: string; entries: PackEntry[] }[] = [];
    const damagedPacks: RepairIndexResult['damagedPacks'] = [];
    await mapLimit(packs, 8, async ({ id, size }) => {
      try {
        const trailer = await deps.storage.get(packKey(id), { offset: size - 4, length: 4 });
        const where = headerLocation(id, size, trailer);
        const sealed = await deps.storage.get(packKey(id), where);
        indexed.push({ id, entries: parsePackHeader(repository.keyring.lookup, id, sealed, where.offset) });
      } catch (error) {
        if (!(error instanceof BackupError)) throw error;
        damagedPacks.push({ pack: id, message: error.message });
      }
      deps.progress.advance({ items: 1 });
    });
    const old: string[] = [];
    for await (const object of deps.storage.list(LAYOUT.indexes)) old.push(packIdFromKey(object.key));
    await writeIndexFile(deps.storage, repository.keyring.writeKey, indexed, old);
    await mapLimit(old, 8, (id) => deps.storage.delete(indexKey(id)));
    deps.progress.done();
    return {
      packsIndexed: indexed.length,
      blobsIndexed: indexed.reduce((sum, pack) => sum + pack.entries.length, 0),
      damagedPacks,
      indexFilesReplaced: old.length,
    };
  }, (result) => ({ summary: { ...result } }));
}
