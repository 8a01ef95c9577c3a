import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { join, resolve } from 'node:path';
import { asBackupError, ConflictError, NotFoundError, SourceError, ValidationError } from '../domain/errors.js';
import type { PhysicalBackupDetails, Snapshot } from '../domain/snapshot.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { RecoveryWindowRecord } from '../ports/recovery-window-store.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { exited, stderrTail } from '../sources/child-output.js';
import type { StreamFiles } from '../sources/stream-files.js';
import { withPg } from '../sources/postgres/pg-client.js';
import { describePgTarget, type PgTarget } from '../sources/postgres/pg-target.js';
import { BASE_TAR, physicalSource } from '../pitr/basebackup-source.js';
import { requireSystemIdentifier } from '../pitr/cluster-identity.js';
import { computeRecoveryWindow, type RecoveryWindow } from '../pitr/recovery-window.js';
import { writeRecoveryConfig, type RestoreCommand } from '../pitr/recovery-config.js';
import { chooseBaseBackup, describeRecoveryTarget, recoverySettings, type RecoveryTarget } from '../pitr/recovery-target.js';
import { serverBinDir, startAndAwaitRecovery, type RecoveryOutcome } from '../pitr/recovery-server.js';
import { listArchivedClusters, WAL_PREFIX, WalArchive, type RestorePointRecord } from '../pitr/wal-archive.js';
import { PREFETCH_DIRECTORY } from '../pitr/wal-spool.js';
import { parseLsn, parseTimelineHistory, type TimelineSwitch } from '../pitr/wal-names.js';
import { isWalNeeded, walNeededFrom } from '../pitr/wal-retention.js';
import {
  createTablespaceDirectories,
  formatTablespaceMap,
  MANIFEST_FILE,
  placeTablespaces,
  removeTablespaceDirectories,
  TABLESPACE_MAP,
  type TablespaceMappings,
  type TablespacePlacement,
} from '../pitr/tablespaces.js';
import { mapLimit } from '../util/concurrency.js';
import type { AppDeps } from './deps.js';
import { openOrCreate, withRepository } from './repository-session.js';
import { runBackup, type BackupResult } from './run-backup.js';
import { snapshotFiles } from './stream-snapshot.js';

/** A `physical` snapshot with what point-in-time recovery needs to know about it. */
export type BaseBackupSnapshot = Snapshot & { details: { physical: PhysicalBackupDetails } };

