import { PutCommand } from '@aws-sdk/lib-dynamodb';

import type { AuditAnchor } from '../domain/audit.js';
import { IntegrityError } from '../domain/errors.js';
import type { AsyncAuditAnchorStore } from '../ports/audit-log.js';
import { DynamoDbStore, type DynamoDbStoreOptions } from './dynamodb-store.js';
import { isConditionFailure } from './dynamodb-support.js';
import { anchorText, parseAnchor } from './file-audit-anchor.js';

/** The anchor's key: the same in the catalog table or in a table of its own (same key schema, PK/SK). */
const ANCHOR_KEY = { PK: 'AUDIT', SK: 'ANCHOR' };

/**
 * The audit anchor as one DynamoDB item (`AUDIT` / `ANCHOR`): `anchor` holds its text (the format of
 * the local anchor file), `seq` its seq as a number for the write condition.
 *
 * Where it should live: the anchor only helps if whoever can delete the newest audit entries cannot
 * also roll the anchor back. So in production give it a table of its own (`anchorTableName` of
 * `awsStores`), writable only by the API function's role, with point-in-time recovery, and grant
 * operators read access only; then deleting the tail of the trail needs write access to two tables
 * (and the anchor's MAC still needs the audit key). Kept in the catalog table, it is as strong as the
 * local anchor file: detection of truncation by anyone who edits only the entries.
 *
 * Writes are conditional on the stored seq being lower (`attribute_not_exists(seq) OR seq < :seq`):
 * appends from concurrent Lambdas write their anchors in any order, and the anchor still only moves
 * forward.
 */
export class DynamoDbAuditAnchor extends DynamoDbStore implements AsyncAuditAnchorStore {
  constructor(options: DynamoDbStoreOptions) {
    super(options);
  }

  read(): Promise<AuditAnchor | undefined> {
    return this.guard('audit anchor read', async () => {
      const item = await this.getItem(ANCHOR_KEY);
      if (item === undefined) return undefined;
      const anchor = typeof item.anchor === 'string' ? parseAnchor(item.anchor) : undefined;
      if (anchor === undefined) throw new IntegrityError('audit_anchor_unreadable', `the audit anchor in table ${this.tableName} is not a valid anchor`, { details: { table: this.tableName } });
      return anchor;
    });
  }

  write(anchor: AuditAnchor): Promise<void> {
    return this.guard('audit anchor write', async () => {
      try {
        await this.documents.send(
          new PutCommand({
            TableName: this.tableName,
            Item: { ...ANCHOR_KEY, seq: anchor.seq, anchor: anchorText(anchor) },
            ConditionExpression: 'attribute_not_exists(#seq) OR #seq < :seq',
            ExpressionAttributeNames: { '#seq': 'seq' },
            ExpressionAttributeValues: { ':seq': anchor.seq },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error; // a later append already moved it further
      }
    });
  }
}
