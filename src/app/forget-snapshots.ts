import { ConflictError } from '../domain/errors.js';
import { isHeld } from '../domain/hold.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';

/**
 * Removes snapshots (by snapshot id or backup id) from the repository and the catalog. Their data stays
 * until `prune` finds it unreferenced. A snapshot under legal hold is refused, and then nothing is
 * removed: every id is checked before the first deletion.
 */
export async function forgetSnapshots(deps: AppDeps, ids: readonly string[]): Promise<string[]> {
  return withRepository(deps, { lock: 'shared', operation: 'forget' }, async (repository) => {
    const holds = await repository.listHolds();
    const doomed = [];
    for (const id of ids) doomed.push(...(await resolveSnapshots(repository, id)));
    const held = doomed.filter((snapshot) => isHeld(snapshot, holds));
    if (held.length > 0) {
      throw new ConflictError('snapshot_held', `${held.map((snapshot) => snapshot.id).join(', ')} ${held.length === 1 ? 'is' : 'are'} under legal hold; nothing was forgotten (release with \`chrono-backup hold remove ID\`)`, {
        details: { held: held.map((snapshot) => snapshot.id) },
      });
    }
    const forgotten: string[] = [];
    for (const snapshot of doomed) {
      await repository.deleteSnapshot(snapshot.id);
      await deps.catalog.deleteSnapshot(repository.config.id, snapshot.id);
      forgotten.push(snapshot.id);
    }
    return forgotten;
  }, (forgotten) => ({ summary: { forgotten } }));
}
