import type { AppDeps } from '../app/deps.js';
import type { RestoreResult } from '../app/run-restore.js';
import { Repository } from '../repository/repository.js';

export interface RestoreValidation {
  ok: boolean;
  /** Set when the restore chose paths (`include`): a part of a snapshot has no size to compare with. */
  skipped?: string;
  checks: { snapshot: string; source: string; expectedBytes: number; restoredBytes: number; ok: boolean }[];
}

/**
 * After a restore: every file and config snapshot restored in full must have delivered as many bytes as
 * the snapshot describes. (Each blob was already authenticated on the way; this catches files that never
 * arrived.) Database sources are checked by `restore-test`, which compares the data itself.
 */
export async function validateRestoredCounts(deps: AppDeps, result: RestoreResult, options: { partial?: boolean } = {}): Promise<RestoreValidation> {
  if (options.partial) return { ok: true, skipped: 'only chosen paths were restored: the snapshots\' sizes do not apply', checks: [] };
  const repository = await Repository.open(deps.storage, deps.keys, { loadIndex: false });
  const checks: RestoreValidation['checks'] = [];
  for (const source of result.sources) {
    if (source.source !== 'files' && source.source !== 'config') continue;
    const snapshot = await repository.loadSnapshot(source.snapshot);
    const restoredBytes = source.bytes ?? 0;
    checks.push({ snapshot: source.snapshot, source: source.source, expectedBytes: snapshot.stats.totalBytes, restoredBytes, ok: restoredBytes === snapshot.stats.totalBytes });
  }
  return { ok: checks.every((check) => check.ok), checks };
}
