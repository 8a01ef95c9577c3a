import { mkdir, readdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ConflictError, IntegrityError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { Snapshot, SourceKind } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { FileTreeRestore, type FileTreeRestoreResult, type RestoreSelector } from '../sources/file-tree-restore.js';
import { restorePostgres } from '../sources/postgres/pg-restore.js';
import { describePgTarget, type PgTarget } from '../sources/postgres/pg-target.js';
import { restoreRedis, writeRdbToDirectory } from '../sources/redis/redis-restore.js';
import { describeRedisTarget, redisSecretsFromEnv, type RedisTarget } from '../sources/redis/redis-target.js';
import type { AppDeps } from './deps.js';
import { snapshotFiles } from './stream-snapshot.js';
import { withRepository } from './repository-session.js';

export interface RestoreInput {
  /** A snapshot id, a backup id (every snapshot of that run), or `latest`. */
  snapshotId: string;
  /** Directory for `files` and `config` snapshots (and for database snapshots without a server target: their raw dump files). */
  target?: string;
  /** Paths inside the snapshot (`data/sub/file`, or the original absolute path) to restore alone. */
  include?: string[];
  /** Allow a non-empty target; entries in the way are replaced. */
  force?: boolean;
  /** Where `postgres` snapshots go (see {@link PostgresRestoreTarget}). */
  postgres?: PostgresRestoreTarget;
  /** Where `redis` snapshots go: a running server, or a stopped server's data directory. */
  redis?: { target?: RedisTarget; dataDirectory?: string };
  /** Overwrite an existing database or existing Redis keys. */
  confirmOverwrite?: boolean;
  /** Restore only these sources of a group. */
  only?: SourceKind[];
  env?: NodeJS.ProcessEnv;
}

export interface PostgresRestoreTarget {
  target: PgTarget;
  /** Databases of the snapshot to restore (default: all). */
  databases?: string[];
  tables?: string[];
  schemas?: string[];
  /** Recreate roles first (default true). */
  globals?: boolean;
}

/** How one snapshot of the group was restored. */
export interface SourceRestore {
  snapshot: string;
  source: SourceKind;
  /** Where it went: a directory, `postgres://…/db_restored_…`, `redis://…`. */
  into: string[];
  files?: number;
  bytes?: number;
  keys?: number;
  warnings: string[];
  durationMs: number;
}

export interface RestoreResult extends FileTreeRestoreResult {
  snapshots: string[];
  target: string | undefined;
  sources: SourceRestore[];
}

/** Recovery order: configuration first (it tells the rest how to run), then data, files last. */
const RESTORE_ORDER: readonly SourceKind[] = ['config', 'postgres', 'redis', 'files'];

/**
 * Restores a snapshot, or every snapshot of one backup run, each to its kind of target: directories for
 * files and configuration, a PostgreSQL server (into new databases unless overwriting is confirmed), a
 * Redis server or data directory. Everything is checked before anything is written: a missing target
 * fails the whole restore up front. File restores fail with IntegrityError naming each file that could
 * not be restored intact; those files are not written at all.
 */
export async function runRestore(deps: AppDeps, input: RestoreInput): Promise<RestoreResult> {
  const target = input.target !== undefined ? resolve(input.target) : undefined;
  if (target && !input.force && (await readdir(target).catch(() => [])).length > 0) {
    throw new ConflictError('target_not_empty', `restore target ${target} is not empty (use --force to restore into it anyway)`, { details: { field: 'target' } });
  }
  return withRepository(
    deps,
    { lock: 'shared', operation: 'restore' },
    async (repository) => {
      const all = await resolveSnapshots(repository, input.snapshotId);
      const snapshots = all
        .filter((snapshot) => !input.only || input.only.includes(snapshot.source))
        .sort((a, b) => RESTORE_ORDER.indexOf(a.source) - RESTORE_ORDER.indexOf(b.source));
      if (snapshots.length === 0) throw new NotFoundError('snapshot', `${input.snapshotId} of source ${input.only?.join(', ')}`);
      for (const snapshot of snapshots) requireTarget(snapshot, input, target);
      const pool = new BlobPool(repository.keyring, { compression: 'none', chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      const total: RestoreResult = { snapshots: snapshots.map((s) => s.id), target, files: 0, directories: 0, bytes: 0, failures: [], skipped: [], sources: [] };
      try {
        for (const snapshot of snapshots) {
          const started = Date.now();
          deps.progress.phase(`restore ${snapshot.id}`, { bytes: snapshot.stats.totalBytes, items: snapshot.stats.items });
          const database = await restoreDatabaseSnapshot(deps, repository, pool, snapshot, input);
          if (database) {
            total.sources.push({ ...database, durationMs: Date.now() - started });
            continue;
          }
          const directory = snapshots.length === 1 ? target! : `${target!}/${snapshot.source}`;
          await mkdir(directory, { recursive: true, mode: 0o700 });
          const select = input.include && input.include.length > 0 ? includeSelector(snapshot, input.include) : undefined;
          const restorer = new FileTreeRestore({ repository, pool, progress: deps.progress, ...(select ? { select } : {}) });
          const root = await repository.loadTree(snapshot.tree);
          const result = await restorer.restore(root.nodes, Buffer.from(directory));
          total.files += result.files;
          total.directories += result.directories;
          total.bytes += result.bytes;
          total.failures.push(...result.failures);
          total.skipped.push(...result.skipped);
          total.sources.push({ snapshot: snapshot.id, source: snapshot.source, into: [directory], files: result.files, bytes: result.bytes, warnings: [], durationMs: Date.now() - started });
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
    (result) => ({ snapshotId: result.snapshots.join(','), summary: { sources: result.sources.map((s) => ({ snapshot: s.snapshot, into: s.into, durationMs: s.durationMs })), files: result.files, bytes: result.bytes } }),
  );
}

/** Fails before anything is written when a snapshot of the group has nowhere to go. */
function requireTarget(snapshot: Snapshot, input: RestoreInput, directory: string | undefined): void {
  if (snapshot.source === 'postgres' && (input.postgres || directory)) return;
  if (snapshot.source === 'redis' && (input.redis?.target || input.redis?.dataDirectory || directory)) return;
  // A `physical` snapshot restores as its raw base.tar (`pitr-restore` restores it as a cluster).
  if ((snapshot.source === 'files' || snapshot.source === 'config' || snapshot.source === 'physical') && directory) return;
  const option = snapshot.source === 'postgres' ? '--target-postgres URL (or --target DIR for the raw dump files)' : snapshot.source === 'redis' ? '--target-redis URL or --redis-data-dir DIR' : '--target DIR';
  throw new ValidationError(`snapshot ${snapshot.id} (${snapshot.source}) needs a target: give ${option}`, snapshot.source === 'files' || snapshot.source === 'config' || snapshot.source === 'physical' ? 'target' : `target-${snapshot.source}`);
}

/** Restores a database snapshot into its server; undefined when it goes to a directory as files instead. */
async function restoreDatabaseSnapshot(deps: AppDeps, repository: Repository, pool: BlobPool, snapshot: Snapshot, input: RestoreInput): Promise<Omit<SourceRestore, 'durationMs'> | undefined> {
  const env = input.env ?? process.env;
  if (snapshot.source === 'postgres' && input.postgres) {
    const files = await snapshotFiles(repository, snapshot.tree, pool);
    const pg = input.postgres;
    const result = await restorePostgres(pg.target, files, {
      confirmOverwrite: input.confirmOverwrite ?? false,
      globals: pg.globals ?? true,
      now: deps.clock.now(),
      env,
      ...(pg.target.database ? { intoDatabase: pg.target.database } : {}),
      ...(pg.databases ? { databases: pg.databases } : {}),
      ...(pg.tables ? { tables: pg.tables } : {}),
      ...(pg.schemas ? { schemas: pg.schemas } : {}),
      onPhase: (message) => deps.progress.phase(`restore ${message}`),
    });
    return { snapshot: snapshot.id, source: 'postgres', into: result.databases.map((db) => describePgTarget(pg.target, db.restoredAs)), warnings: result.warnings };
  }
  if (snapshot.source === 'redis' && input.redis?.target) {
    const result = await restoreRedis(input.redis.target, await snapshotFiles(repository, snapshot.tree, pool), { replace: input.confirmOverwrite ?? false, secrets: redisSecretsFromEnv(env) });
    return { snapshot: snapshot.id, source: 'redis', into: [describeRedisTarget(input.redis.target)], keys: result.keys, warnings: result.expired > 0 ? [`${result.expired} keys had expired since the backup and were not restored`] : [] };
  }
  if (snapshot.source === 'redis' && input.redis?.dataDirectory) {
    const written = await writeRdbToDirectory(await snapshotFiles(repository, snapshot.tree, pool), input.redis.dataDirectory, { replace: input.confirmOverwrite ?? false });
    return { snapshot: snapshot.id, source: 'redis', into: [written.path], bytes: written.bytes, warnings: [] };
  }
  return undefined;
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
