import { ValidationError } from '../domain/errors.js';

/** A gap in a cluster's WAL chain, as src/pitr/recovery-window.ts reports it. */
export interface RecordedWalGap {
  kind: 'missing-segment' | 'missing-history';
  from: string;
  to: string;
  count: number;
}

/** A switch to a new timeline: from, to, and the LSN where the new one branched off. */
export interface RecordedTimelineSwitch {
  from: number;
  to: number;
  lsn: string;
}

/**
 * The recoverability window of one PostgreSQL cluster (by system identifier) in one repository (by
 * repository id), as last computed from the repository's `wal/` objects and base backups. Times are ISO
 * 8601 UTC. `earliest` and `latest` are absent while no base backup is usable.
 */
export interface RecoveryWindowRecord {
  repository: string;
  systemIdentifier: string;
  earliest?: string;
  latest?: string;
  latestLsn?: string;
  latestSegment?: string;
  /** The newest timeline seen. */
  timeline: number;
  gaps: RecordedWalGap[];
  timelineSwitches: RecordedTimelineSwitch[];
  /** Base backups (physical snapshots) of the cluster in the repository, usable or not. */
  baseBackups: number;
  /** WAL segments archived; 0 once the cluster's WAL is gone (its base backups still restore to their ends). */
  segments: number;
  archivedBytes: number;
  /** When the window was computed: every other field is as of this moment. */
  computedAt: string;
}

/**
 * RecoveryWindowStore: the last computed recoverability window of each cluster, per repository, so that
 * metrics can report it at scrape time without listing the repository (computing it lists every WAL
 * object and reads every snapshot).
 *
 * Contract (test/contract/recovery-window-store.contract.ts, on SQLite and DynamoDB):
 * - Records are keyed by (repository, systemIdentifier); `putWindow` replaces the record of its key.
 * - `replaceWindows(repository, records)` leaves that repository with exactly `records` (every record
 *   must name that repository, else ValidationError and nothing is written): the records of clusters
 *   not among them are deleted (their WAL and base backups are gone). Other repositories are untouched.
 *   Each record is written whole; a reader during a replace may see some clusters old and some new.
 * - `deleteWindow` of a missing record succeeds.
 * - `listWindows` returns records ordered by repository, then system identifier; only that
 *   repository's when one is given. A record reads back equal to what was written.
 * Records hold no secrets (system identifiers, WAL names, times and counts).
 */
export interface RecoveryWindowStore {
  putWindow(record: RecoveryWindowRecord): Promise<void>;
  replaceWindows(repository: string, records: readonly RecoveryWindowRecord[]): Promise<void>;
  deleteWindow(repository: string, systemIdentifier: string): Promise<void>;
  listWindows(repository?: string): Promise<RecoveryWindowRecord[]>;
}

/**
 * Checks records before a store writes them: a repository and system identifier in each, the given
 * repository in all of them, no cluster twice. Throws ValidationError naming the field.
 */
export function requireWindowsOf(repository: string, records: readonly RecoveryWindowRecord[]): void {
  if (typeof repository !== 'string' || repository === '') throw new ValidationError('repository must be a non-empty string', 'repository');
  const seen = new Set<string>();
  for (const record of records) {
    if (record.repository !== repository) throw new ValidationError(`a recovery window of repository ${String(record.repository)} cannot be recorded under ${repository}`, 'repository');
    if (typeof record.systemIdentifier !== 'string' || !/^\d+$/.test(record.systemIdentifier)) throw new ValidationError('systemIdentifier must be a PostgreSQL system identifier (digits)', 'systemIdentifier');
    if (seen.has(record.systemIdentifier)) throw new ValidationError(`cluster ${record.systemIdentifier} is given twice`, 'systemIdentifier');
    seen.add(record.systemIdentifier);
  }
}

/** Windows held in this process only: for a driver without a catalog, and for tests. */
export function memoryRecoveryWindowStore(): RecoveryWindowStore {
  const records = new Map<string, RecoveryWindowRecord>();
  const key = (repository: string, systemIdentifier: string) => JSON.stringify([repository, systemIdentifier]);
  const copy = (record: RecoveryWindowRecord): RecoveryWindowRecord => structuredClone(record);
  return {
    putWindow: async (record) => {
      requireWindowsOf(record.repository, [record]);
      records.set(key(record.repository, record.systemIdentifier), copy(record));
    },
    replaceWindows: async (repository, replacement) => {
      requireWindowsOf(repository, replacement);
      for (const [k, record] of records) if (record.repository === repository) records.delete(k);
      for (const record of replacement) records.set(key(repository, record.systemIdentifier), copy(record));
    },
    deleteWindow: async (repository, systemIdentifier) => void records.delete(key(repository, systemIdentifier)),
    listWindows: async (repository) =>
      [...records.values()]
        .filter((record) => repository === undefined || record.repository === repository)
        .sort(compareWindows)
        .map(copy),
  };
}

/** The order of `listWindows`: by repository, then system identifier, as plain code-unit strings (as SQLite compares text). */
export function compareWindows(a: RecoveryWindowRecord, b: RecoveryWindowRecord): number {
  const order = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  return order(a.repository, b.repository) || order(a.systemIdentifier, b.systemIdentifier);
}
