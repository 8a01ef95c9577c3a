import type { Snapshot } from '../domain/snapshot.js';

/**
 * Catalog: a fast, queryable index of what the repository holds plus the records of runs. It is never
 * the only copy of anything that matters for a restore: `catalog rebuild` recreates the snapshot records
 * from the repository alone.
 *
 * Contract (checked by test/contract/catalog.contract.ts on SQLite and DynamoDB):
 * - `putSnapshot` is an upsert keyed by (repository, snapshot id); putting the same record twice leaves one.
 * - `listSnapshots` returns records of one repository newest first (by `time`, then id), filtered when a
 *   filter is given; `getSnapshot` returns undefined for an unknown id.
 * - `deleteSnapshot` of a missing id succeeds.
 * - `replaceSnapshots` swaps the whole set for one repository atomically (readers see the old or new set).
 * - Runs: `startRun` records a running run; `finishRun` sets its final status; `listRuns` newest first.
 * - Stores only metadata: no file contents, and no secrets.
 */
export interface Catalog {
  putSnapshot(repository: string, snapshot: Snapshot): Promise<void>;
  getSnapshot(repository: string, id: string): Promise<Snapshot | undefined>;
  listSnapshots(repository: string, filter?: SnapshotFilter): Promise<Snapshot[]>;
  deleteSnapshot(repository: string, id: string): Promise<void>;
  replaceSnapshots(repository: string, snapshots: Snapshot[]): Promise<void>;

  startRun(run: RunRecord): Promise<void>;
  finishRun(id: string, result: RunResult): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  listRuns(filter?: RunFilter): Promise<RunRecord[]>;

  close(): Promise<void>;
}

export interface SnapshotFilter {
  type?: Snapshot['type'];
  source?: Snapshot['source'];
  /** Only snapshots whose `paths` equal these (order-insensitive). */
  paths?: string[];
  tag?: string;
  before?: string;
  limit?: number;
}

export type RunKind = 'backup' | 'restore' | 'verify' | 'prune' | 'forget' | 'keys' | 'repair';
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** One execution of a long operation, for history, health and audit. */
export interface RunRecord {
  id: string;
  kind: RunKind;
  repository: string;
  status: RunStatus;
  startedAt: string;
  finishedAt?: string;
  /** Snapshot written (backup) or read (restore, verify). */
  snapshotId?: string;
  /** Error code and message when failed; never secrets. */
  error?: { code: string; message: string };
  /** Operation-specific numbers (bytes, durations, damaged snapshots). */
  summary?: Record<string, unknown>;
}

export interface RunResult {
  status: Exclude<RunStatus, 'running'>;
  finishedAt: string;
  snapshotId?: string;
  error?: { code: string; message: string };
  summary?: Record<string, unknown>;
}

export interface RunFilter {
  kind?: RunKind;
  status?: RunStatus;
  repository?: string;
  limit?: number;
}
