import { ValidationError } from '../domain/errors.js';

/**
 * PostgreSQL's WAL file names and positions, as the server spells them (see PostgreSQL's
 * xlog_internal.h): pure arithmetic, so archiving, restore and the recoverability window agree.
 *
 * - A segment is `TTTTTTTTXXXXXXXXYYYYYYYY`: timeline, then the segment number split into a "log id"
 *   (high part) and the segment within it, each 8 hex digits. With 16 MiB segments a log id holds 256.
 * - `TTTTTTTT.history` lists a timeline's ancestors and where each ended.
 * - `<segment>.partial` is the last, incomplete segment of an old timeline, archived at promotion.
 * - `<segment>.XXXXXXXX.backup` is a backup history file (written when a base backup ends).
 */
export type WalFileKind = 'segment' | 'history' | 'partial' | 'backup';

export interface WalFileName {
  name: string;
  kind: WalFileKind;
  timeline: number;
  /** The segment number (segments, partials and backup files only); needs the segment size to compute. */
  segmentName?: string;
}

const SEGMENT = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;
const PARTIAL = /^([0-9A-F]{8})([0-9A-F]{16})\.partial$/;
const BACKUP = /^([0-9A-F]{8})([0-9A-F]{16})\.[0-9A-F]{8}\.backup$/;
const HISTORY = /^([0-9A-F]{8})\.history$/;

/** Classifies a file name PostgreSQL asks us to archive or restore; undefined for anything else. */
export function parseWalFileName(name: string): WalFileName | undefined {
  let match = SEGMENT.exec(name);
  if (match) return { name, kind: 'segment', timeline: parseInt(match[1]!, 16), segmentName: name };
  match = PARTIAL.exec(name);
  if (match) return { name, kind: 'partial', timeline: parseInt(match[1]!, 16), segmentName: `${match[1]}${match[2]}` };
  match = BACKUP.exec(name);
  if (match) return { name, kind: 'backup', timeline: parseInt(match[1]!, 16), segmentName: `${match[1]}${match[2]}` };
  match = HISTORY.exec(name);
  if (match) return { name, kind: 'history', timeline: parseInt(match[1]!, 16) };
  return undefined;
}

/** Like {@link parseWalFileName}, but a name PostgreSQL never archives is a ValidationError. */
export function requireWalFileName(name: string, field: string): WalFileName {
  const parsed = parseWalFileName(name);
  if (!parsed || parsed.timeline === 0) throw new ValidationError(`${field}: "${name.slice(0, 80)}" is not a WAL segment, timeline history, .partial or backup history file name`, field);
  return parsed;
}

/** Segment sizes initdb accepts: powers of two from 1 MiB to 1 GiB. */
export function isValidSegmentSize(size: number): boolean {
  return Number.isInteger(size) && size >= 1 << 20 && size <= 1 << 30 && (size & (size - 1)) === 0;
}

function segmentsPerLogId(segmentSize: number): bigint {
  return 0x1_0000_0000n / BigInt(segmentSize);
}

/** Parses `X/Y` (hex) into a 64-bit position. */
export function parseLsn(text: string, field = 'lsn'): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new ValidationError(`${field} must be a WAL position like 0/16B3748 (got "${text.slice(0, 40)}")`, field);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The number of the segment holding `lsn`. */
export function segmentOf(lsn: bigint, segmentSize: number): bigint {
  return lsn / BigInt(segmentSize);
}

export function segmentFileName(timeline: number, segment: bigint, segmentSize: number): string {
  const perId = segmentsPerLogId(segmentSize);
  return `${hex8(BigInt(timeline))}${hex8(segment / perId)}${hex8(segment % perId)}`;
}

/** The segment number of a segment file name (timeline ignored). */
export function segmentNumber(segmentName: string, segmentSize: number): bigint {
  const match = SEGMENT.exec(segmentName);
  if (!match) throw new ValidationError(`"${segmentName.slice(0, 40)}" is not a WAL segment name`, 'segment');
  return BigInt(`0x${match[2]}`) * segmentsPerLogId(segmentSize) + BigInt(`0x${match[3]}`);
}

export function timelineHistoryName(timeline: number): string {
  return `${hex8(BigInt(timeline))}.history`;
}

function hex8(value: bigint): string {
  return value.toString(16).toUpperCase().padStart(8, '0');
}

/** One line of a timeline history file: `parent` ended (and its child began) at `switchLsn`. */
export interface TimelineSwitch {
  parent: number;
  switchLsn: bigint;
  reason: string;
}

/**
 * Parses `TTTTTTTT.history`: one line per ancestor, `<timeline>\t<switch LSN>\t<reason>`, oldest first;
 * `#` comments and blank lines are skipped.
 */
export function parseTimelineHistory(text: string): TimelineSwitch[] {
  const switches: TimelineSwitch[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [parent, lsn, ...reason] = trimmed.split(/\s+/);
    if (!parent || !lsn || !/^\d+$/.test(parent)) continue;
    switches.push({ parent: Number(parent), switchLsn: parseLsn(lsn, 'history'), reason: reason.join(' ') });
  }
  return switches;
}
