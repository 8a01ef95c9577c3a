import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';

/**
 * Removes snapshots (by snapshot id or backup id) from the repository and the catalog. Their data stays
 * until `prune` finds it unreferenced.
 */
export async function forgetSnapshots(deps: AppDeps, ids: readonly string[]): Promise<string[]> {
  return withRepository(deps, { lock: 'shared', operation: 'forget' }, async (repository) => {
    const forgotten: string[] = [];
    for (const id of ids) {
      for (const snapshot of await resolveSnapshots(repository, id)) {
        await repository.deleteSnapshot(snapshot.id);
        await deps.catalog.deleteSnapshot(repository.config.id, snapshot.id);
        forgotten.push(snapshot.id);
      }
    }
    return forgotten;
  }, (forgotten) => ({ summary: { forgotten } }));
}
