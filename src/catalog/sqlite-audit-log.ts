import type Database from 'better-sqlite3';
import { anchorFor, parseRow, sealEntry, verifyChain, type AuditAnchor, type AuditHead, type AuditRecord, type ChainVerification, type NewAuditEntry, type StoredAuditRow } from '../domain/audit.js';
import type { AuditAnchorStore, AuditLog, AuditPage, AuditQuery } from '../ports/audit-log.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { auditPage, parseAuditQuery, requireAuditKey, stampAuditEntry, unreadableAnchor } from './audit-log-support.js';
import { SqliteStore } from './sqlite-store.js';

export interface SqliteAuditLogOptions {
  /** The audit key (32 random bytes), held outside the database: see runtime/audit-key.ts. */
  key: Buffer;
  /** Where the head is kept outside the table. */
  anchor: AuditAnchorStore;
  clock?: Clock;
}

interface RowColumns {
  seq: number;
  time_ms: number;
  data: string;
  prev_hash: string;
  hash: string;
}

const COLUMNS = 'seq, time_ms, data, prev_hash, hash';

/**
 * The audit trail in the catalog's `audit_log` table (schema v4), on the catalog's connection: obtain it
 * with `catalog.sibling((db) => new SqliteAuditLog(db, options))`.
 *
 * An append is two short IMMEDIATE transactions. The first reads the head and inserts the next entry:
 * IMMEDIATE takes the write lock before the read, so two processes appending at once queue up instead
 * of both chaining to the same head (the seq primary key would refuse the loser anyway; the lock makes
 * it wait rather than fail). The second moves the anchor to the table's head as committed, under the
 * write lock again, so anchor writes are serialised and the anchor never names an entry that is not
 * committed; a crash between the two leaves it behind, which verification accepts.
 */
export class SqliteAuditLog extends SqliteStore implements AuditLog {
  private readonly key: Buffer;
  private readonly anchor: AuditAnchorStore;
  private readonly clock: Clock;

  constructor(db: Database.Database, options: SqliteAuditLogOptions) {
    super(db);
    this.key = requireAuditKey(options.key);
    this.anchor = options.anchor;
    this.clock = options.clock ?? systemClock;
  }

  append(input: NewAuditEntry): Promise<AuditRecord> {
    return this.guard('audit append', () => {
      const entry = stampAuditEntry(input, this.clock);
      const row = this.db
        .transaction(() => {
          const sealed = sealEntry(this.key, this.head(), entry);
          this.statement(`INSERT INTO audit_log (${COLUMNS}) VALUES (?, ?, ?, ?, ?)`).run(sealed.seq, sealed.timeMs, sealed.data, sealed.prevHash, sealed.hash);
          return sealed;
        })
        .immediate();
      this.db
        .transaction(() => {
          const head = this.head();
          if (head !== undefined) this.anchor.write(anchorFor(this.key, head));
        })
        .immediate();
      return parseRow(row);
    });
  }

  list(query: AuditQuery = {}): Promise<AuditPage> {
    return this.guard('audit list', () => {
      const { limit, fromMs, toMs, afterSeq } = parseAuditQuery(query);
      const conditions: string[] = [];
      const values: number[] = [];
      if (fromMs !== undefined) {
        conditions.push('time_ms >= ?');
        values.push(fromMs);
      }
      if (toMs !== undefined) {
        conditions.push('time_ms < ?');
        values.push(toMs);
      }
      if (afterSeq !== undefined) {
        conditions.push('seq > ?');
        values.push(afterSeq);
      }
      const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
      const rows = this.statement(`SELECT ${COLUMNS} FROM audit_log ${where} ORDER BY seq LIMIT ?`).all(...values, limit + 1) as RowColumns[];
      return auditPage(rows.map(toStored), limit);
    });
  }

  verify(): Promise<ChainVerification> {
    return this.guard('audit verify', () => {
      let anchor: AuditAnchor | undefined;
      try {
        anchor = this.anchor.read();
      } catch (error) {
        return unreadableAnchor(error);
      }
      // A read transaction, so the rows and the head they are compared with are one snapshot; iterate()
      // streams the rows, so verifying holds one row at a time.
      return this.db
        .transaction(() => {
          return verifyChain(storedRows(this.statement(`SELECT ${COLUMNS} FROM audit_log ORDER BY seq`)), this.key, anchor);
        })
        .deferred();
    });
  }

  private head(): AuditHead | undefined {
    return this.statement('SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1').get() as AuditHead | undefined;
  }
}

/**
 * The statement's rows, started only when the first is pulled: a verification that stops before
 * reading (another key) or part way (a broken link) leaves no open cursor behind, which would make the
 * enclosing transaction's COMMIT fail with "connection is busy".
 */
function* storedRows(statement: Database.Statement): Generator<StoredAuditRow> {
  for (const row of statement.iterate() as IterableIterator<RowColumns>) yield toStored(row);
}

function toStored(row: RowColumns): StoredAuditRow {
  return { seq: row.seq, timeMs: row.time_ms, data: row.data, prevHash: row.prev_hash, hash: row.hash };
}
