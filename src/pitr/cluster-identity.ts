import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ValidationError } from '../domain/errors.js';

/**
 * Which database cluster a WAL file belongs to. Every fresh cluster starts its WAL at the same file
 * names, so the archive keeps each cluster apart by its *system identifier* (chosen at initdb, kept by
 * base backups and their restores). It is read from the data itself, never from a connection: the
 * archiver and the restore command run without one.
 */

/** `xlp_info` flag of a segment's first page: the long header with the cluster's identity follows. */
const XLP_LONG_HEADER = 0x0002;

export interface SegmentHeader {
  systemIdentifier: string;
  segmentSize: number;
  timeline: number;
}

/**
 * Reads the long page header at the start of a WAL segment (XLogLongPageHeaderData, little-endian):
 * magic u16, info u16, timeline u32, page address u64, remaining length u32 (+4 padding), then system
 * identifier u64 at 24 and segment size u32 at 32. Undefined when the first page has no long header.
 */
export function readSegmentHeader(segment: Uint8Array): SegmentHeader | undefined {
  if (segment.byteLength < 40) return undefined;
  const view = Buffer.from(segment.buffer, segment.byteOffset, 40);
  if ((view.readUInt16LE(2) & XLP_LONG_HEADER) === 0) return undefined;
  return { timeline: view.readUInt32LE(4), systemIdentifier: view.readBigUInt64LE(24).toString(), segmentSize: view.readUInt32LE(32) };
}

/**
 * The system identifier of the data directory `dataDirectory` (the first field of `global/pg_control`).
 * PostgreSQL runs archive_command and restore_command in the data directory, so `.` is the default.
 */
export async function readSystemIdentifier(dataDirectory = '.'): Promise<string> {
  let control: Buffer;
  try {
    control = await readFile(join(dataDirectory, 'global', 'pg_control'));
  } catch (error) {
    throw new ValidationError(
      `cannot read ${join(dataDirectory, 'global', 'pg_control')} to learn the cluster's system identifier (${(error as NodeJS.ErrnoException).code ?? 'error'}); run from the data directory, as PostgreSQL does, or give --system-id`,
      'system-id',
    );
  }
  if (control.length < 8) throw new ValidationError('global/pg_control is too short to hold a system identifier', 'system-id');
  return control.readBigUInt64LE(0).toString();
}

export function requireSystemIdentifier(text: string, field = 'system-id'): string {
  if (!/^\d{1,20}$/.test(text) || BigInt(text) >= 1n << 64n) throw new ValidationError(`${field} must be a cluster's system identifier: a decimal number (see pg_controldata)`, field);
  return BigInt(text).toString();
}
