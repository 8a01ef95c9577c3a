import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';

import { NotFoundError } from '../domain/errors.js';
import type { NamedRetentionPolicy, RetentionPolicyStore } from '../ports/retention-policy-store.js';
import { decodeRecord, encodeRecord } from './dynamodb-record-codec.js';
import { DynamoDbStore, type DynamoDbStoreOptions, type DynamoItem } from './dynamodb-store.js';
import { isConditionFailure, prefixQuery, queryItems } from './dynamodb-support.js';
import { requireText } from './sqlite-store.js';

/*
 * Items (docs/DYNAMODB.md):
 *   POLICIES / POLICY#<name>   rec   one named retention policy; a Query of the partition lists them by name
 */

const POLICIES_PK = 'POLICIES';

/** Named retention policies on the DynamoDB catalog table (same contract as SqliteRetentionPolicyStore). */
export class DynamoDbRetentionPolicyStore extends DynamoDbStore implements RetentionPolicyStore {
  constructor(options: DynamoDbStoreOptions) {
    super(options);
  }

  putPolicy(policy: NamedRetentionPolicy): Promise<void> {
    return this.guard('putPolicy', async () => {
      requireText(policy.name, 'name');
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: { ...policyKey(policy.name), ...encodeRecord(policy, `retention policy ${policy.name}`) } }));
    });
  }

  getPolicy(name: string): Promise<NamedRetentionPolicy | undefined> {
    return this.guard('getPolicy', async () => {
      const item = await this.getItem(policyKey(name));
      return item === undefined ? undefined : decodeRecord<NamedRetentionPolicy>(item);
    });
  }

  listPolicies(): Promise<NamedRetentionPolicy[]> {
    return this.guard('listPolicies', async () => {
      const items = await queryItems(this.documents, prefixQuery(this.tableName, POLICIES_PK, 'POLICY#'));
      return items.map((item) => decodeRecord<NamedRetentionPolicy>(item));
    });
  }

  deletePolicy(name: string): Promise<void> {
    return this.guard('deletePolicy', async () => {
      try {
        await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: policyKey(name), ConditionExpression: 'attribute_exists(PK)' }));
      } catch (error) {
        if (isConditionFailure(error)) throw new NotFoundError('retention policy', name);
        throw error;
      }
    });
  }
}

function policyKey(name: string): DynamoItem {
  return { PK: POLICIES_PK, SK: `POLICY#${name}` };
}
