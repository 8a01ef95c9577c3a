import type { KeyProvider } from '../ports/key-provider.js';
import { listSlots, type DataKeyInfo } from '../repository/keyring.js';
import type { AppDeps } from './deps.js';
import { openOrCreate, withRepository } from './repository-session.js';

export interface KeyListing {
  slots: { id: string; kind: string; description: string; created: string }[];
  dataKeys: DataKeyInfo[];
}

/** Key slots (credentials that open the repository) and data keys (which seal data). */
export async function listKeys(deps: AppDeps): Promise<KeyListing> {
  const repository = await openOrCreate(deps, false);
  const slots = (await listSlots(deps.storage)).map(({ id, kind, description, created }) => ({ id, kind, description, created }));
  return { slots, dataKeys: repository.keyring.listDataKeys() };
}

/** Lets another credential open the repository. The current one must open it first. */
export async function addKeySlot(deps: AppDeps, provider: KeyProvider): Promise<{ id: string; kind: string }> {
  return withRepository(deps, { lock: 'shared', operation: 'keys' }, async (repository) => {
    const slot = await repository.keyring.addSlot(deps.storage, provider, deps.clock.now());
    return { id: slot.id, kind: slot.kind };
  });
}

/** Adds a data key that seals everything from now on; older data stays readable with older keys. */
export async function rotateDataKey(deps: AppDeps): Promise<DataKeyInfo> {
  return withRepository(deps, { lock: 'shared', operation: 'keys' }, (repository) => repository.keyring.rotate(deps.storage, deps.clock.now()));
}
