/**
 * The audit trail: who did what, to what, when, from where, and with what result; kept as an
 * append-only chain in which every entry carries a keyed hash of itself and of the entry before it.
 *
 * Why a *keyed* chain (HMAC-SHA256) and not plain SHA-256: a plain hash chain proves only that the
 * entries agree with each other. Whoever can edit the SQLite file can change an entry and then recompute
 * every later hash, and the result verifies. With an HMAC under an audit key that the server holds
 * outside the database (a 0600 file next to the catalog, see runtime/audit-key.ts), recomputing needs
 * the key: access to the catalog file alone is not enough to forge history. (Someone who holds the key
 * as well as the file can rewrite anything; the key is what must be guarded.)
 *
 * Why an anchor: a chain shows where an entry was changed, removed or moved, but not that its newest
 * entries were dropped, since a shorter chain is still a valid chain. So the head (last seq and hash)
 * is also kept outside the table, MACed with the same key ({@link AuditAnchor}); a table that ends
 * before the anchor's seq lost its tail. Because appends update the anchor after their commit, the
 * anchor may lag behind the table after a crash (never run ahead of it): entries after the anchor are
 * accepted, entries missing before it are not.
 *
 * Everything here is pure (no I/O): the adapters store {@link StoredAuditRow}s as produced by
 * {@link sealEntry} and give them back to {@link verifyChain}.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ValidationError } from './errors.js';

export const AUDIT_RESULTS = ['success', 'failure', 'denied'] as const;
export type AuditResult = (typeof AUDIT_RESULTS)[number];

/** Who acted: a signed-in user (with the role the call was authorised under), or the system itself. */
export type AuditActor =
  | { kind: 'user'; id: string; email: string; role: string }
  /** The scheduler, the workflow runner, or the local CLI (`cli:<os user>`). */
  | { kind: 'system'; name: string };

/** A JSON value small enough to sit in an audit entry. */
export type AuditDetailValue = string | number | boolean | null | AuditDetailValue[] | { [key: string]: AuditDetailValue };

/** One audited event. */
export interface AuditEntry {
  /** ISO 8601 UTC, milliseconds. */
  time: string;
  actor: AuditActor;
  /** Dotted lower-case verb: `backup.manual`, `restore`, `audit.export`, `user.create`, `auth.login`. */
  action: string;
  /** What it acted on, e.g. `backup:full_20241224_120000`, `user:3f2a…`; absent when nothing in particular. */
  target?: string;
  /** The client address (IP), or `local` for the CLI and the system's own work. */
  source: string;
  result: AuditResult;
  /** Small JSON (at most {@link MAX_DETAILS_BYTES} serialized), never secrets: see {@link validateAuditEntry}. */
  details?: Record<string, AuditDetailValue>;
}

/** An entry to record; `time` defaults to the log's clock. */
export type NewAuditEntry = Omit<AuditEntry, 'time'> & { time?: string };

/** An entry as recorded: its place in the chain and its hashes. */
export interface AuditRecord extends AuditEntry {
  seq: number;
  prevHash: string;
  hash: string;
}

/** A row as the adapters store it: `data` is the exact text the hash covers. */
export interface StoredAuditRow {
  seq: number;
  timeMs: number;
  data: string;
  prevHash: string;
  hash: string;
}

/** The newest entry of the chain. */
export interface AuditHead {
  seq: number;
  hash: string;
}

/**
 * The head kept outside the table, so that dropping the newest entries is detected. `keyId` names the
 * key that wrote the chain (a fingerprint, not the key), so a replaced key is reported as such instead
 * of as every entry having changed; `mac` binds all three to the key, so the anchor cannot be rewritten
 * to an older head by someone who can read the table but not the key.
 */
export interface AuditAnchor extends AuditHead {
  keyId: string;
  mac: string;
}

export type ChainBreakReason =
  /** The entry's text, its time column or its hash was changed: the recomputed hash differs. */
  | 'content_changed'
  /** The entry's `prev_hash` is not the hash of the entry before it. */
  | 'link_broken'
  /** Entries are missing from here on (the first missing seq is reported). */
  | 'sequence_gap'
  /** The entry recorded as another seq sits here: rows were swapped or renumbered. */
  | 'reordered'
  /** The table ends before the anchor: the newest entries were deleted. */
  | 'missing_tail'
  /** The anchor does not match the table (a rewritten anchor, or a table rebuilt from scratch). */
  | 'anchor_mismatch'
  /** The table holds entries but there is no anchor. */
  | 'anchor_missing'
  /** The chain was written with another audit key than the one given. */
  | 'wrong_key';

