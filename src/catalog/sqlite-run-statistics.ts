import type Database from 'better-sqlite3';

import { newestRunIds, runFacts, tallyRuns, type RunFacts } from '../domain/run-statistics.js';
import type { RunKind, RunRecord } from '../ports/catalog.js';
import type { LatestRunsQuery, RunStatistics, RunTally, SnapshotTotals } from '../ports/run-statistics.js';
import type { Snapshot } from '../domain/snapshot.js';
import { SqliteStore } from './sqlite-store.js';

/**
 * The run statistics of the SQLite catalog, read incrementally: the first call reads every run and
 * snapshot record, later calls only the rows added since (by rowid) and the runs that were still
 * running. The counting itself happens over the few facts kept per row (src/domain/run-statistics.ts).
 *
 * Why not SQL aggregates: the labels live in each row's JSON, and SQLite's JSON functions parse the
 * text on every call — counting 10,000 runs that way took ~120 ms, as long as reading them all. Why not
 * generated columns: that needs a schema migration; this needs none.
 *
 * A cheap fingerprint (the row count; for snapshots also the sum of the indexed time column) is
 * compared after each refresh: when rows were deleted, or a rowid reused or renumbered (VACUUM), it
 * differs and everything is read again. Obtain with `catalog.sibling((db) => new SqliteRunStatistics(db))`, and keep it: what
 * it has read is the point.
 */
export class SqliteRunStatistics extends SqliteStore implements RunStatistics {
  // Runs are never deleted (the port has no call for it), so their row count alone tells a change
  // that rowids do not; snapshots are forgotten, so theirs also sums the indexed time column.
  private readonly runs = new IncrementalRows<RunFacts>('runs', undefined, (data) => runFacts(JSON.parse(data) as RunRecord), (facts) => facts.startedMs, (facts) => facts.status === 'running');
  private readonly snapshots = new IncrementalRows<SnapshotRow>('snapshots', 'time_ms', snapshotRow, (row) => row.timeMs, () => false);

  private readonly prepare = (sql: string) => this.statement(sql);

  constructor(db: Database.Database) {
    super(db);
  }

  tallyRuns(kinds: readonly RunKind[]): Promise<RunTally[]> {
    return this.guard('tallyRuns', () => tallyRuns(this.runs.refresh(this.db, this.prepare), kinds));
  }

  latestRuns(query: LatestRunsQuery): Promise<RunRecord[]> {
    return this.guard('latestRuns', () =>
      newestRunIds(this.runs.refresh(this.db, this.prepare), query).flatMap((id) => {
        const row = this.statement('SELECT data FROM runs WHERE id = ?').get(id) as { data: string } | undefined;
        return row ? [JSON.parse(row.data) as RunRecord] : [];
      }),
    );
  }

  snapshotTotals(): Promise<SnapshotTotals[]> {
    return this.guard('snapshotTotals', () => {
      const totals = new Map<string, SnapshotTotals>();
      for (const row of this.snapshots.refresh(this.db, this.prepare)) {
        const entry = totals.get(row.repository) ?? { repository: row.repository, snapshots: 0, totalBytes: 0, bytesAdded: 0, bytesStored: 0 };
        entry.snapshots++;
        entry.totalBytes += row.totalBytes;
        entry.bytesAdded += row.bytesAdded;
        entry.bytesStored += row.bytesStored;
        totals.set(row.repository, entry);
      }
      return [...totals.values()].sort((a, b) => (a.repository < b.repository ? -1 : 1));
    });
  }
}

interface SnapshotRow {
  repository: string;
  timeMs: number;
  totalBytes: number;
  bytesAdded: number;
  bytesStored: number;
}

function snapshotRow(data: string, repository: string): SnapshotRow {
  const snapshot = JSON.parse(data) as Snapshot;
  const stats = snapshot.stats ?? {};
  return { repository, timeMs: Date.parse(snapshot.time), totalBytes: stats.totalBytes ?? 0, bytesAdded: stats.bytesAdded ?? 0, bytesStored: stats.bytesStored ?? 0 };
}

/**
 * The rows of one table, mapped to small facts and kept by rowid. `refresh` reads the rows past the
 * highest rowid seen plus the unsettled ones (runs still running), then checks the fingerprint.
 */
class IncrementalRows<T> {
  private readonly rows = new Map<number, T>();
  private readonly unsettled = new Set<number>();
  private highest = 0;
  private timeSum = 0;

  constructor(
    private readonly table: 'runs' | 'snapshots',
    private readonly timeColumn: 'time_ms' | undefined,
    private readonly map: (data: string, repository: string) => T,
    private readonly timeOf: (row: T) => number,
    private readonly isUnsettled: (row: T) => boolean,
  ) {}

  refresh(db: Database.Database, prepare: (sql: string) => Database.Statement): Iterable<T> {
    const read = db.transaction(() => {
      const fresh = prepare(`SELECT rowid, repository, data FROM ${this.table} WHERE rowid > ? ORDER BY rowid`).all(this.highest) as RawRow[];
      const again = this.unsettled.size === 0 ? [] : (prepare(`SELECT rowid, repository, data FROM ${this.table} WHERE rowid IN (SELECT value FROM json_each(?))`).all(JSON.stringify([...this.unsettled])) as RawRow[]);
      const fingerprint = prepare(`SELECT count(*) AS count, ${this.timeColumn ? `coalesce(sum(${this.timeColumn} % ${TIME_MODULUS}), 0)` : 'NULL'} AS timeSum FROM ${this.table}`).get() as { count: number; timeSum: number | null };
      return { fresh, again, fingerprint };
    });
    // One read transaction: the rows and the fingerprint describe the same state of the file.
    const { fresh, again, fingerprint } = read.deferred();
    for (const row of [...again, ...fresh]) this.put(row);
    if (fingerprint.count !== this.rows.size || (fingerprint.timeSum !== null && fingerprint.timeSum !== this.timeSum)) {
      this.rows.clear();
      this.unsettled.clear();
      this.highest = 0;
      this.timeSum = 0;
      const all = prepare(`SELECT rowid, repository, data FROM ${this.table}`).all() as RawRow[];
      for (const row of all) this.put(row);
    }
    return this.rows.values();
  }

  private put(raw: RawRow): void {
    const previous = this.rows.get(raw.rowid);
    if (previous !== undefined) this.timeSum -= this.timeOf(previous) % TIME_MODULUS;
    const row = this.map(raw.data, raw.repository);
    this.rows.set(raw.rowid, row);
    this.timeSum += this.timeOf(row) % TIME_MODULUS;
    if (this.isUnsettled(row)) this.unsettled.add(raw.rowid);
    else this.unsettled.delete(raw.rowid);
    this.highest = Math.max(this.highest, raw.rowid);
  }
}

/** Times enter the fingerprint modulo this, so the sums stay exact integers in SQLite and in JavaScript. */
const TIME_MODULUS = 1_000_003;

interface RawRow {
  rowid: number;
  repository: string;
  data: string;
}
