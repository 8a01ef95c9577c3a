import Database from 'better-sqlite3';
import { chmodSync, closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';

import { NotFoundError, ConflictError, StorageError, ValidationError } from '../domain/errors.js';
import { parseLimit, parseTime, pathsKey, requireText, SqliteStore, translateError } from './sqlite-store.js';
import type { Plan } from '../domain/plan.js';
import type { Snapshot } from '../domain/snapshot.js';
import type {
  Catalog,
  NewStorageBackend,
  ReplicationFilter,
  ReplicationReceipt,
  RunFilter,
  RunRecord,
  RunResult,
  RunStatus,
  SnapshotFilter,
  StorageBackendRecord,
} from '../ports/catalog.js';

/** Options for {@link SqliteCatalog.open}. */
export interface SqliteCatalogOptions {
  /**
   * How long a statement waits for another connection's write lock before failing with a retryable
   * `storage.catalog_busy` error. Defaults to 5 seconds.
   */
  busyTimeoutMs?: number;
}

/** The schema version this code writes; stored in `PRAGMA user_version`. */
export const SQLITE_CATALOG_SCHEMA_VERSION = 5;

/**
 * Migrations, index `i` upgrading a database from version `i` to `i + 1`. Append only: a released
 * migration is never edited, because catalogs in the field have already run it.
 */
const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE snapshots (
    repository TEXT NOT NULL,
    id         TEXT NOT NULL,
    time       TEXT NOT NULL,
    -- ISO strings of different precision do not sort as text ("12:00:00Z" > "12:00:00.500Z"),
    -- so ordering and "before" use the instant in milliseconds.
    time_ms    INTEGER NOT NULL,
    type       TEXT NOT NULL,
    source     TEXT NOT NULL,
    backup_id  TEXT NOT NULL,
    -- Sorted JSON array of the paths, so the order-insensitive "paths" filter is one equality.
    paths_key  TEXT NOT NULL,
    data       TEXT NOT NULL,
    PRIMARY KEY (repository, id)
  ) STRICT;
  CREATE INDEX snapshots_newest ON snapshots (repository, time_ms DESC, id DESC);
  CREATE INDEX snapshots_backup ON snapshots (repository, backup_id);

  CREATE TABLE runs (
    id         TEXT PRIMARY KEY,
    repository TEXT NOT NULL,
    kind       TEXT NOT NULL,
    status     TEXT NOT NULL,
    started_at TEXT NOT NULL,
    started_ms INTEGER NOT NULL,
    data       TEXT NOT NULL
  ) STRICT;
  CREATE INDEX runs_newest ON runs (started_ms DESC, id DESC);
  CREATE INDEX runs_repository ON runs (repository, started_ms DESC, id DESC);
  `,
  // 2: named storage backends and replication receipts. Only new tables: version-1 data is untouched.
  `
  CREATE TABLE storage_backends (
    -- AUTOINCREMENT: the API refers to backends by this id, so an id is never given out twice.
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL UNIQUE,
    data    TEXT NOT NULL
  ) STRICT;

  CREATE TABLE replication_receipts (
    id                TEXT PRIMARY KEY,
    source_repository TEXT NOT NULL,
    snapshot_id       TEXT NOT NULL,
    time_ms           INTEGER NOT NULL,
    data              TEXT NOT NULL
  ) STRICT;
  CREATE INDEX replication_receipts_newest ON replication_receipts (time_ms DESC, id DESC);
  CREATE INDEX replication_receipts_source ON replication_receipts (source_repository, snapshot_id, time_ms DESC);
  `,
  // 3: backup plans, as the API and `plan import` store them.
  `
  CREATE TABLE plans (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
  ) STRICT;
  `,
  // 4: the server's state — users, schedules and the occurrences they fired, retention policies, the
  // hash-chained audit trail and alert throttling state. Only new tables.
  `
  CREATE TABLE users (
    id    TEXT PRIMARY KEY,
    email TEXT NOT NULL UNIQUE COLLATE NOCASE,
    data  TEXT NOT NULL
  ) STRICT;

  CREATE TABLE schedules (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    data TEXT NOT NULL
  ) STRICT;

  -- One row per occurrence a schedule has claimed: the primary key is what makes an occurrence run
  -- at most once, across restarts and across processes sharing the file.
  CREATE TABLE schedule_occurrences (
    schedule_id   TEXT NOT NULL,
    occurrence_ms INTEGER NOT NULL,
    data          TEXT NOT NULL,
    PRIMARY KEY (schedule_id, occurrence_ms)
  ) STRICT;

  CREATE TABLE retention_policies (
    name TEXT PRIMARY KEY,
    data TEXT NOT NULL
  ) STRICT;

  CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY,
    time_ms   INTEGER NOT NULL,
    data      TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash      TEXT NOT NULL
  ) STRICT;
  CREATE INDEX audit_log_time ON audit_log (time_ms);

  CREATE TABLE alert_state (
    condition_key TEXT PRIMARY KEY,
    data          TEXT NOT NULL
  ) STRICT;

  -- The API filters the history by plan and looks a backup up by its id: both become columns.
  ALTER TABLE runs ADD COLUMN plan TEXT;
  ALTER TABLE runs ADD COLUMN snapshot_id TEXT;
  UPDATE runs SET plan = json_extract(data, '$.summary.plan'), snapshot_id = json_extract(data, '$.snapshotId');
  CREATE INDEX runs_kind_newest ON runs (kind, started_ms DESC, id DESC);
  CREATE INDEX runs_snapshot ON runs (snapshot_id);
  `,
  // 5: the last computed PostgreSQL recoverability window per repository and cluster, for metrics.
  // Columns rather than one JSON text, so that the table answers an operator's query as it stands.
  `
  CREATE TABLE recovery_windows (
    repository        TEXT NOT NULL,
    system_identifier TEXT NOT NULL,
    earliest          TEXT,
    latest            TEXT,
    latest_lsn        TEXT,
    latest_segment    TEXT,
    timeline          INTEGER NOT NULL,
    gap_count         INTEGER NOT NULL,
    gaps              TEXT NOT NULL,
    timeline_switches TEXT NOT NULL,
    base_backups      INTEGER NOT NULL,
    segments          INTEGER NOT NULL,
    archived_bytes    INTEGER NOT NULL,
    computed_at       TEXT NOT NULL,
    PRIMARY KEY (repository, system_identifier)
  ) STRICT;
  `,
];

const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'interrupted'];

interface SnapshotRow {
  data: string;
}

interface RunRow {
  data: string;
}

type SqlValue = string | number;

function planOf(run: RunRecord): string | null {
  const plan = run.summary?.plan;
  return typeof plan === 'string' ? plan : null;
}

/**
 * The embedded catalog: one SQLite file (or `:memory:`) holding the snapshot index of any number of
 * repositories and the run history.
 *
 * The file is opened in WAL mode with a busy timeout, so a CLI command and the local server can use the
 * same catalog at once: readers never block the writer, and a second writer waits instead of failing.
 * Each snapshot is stored as its JSON plus the indexed columns that filters and ordering need.
 */
export class SqliteCatalog extends SqliteStore implements Catalog {
  private constructor(db: Database.Database) {
    super(db);
  }

  /**
   * A store sharing this catalog's connection and file (users, schedules, audit trail): the catalog
   * owns the connection, so closing the catalog closes them all.
   */
  sibling<T>(create: (db: Database.Database) => T): T {
    return create(this.db);
  }

  /**
   * Opens (creating if needed) the catalog at `path`: creates the parent directory, creates the file
   * with mode 0600, and creates or migrates the schema. `:memory:` gives a private in-memory catalog.
   *
   * @throws StorageError `storage.catalog_failed` when the file cannot be opened, or
   *   `storage.catalog_too_new` when it was written by a newer version of Chrono Backup.
   */
  static open(path: string, options: SqliteCatalogOptions = {}): SqliteCatalog {
    const busyTimeoutMs = options.busyTimeoutMs ?? 5000;
    if (!Number.isInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
      throw new ValidationError('busyTimeoutMs must be a non-negative integer', 'busyTimeoutMs');
    }
    const inMemory = path === ':memory:';
    if (!inMemory) {
      if (path.trim() === '') throw new ValidationError('catalog path must not be empty', 'path');
      createPrivateFile(path);
    }

    let db: Database.Database;
    try {
      db = new Database(path);
    } catch (error) {
      throw translateError(error, `open ${path}`);
    }
    try {
      // busy_timeout first: switching to WAL itself needs a lock another process may hold.
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      if (!inMemory) db.pragma('journal_mode = WAL');
      migrate(db, path);
    } catch (error) {
      db.close();
      throw translateError(error, `open ${path}`);
    }
    return new SqliteCatalog(db);
  }

  /** Inserts or replaces the record of `snapshot.id` in `repository`. */
  putSnapshot(repository: string, snapshot: Snapshot): Promise<void> {
    return this.guard('putSnapshot', () => {
      requireText(repository, 'repository');
      this.insertSnapshot(repository, snapshot);
    });
  }

  /** The record of `id` in `repository`, or undefined. */
  getSnapshot(repository: string, id: string): Promise<Snapshot | undefined> {
    return this.guard('getSnapshot', () => {
      const row = this.statement('SELECT data FROM snapshots WHERE repository = ? AND id = ?').get(repository, id) as
        | SnapshotRow
        | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as Snapshot);
    });
  }

  /** Snapshots of `repository`, newest first (time, then id, both descending), filtered by `filter`. */
  listSnapshots(repository: string, filter: SnapshotFilter = {}): Promise<Snapshot[]> {
    return this.guard('listSnapshots', () => {
      const where = ['repository = ?'];
      const params: SqlValue[] = [repository];
      if (filter.type !== undefined) {
        where.push('type = ?');
        params.push(filter.type);
      }
      if (filter.source !== undefined) {
        where.push('source = ?');
        params.push(filter.source);
      }
      if (filter.paths !== undefined) {
        where.push('paths_key = ?');
        params.push(pathsKey(filter.paths, 'filter.paths'));
      }
      if (filter.tag !== undefined) {
        // Membership, not substring: "daily" must not match a "daily-extra" tag.
        where.push(`EXISTS (SELECT 1 FROM json_each(snapshots.data, '$.tags') WHERE json_each.value = ?)`);
        params.push(filter.tag);
      }
      if (filter.before !== undefined) {
        where.push('time_ms < ?');
        params.push(parseTime(filter.before, 'filter.before'));
      }
      let sql = `SELECT data FROM snapshots WHERE ${where.join(' AND ')} ORDER BY time_ms DESC, id DESC`;
      if (filter.limit !== undefined) {
        sql += ' LIMIT ?';
        params.push(parseLimit(filter.limit, 'filter.limit'));
      }
      const rows = this.statement(sql).all(...params) as SnapshotRow[];
      return rows.map((row) => JSON.parse(row.data) as Snapshot);
    });
  }

  /** Removes the record of `id` from `repository`; a missing id is not an error. */
  deleteSnapshot(repository: string, id: string): Promise<void> {
    return this.guard('deleteSnapshot', () => {
      this.statement('DELETE FROM snapshots WHERE repository = ? AND id = ?').run(repository, id);
    });
  }

  /**
   * Replaces every snapshot record of `repository` with `snapshots` in one transaction: other
   * connections see the old set or the new one, and a failure (an invalid record) leaves the old set.
   * Records of other repositories are untouched. A repeated id keeps the last record given.
   */
  replaceSnapshots(repository: string, snapshots: Snapshot[]): Promise<void> {
    return this.guard('replaceSnapshots', () => {
      requireText(repository, 'repository');
      const swap = this.db.transaction((items: Snapshot[]) => {
        this.statement('DELETE FROM snapshots WHERE repository = ?').run(repository);
        for (const snapshot of items) this.insertSnapshot(repository, snapshot);
      });
      // IMMEDIATE takes the write lock up front (waiting up to busy_timeout); a deferred transaction
      // that upgrades from read to write can fail at once with SQLITE_BUSY under WAL.
      swap.immediate(snapshots);
    });
  }

  /**
   * Records a new run. `run.status` must be `running`.
   *
   * @throws ConflictError `conflict.run_exists` when a run with this id is already recorded.
   */
  startRun(run: RunRecord): Promise<void> {
    return this.guard('startRun', () => {
      requireText(run.id, 'run.id');
      requireText(run.repository, 'run.repository');
      requireText(run.kind, 'run.kind');
      if (run.status !== 'running') {
        throw new ValidationError(`run.status must be "running" when a run starts (got "${String(run.status)}")`, 'run.status');
      }
      const startedMs = parseTime(run.startedAt, 'run.startedAt');
      const result = this.statement(
        `INSERT INTO runs (id, repository, kind, status, started_at, started_ms, plan, snapshot_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      ).run(run.id, run.repository, run.kind, run.status, run.startedAt, startedMs, planOf(run), run.snapshotId ?? null, JSON.stringify(run));
      if (result.changes === 0) {
        throw new ConflictError('run_exists', `run ${run.id} is already recorded`, { details: { id: run.id } });
      }
    });
  }

  /**
   * Sets the final status of run `id` with its finish time, error, summary and snapshot id. Fields
   * of `result` that are absent keep the run's earlier values, except `error`, which the final result
   * alone decides.
   *
   * @throws NotFoundError when no run `id` is recorded.
   */
  finishRun(id: string, result: RunResult): Promise<void> {
    return this.guard('finishRun', () => {
      if (!FINAL_STATUSES.includes(result.status)) {
        throw new ValidationError(
          `result.status must be one of ${FINAL_STATUSES.join(', ')} (got "${String(result.status)}")`,
          'result.status',
        );
      }
      parseTime(result.finishedAt, 'result.finishedAt');
      const finish = this.db.transaction(() => {
        const row = this.statement('SELECT data FROM runs WHERE id = ?').get(id) as RunRow | undefined;
        if (row === undefined) throw new NotFoundError('run', id);
        const run = JSON.parse(row.data) as RunRecord;
        const updated: RunRecord = {
          ...run,
          status: result.status,
          finishedAt: result.finishedAt,
          snapshotId: result.snapshotId ?? run.snapshotId,
          error: result.error,
          summary: result.summary ?? run.summary,
        };
        this.statement('UPDATE runs SET status = ?, plan = ?, snapshot_id = ?, data = ? WHERE id = ?').run(
          updated.status,
          planOf(updated),
          updated.snapshotId ?? null,
          JSON.stringify(updated),
          id,
        );
      });
      finish.immediate();
    });
  }

  /** The run `id`, or undefined. */
  getRun(id: string): Promise<RunRecord | undefined> {
    return this.guard('getRun', () => {
      const row = this.statement('SELECT data FROM runs WHERE id = ?').get(id) as RunRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as RunRecord);
    });
  }

  /** Runs newest first (start time, then id, both descending), filtered by `filter`. */
  listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.guard('listRuns', () => {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.kind !== undefined) {
        where.push('kind = ?');
        params.push(filter.kind);
      }
      if (filter.status !== undefined) {
        where.push('status = ?');
        params.push(filter.status);
      }
      if (filter.repository !== undefined) {
        where.push('repository = ?');
        params.push(filter.repository);
      }
      if (filter.plan !== undefined) {
        where.push('plan = ?');
        params.push(filter.plan);
      }
      if (filter.backupType !== undefined) {
        where.push("json_extract(data, '$.summary.type') = ?");
        params.push(filter.backupType);
      }
      if (filter.snapshotId !== undefined) {
        where.push('snapshot_id = ?');
        params.push(filter.snapshotId);
      }
      if (filter.since !== undefined) {
        where.push('started_ms >= ?');
        params.push(parseTime(filter.since, 'filter.since'));
      }
      if (filter.until !== undefined) {
        where.push('started_ms < ?');
        params.push(parseTime(filter.until, 'filter.until'));
      }
      if (filter.after !== undefined) {
        // Keyset pagination: strictly after the cursor in (started, id) descending order.
        where.push('(started_ms < ? OR (started_ms = ? AND id < ?))');
        const afterMs = parseTime(filter.after.startedAt, 'filter.after.startedAt');
        params.push(afterMs, afterMs, filter.after.id);
      }
      let sql = 'SELECT data FROM runs';
      if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
      sql += ' ORDER BY started_ms DESC, id DESC';
      if (filter.limit !== undefined) {
        sql += ' LIMIT ?';
        params.push(parseLimit(filter.limit, 'filter.limit'));
      }
      const rows = this.statement(sql).all(...params) as RunRow[];
      return rows.map((row) => JSON.parse(row.data) as RunRecord);
    });
  }

  /**
   * Records a storage backend under a new id (never reused, even after a delete).
   *
   * @throws ConflictError `conflict.storage_backend_exists` when the name is taken.
   */
  createStorageBackend(backend: NewStorageBackend): Promise<StorageBackendRecord> {
    return this.guard('createStorageBackend', () => {
      requireText(backend.name, 'name');
      requireText(backend.type, 'type');
      if (typeof backend.config !== 'object' || backend.config === null || Array.isArray(backend.config)) {
        throw new ValidationError('config must be an object', 'config');
      }
      const created = new Date().toISOString();
      const insert = this.db.transaction((): StorageBackendRecord => {
        const result = this.statement('INSERT INTO storage_backends (name, data) VALUES (?, ?) ON CONFLICT (name) DO NOTHING').run(backend.name, '{}');
        if (result.changes === 0) {
          throw new ConflictError('storage_backend_exists', `a storage backend named "${backend.name}" already exists`, { details: { name: backend.name } });
        }
        const record: StorageBackendRecord = { id: Number(result.lastInsertRowid), name: backend.name, type: backend.type, config: backend.config, created };
        this.statement('UPDATE storage_backends SET data = ? WHERE id = ?').run(JSON.stringify(record), record.id);
        return record;
      });
      return insert.immediate();
    });
  }

  /** The backend with this id or name, or undefined. */
  getStorageBackend(idOrName: number | string): Promise<StorageBackendRecord | undefined> {
    return this.guard('getStorageBackend', () => {
      const row = (typeof idOrName === 'number'
        ? this.statement('SELECT data FROM storage_backends WHERE id = ?').get(idOrName)
        : this.statement('SELECT data FROM storage_backends WHERE name = ?').get(idOrName)) as { data: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as StorageBackendRecord);
    });
  }

  /** Every backend, by name. */
  listStorageBackends(): Promise<StorageBackendRecord[]> {
    return this.guard('listStorageBackends', () => {
      const rows = this.statement('SELECT data FROM storage_backends ORDER BY name').all() as { data: string }[];
      return rows.map((row) => JSON.parse(row.data) as StorageBackendRecord);
    });
  }

  /** @throws NotFoundError when no backend has this name. */
  deleteStorageBackend(name: string): Promise<void> {
    return this.guard('deleteStorageBackend', () => {
      const result = this.statement('DELETE FROM storage_backends WHERE name = ?').run(name);
      if (result.changes === 0) throw new NotFoundError('storage backend', name);
    });
  }

  putPlan(plan: Plan): Promise<void> {
    return this.guard('putPlan', () => {
      requireText(plan.name, 'plan.name');
      this.statement('INSERT INTO plans (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data').run(plan.name, JSON.stringify(plan));
    });
  }

  getPlan(name: string): Promise<Plan | undefined> {
    return this.guard('getPlan', () => {
      const row = this.statement('SELECT data FROM plans WHERE name = ?').get(name) as { data: string } | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as Plan);
    });
  }

  listPlans(): Promise<Plan[]> {
    return this.guard('listPlans', () => (this.statement('SELECT data FROM plans ORDER BY name').all() as { data: string }[]).map((row) => JSON.parse(row.data) as Plan));
  }

  /** @throws NotFoundError when no plan has this name. */
  deletePlan(name: string): Promise<void> {
    return this.guard('deletePlan', () => {
      if (this.statement('DELETE FROM plans WHERE name = ?').run(name).changes === 0) throw new NotFoundError('plan', name);
    });
  }

  /** @throws ConflictError `conflict.receipt_exists` when a receipt with this id is recorded. */
  recordReplication(receipt: ReplicationReceipt): Promise<void> {
    return this.guard('recordReplication', () => {
      requireText(receipt.id, 'receipt.id');
      requireText(receipt.snapshotId, 'receipt.snapshotId');
      requireText(receipt.source?.repository, 'receipt.source.repository');
      requireText(receipt.destination?.location, 'receipt.destination.location');
      const timeMs = parseTime(receipt.time, 'receipt.time');
      const result = this.statement(
        `INSERT INTO replication_receipts (id, source_repository, snapshot_id, time_ms, data) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (id) DO NOTHING`,
      ).run(receipt.id, receipt.source.repository, receipt.snapshotId, timeMs, JSON.stringify(receipt));
      if (result.changes === 0) throw new ConflictError('receipt_exists', `replication receipt ${receipt.id} is already recorded`, { details: { id: receipt.id } });
    });
  }

  /** Receipts newest first (time, then id), filtered by `filter`. */
  listReplications(filter: ReplicationFilter = {}): Promise<ReplicationReceipt[]> {
    return this.guard('listReplications', () => {
      const where: string[] = [];
      const params: SqlValue[] = [];
      if (filter.sourceRepository !== undefined) {
        where.push('source_repository = ?');
        params.push(filter.sourceRepository);
      }
      if (filter.snapshotId !== undefined) {
        where.push('snapshot_id = ?');
        params.push(filter.snapshotId);
      }
      let sql = 'SELECT data FROM replication_receipts';
      if (where.length > 0) sql += ` WHERE ${where.join(' AND ')}`;
      sql += ' ORDER BY time_ms DESC, id DESC';
      if (filter.limit !== undefined) {
        sql += ' LIMIT ?';
        params.push(parseLimit(filter.limit, 'filter.limit'));
      }
      return (this.statement(sql).all(...params) as { data: string }[]).map((row) => JSON.parse(row.data) as ReplicationReceipt);
    });
  }

  /** Closes the database. Closing twice is harmless; any other call after closing fails. */
  close(): Promise<void> {
    if (this.db.open) {
      this.forgetStatements();
      this.db.close();
    }
    return Promise.resolve();
  }

  private insertSnapshot(repository: string, snapshot: Snapshot): void {
    requireText(snapshot.id, 'snapshot.id');
    requireText(snapshot.backupId, 'snapshot.backupId');
    requireText(snapshot.type, 'snapshot.type');
    requireText(snapshot.source, 'snapshot.source');
    const timeMs = parseTime(snapshot.time, 'snapshot.time');
    const paths = pathsKey(snapshot.paths, 'snapshot.paths');
    if (!Array.isArray(snapshot.tags) || !snapshot.tags.every((tag) => typeof tag === 'string')) {
      throw new ValidationError('snapshot.tags must be an array of strings', 'snapshot.tags');
    }
    this.statement(
      `INSERT INTO snapshots (repository, id, time, time_ms, type, source, backup_id, paths_key, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (repository, id) DO UPDATE SET
         time = excluded.time, time_ms = excluded.time_ms, type = excluded.type, source = excluded.source,
         backup_id = excluded.backup_id, paths_key = excluded.paths_key, data = excluded.data`,
    ).run(repository, snapshot.id, snapshot.time, timeMs, snapshot.type, snapshot.source, snapshot.backupId, paths, JSON.stringify(snapshot));
  }
}

