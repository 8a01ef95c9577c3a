import { randomBytes } from 'node:crypto';

/** Hex encoding of a random id of `bytes` bytes. */
export function randomId(bytes = 16): string {
  return randomBytes(bytes).toString('hex');
}

/** `20241224_120000` in UTC: the time part of backup ids, sortable as text. */
export function compactUtcStamp(date: Date): string {
  const iso = date.toISOString(); // 2024-12-24T12:00:00.000Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}_${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}`;
}

const SNAPSHOT_ID = /^[a-z_]+_\d{8}_\d{6}(?:_[0-9a-f]{4})?$/;

/** True for ids of the form `full_20241224_120000` (optionally `_a1b2` when two fall in the same second). */
export function isSnapshotId(id: string): boolean {
  return SNAPSHOT_ID.test(id);
}
