import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import type { AlertCondition, AlertStateStore } from '../ports/alert-state-store.js';
import { decodeRecord, encodeRecord } from './dynamodb-record-codec.js';
import { DynamoDbStore, type DynamoDbStoreOptions, type DynamoItem } from './dynamodb-store.js';
import { prefixQuery, queryItems } from './dynamodb-support.js';

/*
 * Items (docs/DYNAMODB.md):
 *   ALERTS / ALERT#<key>   rec   one open alert condition (what the dispatcher throttles on)
 */

const ALERTS_PK = 'ALERTS';
const PREFIX = 'ALERT#';

/** Open alert conditions on the DynamoDB catalog table (same contract as SqliteAlertStateStore). */
export class DynamoDbAlertStateStore extends DynamoDbStore implements AlertStateStore {
  constructor(options: DynamoDbStoreOptions) {
    super(options);
  }

  get(key: string): Promise<AlertCondition | undefined> {
    return this.guard('getAlertCondition', async () => {
      const item = await this.getItem(conditionKey(key));
      return item === undefined ? undefined : decodeRecord<AlertCondition>(item);
    });
  }

  put(key: string, condition: AlertCondition): Promise<void> {
    return this.guard('putAlertCondition', async () => {
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: { ...conditionKey(key), ...encodeRecord(condition, `alert condition ${key}`) } }));
    });
  }

  delete(key: string): Promise<void> {
    return this.guard('deleteAlertCondition', async () => {
      await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: conditionKey(key) }));
    });
  }

  keys(): Promise<string[]> {
    return this.guard('alertConditionKeys', async () => {
      const items = await queryItems(this.documents, { ...prefixQuery(this.tableName, ALERTS_PK, PREFIX), ProjectionExpression: 'SK' });
      return items.map((item) => String(item.SK).slice(PREFIX.length));
    });
  }
}

function conditionKey(key: string): DynamoItem {
  return { PK: ALERTS_PK, SK: `${PREFIX}${key}` };
}
