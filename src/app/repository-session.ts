import { NotFoundError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { RunKind, RunRecord } from '../ports/catalog.js';
import { RepositoryLock, type LockKind } from '../repository/locks.js';
import { Repository } from '../repository/repository.js';
import { asBackupError } from '../domain/errors.js';
import type { AppDeps } from './deps.js';

export interface SessionOptions {
  lock: LockKind;
  operation: RunKind;
  /** Create the repository when none exists (the first backup does; everything else refuses). */
  create?: boolean;
  lockWaitMs?: number;
  /** What the run record says from its start (a backup's plan and type); a failed run keeps it. */
  summary?: Record<string, unknown>;
}

/**
 * Opens the repository, holds a lease for the duration of `work`, and records the run in the catalog.
 * The key is checked before anything is written, so a wrong passphrase leaves storage untouched.
 */
export async function withRepository<T>(
  deps: AppDeps,
  options: SessionOptions,
  work: (repository: Repository, lock: RepositoryLock, run: RunRecord) => Promise<T>,
  summarize?: (result: T) => { snapshotId?: string; summary?: Record<string, unknown> },
): Promise<T> {
  // The index is read once the lease is held, so it includes packs other processes added until then.
  const repository = await openOrCreate(deps, options.create ?? false, { loadIndex: false });
  const lock = await RepositoryLock.acquire(deps.storage, options.lock, {
    operation: options.operation,
    clock: deps.clock,
    waitMs: options.lockWaitMs ?? 0,
  });
  const run: RunRecord = {
    id: `${options.operation}-${randomId(8)}`,
    kind: options.operation,
    repository: repository.config.id,
    status: 'running',
    startedAt: deps.clock.now().toISOString(),
    ...(options.summary ? { summary: options.summary } : {}),
  };
  await deps.catalog.startRun(run);
  deps.observeRun?.(run);
  deps.logger?.info('run started', { run: run.id, kind: run.kind, repository: run.repository, location: deps.storage.location });
  try {
    await repository.reloadIndex();
    const result = await work(repository, lock, run);
    const finished = { status: 'succeeded' as const, finishedAt: deps.clock.now().toISOString(), ...(summarize ? summarize(result) : {}) };
    await deps.catalog.finishRun(run.id, finished);
    deps.logger?.info('run succeeded', { run: run.id, kind: run.kind, ...(finished.snapshotId ? { snapshot: finished.snapshotId } : {}) });
    return result;
  } catch (error) {
    const failure = asBackupError(error);
    // Info, not error: the driver reports the failure to whoever asked (exit code, HTTP status); the log
    // records the run's life, as for runs that succeed.
    deps.logger?.info('run failed', { run: run.id, kind: run.kind, code: failure.code, error: failure.message });
    await deps.catalog
      .finishRun(run.id, { status: 'failed', finishedAt: deps.clock.now().toISOString(), error: { code: failure.code, message: failure.message } })
      .catch(() => undefined);
    throw error;
  } finally {
    await lock.release().catch(() => undefined);
  }
}

export async function openOrCreate(deps: AppDeps, create: boolean, options: { loadIndex?: boolean } = {}): Promise<Repository> {
  if (await Repository.exists(deps.storage)) return Repository.open(deps.storage, deps.keys, options);
  if (!create) throw new NotFoundError('repository', `${deps.storage.location} (run a backup or \`chrono-backup init\` first)`);
  return Repository.init(deps.storage, deps.keys, { now: deps.clock.now() });
}