/** `basebackup`: one `physical` snapshot of the server, through the usual backup run (lease, writer, catalog). */
export async function takeBaseBackup(deps: AppDeps, target: PgTarget, options: { tags?: string[]; lockWaitMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<BackupResult> {
  return runBackup(deps, {
    type: 'full',
    label: 'basebackup',
    compression: 'zstd',
    sources: [physicalSource(target, options.env ? { env: options.env } : {})],
    ...(options.tags ? { tags: options.tags } : {}),
    ...(options.lockWaitMs !== undefined ? { lockWaitMs: options.lockWaitMs } : {}),
  });
}

/**
 * `restore-point NAME`: pg_create_restore_point on the server, then (by default) pg_switch_wal so the
 * segment holding it is archived now rather than when it fills up. The point is recorded in the
 * archive, so a restore to it can pick the newest base backup that ends before it.
 */
export async function createRestorePoint(deps: AppDeps, target: PgTarget, name: string, options: { switchWal?: boolean; env?: NodeJS.ProcessEnv } = {}): Promise<RestorePointRecord & { systemIdentifier: string }> {
  if (name.length === 0 || Buffer.byteLength(name) > 63) throw new ValidationError('a restore point name has 1 to 63 bytes', 'name');
  const repository = await openOrCreate(deps, false, { loadIndex: false });
  const created = await withPg(target, target.database ?? 'postgres', options.env ?? process.env, async (client) => {
    const row = (
      await client.query<{ lsn: string; timeline: number; time: Date; system_identifier: string }>(
        `SELECT pg_create_restore_point($1)::text AS lsn, (SELECT timeline_id FROM pg_control_checkpoint()) AS timeline, clock_timestamp() AS time,
                (SELECT system_identifier::text FROM pg_control_system()) AS system_identifier`,
        [name],
      )
    ).rows[0]!;
    if (options.switchWal !== false) await client.query('SELECT pg_switch_wal()');
    return row;
  }).catch((error: unknown) => {
    if (error instanceof SourceError) throw error;
    throw new SourceError('postgres.restore_point_failed', `restore point on ${describePgTarget(target)}: ${(error as Error).message}`, { cause: error });
  });
  const record: RestorePointRecord = { name, lsn: created.lsn, timeline: Number(created.timeline), time: created.time.toISOString() };
  await new WalArchive(deps.storage, repository.keyring, created.system_identifier).saveRestorePoint(record);
  return { ...record, systemIdentifier: created.system_identifier };
}

/**
 * What a repository's snapshots are, by id, as far as base backups go (null: not a base backup), kept
 * between calls by whoever refreshes windows often. A snapshot object never changes once written, so
 * only snapshots not seen before are read.
 */
export type BaseBackupMemo = Map<string, BaseBackupSnapshot | null>;

/** The base backups of the repository, oldest first; optionally of one cluster. */
export async function listBaseBackups(repository: Repository, systemIdentifier?: string, memo?: BaseBackupMemo): Promise<BaseBackupSnapshot[]> {
  const snapshots = memo ? await rememberedBaseBackups(repository, memo) : await repository.listSnapshots();
  return snapshots.filter(
    (snapshot): snapshot is BaseBackupSnapshot => isBaseBackup(snapshot) && (systemIdentifier === undefined || snapshot.details.physical.systemIdentifier === systemIdentifier),
  );
}

function isBaseBackup(snapshot: Snapshot): snapshot is BaseBackupSnapshot {
  return snapshot.source === 'physical' && snapshot.details?.physical !== undefined;
}

/** The repository's base backups, oldest first, reading only the snapshots `memo` does not know yet. */
async function rememberedBaseBackups(repository: Repository, memo: BaseBackupMemo): Promise<BaseBackupSnapshot[]> {
  const ids = await repository.listSnapshotIds();
  // Keyed by repository too: one memo may outlive a repository replaced at the same location.
  const key = (id: string) => `${repository.config.id}/${id}`;
  await mapLimit(ids.filter((id) => !memo.has(key(id))), 8, async (id) => {
    const snapshot = await repository.loadSnapshot(id);
    memo.set(key(id), isBaseBackup(snapshot) ? snapshot : null);
  });
  const listed = new Set(ids.map(key));
  for (const known of memo.keys()) if (!listed.has(known)) memo.delete(known);
  return ids
    .map((id) => memo.get(key(id)))
    .filter((snapshot): snapshot is BaseBackupSnapshot => snapshot !== null && snapshot !== undefined)
    .sort((a, b) => a.time.localeCompare(b.time) || a.id.localeCompare(b.id));
}

/** The recoverability window of each cluster, and its named restore points (`pitr-status`). */
export interface RecoveryWindowsStatus {
  windows: RecoveryWindow[];
  restorePoints: Record<string, RestorePointRecord[]>;
}

export interface RecoveryWindowsOptions {
  /** Only this cluster (default: every cluster with base backups or archived WAL). */
  systemIdentifier?: string;
  /** List each cluster's restore points too (default true; a refresh for the metrics needs none). */
  restorePoints?: boolean;
  /** Snapshots already read by an earlier call (see {@link BaseBackupMemo}). */
  memo?: BaseBackupMemo;
}

/** Computes the recoverability window of every cluster with base backups or archived WAL; records nothing (see {@link refreshRecoveryWindows}). */
export async function recoveryWindows(deps: AppDeps, options: RecoveryWindowsOptions = {}): Promise<RecoveryWindowsStatus> {
  return computeWindows(deps, await openOrCreate(deps, false, { loadIndex: false }), options);
}

async function computeWindows(deps: AppDeps, repository: Repository, options: RecoveryWindowsOptions): Promise<RecoveryWindowsStatus> {
  const backups = await listBaseBackups(repository, undefined, options.memo);
  const clusters = options.systemIdentifier !== undefined
    ? [requireSystemIdentifier(options.systemIdentifier)]
    : [...new Set([...(await listArchivedClusters(deps.storage)), ...backups.map((b) => b.details.physical.systemIdentifier)])].sort();
  const windows: RecoveryWindow[] = [];
  const restorePoints: Record<string, RestorePointRecord[]> = {};
  for (const cluster of clusters) {
    const archive = new WalArchive(deps.storage, repository.keyring, cluster);
    const files = await archive.list();
    const histories = new Map<number, TimelineSwitch[]>();
    for (const history of files.filter((f) => f.file.kind === 'history')) {
      const content = await archive.fetch(history.file);
      if (content) histories.set(history.file.timeline, parseTimelineHistory(content.toString('utf8')));
    }
    windows.push(computeRecoveryWindow(cluster, files, histories, backups.filter((b) => b.details.physical.systemIdentifier === cluster).map((b) => ({ id: b.id, physical: b.details.physical }))));
    restorePoints[cluster] = options.restorePoints === false ? [] : await archive.listRestorePoints();
  }
  return { windows, restorePoints };
}

/**
 * `pitr-status`, the API's window and the `recovery_point` health check: computes the windows (as
 * {@link recoveryWindows}) and records them in `deps.recoveryWindowStore`, where the metrics read them.
 * With every cluster computed, the repository's records become exactly these: a cluster whose WAL and
 * base backups are all gone loses its record, and one whose WAL alone is gone keeps it with 0 segments
 * (its window then ends at its newest base backup). With one cluster asked for, only its record is
 * replaced, or removed when the repository holds nothing of it. The records carry the time the
 * computation started, so their age is never understated. Recording is a side effect: when it fails the
 * failure is logged and the computed windows are still returned.
 */
export async function refreshRecoveryWindows(deps: AppDeps, options: RecoveryWindowsOptions = {}): Promise<RecoveryWindowsStatus> {
  const computedAt = deps.clock.now().toISOString();
  const repository = await openOrCreate(deps, false, { loadIndex: false });
  const status = await computeWindows(deps, repository, options);
  const store = deps.recoveryWindowStore;
  if (store) {
    const records = status.windows.map((window) => windowRecord(repository.config.id, window, computedAt));
    try {
      if (options.systemIdentifier === undefined) await store.replaceWindows(repository.config.id, records);
      else if (records[0] && (records[0].segments > 0 || records[0].baseBackups > 0)) await store.putWindow(records[0]);
      else await store.deleteWindow(repository.config.id, requireSystemIdentifier(options.systemIdentifier));
    } catch (error) {
      deps.logger?.warn('could not record the recoverability windows in the catalog', { repository: repository.config.id, error: asBackupError(error).message });
    }
  }
  return status;
}

/**
 * The metrics' periodic refresh: {@link refreshRecoveryWindows} without restore points, when the
 * repository archives WAL — or when windows are on record, so that records whose WAL has gone are
 * brought up to date too. Otherwise (nothing archived, nothing recorded) it returns undefined after
 * one listing call, without opening the repository.
 */
export async function refreshArchivedWindows(deps: AppDeps, options: { memo?: BaseBackupMemo } = {}): Promise<RecoveryWindowsStatus | undefined> {
  if (!(await holdsArchivedWal(deps.storage)) && ((await deps.recoveryWindowStore?.listWindows()) ?? []).length === 0) return undefined;
  return refreshRecoveryWindows(deps, { restorePoints: false, ...(options.memo ? { memo: options.memo } : {}) });
}

/** Whether anything is stored under `wal/`: the first listed object answers (one request). */
async function holdsArchivedWal(storage: ObjectStorage): Promise<boolean> {
  const listing = storage.list(WAL_PREFIX)[Symbol.asyncIterator]();
  try {
    return (await listing.next()).done !== true;
  } finally {
    await listing.return?.();
  }
}

function windowRecord(repository: string, window: RecoveryWindow, computedAt: string): RecoveryWindowRecord {
  return {
    repository,
    systemIdentifier: window.systemIdentifier,
    ...(window.earliest !== undefined ? { earliest: window.earliest } : {}),
    ...(window.latest !== undefined ? { latest: window.latest } : {}),
    ...(window.latestLsn !== undefined ? { latestLsn: window.latestLsn } : {}),
    ...(window.latestSegment !== undefined ? { latestSegment: window.latestSegment } : {}),
    timeline: window.timeline,
    gaps: window.gaps,
    timelineSwitches: window.timelineSwitches,
    baseBackups: window.baseBackups.length,
    segments: window.segments,
    archivedBytes: window.archivedBytes,
    computedAt,
  };
}

export interface PitrRestoreInput {
  target: RecoveryTarget;
  dataDirectory: string;
  /** The cluster to restore; needed only when the repository holds base backups of several. */
  systemIdentifier?: string;
  /** Restore from this base backup instead of the one chosen for the target. */
  baseBackup?: string;
  /** restore_command for the restored server, given the cluster's system identifier (see pitr/recovery-config.ts). */
  restoreCommand: (systemIdentifier: string) => RestoreCommand;
  /** Start the server and wait until it has recovered to the target and promoted. */
  start?: { serverOptions: string[]; timeoutMs: number; logFile?: string };
  /** Original tablespace location → directory to restore it into (see pitr/tablespaces.ts parseTablespaceMappings). */
  tablespaceMappings?: TablespaceMappings;
  env?: NodeJS.ProcessEnv;
}

export interface PitrRestoreResult {
  baseBackup: string;
  systemIdentifier: string;
  target: string;
  dataDirectory: string;
  settings: Record<string, string>;
  /** What the server's environment must still provide for restore_command. */
  warnings: string[];
  extractMs: number;
  /** Where each user tablespace was restored (absent: the base backup has none). */
  tablespaces?: { oid: number; name: string; location: string; directory: string }[];
  recovery?: RecoveryOutcome;
}

/**
 * `pitr-restore`: picks the newest base backup that ends before the target, extracts it into an empty
 * data directory, writes the recovery settings (restore_command → wal-fetch, recovery_target_*,
 * promote) and recovery.signal, and with `start` starts the server and waits for the promotion.
 * Without `start`, starting PostgreSQL on the directory does the same. Each user tablespace goes to
 * its mapped directory or, unmapped, to its original location if that is absent or empty; all of this
 * is checked before anything is written, and `tablespace_map` is rewritten with the final locations
 * (PostgreSQL creates the pg_tblspc links from it when recovery starts). A failed extraction removes
 * what it wrote, in the data directory and in the tablespace directories.
 */
export async function pitrRestore(deps: AppDeps, input: PitrRestoreInput): Promise<PitrRestoreResult> {
  const dataDirectory = resolve(input.dataDirectory);
  const existing = await readdir(dataDirectory).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  if (existing.length > 0) throw new ConflictError('target_not_empty', `data directory ${dataDirectory} is not empty; restore into a new or empty directory`, { details: { field: 'data-dir' } });
  const env = input.env ?? process.env;
  return withRepository(deps, { lock: 'shared', operation: 'restore' }, async (repository) => {
    const backup = await pickBaseBackup(deps, repository, input);
    const physical = backup.details.physical;
    const placements = await placeTablespaces(physical.tablespaces ?? [], input.tablespaceMappings ?? new Map(), dataDirectory);
    const started = Date.now();
    await mkdir(dataDirectory, { recursive: true, mode: 0o700 });
    deps.progress.phase(`restore ${backup.id}`, { bytes: backup.stats.totalBytes });
    const restoreCommand = input.restoreCommand(physical.systemIdentifier);
    const settings = { restore_command: restoreCommand.command, ...recoverySettings(input.target) };
    try {
      await createTablespaceDirectories(placements);
      await extractBaseBackup(repository, backup, dataDirectory, placements);
      await writeRecoveryConfig(dataDirectory, settings, `chrono-backup pitr-restore ${new Date().toISOString()}: cluster ${physical.systemIdentifier} from base backup ${backup.id} to ${describeRecoveryTarget(input.target)}`);
    } catch (error) {
      // The directory was empty: leave it so rather than half a cluster someone might start.
      for (const entry of await readdir(dataDirectory).catch(() => [])) await rm(join(dataDirectory, entry), { recursive: true, force: true });
      await removeTablespaceDirectories(placements);
      throw error;
    }
    const extractMs = Date.now() - started;
    const result: PitrRestoreResult = { baseBackup: backup.id, systemIdentifier: physical.systemIdentifier, target: describeRecoveryTarget(input.target), dataDirectory, settings, warnings: restoreCommand.warnings, extractMs };
    if (placements.length > 0) result.tablespaces = placements.map((p) => ({ oid: p.tablespace.oid, name: p.tablespace.name, location: p.tablespace.location, directory: p.directory }));
    if (input.start) {
      deps.progress.phase('recover');
      result.recovery = await startAndAwaitRecovery(dataDirectory, {
        binDir: await serverBinDir(physical.serverMajor, env),
        serverOptions: input.start.serverOptions,
        logFile: input.start.logFile ?? resolve(dataDirectory, 'pitr-restore.log'),
        timeoutMs: input.start.timeoutMs,
        env,
      });
      // Recovery is over: nothing will ask for the segments fetched ahead any more.
      await rm(join(dataDirectory, PREFETCH_DIRECTORY), { recursive: true, force: true });
    }
    deps.progress.done();
    return result;
  });
}

async function pickBaseBackup(deps: AppDeps, repository: Repository, input: PitrRestoreInput): Promise<BaseBackupSnapshot> {
  const all = await listBaseBackups(repository, input.systemIdentifier !== undefined ? requireSystemIdentifier(input.systemIdentifier) : undefined);
  if (input.baseBackup !== undefined) {
    const named = all.find((backup) => backup.id === input.baseBackup);
    if (!named) throw new NotFoundError('base backup', input.baseBackup);
    return named;
  }
  const clusters = [...new Set(all.map((backup) => backup.details.physical.systemIdentifier))];
  if (clusters.length > 1) throw new ValidationError(`the repository holds base backups of several clusters (${clusters.join(', ')}): give --system-id`, 'system-id');
  let restorePointLsn: bigint | undefined;
  if (input.target.kind === 'name' && clusters[0] !== undefined) {
    const point = await new WalArchive(deps.storage, repository.keyring, clusters[0]).loadRestorePoint(input.target.name);
    if (point) restorePointLsn = parseLsn(point.lsn);
  }
  return chooseBaseBackup(all.map((snapshot) => ({ id: snapshot.id, physical: snapshot.details.physical, snapshot })), input.target, restorePointLsn).snapshot;
}

/**
 * Streams base.tar out of the repository into `tar -x` in the data directory (blobs authenticated as
 * they are read), each tablespace's tar into its placement, a separately stored backup manifest next to
 * them (where it sits when it comes inside base.tar), and with tablespaces rewrites `tablespace_map`
 * with the final locations (base.tar's names the original ones).
 */
async function extractBaseBackup(repository: Repository, backup: Snapshot, dataDirectory: string, placements: readonly TablespacePlacement[]): Promise<void> {
  const pool = new BlobPool(repository.keyring, { compression: 'none', chunker: repository.config.chunker });
  try {
    const files = await snapshotFiles(repository, backup.tree, pool);
    await extractTar(files, BASE_TAR, dataDirectory, backup.id);
    for (const placement of placements) await extractTar(files, placement.tablespace.file, placement.directory, backup.id);
    if (files.size(MANIFEST_FILE) !== undefined) await pipeline(Readable.from(files.open(MANIFEST_FILE)), createWriteStream(join(dataDirectory, MANIFEST_FILE), { mode: 0o600 }));
    if (placements.length > 0) await writeFile(join(dataDirectory, TABLESPACE_MAP), formatTablespaceMap(placements), { mode: 0o600 });
  } finally {
    await pool.close();
  }
}

/** Streams one tar file of the snapshot into `tar -x -C directory`. */
async function extractTar(files: StreamFiles, name: string, directory: string, backupId: string): Promise<void> {
  if (files.size(name) === undefined) throw new NotFoundError('file in snapshot', `${name} of ${backupId}`);
  // --no-same-owner: the files belong to whoever restores (PostgreSQL runs as the data directory's owner).
  const tar = spawn('tar', ['-x', '-f', '-', '--no-same-owner', '-C', directory], { stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = stderrTail(tar);
  const done = exited(tar);
  done.catch(() => undefined);
  try {
    for await (const part of files.open(name)) {
      if (!tar.stdin!.write(part)) await once(tar.stdin!, 'drain');
    }
    tar.stdin!.end();
  } catch (error) {
    tar.kill('SIGKILL');
    throw error;
  }
  const status = await done;
  if (status.code !== 0) throw new SourceError('postgres.extract_failed', `tar could not extract ${name} of ${backupId} into ${directory}: ${stderr() || `exit ${status.code ?? status.signal}`}`);
}

export interface WalPruneResult {
  dryRun: boolean;
  clusters: {
    systemIdentifier: string;
    /** The first segment kept: where the oldest base backup starts (absent: no base backup, nothing pruned). */
    keptFrom?: string;
    deleted: string[];
    deletedBytes: number;
    kept: number;
  }[];
}

/**
 * WAL retention: removes archived WAL older than the oldest base backup still in the repository, per
 * cluster (segments, .partial and backup history files before the segment where that backup starts).
 * Timeline history files stay: they are tiny and restores need them to follow timelines. A cluster
 * without any base backup keeps all its WAL. Retention of base backups is the snapshots' policy
 * (`forget`, `cleanup`); run this after it. Holds the exclusive lease, like `prune`, so no restore is
 * reading the WAL it removes.
 */
export async function pruneWal(deps: AppDeps, options: { dryRun?: boolean; lockWaitMs?: number } = {}): Promise<WalPruneResult> {
  return withRepository(deps, { lock: 'exclusive', operation: 'prune', lockWaitMs: options.lockWaitMs ?? 0 }, async (repository) => {
    const backups = await listBaseBackups(repository);
    const result: WalPruneResult = { dryRun: options.dryRun === true, clusters: [] };
    for (const cluster of await listArchivedClusters(deps.storage)) {
      const archive = new WalArchive(deps.storage, repository.keyring, cluster);
      const files = await archive.list();
      const from = walNeededFrom(backups.filter((b) => b.details.physical.systemIdentifier === cluster).map((b) => b.details.physical));
      if (!from) {
        result.clusters.push({ systemIdentifier: cluster, deleted: [], deletedBytes: 0, kept: files.length });
        continue;
      }
      const old = files.filter((f) => !isWalNeeded(f.file, from));
      if (!result.dryRun) await mapLimit(old, 8, (f) => archive.remove(f.file));
      result.clusters.push({
        systemIdentifier: cluster,
        keptFrom: from.name,
        deleted: old.map((f) => f.file.name).sort(),
        deletedBytes: old.reduce((sum, f) => sum + f.size, 0),
        kept: files.length - old.length,
      });
    }
    return result;
  });
}