export type ChainVerification =
  | { ok: true; entries: number; head: AuditHead | null }
  | { ok: false; entries: number; seq: number; reason: ChainBreakReason; message: string };

/** The `prev_hash` of the first entry. */
export const GENESIS_HASH = '0'.repeat(64);
/** Bounds what a caller can put in one entry: the trail is a log of events, not a data store. */
export const MAX_DETAILS_BYTES = 4096;
const ACTION_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;
/** Detail keys that name secrets (after camelCase → snake_case): refused, whatever their value. */
const SECRET_KEY_PATTERN = /(^|_)(password|passphrase|secret|token|api_?key|private_?key|access_?key|secret_?key|authorization|credentials?|cookie)($|_)/;
const HASH_PATTERN = /^[0-9a-f]{64}$/;
const CHAIN_DOMAIN = 'chrono-backup audit chain v1';
const ANCHOR_DOMAIN = 'chrono-backup audit anchor v1';
const KEY_ID_DOMAIN = 'chrono-backup audit key id';

/**
 * JSON with object keys sorted at every level and no insignificant white space: the same entry always
 * gives the same text, so its hash does not depend on how the object was built.
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ValidationError('audit values must be finite numbers', 'details');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object') {
    const fields = Object.entries(value as Record<string, unknown>)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${fields.map(([name, field]) => `${JSON.stringify(name)}:${canonicalJson(field)}`).join(',')}}`;
  }
  throw new ValidationError(`audit values must be JSON (got ${typeof value})`, 'details');
}

/**
 * Checks and normalises an entry: a known result, a dotted action, non-empty actor fields, an ISO time,
 * details that are small JSON without secret-looking keys. Returns a copy with only the known fields.
 *
 * @throws ValidationError naming the bad field.
 */
export function validateAuditEntry(entry: AuditEntry): AuditEntry {
  const time = parseIsoTime(entry.time, 'time');
  if (typeof entry.action !== 'string' || !ACTION_PATTERN.test(entry.action) || entry.action.length > 64) {
    throw new ValidationError(`action must be a dotted lower-case name such as backup.manual (got ${JSON.stringify(entry.action)})`, 'action');
  }
  if (!(AUDIT_RESULTS as readonly string[]).includes(entry.result)) {
    throw new ValidationError(`result must be one of ${AUDIT_RESULTS.join(', ')}`, 'result');
  }
  requireShortText(entry.source, 'source');
  if (entry.target !== undefined) requireShortText(entry.target, 'target', 1024);
  const details = entry.details === undefined ? undefined : validateDetails(entry.details);
  return {
    time,
    actor: validateActor(entry.actor),
    action: entry.action,
    ...(entry.target !== undefined ? { target: entry.target } : {}),
    source: entry.source,
    result: entry.result,
    ...(details !== undefined ? { details } : {}),
  };
}

function validateActor(actor: AuditActor): AuditActor {
  if (typeof actor !== 'object' || actor === null) throw new ValidationError('actor must be an object', 'actor');
  if (actor.kind === 'user') {
    requireShortText(actor.id, 'actor.id');
    requireShortText(actor.email, 'actor.email');
    requireShortText(actor.role, 'actor.role');
    return { kind: 'user', id: actor.id, email: actor.email, role: actor.role };
  }
  if (actor.kind === 'system') {
    requireShortText(actor.name, 'actor.name');
    return { kind: 'system', name: actor.name };
  }
  throw new ValidationError('actor.kind must be user or system', 'actor.kind');
}

function validateDetails(details: Record<string, AuditDetailValue>): Record<string, AuditDetailValue> {
  if (typeof details !== 'object' || details === null || Array.isArray(details)) throw new ValidationError('details must be a JSON object', 'details');
  rejectSecretKeys(details, 'details');
  const text = canonicalJson(details);
  if (Buffer.byteLength(text) > MAX_DETAILS_BYTES) throw new ValidationError(`details must be at most ${MAX_DETAILS_BYTES} bytes of JSON`, 'details');
  return JSON.parse(text) as Record<string, AuditDetailValue>;
}

/** A secret must never reach the trail, which is exported and read by auditors: refuse its key. */
function rejectSecretKeys(value: unknown, path: string): void {
  if (Array.isArray(value)) value.forEach((item, index) => rejectSecretKeys(item, `${path}[${index}]`));
  else if (typeof value === 'object' && value !== null) {
    for (const [key, field] of Object.entries(value)) {
      const snake = key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
      if (SECRET_KEY_PATTERN.test(snake)) throw new ValidationError(`${path}.${key} looks like a secret; secrets are never recorded in the audit trail`, `${path}.${key}`);
      rejectSecretKeys(field, `${path}.${key}`);
    }
  }
}

