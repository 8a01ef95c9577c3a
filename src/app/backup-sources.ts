import { resolve } from 'node:path';
import type { BackupType, Compression } from '../domain/backup-types.js';
import type { Snapshot, SnapshotDetails, SourceKind } from '../domain/snapshot.js';
import type { Progress } from '../ports/progress.js';
import type { BlobPool } from '../repository/blob-pool.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import type { Repository } from '../repository/repository.js';
import { captureConfig } from '../sources/config-source.js';
import { excludeMatcher } from '../sources/exclude-matcher.js';
import { scanTotals } from '../sources/file-scanner.js';
import { FileTreeBackup } from '../sources/file-tree-backup.js';
import { capturePostgres } from '../sources/postgres/pg-backup.js';
import { DEFAULT_PG_FINGERPRINT, type PgFingerprintLevel } from '../sources/postgres/pg-fingerprint.js';
import { describePgTarget, type PgTarget } from '../sources/postgres/pg-target.js';
import { captureRedis } from '../sources/redis/redis-backup.js';
import { describeRedisTarget, redisSecretsFromEnv, type RedisTarget } from '../sources/redis/redis-target.js';
import { TreeStreamSink } from './stream-snapshot.js';

/** What one source gets while a backup runs: the shared writer and workers of the whole run. */
export interface SourceContext {
  repository: Repository;
  writer: BlobWriter;
  pool: BlobPool;
  progress: Progress;
  compression: Compression;
  type: BackupType;
  /** Walk file sources first to learn totals for progress and ETA. */
  scan: boolean;
}

/** What a source produced: the snapshot's root tree and its counts. */
export interface SourceOutcome {
  tree: string;
  items: number;
  totalBytes: number;
  bytesRead: number;
  warnings: string[];
  parent?: Snapshot;
  details?: SnapshotDetails;
}

/** One source of a backup run; each becomes one snapshot of the run's group. */
export interface BackupSource {
  kind: SourceKind;
  /** What the snapshot lists as its paths: file paths, or the server as text without secrets. */
  paths: string[];
  run(context: SourceContext): Promise<SourceOutcome>;
}

export function filesSource(paths: readonly string[], exclude: readonly string[]): BackupSource {
  const absolute = paths.map((path) => resolve(path));
  return {
    kind: 'files',
    paths: absolute,
    async run(context) {
      const parent = await findParent(context.repository, context.type, absolute);
      const matcher = excludeMatcher(exclude);
      const totals = context.scan ? scanTotals(absolute, matcher, context.progress) : undefined;
      const result = await fileTreeBackup(context, matcher).run(absolute, parent?.tree);
      await totals;
      return { ...result, ...(parent ? { parent } : {}) };
    },
  };
}

export function configSource(files: readonly string[], environment: readonly string[]): BackupSource {
  const absolute = files.map((path) => resolve(path));
  return {
    kind: 'config',
    paths: absolute,
    async run(context) {
      return fileTreeBackup(context, excludeMatcher([])).run(absolute, undefined, await captureConfig(context.pool, context.writer, environment));
    },
  };
}

export interface PostgresSourceOptions {
  fingerprint?: PgFingerprintLevel;
  globals?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function postgresSource(target: PgTarget, options: PostgresSourceOptions = {}): BackupSource {
  return {
    kind: 'postgres',
    paths: [describePgTarget(target)],
    async run(context) {
      const sink = new TreeStreamSink(context.pool, context.writer, context.progress);
      const warnings: string[] = [];
      const manifest = await capturePostgres(target, sink, {
        fingerprint: options.fingerprint ?? DEFAULT_PG_FINGERPRINT,
        globals: options.globals ?? true,
        ...(options.env ? { env: options.env } : {}),
        onWarning: (message) => {
          warnings.push(`postgres: ${message}`);
          context.progress.note(`postgres: ${message}`);
        },
        onPhase: (message) => context.progress.phase(`backup ${message}`),
      });
      const stored = sink.storeTree();
      return {
        ...stored,
        bytesRead: stored.totalBytes,
        warnings,
        details: { method: 'pg_dump', pointInTime: true, serverVersion: manifest.server.version, databases: manifest.databases.map((db) => db.name) },
      };
    },
  };
}

export function redisSource(target: RedisTarget, options: { env?: NodeJS.ProcessEnv } = {}): BackupSource {
  return {
    kind: 'redis',
    paths: [describeRedisTarget(target)],
    async run(context) {
      const sink = new TreeStreamSink(context.pool, context.writer, context.progress);
      const result = await captureRedis(target, sink, { secrets: redisSecretsFromEnv(options.env ?? process.env) });
      const stored = sink.storeTree();
      // Not a warning (the copy is complete), but the snapshot records it and the listing shows it.
      if (!result.pointInTime) context.progress.note(`redis: the server refused SYNC (${result.syncRefused ?? 'no reason given'}); keys were copied one by one, so this copy is not point-in-time`);
      return {
        ...stored,
        bytesRead: stored.totalBytes,
        warnings: [],
        details: { method: result.method, pointInTime: result.pointInTime, serverVersion: result.serverVersion, keys: result.keys },
      };
    },
  };
}

/** A file-tree walker writing through the run's shared writer and workers. */
function fileTreeBackup(context: SourceContext, exclude: ReturnType<typeof excludeMatcher>): FileTreeBackup {
  return new FileTreeBackup({ repository: context.repository, writer: context.writer, pool: context.pool, progress: context.progress, compression: context.compression, exclude });
}

/**
 * The snapshot an incremental run of files compares with: the latest of the same paths; a differential
 * run compares with the latest full one. None found means the run reads everything.
 */
async function findParent(repository: Repository, type: BackupType, paths: string[]): Promise<Snapshot | undefined> {
  if (type === 'full') return undefined;
  const key = JSON.stringify([...paths].sort());
  const candidates = (await repository.listSnapshots()).filter(
    (snapshot) => snapshot.source === 'files' && JSON.stringify([...snapshot.paths].sort()) === key && (type === 'incremental' || snapshot.type === 'full'),
  );
  return candidates.at(-1);
}
