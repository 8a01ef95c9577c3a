import type { BackupType } from './backup-types.js';

/** What kind of data a snapshot holds; later sources (postgres, redis) add their own kinds. */
export type SourceKind = 'files' | 'config';

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
}
