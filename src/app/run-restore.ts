import { mkdir, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConflictError, IntegrityError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { Snapshot } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { FileTreeRestore, type FileTreeRestoreResult, type RestoreSelector } from '../sources/file-tree-restore.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';

export interface RestoreInput {
  /** A snapshot id, a backup id (every snapshot of that run), or `latest`. */
  snapshotId: string;
  target: string;
  /** Paths inside the snapshot (`data/sub/file`, or the original absolute path) to restore alone. */
  include?: string[];
  /** Allow a non-empty target; entries in the way are replaced. */
  force?: boolean;
}

export interface RestoreResult extends FileTreeRestoreResult {
  snapshots: string[];
  target: string;
}

/**
 * Restores a snapshot (or every snapshot of one backup run) into a directory. Refuses a non-empty
 * target unless forced. Fails with IntegrityError naming each file that could not be restored intact;
 * those files are not written at all.
 */
export async function runRestore(deps: AppDeps, input: RestoreInput): Promise<RestoreResult> {
  const target = resolve(input.target);
  if (!input.force && (await readdir(target).catch(() => [])).length > 0) {
    throw new ConflictError('target_not_empty', `restore target ${target} is not empty (use --force to restore into it anyway)`, { details: { field: 'target' } });
  }
  return withRepository(
    deps,
    { lock: 'shared', operation: 'restore' },
    async (repository) => {
      const snapshots = await resolveSnapshots(repository, input.snapshotId);
      const pool = new BlobPool(repository.keyring, { compression: 'none', chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      const total: RestoreResult = { snapshots: snapshots.map((s) => s.id), target, files: 0, directories: 0, bytes: 0, failures: [], skipped: [] };
      try {
        for (const snapshot of snapshots) {
          const directory = snapshots.length === 1 ? target : `${target}/${snapshot.source}`;
          await mkdir(directory, { recursive: true, mode: 0o700 });
          deps.progress.phase(`restore ${snapshot.id}`, { bytes: snapshot.stats.totalBytes, items: snapshot.stats.items });
          const select = input.include && input.include.length > 0 ? includeSelector(snapshot, input.include) : undefined;
          const restorer = new FileTreeRestore({ repository, pool, progress: deps.progress, ...(select ? { select } : {}) });
          const root = await repository.loadTree(snapshot.tree);
          const result = await restorer.restore(root.nodes, Buffer.from(directory));
          total.files += result.files;
          total.directories += result.directories;
          total.bytes += result.bytes;
          total.failures.push(...result.failures);
          total.skipped.push(...result.skipped);
        }
      } finally {
        await pool.close();
      }
      deps.progress.done();
      if (total.failures.length > 0) {
        throw new IntegrityError('restore_incomplete', `${total.failures.length} file(s) could not be restored intact and were not written: ${total.failures.slice(0, 5).map((f) => f.path).join(', ')}${total.failures.length > 5 ? ', …' : ''}`, {
          details: { failures: total.failures, restored: total.files },
        });
      }
      return total;
    },
    (result) => ({ snapshotId: result.snapshots.join(','), summary: { files: result.files, bytes: result.bytes, target: result.target } }),
  );
}

/** The snapshots named by a snapshot id, a backup id or `latest`. */
export async function resolveSnapshots(repository: Repository, id: string): Promise<Snapshot[]> {
  if (id === 'latest') {
    const all = await repository.listSnapshots();
    const last = all.at(-1);
    if (!last) throw new NotFoundError('snapshot', 'latest (the repository has no snapshots)');
    return all.filter((snapshot) => snapshot.backupId === last.backupId);
  }
  const ids = await repository.listSnapshotIds();
  if (ids.includes(id)) return [await repository.loadSnapshot(id)];
  const group = ids.filter((candidate) => candidate.startsWith(`${id}.`));
  if (group.length === 0) throw new NotFoundError('snapshot', id);
  return Promise.all(group.map((member) => repository.loadSnapshot(member)));
}

/**
 * Turns include paths into a selector. Paths are relative to the snapshot root, whose entries are the
 * base names of the backed-up paths; an original absolute path is accepted and mapped.
 */
export function includeSelector(snapshot: Snapshot, includes: readonly string[]): RestoreSelector {
  const wanted = includes.map((include) => {
    let path = include;
    for (const original of snapshot.paths) {
      const parent = original.slice(0, original.lastIndexOf('/'));
      // Map once: the mapped path (`/b/c/x` for `/a/b/c/x`) may look like another original (`/b/c`).
      if (path === original || path.startsWith(`${original}/`)) {
        path = path.slice(parent.length);
        break;
      }
    }
    const segments = path.split('/').filter((segment) => segment !== '' && segment !== '.');
    if (segments.includes('..')) throw new ValidationError(`include path "${include}" must not contain ".."`, 'include');
    return segments.join('/');
  });
  return (relative) => {
    if (wanted.some((path) => relative === path || relative.startsWith(`${path}/`) || path === '')) return 'all';
    if (wanted.some((path) => path.startsWith(`${relative}/`))) return 'descend';
    return 'skip';
  };
}