/** The text stored and hashed for an entry: its canonical JSON, with its seq inside so moves are seen. */
export function serializeEntry(seq: number, entry: AuditEntry): string {
  return canonicalJson({ seq, ...entry });
}

/** HMAC-SHA256 over the previous hash and the entry's stored text, hex. */
export function chainHash(key: Buffer, prevHash: string, data: string): string {
  return createHmac('sha256', key).update(`${CHAIN_DOMAIN}\n${prevHash}\n`).update(data).digest('hex');
}

/**
 * The row that records `entry` after `previous` (undefined for the first entry). The entry must have
 * been validated ({@link validateAuditEntry}).
 */
export function sealEntry(key: Buffer, previous: AuditHead | undefined, entry: AuditEntry): StoredAuditRow {
  const seq = (previous?.seq ?? 0) + 1;
  const prevHash = previous?.hash ?? GENESIS_HASH;
  const data = serializeEntry(seq, entry);
  return { seq, timeMs: Date.parse(entry.time), data, prevHash, hash: chainHash(key, prevHash, data) };
}

/** Names a key without revealing it (first 8 bytes of an HMAC, hex). */
export function auditKeyId(key: Buffer): string {
  return createHmac('sha256', key).update(KEY_ID_DOMAIN).digest().subarray(0, 8).toString('hex');
}

export function anchorFor(key: Buffer, head: AuditHead): AuditAnchor {
  const keyId = auditKeyId(key);
  return { seq: head.seq, hash: head.hash, keyId, mac: anchorMac(key, head, keyId) };
}

function anchorMac(key: Buffer, head: AuditHead, keyId: string): string {
  return createHmac('sha256', key).update(`${ANCHOR_DOMAIN}\n${head.seq}\n${head.hash}\n${keyId}`).digest('hex');
}

/**
 * The stored row as an entry. Throws when `data` is not an entry at all (the verification reports such a
 * row as changed; listings cannot show it).
 */
export function parseRow(row: StoredAuditRow): AuditRecord {
  const parsed = parseData(row.data);
  if (parsed === undefined) throw new ValidationError(`audit entry ${row.seq} is not readable JSON`, 'data');
  const { seq: _seq, ...entry } = parsed;
  return { seq: row.seq, prevHash: row.prevHash, hash: row.hash, ...(entry as unknown as AuditEntry) };
}

