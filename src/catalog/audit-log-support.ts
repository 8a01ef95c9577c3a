import { parseRow, validateAuditEntry, type AuditEntry, type AuditRecord, type ChainVerification, type NewAuditEntry, type StoredAuditRow } from '../domain/audit.js';
import { IntegrityError, ValidationError } from '../domain/errors.js';
import { DEFAULT_AUDIT_PAGE, MAX_AUDIT_PAGE, type AuditPage, type AuditQuery } from '../ports/audit-log.js';
import type { Clock } from '../ports/clock.js';
import { parseLimit, parseTime } from './sqlite-store.js';

/*
 * What every AuditLog adapter (SQLite, DynamoDB) does the same way around its storage: checking the
 * key, stamping and validating an entry, reading a listing's query, shaping a page, and turning an
 * unreadable anchor into a verification failure. The chain itself is src/domain/audit.ts.
 */

/** @throws ValidationError `key` when the audit key is not a Buffer of at least 32 bytes. */
export function requireAuditKey(key: unknown): Buffer {
  if (!Buffer.isBuffer(key) || key.length < 32) throw new ValidationError('the audit key must be at least 32 bytes', 'key');
  return key;
}

/** The entry as it will be recorded: `time` from the clock when absent, then validated. */
export function stampAuditEntry(input: NewAuditEntry, clock: Clock): AuditEntry {
  return validateAuditEntry({ ...input, time: input.time ?? clock.now().toISOString() });
}

/** A listing's query checked and decoded: the page size, the time range in ms, the seq to continue after. */
export interface AuditListing {
  limit: number;
  fromMs?: number;
  toMs?: number;
  afterSeq?: number;
}

export function parseAuditQuery(query: AuditQuery): AuditListing {
  return {
    limit: query.limit === undefined ? DEFAULT_AUDIT_PAGE : Math.min(parseLimit(query.limit, 'limit'), MAX_AUDIT_PAGE),
    ...(query.from !== undefined ? { fromMs: parseTime(query.from, 'from') } : {}),
    ...(query.to !== undefined ? { toMs: parseTime(query.to, 'to') } : {}),
    ...(query.cursor !== undefined ? { afterSeq: parseCursor(query.cursor) } : {}),
  };
}

/**
 * The page for `rows`, which the adapter read as up to `limit + 1` matching rows in seq order: one more
 * than asked tells whether another page follows.
 */
export function auditPage(rows: StoredAuditRow[], limit: number): AuditPage {
  const records = rows.slice(0, limit).map(readable);
  const last = records.at(-1);
  return rows.length > limit && last !== undefined ? { records, nextCursor: String(last.seq) } : { records };
}

/**
 * What `verify` reports when the anchor cannot be read because it is not an anchor (IntegrityError
 * `audit_anchor_unreadable`); any other error is rethrown.
 */
export function unreadableAnchor(error: unknown): ChainVerification {
  if (error instanceof IntegrityError) return { ok: false, entries: 0, seq: 1, reason: 'anchor_mismatch', message: error.message };
  throw error;
}

function readable(row: StoredAuditRow): AuditRecord {
  try {
    return parseRow(row);
  } catch {
    throw new IntegrityError('audit_unreadable', `audit entry ${row.seq} is not readable; run \`chrono-backup audit verify\``, { details: { seq: row.seq } });
  }
}

function parseCursor(cursor: string): number {
  const seq = /^[0-9]{1,15}$/.test(cursor) ? Number(cursor) : Number.NaN;
  if (!Number.isSafeInteger(seq)) throw new ValidationError('cursor is not a cursor this listing returned', 'cursor');
  return seq;
}
