import type Database from 'better-sqlite3';

import type { Catalog } from '../ports/catalog.js';
import { requireWindowsOf, type RecoveryWindowRecord, type RecoveryWindowStore } from '../ports/recovery-window-store.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { SqliteStore } from './sqlite-store.js';

interface WindowRow {
  repository: string;
  system_identifier: string;
  earliest: string | null;
  latest: string | null;
  latest_lsn: string | null;
  latest_segment: string | null;
  timeline: number;
  gap_count: number;
  gaps: string;
  timeline_switches: string;
  base_backups: number;
  segments: number;
  archived_bytes: number;
  computed_at: string;
}

const COLUMNS = 'repository, system_identifier, earliest, latest, latest_lsn, latest_segment, timeline, gap_count, gaps, timeline_switches, base_backups, segments, archived_bytes, computed_at';

const UPSERT =
  `INSERT INTO recovery_windows (${COLUMNS}) VALUES (@repository, @system_identifier, @earliest, @latest, @latest_lsn, @latest_segment, @timeline, @gap_count, @gaps, @timeline_switches, @base_backups, @segments, @archived_bytes, @computed_at) ` +
  'ON CONFLICT (repository, system_identifier) DO UPDATE SET ' +
  COLUMNS.split(', ')
    .slice(2)
    .map((column) => `${column} = excluded.${column}`)
    .join(', ');

/** Recoverability windows in the catalog file (table `recovery_windows`, schema v5), one row per repository and cluster. */
export class SqliteRecoveryWindowStore extends SqliteStore implements RecoveryWindowStore {
  constructor(db: Database.Database) {
    super(db);
  }

  putWindow(record: RecoveryWindowRecord): Promise<void> {
    return this.guard('putRecoveryWindow', () => {
      requireWindowsOf(record.repository, [record]);
      this.statement(UPSERT).run(toRow(record));
    });
  }

  replaceWindows(repository: string, records: readonly RecoveryWindowRecord[]): Promise<void> {
    return this.guard('replaceRecoveryWindows', () => {
      requireWindowsOf(repository, records);
      // One transaction: readers see the old set or the new one.
      this.db.transaction(() => {
        const kept = new Set(records.map((record) => record.systemIdentifier));
        const existing = this.statement('SELECT system_identifier FROM recovery_windows WHERE repository = ?').all(repository) as { system_identifier: string }[];
        for (const { system_identifier: cluster } of existing) {
          if (!kept.has(cluster)) this.statement('DELETE FROM recovery_windows WHERE repository = ? AND system_identifier = ?').run(repository, cluster);
        }
        for (const record of records) this.statement(UPSERT).run(toRow(record));
      })();
    });
  }

  deleteWindow(repository: string, systemIdentifier: string): Promise<void> {
    return this.guard('deleteRecoveryWindow', () => {
      this.statement('DELETE FROM recovery_windows WHERE repository = ? AND system_identifier = ?').run(repository, systemIdentifier);
    });
  }

  listWindows(repository?: string): Promise<RecoveryWindowRecord[]> {
    return this.guard('listRecoveryWindows', () => {
      const rows = (
        repository === undefined
          ? this.statement(`SELECT ${COLUMNS} FROM recovery_windows ORDER BY repository, system_identifier`).all()
          : this.statement(`SELECT ${COLUMNS} FROM recovery_windows WHERE repository = ? ORDER BY system_identifier`).all(repository)
      ) as WindowRow[];
      return rows.map(fromRow);
    });
  }
}

/** The recoverability windows beside a SQLite catalog; undefined for other catalogs. */
export function recoveryWindowStoreOf(catalog: Catalog): RecoveryWindowStore | undefined {
  return catalog instanceof SqliteCatalog ? catalog.sibling((db) => new SqliteRecoveryWindowStore(db)) : undefined;
}

function toRow(record: RecoveryWindowRecord): WindowRow {
  return {
    repository: record.repository,
    system_identifier: record.systemIdentifier,
    earliest: record.earliest ?? null,
    latest: record.latest ?? null,
    latest_lsn: record.latestLsn ?? null,
    latest_segment: record.latestSegment ?? null,
    timeline: record.timeline,
    gap_count: record.gaps.length,
    gaps: JSON.stringify(record.gaps),
    timeline_switches: JSON.stringify(record.timelineSwitches),
    base_backups: record.baseBackups,
    segments: record.segments,
    archived_bytes: record.archivedBytes,
    computed_at: record.computedAt,
  };
}

function fromRow(row: WindowRow): RecoveryWindowRecord {
  return {
    repository: row.repository,
    systemIdentifier: row.system_identifier,
    ...(row.earliest !== null ? { earliest: row.earliest } : {}),
    ...(row.latest !== null ? { latest: row.latest } : {}),
    ...(row.latest_lsn !== null ? { latestLsn: row.latest_lsn } : {}),
    ...(row.latest_segment !== null ? { latestSegment: row.latest_segment } : {}),
    timeline: row.timeline,
    gaps: JSON.parse(row.gaps) as RecoveryWindowRecord['gaps'],
    timelineSwitches: JSON.parse(row.timeline_switches) as RecoveryWindowRecord['timelineSwitches'],
    baseBackups: row.base_backups,
    segments: row.segments,
    archivedBytes: row.archived_bytes,
    computedAt: row.computed_at,
  };
}
