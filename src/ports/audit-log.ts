import type { AuditAnchor, AuditRecord, ChainVerification, NewAuditEntry } from '../domain/audit.js';

/**
 * AuditLog: the append-only, hash-chained record of every mutating call, restore and export
 * (src/domain/audit.ts explains the chain, its key and its anchor).
 *
 * Contract:
 * - `append` validates the entry (ValidationError naming the field: a bad action, result or actor,
 *   details that are too large or have a secret-looking key), stamps `time` from the log's clock when
 *   absent, and records it as the next seq (1, 2, 3 …) chained to the current head. Appends from any
 *   number of processes sharing the store form one chain: reading the head and writing the entry are
 *   one atomic step. It returns the record as stored (seq, prevHash, hash). Once it resolves, the entry
 *   is durable and the anchor has been moved to it (or past it, by a concurrent append).
 *   A busy store is a retryable StorageError (`storage.catalog_busy`).
 * - Entries are never updated or deleted through this port; there is no such method.
 * - `list` returns entries whose `time` is in [`from`, `to`), in seq order (oldest first), at most
 *   `limit` (default {@link DEFAULT_AUDIT_PAGE}, at most {@link MAX_AUDIT_PAGE}); `nextCursor` is set
 *   when more may follow, and passing it back as `cursor` continues after the last entry returned.
 *   Cursors are opaque. A row whose text is not an entry at all (tampering) is an IntegrityError
 *   `integrity.audit_unreadable`; `verify` locates it.
 * - `verify` reads the whole chain and reports ok with the entry count and head, or the FIRST broken
 *   link: its seq and reason (content_changed, link_broken, sequence_gap, reordered, missing_tail,
 *   anchor_mismatch, anchor_missing, wrong_key) and a message. It never throws for a broken chain.
 * - Stores no secrets: the key is held by the adapter, never written to the store; details with
 *   secret-looking keys are refused.
 */
export interface AuditLog {
  append(entry: NewAuditEntry): Promise<AuditRecord>;
  list(query?: AuditQuery): Promise<AuditPage>;
  verify(): Promise<ChainVerification>;
}

export interface AuditQuery {
  /** Inclusive lower bound, ISO 8601. */
  from?: string;
  /** Exclusive upper bound, ISO 8601. */
  to?: string;
  limit?: number;
  /** `nextCursor` of the previous page. */
  cursor?: string;
}

export interface AuditPage {
  records: AuditRecord[];
  nextCursor?: string;
}

export const DEFAULT_AUDIT_PAGE = 100;
export const MAX_AUDIT_PAGE = 1000;

/**
 * Where the chain's head is kept outside the audit table, so that deleting the newest entries is
 * detected (see {@link AuditAnchor}). It must live where whoever can edit the table cannot simply edit
 * it too, as far as the deployment allows: locally, a file beside the catalog (which raises the bar
 * to two coordinated edits plus the key, since the anchor is MACed); in AWS, another service.
 *
 * Contract: `read` returns the last anchor written, or undefined when none ever was; a stored anchor
 * that cannot be parsed is an IntegrityError `integrity.audit_anchor_unreadable` (verify reports it as
 * `anchor_mismatch`). `write` replaces it atomically (a reader sees the old or the new one) and durably.
 * Both are synchronous because the SQLite adapter calls them inside its (synchronous) write
 * transaction, which is also what serialises writers across processes.
 */
export interface AuditAnchorStore {
  read(): AuditAnchor | undefined;
  write(anchor: AuditAnchor): void;
}

/**
 * The {@link AuditAnchorStore} contract for an anchor reached over the network (DynamoDB in AWS), where
 * no lock is shared with the table: the same `read` and `write`, asynchronous. Since concurrent appends
 * cannot be made to write the anchor in order, `write` never moves it backwards: a write whose seq is
 * not above the stored anchor's is ignored (a concurrent append already moved it further).
 */
export interface AsyncAuditAnchorStore {
  read(): Promise<AuditAnchor | undefined>;
  write(anchor: AuditAnchor): Promise<void>;
}