function parseData(data: string): ({ seq: unknown } & Record<string, unknown>) | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { seq: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Checks a whole chain, in seq order, and reports the first broken link. Rows are consumed one at a
 * time, so a generator over a database cursor verifies any length in constant memory.
 *
 * Per row, in this order: its seq follows the previous one (else `sequence_gap`, at the first missing
 * seq); its text says it is that seq (else `reordered`); its `prev_hash` is the previous row's hash
 * (else `link_broken`); its hash is the HMAC of its text and `prev_hash`, and its time column agrees
 * with its text (else `content_changed`). Then the anchor: the chain must reach the anchor's seq with
 * the anchor's hash (`missing_tail`, `anchor_mismatch`); no anchor with a non-empty table is
 * `anchor_missing`. An anchor written under another key is `wrong_key`, before any row is read.
 */
export function verifyChain(rows: Iterable<StoredAuditRow>, key: Buffer, anchor: AuditAnchor | undefined): ChainVerification {
  const verifier = new ChainVerifier(key, anchor);
  if (verifier.keyMismatch !== undefined) return verifier.keyMismatch;
  for (const row of rows) {
    const broken = verifier.add(row);
    if (broken !== undefined) return broken;
  }
  return verifier.end();
}

/**
 * {@link verifyChain} one row at a time, for adapters whose rows arrive asynchronously (pages of a
 * DynamoDB query): `add` each row in seq order until it returns a broken link, then `end`. The checks
 * and their order are exactly those of verifyChain, which is built on it.
 */
export class ChainVerifier {
  private entries = 0;
  private previous: AuditHead | undefined;
  // The anchor may lag behind the table (a crash between an append's commit and its anchor update),
  // never lead it; when it lags, the entry it names must still be the one it saw.
  private hashAtAnchor: string | undefined;
  /** Set when the anchor was written under another key: no row needs reading, `add` and `end` report it. */
  readonly keyMismatch: ChainVerification | undefined;

  constructor(
    private readonly key: Buffer,
    private readonly anchor: AuditAnchor | undefined,
  ) {
    if (anchor !== undefined && anchor.keyId !== auditKeyId(key)) {
      this.keyMismatch = this.broken(1, 'wrong_key', `the trail was written with audit key ${anchor.keyId}, not with the key given (${auditKeyId(key)})`);
    }
  }

  /** Checks the next row; a broken link is returned (and verification should stop there). */
  add(row: StoredAuditRow): ChainVerification | undefined {
    if (this.keyMismatch !== undefined) return this.keyMismatch;
    const { previous } = this;
    const expected = (previous?.seq ?? 0) + 1;
    if (row.seq !== expected) {
      return this.broken(expected, 'sequence_gap', row.seq > expected ? `entries ${expected}–${row.seq - 1} are missing` : `entry ${row.seq} appears out of order`);
    }
    this.entries++;
    const parsed = parseData(row.data);
    if (parsed !== undefined && typeof parsed.seq === 'number' && parsed.seq !== row.seq) {
      return this.broken(row.seq, 'reordered', `the entry recorded as seq ${parsed.seq} sits at seq ${row.seq}`);
    }
    const expectedPrev = previous?.hash ?? GENESIS_HASH;
    if (!sameHash(row.prevHash, expectedPrev)) {
      return this.broken(row.seq, 'link_broken', `entry ${row.seq} does not link to ${row.seq === 1 ? 'the start of the chain' : `entry ${row.seq - 1}`}`);
    }
    const timeMatches = parsed !== undefined && typeof parsed.time === 'string' && Date.parse(parsed.time) === row.timeMs;
    if (parsed === undefined || parsed.seq !== row.seq || !sameHash(row.hash, chainHash(this.key, row.prevHash, row.data)) || !timeMatches) {
      return this.broken(row.seq, 'content_changed', `entry ${row.seq} was changed: its content, time or hash does not match`);
    }
    this.previous = { seq: row.seq, hash: row.hash };
    if (row.seq === this.anchor?.seq) this.hashAtAnchor = row.hash;
    return undefined;
  }

  /** The verdict once every row was added: the anchor checks, or ok with the count and head. */
  end(): ChainVerification {
    if (this.keyMismatch !== undefined) return this.keyMismatch;
    const { anchor, previous, entries } = this;
    if (anchor === undefined) {
      return previous === undefined ? { ok: true, entries, head: null } : this.broken(1, 'anchor_missing', `the trail holds ${entries} entries but its anchor (the head kept outside the catalog) is missing`);
    }
    if (!sameHash(anchor.mac, anchorMac(this.key, anchor, anchor.keyId))) {
      return this.broken(Math.max(1, anchor.seq), 'anchor_mismatch', 'the anchor (the head kept outside the catalog) was changed');
    }
    const lastSeq = previous?.seq ?? 0;
    if (anchor.seq > lastSeq) {
      return this.broken(lastSeq + 1, 'missing_tail', `the trail ends at entry ${lastSeq} but entry ${anchor.seq} was recorded: the newest entries were deleted`);
    }
    if (this.hashAtAnchor === undefined || !sameHash(this.hashAtAnchor, anchor.hash)) {
      return this.broken(anchor.seq, 'anchor_mismatch', `entry ${anchor.seq} is not the entry the anchor recorded: the trail was rewritten`);
    }
    return { ok: true, entries, head: previous ?? null };
  }

  private broken(seq: number, reason: ChainBreakReason, message: string): ChainVerification {
    return { ok: false, entries: this.entries, seq, reason, message };
  }
}

/** Constant-time comparison of two hex hashes (a mismatch in length or form is simply unequal). */
function sameHash(a: string, b: string): boolean {
  if (!HASH_PATTERN.test(a) || !HASH_PATTERN.test(b)) return false;
  return timingSafeEqual(Buffer.from(a, 'hex'), Buffer.from(b, 'hex'));
}

/** A date-time in any ISO 8601 form, as the canonical UTC form with milliseconds. */
export function parseIsoTime(value: unknown, field: string): string {
  const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms)) throw new ValidationError(`${field} must be an ISO 8601 date-time (got ${JSON.stringify(value)})`, field);
  return new Date(ms).toISOString();
}

function requireShortText(value: unknown, field: string, max = 256): void {
  if (typeof value !== 'string' || value.trim() === '' || value.length > max) {
    throw new ValidationError(`${field} must be a non-empty string of at most ${max} characters`, field);
  }
}
