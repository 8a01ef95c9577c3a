import { hostname as osHostname } from 'node:os';
import type { BackupType, Compression } from '../domain/backup-types.js';
import { SourceError, ValidationError } from '../domain/errors.js';
import type { Snapshot, SourceKind } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import { configSource, filesSource, type BackupSource, type SourceContext, type SourceOutcome } from './backup-sources.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { allocateBackupId } from './snapshot-ids.js';

export interface BackupInput {
  /** Directories and files to back up as one `files` snapshot. */
  paths?: string[];
  type: BackupType;
  exclude?: string[];
  compression?: Compression;
  tags?: string[];
  /** Config files and environment variable names captured into a `config` snapshot. */
  configFiles?: string[];
  environment?: string[];
  /** Further sources (databases, caches), each a snapshot of the same group. */
  sources?: BackupSource[];
  /** What the backup id starts with (default: the type), e.g. `database_only`. */
  label?: string;
  /** The plan this run belongs to, recorded in each snapshot. */
  plan?: string;
  /** Walk the sources first to learn totals for progress and ETA. */
  scan?: boolean;
  lockWaitMs?: number;
}

/** A source that failed while the others completed. */
export interface SourceFailure {
  source: SourceKind;
  paths: string[];
  code: string;
  message: string;
}

export interface BackupResult {
  backupId: string;
  snapshots: Snapshot[];
  /** Entries that could not be read; the snapshots were written without them. */
  warnings: string[];
  /** Sources that failed: they have no snapshot; the others were saved. */
  failures: SourceFailure[];
}

/**
 * Backs up files, configuration and database sources into the repository as one group of snapshots
 * sharing a backup id, creating the repository on first use. A source that fails is recorded and the
 * others still complete; only when every source fails does the run fail. Data is written packs → index
 * → snapshots, so a run that dies at any point leaves no snapshot and only reusable or prunable packs.
 */
