import { NotFoundError } from '../domain/errors.js';
import { isHeld } from '../domain/hold.js';
import { selectRetention, type RetentionDecision, type RetentionPolicy } from '../domain/retention.js';
import type { AppDeps } from './deps.js';
import { forgetSnapshots } from './forget-snapshots.js';
import { pruneRepository, type PruneResult } from './prune-repository.js';
import { pruneWal } from './pitr.js';
import { openOrCreate } from './repository-session.js';

export interface CleanupInput {
  policy: RetentionPolicy;
  /** False (the default): a dry run that only reports. True: forget the removed snapshots, then prune. */
  confirm?: boolean;
  /** Snapshot or backup ids under legal hold for this run: their whole backup is kept. */
  holds?: readonly string[];
  /** Passed to prune: unreferenced packs younger than this stay (default one hour, as `prune`). */
  pruneGraceMs?: number;
}

export interface CleanupResult extends RetentionDecision {
  dryRun: boolean;
  /** The prune that followed the forget (confirmed runs only). */
  pruned?: PruneResult;
  /** Archived WAL removed because no kept base backup needs it (confirmed runs only). */
  walPruned?: { files: number; bytes: number };
}

/**
 * Applies a retention policy: selects with {@link selectRetention} at the clock's "now", and when
 * confirmed forgets exactly the snapshots the selection removes, then prunes their data. A dry run
 * writes nothing, and the confirmed run removes the same ids a dry run at the same moment lists.
 * A hold naming no snapshot is refused: a typo must not leave the snapshot it meant unprotected.
 */
export async function cleanup(deps: AppDeps, input: CleanupInput): Promise<CleanupResult> {
  const repository = await openOrCreate(deps, false);
  const snapshots = await repository.listSnapshots();
  const holds = new Set(input.holds ?? []);
  for (const hold of holds) {
    if (!snapshots.some((snapshot) => snapshot.id === hold || snapshot.backupId === hold)) throw new NotFoundError('snapshot to hold', hold);
  }
  // Holds kept in the repository apply always; `holds` adds more for this run.
  const stored = await repository.listHolds();
  const candidates = snapshots.map((snapshot) => ({ id: snapshot.id, backupId: snapshot.backupId, time: snapshot.time, held: holds.has(snapshot.id) || holds.has(snapshot.backupId) || isHeld(snapshot, stored) }));
  const decision = selectRetention(candidates, input.policy, deps.clock.now());
  if (!input.confirm) return { dryRun: true, ...decision };
  if (decision.remove.length > 0) await forgetSnapshots(deps, decision.remove.map((snapshot) => snapshot.id));
  const pruned = await pruneRepository(deps, { graceMs: input.pruneGraceMs ?? 60 * 60 * 1000 });
  // WAL retention follows the base backups the policy kept: archived WAL older than the oldest kept
  // base backup is no use to any restore (and a cluster without base backups keeps all of its WAL).
  const wal = await pruneWal(deps);
  const walPruned = wal.clusters.reduce((total, cluster) => ({ files: total.files + cluster.deleted.length, bytes: total.bytes + cluster.deletedBytes }), { files: 0, bytes: 0 });
  return { dryRun: false, ...decision, pruned, walPruned };
}
