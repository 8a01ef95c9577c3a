import type { AppDeps } from './deps.js';
import { openOrCreate } from './repository-session.js';

/** Recreates the catalog's snapshot records from the repository alone (the repository is the truth). */
export async function rebuildCatalog(deps: AppDeps): Promise<{ repository: string; snapshots: number }> {
  const repository = await openOrCreate(deps, false);
  const snapshots = await repository.listSnapshots();
  await deps.catalog.replaceSnapshots(repository.config.id, snapshots);
  return { repository: repository.config.id, snapshots: snapshots.length };
}
