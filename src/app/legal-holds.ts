import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { LegalHold } from '../domain/hold.js';
import type { AppDeps } from './deps.js';
import { openOrCreate, withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';

/**
 * Puts a snapshot or a whole backup under legal hold: `forget` refuses it and `cleanup` keeps it until
 * the hold is removed. The id must name existing snapshots, so a typo cannot protect nothing.
 */
export async function addHold(deps: AppDeps, id: string, reason: string): Promise<LegalHold> {
  if (reason.trim() === '') throw new ValidationError('a legal hold needs a reason (--reason)', 'reason');
  return withRepository(deps, { lock: 'shared', operation: 'hold' }, async (repository) => {
    await resolveSnapshots(repository, id);
    const hold: LegalHold = { id, reason: reason.trim(), createdAt: deps.clock.now().toISOString() };
    await repository.saveHold(hold);
    return hold;
  }, (hold) => ({ snapshotId: hold.id, summary: { hold: 'added' } }));
}

/** Releases a hold; the snapshots it protected can then be forgotten again. */
export async function removeHold(deps: AppDeps, id: string): Promise<void> {
  await withRepository(deps, { lock: 'shared', operation: 'hold' }, async (repository) => {
    if (!(await repository.listHolds()).some((hold) => hold.id === id)) throw new NotFoundError('legal hold', id);
    await repository.deleteHold(id);
  }, () => ({ snapshotId: id, summary: { hold: 'removed' } }));
}

export async function listHolds(deps: AppDeps): Promise<LegalHold[]> {
  return (await openOrCreate(deps, false)).listHolds();
}
