import type { RunKind, RunRecord, RunStatus } from './catalog.js';

/**
 * Aggregates over the catalog's run history and snapshot records, for metrics. A Prometheus scrape
 * every 15 s must not read every run ever recorded, so the SQLite catalog has a reader that remembers
 * what it read and then reads only new and still-running rows (`SqliteRunStatistics`), and a catalog
 * with aggregate queries of its own may implement this port itself; `catalogRunStatistics` answers the
 * same questions for any Catalog by reading its runs, which is correct but costs a full read per call.
 *
 * Contract (test/unit/metrics/run-statistics.test.ts runs both on the same history):
 * - Labels come from a run's `summary`: `plan` and `type` (backups), `level` and `ok` (verifications).
 *   A label the summary lacks (or holds with another JSON type) is absent from the answer.
 * - `tallyRuns` counts finished runs (not `running`) of the given kinds, one entry per distinct
 *   (kind, status, plan, type, level, ok) with `count` > 0, in no particular order.
 * - `latestRuns` returns, for each distinct value of the `groupBy` label (absent being one value), the
 *   run with the newest `startedAt` (ties: the greater id) among runs of `kind` whose status is in
 *   `statuses` and, when `passed` is given, whose `summary.ok` is not false (`passed: true`) or is false
 *   (`passed: false`). Order unspecified.
 * - `snapshotTotals` sums the `stats` of the snapshot records, one entry per repository that has any.
 */
export interface RunStatistics {
  tallyRuns(kinds: readonly RunKind[]): Promise<RunTally[]>;
  latestRuns(query: LatestRunsQuery): Promise<RunRecord[]>;
  snapshotTotals(): Promise<SnapshotTotals[]>;
}

/** Finished runs sharing a kind, a status and the labels their summaries give. */
export interface RunTally {
  kind: RunKind;
  status: Exclude<RunStatus, 'running'>;
  plan?: string;
  /** The run type of a backup (`full`, `incremental`, `database_only`, …). */
  type?: string;
  /** The level of a verification (`structure`, `read`, `full`, `restore-test`). */
  level?: string;
  /** A verification's verdict: false when it found damage or differences. */
  ok?: boolean;
  count: number;
}

export interface LatestRunsQuery {
  kind: RunKind;
  groupBy: 'plan' | 'level';
  statuses: readonly RunStatus[];
  passed?: boolean;
}

/** What the snapshot records of one repository add up to. */
export interface SnapshotTotals {
  repository: string;
  snapshots: number;
  /** Sum of `stats.totalBytes`: the source data the snapshots describe. */
  totalBytes: number;
  /** Sum of `stats.bytesAdded`: plaintext each snapshot added when it was taken. */
  bytesAdded: number;
  /** Sum of `stats.bytesStored`: what each snapshot added to storage when it was taken. */
  bytesStored: number;
}

/** True when `value` (a catalog) answers the statistics queries itself. */
export function hasRunStatistics(value: unknown): value is RunStatistics {
  const candidate = value as Partial<RunStatistics> | null;
  return typeof candidate?.tallyRuns === 'function' && typeof candidate.latestRuns === 'function' && typeof candidate.snapshotTotals === 'function';
}
