import { randomInt } from 'node:crypto';
import { BackupError, ValidationError } from '../domain/errors.js';
import type { Snapshot } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import { packIdFromKey, packKey, LAYOUT } from '../repository/layout.js';
import type { Repository } from '../repository/repository.js';
import { mapLimit } from '../util/concurrency.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';
import { walkSnapshotBlobs } from './snapshot-walk.js';

export const VERIFY_LEVELS = ['structure', 'read', 'full'] as const;
export type VerifyLevel = (typeof VERIFY_LEVELS)[number];

export interface VerifyInput {
  /** Only this snapshot (or backup id); all snapshots when absent. */
  snapshotId?: string;
  level: VerifyLevel;
  /** With `read`: the share of packs read in full, chosen at random (default 10). */
  readPercent?: number;
}

export interface VerifyProblem {
  code: string;
  message: string;
  pack?: string;
  blob?: string;
}

export interface VerifyResult {
  level: VerifyLevel;
  ok: boolean;
  snapshotsChecked: number;
  packsChecked: number;
  blobsChecked: number;
  bytesRead: number;
  problems: VerifyProblem[];
  /** Snapshots that reference damaged or missing data: these would not restore completely. */
  damagedSnapshots: string[];
}

/**
 * Checks the repository at increasing depth: `structure` loads every tree and checks that each blob is
 * indexed and each pack exists with a plausible size; `read` also downloads a sample of packs and
 * authenticates every blob in them; `full` does so for every pack. Damage is traced to the snapshots
 * it affects.
 */
export async function verifyRepository(deps: AppDeps, input: VerifyInput): Promise<VerifyResult> {
  const percent = input.readPercent ?? (input.level === 'full' ? 100 : 10);
  if (!(percent > 0 && percent <= 100)) throw new ValidationError('read-percent must be between 0 (exclusive) and 100', 'read_percent');
  return withRepository(deps, { lock: 'shared', operation: 'verify', summary: { level: input.level } }, async (repository) => {
    const snapshots = input.snapshotId ? await resolveSnapshots(repository, input.snapshotId) : await repository.listSnapshots();
    const problems: VerifyProblem[] = [];
    const badBlobs = new Set<string>();
    const usedPacks = new Set<string>();
    const treesOf = new Map<string, Set<string>>();
    let blobsChecked = 0;

    deps.progress.phase('verify structure', { items: snapshots.length });
    for (const snapshot of snapshots) {
      const blobs = new Set<string>();
      await walkSnapshotBlobs(
        repository,
        snapshot,
        ({ id }) => {
          blobs.add(id);
          const location = repository.index.get(id);
          if (location) usedPacks.add(location.pack);
          else if (!badBlobs.has(id)) {
            badBlobs.add(id);
            problems.push({ code: 'blob_missing', message: `blob ${id.slice(0, 16)} is referenced but not indexed`, blob: id });
          }
        },
        (treeId, error) => {
          badBlobs.add(treeId);
          problems.push({ code: error.code, message: error.message, blob: treeId });
        },
      );
      treesOf.set(snapshot.id, blobs);
      deps.progress.advance({ items: 1 });
    }

    for (const damaged of repository.index.damagedFiles) {
      problems.push({ code: damaged.code, message: `${damaged.message}; its packs are not indexed until \`chrono-backup repair index\`` });
    }

    const stored = new Map<string, number>();
    for await (const object of repository.storage.list(LAYOUT.packs)) stored.set(packIdFromKey(object.key), object.size);
    const packsToCheck = input.snapshotId ? [...usedPacks] : repository.index.packIds();
    for (const pack of packsToCheck) {
      if (!stored.has(pack)) {
        problems.push({ code: 'pack_missing', message: `pack ${pack} is indexed but missing from storage`, pack });
        markPackBlobs(repository, pack, badBlobs);
      }
    }

    let packsChecked = 0;
    let bytesRead = 0;
    if (input.level !== 'structure') {
      const present = packsToCheck.filter((pack) => stored.has(pack));
      const selected = percent >= 100 ? present : present.filter(() => randomInt(10_000) < percent * 100);
      deps.progress.phase(`verify ${input.level}`, { bytes: selected.reduce((sum, pack) => sum + (stored.get(pack) ?? 0), 0), items: selected.length });
      const pool = new BlobPool(repository.keyring, { compression: 'none', chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      try {
        await mapLimit(selected, pool.size, async (pack) => {
          const result = await checkPack(repository, pool, pack);
          packsChecked++;
          bytesRead += result.bytes;
          blobsChecked += result.blobs;
          for (const problem of result.problems) {
            problems.push(problem);
            if (problem.blob) badBlobs.add(problem.blob);
            else markPackBlobs(repository, pack, badBlobs);
          }
          deps.progress.advance({ bytes: result.bytes, items: 1 });
        });
      } finally {
        await pool.close();
      }
    }
    deps.progress.done();

    const damagedSnapshots = snapshots.filter((snapshot) => [...(treesOf.get(snapshot.id) ?? [])].some((id) => badBlobs.has(id))).map((s: Snapshot) => s.id);
    return { level: input.level, ok: problems.length === 0, snapshotsChecked: snapshots.length, packsChecked, blobsChecked, bytesRead, problems, damagedSnapshots };
  }, (result) => ({
    // A verification of one backup names it, so the backup's history shows its verifications.
    ...(input.snapshotId ? { snapshotId: input.snapshotId } : {}),
    summary: { level: result.level, ok: result.ok, problems: result.problems.length, damagedSnapshots: result.damagedSnapshots },
  }));
}

/** Downloads one pack and authenticates its header and every blob in it (in a worker thread). */
async function checkPack(repository: Repository, pool: BlobPool, pack: string): Promise<{ bytes: number; blobs: number; problems: VerifyProblem[] }> {
  let bytes: Buffer;
  try {
    bytes = await repository.storage.get(packKey(pack));
  } catch (error) {
    if (!(error instanceof BackupError)) throw error;
    return { bytes: 0, blobs: 0, problems: [{ code: error.code, message: `pack ${pack} cannot be read: ${error.message}`, pack }] };
  }
  const size = bytes.length;
  const result = await pool.checkPack(pack, bytes);
  return { bytes: size, blobs: result.blobs, problems: result.problems.map((problem) => ({ ...problem, pack })) };
}

function markPackBlobs(repository: Repository, pack: string, bad: Set<string>): void {
  for (const [id, location] of repository.index.entries()) if (location.pack === pack) bad.add(id);
}
