import type { Plan } from '../domain/plan.js';
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
 * - Storage backends: named (name, type, config) objects. `createStorageBackend` assigns a positive
 *   integer id, never reused, and refuses a taken name with ConflictError; lookups of unknown ids or
 *   names return undefined; `deleteStorageBackend` of an unknown name throws NotFoundError. The catalog
 *   stores the config as given: callers validate it first (src/storage/storage-backend-config.ts), which
 *   is where secrets are refused.
 * - Replication receipts: `recordReplication` appends one receipt (its id is unique: a repeated id is a
 *   ConflictError); `listReplications` returns receipts newest first (time, then id), filtered.
 * - Plans: `putPlan` is an upsert keyed by name; `getPlan` of an unknown name returns undefined;
 *   `listPlans` returns plans by name; `deletePlan` of an unknown name throws NotFoundError. Plans are
 *   validated by the caller (src/domain/plan.ts) and hold no secrets.
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

  /**
   * Records a named storage backend and returns it with its new id.
   * @throws ConflictError `conflict.storage_backend_exists` when the name is taken.
   */
  createStorageBackend(backend: NewStorageBackend): Promise<StorageBackendRecord>;
  /** The backend with this id (the API's `storage_backend_id`) or this name, or undefined. */
  getStorageBackend(idOrName: number | string): Promise<StorageBackendRecord | undefined>;
  /** Every backend, by name. */
  listStorageBackends(): Promise<StorageBackendRecord[]>;
  /** @throws NotFoundError when no backend has this name. */
  deleteStorageBackend(name: string): Promise<void>;

  /** Records the receipt of one snapshot copied to another repository. */
  recordReplication(receipt: ReplicationReceipt): Promise<void>;
  /** Receipts newest first (by `time`, then id), filtered. */
  listReplications(filter?: ReplicationFilter): Promise<ReplicationReceipt[]>;

  /** Stores a (validated) plan, replacing one of the same name. */
  putPlan(plan: Plan): Promise<void>;
  getPlan(name: string): Promise<Plan | undefined>;
  /** Every plan, by name. */
  listPlans(): Promise<Plan[]>;
  /** @throws NotFoundError when no plan has this name. */
  deletePlan(name: string): Promise<void>;

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

export type RunKind = 'backup' | 'restore' | 'verify' | 'prune' | 'forget' | 'keys' | 'repair' | 'replicate' | 'hold';
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
  /** Runs whose `summary.plan` is this plan. */
  plan?: string;
  /** Backup runs whose `summary.type` is this run type (`full`, `database_only`, …). */
  backupType?: string;
  /** Runs that wrote or read this snapshot or backup id. */
  snapshotId?: string;
  /** Runs started at or after this instant (ISO). */
  since?: string;
  /** Runs started before this instant (ISO). */
  until?: string;
  /** Keyset pagination: only runs after this one in the newest-first order. */
  after?: { startedAt: string; id: string };
  limit?: number;
}

/** Kinds of storage backend, as the API names them (`backend_type`). */
export const STORAGE_BACKEND_TYPES = ['local', 'aws_s3', 's3_compatible', 'gcs', 'azure', 'sftp', 'ftp'] as const;
export type StorageBackendType = (typeof STORAGE_BACKEND_TYPES)[number];

/** A storage backend to record: a unique name, a type and its validated, secret-free config. */
export interface NewStorageBackend {
  name: string;
  type: StorageBackendType;
  /** Settings of the type (`config_data`): locations and options, and secrets only as `env:NAME` references. */
  config: Record<string, unknown>;
}

export interface StorageBackendRecord extends NewStorageBackend {
  /** Assigned by the catalog; the API's `storage_backend_id`. */
  id: number;
  created: string;
}

/** Which snapshot went where, when, and what it took: written by replication after the copy is durable. */
export interface ReplicationReceipt {
  id: string;
  snapshotId: string;
  source: ReplicaEndpoint;
  destination: ReplicaEndpoint;
  blobsCopied: number;
  bytesCopied: number;
  blobsSkipped: number;
  bytesSkipped: number;
  /** Every copied blob was authenticated and checked against its id before it was written. */
  verified: boolean;
  /** When the copy finished (the snapshot object was written). */
  time: string;
  durationMs: number;
}

export interface ReplicaEndpoint {
  /** Repository id (a replica shares its source's id: it is the same repository in another place). */
  repository: string;
  /** The storage location, fit to show (no credentials). */
  location: string;
  /** The provider kind of the location: s3, gcs, azure, sftp, ftp or local. */
  provider: string;
}

export interface ReplicationFilter {
  /** Receipts of copies made from this repository id. */
  sourceRepository?: string;
  snapshotId?: string;
  limit?: number;
}
