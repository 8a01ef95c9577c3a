import { hostname as osHostname } from 'node:os';
import { resolve } from 'node:path';
import type { BackupType, Compression } from '../domain/backup-types.js';
import { ValidationError } from '../domain/errors.js';
import type { Snapshot, SourceKind } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { excludeMatcher } from '../sources/exclude-matcher.js';
import { FileTreeBackup, type FileTreeResult } from '../sources/file-tree-backup.js';
import { scanTotals } from '../sources/file-scanner.js';
import { captureConfig } from '../sources/config-source.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { allocateBackupId } from './snapshot-ids.js';

export interface BackupInput {
  /** Directories and files to back up as one `files` snapshot. */
  paths: string[];
  type: BackupType;
  exclude?: string[];
  compression?: Compression;
  tags?: string[];
  /** Config files and environment variable names captured into a `config` snapshot. */
  configFiles?: string[];
  environment?: string[];
  /** Walk the sources first to learn totals for progress and ETA. */
  scan?: boolean;
  lockWaitMs?: number;
}

export interface BackupResult {
  backupId: string;
  snapshots: Snapshot[];
  /** Entries that could not be read; the snapshots were written without them. */
  warnings: string[];
}

/**
 * Backs up files and/or configuration into the repository, creating it on first use. Data is written
 * packs → index → snapshot, so a run that dies at any point leaves no snapshot and only reusable or
 * prunable packs behind.
 */
export async function runBackup(deps: AppDeps, input: BackupInput): Promise<BackupResult> {
  const configFiles = input.configFiles ?? [];
  const environment = input.environment ?? [];
  const sources: SourceKind[] = [];
  if (input.paths.length > 0) sources.push('files');
  if (configFiles.length > 0 || environment.length > 0) sources.push('config');
  if (sources.length === 0) throw new ValidationError('nothing to back up: give at least one path, --config file or --env variable', 'paths');
  const started = deps.clock.now();

  return withRepository(
    deps,
    { lock: 'shared', operation: 'backup', create: true, lockWaitMs: input.lockWaitMs ?? 10 * 60_000 },
    async (repository, lock) => {
      const backupId = await allocateBackupId(deps.storage, lock, deps.clock, input.type, started);
      const pool = new BlobPool(repository.keyring, { compression: input.compression ?? 'zstd', chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      const writer = repository.createWriter();
      const snapshots: Snapshot[] = [];
      const warnings: string[] = [];
      try {
        for (const source of sources) {
          const paths = source === 'files' ? input.paths.map((path) => resolve(path)) : configFiles.map((path) => resolve(path));
          const parent = source === 'files' ? await findParent(repository, input.type, paths) : undefined;
          const walker = new FileTreeBackup({
            repository,
            writer,
            pool,
            progress: deps.progress,
            compression: input.compression ?? 'zstd',
            exclude: excludeMatcher(source === 'files' ? (input.exclude ?? []) : []),
          });
          deps.progress.phase(`backup ${source}`);
          const before = { ...writer.stats };
          const totals = input.scan && source === 'files' ? scanTotals(paths, excludeMatcher(input.exclude ?? []), deps.progress) : undefined;
          const result: FileTreeResult =
            source === 'files' ? await walker.run(paths, parent?.tree) : await walker.run(paths, undefined, await captureConfig(pool, writer, environment));
          await totals;
          warnings.push(...result.warnings);
          const snapshot = makeSnapshot(deps, input, { backupId, id: sources.length === 1 ? backupId : `${backupId}.${source}`, source, paths, result, parent, started, keyId: repository.keyring.writeKey.id });
          snapshot.stats.bytesAdded = writer.stats.bytesAdded - before.bytesAdded;
          snapshot.stats.bytesStored = writer.stats.bytesStored - before.bytesStored;
          snapshot.stats.blobsAdded = writer.stats.blobsAdded - before.blobsAdded;
          snapshots.push(snapshot);
        }
        // Write order: every pack and the index are durable before any snapshot names them.
        await writer.flush();
        for (const snapshot of snapshots) {
          snapshot.stats.durationMs = deps.clock.now().getTime() - started.getTime();
          await repository.saveSnapshot(snapshot);
          await deps.catalog.putSnapshot(repository.config.id, snapshot);
        }
        deps.progress.done();
        return { backupId, snapshots, warnings };
      } catch (error) {
        await writer.abort();
        throw error;
      } finally {
        await pool.close();
      }
    },
    (result) => ({ snapshotId: result.backupId, summary: { snapshots: result.snapshots.map((s) => s.id), warnings: result.warnings.length } }),
  );
}

/**
 * The snapshot an incremental run compares with: the latest of the same paths; a differential run
 * compares with the latest full one. None found means the run reads everything.
 */
async function findParent(repository: Repository, type: BackupType, paths: string[]): Promise<Snapshot | undefined> {
  if (type === 'full') return undefined;
  const key = JSON.stringify([...paths].sort());
  const candidates = (await repository.listSnapshots()).filter(
    (snapshot) => snapshot.source === 'files' && JSON.stringify([...snapshot.paths].sort()) === key && (type === 'incremental' || snapshot.type === 'full'),
  );
  return candidates.at(-1);
}

interface SnapshotParts {
  backupId: string;
  id: string;
  source: SourceKind;
  paths: string[];
  result: FileTreeResult;
  parent: Snapshot | undefined;
  started: Date;
  keyId: number;
}

function makeSnapshot(deps: AppDeps, input: BackupInput, parts: SnapshotParts): Snapshot {
  return {
    id: parts.id,
    backupId: parts.backupId,
    type: input.type,
    source: parts.source,
    time: parts.started.toISOString(),
    hostname: deps.hostname || osHostname(),
    paths: parts.paths,
    tags: input.tags ?? [],
    tree: parts.result.tree,
    ...(parts.parent ? { parent: parts.parent.id } : {}),
    stats: {
      items: parts.result.items,
      totalBytes: parts.result.totalBytes,
      bytesRead: parts.result.bytesRead,
      bytesAdded: 0,
      bytesStored: 0,
      blobsAdded: 0,
      durationMs: 0,
    },
    keyId: parts.keyId.toString(16).padStart(8, '0'),
  };
}
