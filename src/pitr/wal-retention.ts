import type { PhysicalBackupDetails } from '../domain/snapshot.js';
import { parseLsn, segmentFileName, segmentNumber, segmentOf, type WalFileName } from './wal-names.js';

/** Where the WAL a cluster's base backups need begins: the segment its oldest base backup starts in. */
export interface WalNeededFrom {
  segment: bigint;
  walSegmentSize: number;
  /** That segment's file name (on the oldest base backup's timeline), for reports. */
  name: string;
}

/**
 * The rule of WAL retention, shared by `wal-prune` (what may go) and replication (what is worth
 * copying): a restore from any of these base backups (one cluster's) needs the segments from the one
 * where the oldest of them starts. Undefined when there is no base backup: then every file is kept,
 * since a base backup taken from an older copy could still need it.
 */
export function walNeededFrom(baseBackups: readonly PhysicalBackupDetails[]): WalNeededFrom | undefined {
  let oldest: WalNeededFrom | undefined;
  for (const physical of baseBackups) {
    const segment = segmentOf(parseLsn(physical.startLsn), physical.walSegmentSize);
    if (!oldest || segment < oldest.segment) oldest = { segment, walSegmentSize: physical.walSegmentSize, name: segmentFileName(physical.timeline, segment, physical.walSegmentSize) };
  }
  return oldest;
}

/**
 * Whether a restore needs this archived file: segment-bound files (segments, `.partial`, backup history)
 * from the first needed segment on; timeline history files always (tiny, and restores follow timelines
 * with them); everything when nothing bounds it.
 */
export function isWalNeeded(file: WalFileName, from: WalNeededFrom | undefined): boolean {
  return from === undefined || file.segmentName === undefined || segmentNumber(file.segmentName, from.walSegmentSize) >= from.segment;
}
