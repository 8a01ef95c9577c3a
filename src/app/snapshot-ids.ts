import { compactUtcStamp } from '../domain/ids.js';
import { randomBytes } from 'node:crypto';
import type { Clock } from '../ports/clock.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { listLiveLocks, type RepositoryLock } from '../repository/locks.js';
import { snapshotKey } from '../repository/layout.js';

/**
 * Picks a backup id like `full_20241224_120000` that no snapshot and no other running backup uses.
 * The id is reserved in our lease first and checked after, so two runs starting in the same second
 * both see the clash and both move to a suffixed id.
 */
export async function allocateBackupId(storage: ObjectStorage, lock: RepositoryLock, clock: Clock, type: string, started: Date): Promise<string> {
  let candidate = `${type}_${compactUtcStamp(started)}`;
  for (let attempt = 0; attempt < 10; attempt++) {
    await lock.reserve(candidate);
    const others = (await listLiveLocks(storage, clock)).filter((other) => other.id !== lock.id);
    const taken = others.some((other) => other.reservation === candidate) || (await anyObject(storage, snapshotKey(candidate)));
    if (!taken) return candidate;
    candidate = `${type}_${compactUtcStamp(started)}_${randomBytes(2).toString('hex')}`;
  }
  return candidate;
}

/** True when some object's key starts with `prefix` (a snapshot of this backup id, of any source). */
async function anyObject(storage: ObjectStorage, prefix: string): Promise<boolean> {
  for await (const _object of storage.list(prefix)) return true;
  return false;
}