/**
 * Creates the catalog file with mode 0600 before SQLite opens it, because SQLite would create it with
 * the process umask (usually 0644). SQLite gives its -wal and -shm files the mode of the database file.
 * An existing file keeps its mode: the operator may have chosen it.
 */
function createPrivateFile(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    const fd = openSync(path, 'wx', 0o600);
    closeSync(fd);
    // The umask can only remove bits, but be explicit in case the mode argument was ignored.
    chmodSync(path, 0o600);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return;
    throw new StorageError('catalog_failed', `cannot create catalog file ${path}: ${(error as Error).message}`, { cause: error });
  }
}

/** Brings the schema to {@link SQLITE_CATALOG_SCHEMA_VERSION}, refusing databases from newer versions. */
function migrate(db: Database.Database, path: string): void {
  const readVersion = (): number => db.pragma('user_version', { simple: true }) as number;
  const check = (version: number): void => {
    if (version > SQLITE_CATALOG_SCHEMA_VERSION) {
      throw new StorageError(
        'catalog_too_new',
        `catalog ${path} has schema version ${version}, newer than this version of Chrono Backup supports ` +
          `(${SQLITE_CATALOG_SCHEMA_VERSION}); upgrade Chrono Backup or rebuild the catalog`,
        { details: { version, supported: SQLITE_CATALOG_SCHEMA_VERSION } },
      );
    }
  };
  const seen = readVersion();
  check(seen);
  if (seen === SQLITE_CATALOG_SCHEMA_VERSION) return; // the common case takes no write lock
  db.transaction(() => {
    // Re-read under the write lock: another process may have migrated meanwhile.
    const current = readVersion();
    check(current);
    for (let version = current; version < SQLITE_CATALOG_SCHEMA_VERSION; version++) {
      db.exec(MIGRATIONS[version] as string);
    }
    db.pragma(`user_version = ${SQLITE_CATALOG_SCHEMA_VERSION}`);
  }).immediate();
}

