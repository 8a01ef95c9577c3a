import { QueryCommand, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

import { anchorFor, ChainVerifier, parseRow, sealEntry, type AuditAnchor, type AuditHead, type AuditRecord, type ChainVerification, type NewAuditEntry, type StoredAuditRow } from '../domain/audit.js';
import type { AsyncAuditAnchorStore, AuditLog, AuditPage, AuditQuery } from '../ports/audit-log.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { auditPage, parseAuditQuery, requireAuditKey, stampAuditEntry, unreadableAnchor } from './audit-log-support.js';
import { busy, DynamoDbStore, pause, type DynamoDbStoreOptions, type DynamoItem } from './dynamodb-store.js';
import { queryItems } from './dynamodb-support.js';

/*
 * Items (docs/DYNAMODB.md):
 *   AUDIT / HEAD          seq (N), hash                            the newest entry: appends are serialised on it
 *   AUDIT / SEQ#<seq>     seq (N), timeMs (N), data, prevHash, hash  one entry (<seq>: 15 digits, so text order is seq order)
 */

export interface DynamoDbAuditLogOptions extends DynamoDbStoreOptions {
  /** The audit key (32 random bytes), held outside the table. */
  key: Buffer;
  /** Where the head is kept outside the entries: see {@link DynamoDbAuditAnchor}. */
  anchor: AsyncAuditAnchorStore;
  clock?: Clock;
}

const AUDIT_PK = 'AUDIT';
const HEAD_KEY = { PK: AUDIT_PK, SK: 'HEAD' };
const SEQ_DIGITS = 15;
/** Rounds an append tries before reporting a busy trail: each round, one of the contenders wins. */
const APPEND_ATTEMPTS = 25;

/**
 * The audit trail on the DynamoDB catalog table, for the AWS deployment: the same keyed chain as
 * SqliteAuditLog (the entries are sealed and verified by src/domain/audit.ts, so a trail exported from
 * either verifies the same way).
 *
 * An append reads HEAD, seals the entry after it, and writes both in one transaction: a Put of
 * `SEQ#<seq+1>` (`attribute_not_exists`) and a Put of HEAD conditional on HEAD still naming `seq`. Of
 * concurrent appends chained to the same head exactly one commits; the others read the new head and
 * seal again. Then the anchor is moved to the appended entry (it only moves forward, so concurrent
 * appends may write theirs in any order); a crash in between leaves it behind, which verification
 * accepts.
 */
export class DynamoDbAuditLog extends DynamoDbStore implements AuditLog {
  private readonly key: Buffer;
  private readonly anchor: AsyncAuditAnchorStore;
  private readonly clock: Clock;

  constructor(options: DynamoDbAuditLogOptions) {
    super(options);
    this.key = requireAuditKey(options.key);
    this.anchor = options.anchor;
    this.clock = options.clock ?? systemClock;
  }

  append(input: NewAuditEntry): Promise<AuditRecord> {
    return this.guard('audit append', async () => {
      const entry = stampAuditEntry(input, this.clock);
      for (let attempt = 1; attempt <= APPEND_ATTEMPTS; attempt++) {
        const head = await this.head();
        const row = sealEntry(this.key, head, entry);
        const failed = await this.transact([
          { Put: { TableName: this.tableName, Item: { PK: AUDIT_PK, SK: seqKey(row.seq), seq: row.seq, timeMs: row.timeMs, data: row.data, prevHash: row.prevHash, hash: row.hash }, ConditionExpression: 'attribute_not_exists(PK)' } },
          {
            Put: {
              TableName: this.tableName,
              Item: { ...HEAD_KEY, seq: row.seq, hash: row.hash },
              ...(head === undefined
                ? { ConditionExpression: 'attribute_not_exists(PK)' }
                : { ConditionExpression: '#seq = :seq', ExpressionAttributeNames: { '#seq': 'seq' }, ExpressionAttributeValues: { ':seq': head.seq } }),
            },
          },
        ]);
        if (failed === undefined) {
          await this.anchor.write(anchorFor(this.key, row));
          return parseRow(row);
        }
        await pause(attempt);
      }
      throw busy('audit append', 'other appends kept winning the head');
    });
  }

  /**
   * Entries after the cursor in seq order, with the time range as a filter: time is not an order the
   * chain keeps (an entry may carry its own time), so a listing reads entries from its cursor on until
   * its page is full. Cheap for the recent pages the API shows; an export of an old range reads the
   * trail up to it, which for a rare export of a trail of ~500-byte entries is acceptable.
   */
  list(query: AuditQuery = {}): Promise<AuditPage> {
    return this.guard('audit list', async () => {
      const { limit, fromMs, toMs, afterSeq } = parseAuditQuery(query);
      const filters: string[] = [];
      const values: DynamoItem = {};
      if (fromMs !== undefined) {
        filters.push('#timeMs >= :from');
        values[':from'] = fromMs;
      }
      if (toMs !== undefined) {
        filters.push('#timeMs < :to');
        values[':to'] = toMs;
      }
      const input = entriesQuery(this.tableName, afterSeq);
      const filtered: QueryCommandInput =
        filters.length === 0
          ? input
          : { ...input, FilterExpression: filters.join(' AND '), ExpressionAttributeNames: { '#timeMs': 'timeMs' }, ExpressionAttributeValues: { ...input.ExpressionAttributeValues, ...values } };
      const items = await queryItems(this.documents, filtered, limit + 1);
      return auditPage(items.map(storedRow), limit);
    });
  }

  /**
   * Reads the anchor, then the entries page by page in seq order, checking each as it arrives (memory
   * stays at one page). The anchor is read first: it never runs ahead of the entries, so entries
   * appended meanwhile only lengthen the chain it is compared with.
   */
  verify(): Promise<ChainVerification> {
    return this.guard('audit verify', async () => {
      let anchor: AuditAnchor | undefined;
      try {
        anchor = await this.anchor.read();
      } catch (error) {
        return unreadableAnchor(error);
      }
      const verifier = new ChainVerifier(this.key, anchor);
      if (verifier.keyMismatch !== undefined) return verifier.keyMismatch;
      let startKey: DynamoItem | undefined;
      do {
        const page = await this.documents.send(new QueryCommand({ ...entriesQuery(this.tableName), ...(startKey ? { ExclusiveStartKey: startKey } : {}) }));
        for (const item of page.Items ?? []) {
          const broken = verifier.add(storedRow(item));
          if (broken !== undefined) return broken;
        }
        startKey = page.LastEvaluatedKey;
      } while (startKey !== undefined);
      return verifier.end();
    });
  }

  private async head(): Promise<AuditHead | undefined> {
    const item = await this.getItem(HEAD_KEY);
    return item === undefined ? undefined : { seq: Number(item.seq), hash: String(item.hash) };
  }
}

function seqKey(seq: number): string {
  return `SEQ#${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** The entries after `afterSeq` (all when undefined), oldest first, strongly consistent. */
function entriesQuery(tableName: string, afterSeq = 0): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: 'PK = :pk AND SK BETWEEN :first AND :last',
    ExpressionAttributeValues: { ':pk': AUDIT_PK, ':first': seqKey(afterSeq + 1), ':last': seqKey(10 ** SEQ_DIGITS - 1) },
    ConsistentRead: true,
  };
}

/**
 * An entry item as the chain's row. Its seq is the one in its key (where it sits), whatever its `seq`
 * attribute says; attributes of the wrong type (an edited item) become values that fail verification.
 */
function storedRow(item: DynamoItem): StoredAuditRow {
  return {
    seq: Number(String(item.SK).slice('SEQ#'.length)),
    timeMs: typeof item.timeMs === 'number' ? item.timeMs : Number.NaN,
    data: typeof item.data === 'string' ? item.data : '',
    prevHash: typeof item.prevHash === 'string' ? item.prevHash : '',
    hash: typeof item.hash === 'string' ? item.hash : '',
  };
}
