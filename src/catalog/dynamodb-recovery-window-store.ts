import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import { compareWindows, requireWindowsOf, type RecoveryWindowRecord, type RecoveryWindowStore } from '../ports/recovery-window-store.js';
import { decodeRecord, encodeRecord } from './dynamodb-record-codec.js';
import { DynamoDbStore, type DynamoDbStoreOptions, type DynamoItem } from './dynamodb-store.js';
import { batchWrite, prefixQuery, queryItems } from './dynamodb-support.js';

/*
 * Items (docs/DYNAMODB.md):
 *   PITR / WINDOW#<r>#<system identifier>   repository, systemIdentifier, rec   one cluster's last computed window
 * One partition for every repository: a deployment has a handful of clusters, and the metrics read them all
 * with one Query.
 */

const PITR_PK = 'PITR';
const PREFIX = 'WINDOW#';

/** Recoverability windows on the DynamoDB catalog table (same contract as SqliteRecoveryWindowStore). */
export class DynamoDbRecoveryWindowStore extends DynamoDbStore implements RecoveryWindowStore {
  constructor(options: DynamoDbStoreOptions) {
    super(options);
  }

  putWindow(record: RecoveryWindowRecord): Promise<void> {
    return this.guard('putRecoveryWindow', async () => {
      requireWindowsOf(record.repository, [record]);
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: windowItem(record) }));
    });
  }

  /** Puts, then deletes the repository's other clusters (in batches: not atomic across clusters, as the port allows). */
  replaceWindows(repository: string, records: readonly RecoveryWindowRecord[]): Promise<void> {
    return this.guard('replaceRecoveryWindows', async () => {
      requireWindowsOf(repository, records);
      const kept = new Set(records.map((record) => windowKey(repository, record.systemIdentifier).SK));
      const existing = await queryItems(this.documents, { ...prefixQuery(this.tableName, PITR_PK, repositoryPrefix(repository)), ProjectionExpression: 'PK, SK' });
      await batchWrite(this.documents, this.tableName, [
        ...records.map((record) => ({ PutRequest: { Item: windowItem(record) } })),
        ...existing.filter((item) => !kept.has(String(item.SK))).map((item) => ({ DeleteRequest: { Key: { PK: item.PK, SK: item.SK } } })),
      ]);
    });
  }

  deleteWindow(repository: string, systemIdentifier: string): Promise<void> {
    return this.guard('deleteRecoveryWindow', async () => {
      await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: windowKey(repository, systemIdentifier) }));
    });
  }

  listWindows(repository?: string): Promise<RecoveryWindowRecord[]> {
    return this.guard('listRecoveryWindows', async () => {
      const items = await queryItems(this.documents, prefixQuery(this.tableName, PITR_PK, repository === undefined ? PREFIX : repositoryPrefix(repository)));
      // Sorted here: the sort key orders by the encoded repository name, the contract by the name itself.
      return items.map((item) => decodeRecord<RecoveryWindowRecord>(item)).sort(compareWindows);
    });
  }
}

/** `<r>` as in the catalog's keys: encoded, so that a prefix of one repository never matches another. */
function repositoryPrefix(repository: string): string {
  return `${PREFIX}${encodeURIComponent(repository)}#`;
}

function windowKey(repository: string, systemIdentifier: string): DynamoItem {
  return { PK: PITR_PK, SK: `${repositoryPrefix(repository)}${systemIdentifier}` };
}

function windowItem(record: RecoveryWindowRecord): DynamoItem {
  return {
    ...windowKey(record.repository, record.systemIdentifier),
    repository: record.repository,
    systemIdentifier: record.systemIdentifier,
    ...encodeRecord(record, `recovery window of cluster ${record.systemIdentifier}`),
  };
}
