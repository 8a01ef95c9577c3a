import type { BackupType } from './backup-types.js';

/** What kind of data a snapshot holds. */
export const SOURCE_KINDS = ['files', 'config', 'postgres', 'redis', 'physical'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** Source-specific facts about a snapshot, shown in listings (never secrets). */
export interface SnapshotDetails {
  /** False when the copy was assembled over time (Redis SCAN fallback) rather than taken at one instant. */
  pointInTime?: boolean;
  /** How the source was read: `pg_dump`, `sync` (Redis replication), `scan`. */
  method?: string;
  serverVersion?: string;
  /** Databases in a `postgres` snapshot. */
  databases?: string[];
  /** Keys in a `redis` snapshot. */
  keys?: number;
  /** The plan the snapshot was taken for. */
  plan?: string;
  /** A `physical` snapshot: a PostgreSQL base backup (pg_basebackup) for point-in-time recovery. */
  physical?: PhysicalBackupDetails;
}

/** Where a base backup sits in its cluster's WAL: what point-in-time recovery needs to pick it. */
export interface PhysicalBackupDetails {
  /** The cluster's system identifier (decimal), which keys its WAL archive. */
  systemIdentifier: string;
  timeline: number;
  /** WAL positions `X/Y`: recovery from this backup is consistent once it has replayed up to `stopLsn`. */
  startLsn: string;
  stopLsn: string;
  /** Server clock when the backup started and after it ended (a restore target must be later than `stopTime`). */
  startTime: string;
  stopTime: string;
  /** The next transaction id after the backup ended (decimal, with epoch). */
  nextXid: string;
  walSegmentSize: number;
  serverMajor: number;
  /** The cluster's user tablespaces, each stored as its own tar file (absent: none, everything is in base.tar). */
  tablespaces?: PhysicalTablespace[];
}

/** A user tablespace of a base backup: where it was on the server and which snapshot file holds it. */
export interface PhysicalTablespace {
  oid: number;
  name: string;
  /** pg_tablespace_location() when the backup was taken (absolute). */
  location: string;
  /** The snapshot file holding its tar archive (pg_basebackup's `<oid>.tar`). */
  file: string;
}

/** Byte and item counts of one backup run. */
export interface SnapshotStats {
  /** Files and directories seen. */
  items: number;
  /** Bytes of source data the snapshot describes. */
  totalBytes: number;
  /** Source bytes actually read (incremental and differential skip unchanged files). */
  bytesRead: number;
  /** Plaintext bytes of blobs that were new to the repository. */
  bytesAdded: number;
  /** Bytes written to storage for those blobs (compressed and encrypted). */
  bytesStored: number;
  blobsAdded: number;
  durationMs: number;
}

/**
 * The description of one snapshot, as stored (encrypted) in the repository under `snapshots/<id>` and
 * indexed in the catalog. The repository copy is the truth; the catalog is rebuilt from it.
 */
export interface Snapshot {
  id: string;
  /** Groups the snapshots of several sources taken by one run (equals `id` for a single source). */
  backupId: string;
  type: BackupType;
  source: SourceKind;
  time: string;
  hostname: string;
  paths: string[];
  tags: string[];
  /** Root tree blob id (hex). */
  tree: string;
  /** The snapshot an incremental or differential run compared against. */
  parent?: string;
  stats: SnapshotStats;
  /** Id of the data key that sealed this snapshot's new data. */
  keyId: string;
  details?: SnapshotDetails;
}
