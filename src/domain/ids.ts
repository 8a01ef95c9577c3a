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