export async function runBackup(deps: AppDeps, input: BackupInput): Promise<BackupResult> {
  const sources: BackupSource[] = [];
  if ((input.paths ?? []).length > 0) sources.push(filesSource(input.paths ?? [], input.exclude ?? []));
  if ((input.configFiles ?? []).length > 0 || (input.environment ?? []).length > 0) sources.push(configSource(input.configFiles ?? [], input.environment ?? []));
  sources.push(...(input.sources ?? []));
  if (sources.length === 0) throw new ValidationError('nothing to back up: give at least one path, --config file, --env variable, --postgres or --redis source', 'paths');
  const started = deps.clock.now();
  // Recorded when the run starts, so a failed run still tells its plan and type (metrics, health).
  const runLabels = { type: input.label ?? input.type, ...(input.plan ? { plan: input.plan } : {}) };

  return withRepository(
    deps,
    { lock: 'shared', operation: 'backup', create: true, lockWaitMs: input.lockWaitMs ?? 10 * 60_000, summary: runLabels },
    async (repository, lock) => {
      const backupId = await allocateBackupId(deps.storage, lock, deps.clock, input.label ?? input.type, started);
      const compression = input.compression ?? 'zstd';
      const pool = new BlobPool(repository.keyring, { compression, chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      const writer = repository.createWriter({ uploadConcurrency: deps.maxParallelUploads });
      const context: SourceContext = { repository, writer, pool, progress: deps.progress, compression, type: input.type, scan: input.scan ?? false };
      const ids = snapshotIds(backupId, sources);
      const snapshots: Snapshot[] = [];
      const warnings: string[] = [];
      const failures: SourceFailure[] = [];
      try {
        for (const [index, source] of sources.entries()) {
          deps.progress.phase(`backup ${source.kind}`);
          const before = { ...writer.stats };
          let outcome: SourceOutcome;
          try {
            outcome = await source.run(context);
          } catch (error) {
            // A source's own failure (unreachable server, dump killed) spares the others; a repository
            // failure (storage gone, writer broken) ends the run.
            if (!(error instanceof SourceError) || writer.failed) throw error;
            failures.push({ source: source.kind, paths: source.paths, code: error.code, message: error.message });
            deps.progress.note(`${source.kind} failed: ${error.message}`);
            deps.logger?.warn('source failed', { source: source.kind, code: error.code, error: error.message });
            continue;
          }
          warnings.push(...outcome.warnings);
          const snapshot = makeSnapshot(deps, input, { backupId, id: ids[index]!, source, outcome, started, keyId: repository.keyring.writeKey.id });
          snapshot.stats.bytesAdded = writer.stats.bytesAdded - before.bytesAdded;
          snapshot.stats.bytesStored = writer.stats.bytesStored - before.bytesStored;
          snapshot.stats.blobsAdded = writer.stats.blobsAdded - before.blobsAdded;
          snapshots.push(snapshot);
        }
        if (snapshots.length === 0) {
          const first = failures[0]!;
          throw new SourceError(first.code.replace(/^source\./, ''), failures.map((failure) => failure.message).join('; '), { details: { failures } });
        }
        // Write order: every pack and the index are durable before any snapshot names them.
        await writer.flush();
        for (const snapshot of snapshots) {
          snapshot.stats.durationMs = deps.clock.now().getTime() - started.getTime();
          await repository.saveSnapshot(snapshot);
          await deps.catalog.putSnapshot(repository.config.id, snapshot);
        }
        deps.progress.done();
        return { backupId, snapshots, warnings, failures };
      } catch (error) {
        await writer.abort();
        throw error;
      } finally {
        await pool.close();
      }
    },
    (result) => ({
      snapshotId: result.backupId,
      summary: { ...runLabels, snapshots: result.snapshots.map((s) => s.id), warnings: result.warnings.length, failures: result.failures, stats: runStats(result.snapshots) },
    }),
  );
}

/** The byte counts of the whole group, kept in the run record for metrics (src/metrics). */
function runStats(snapshots: readonly Snapshot[]): Pick<Snapshot['stats'], 'totalBytes' | 'bytesRead' | 'bytesAdded' | 'bytesStored'> {
  const sum = (field: 'totalBytes' | 'bytesRead' | 'bytesAdded' | 'bytesStored') => snapshots.reduce((total, snapshot) => total + snapshot.stats[field], 0);
  return { totalBytes: sum('totalBytes'), bytesRead: sum('bytesRead'), bytesAdded: sum('bytesAdded'), bytesStored: sum('bytesStored') };
}

/** `<backupId>` for a single source; `<backupId>.<kind>` (then `.<kind>2`, …) for the members of a group. */
function snapshotIds(backupId: string, sources: readonly BackupSource[]): string[] {
  if (sources.length === 1) return [backupId];
  const seen = new Map<string, number>();
  return sources.map((source) => {
    const count = (seen.get(source.kind) ?? 0) + 1;
    seen.set(source.kind, count);
    return `${backupId}.${source.kind}${count > 1 ? count : ''}`;
  });
}

interface SnapshotParts {
  backupId: string;
  id: string;
  source: BackupSource;
  outcome: SourceOutcome;
  started: Date;
  keyId: number;
}

function makeSnapshot(deps: AppDeps, input: BackupInput, parts: SnapshotParts): Snapshot {
  const details = { ...parts.outcome.details, ...(input.plan ? { plan: input.plan } : {}) };
  return {
    id: parts.id,
    backupId: parts.backupId,
    type: input.type,
    source: parts.source.kind,
    time: parts.started.toISOString(),
    hostname: deps.hostname || osHostname(),
    paths: parts.source.paths,
    tags: input.tags ?? [],
    tree: parts.outcome.tree,
    ...(parts.outcome.parent ? { parent: parts.outcome.parent.id } : {}),
    stats: {
      items: parts.outcome.items,
      totalBytes: parts.outcome.totalBytes,
      bytesRead: parts.outcome.bytesRead,
      bytesAdded: 0,
      bytesStored: 0,
      blobsAdded: 0,
      durationMs: 0,
    },
    keyId: parts.keyId.toString(16).padStart(8, '0'),
    ...(Object.keys(details).length > 0 ? { details } : {}),
  };
}
