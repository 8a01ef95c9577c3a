import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { DeleteItemCommand, GetItemCommand, PutItemCommand, UpdateItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';

import { DynamoDbCatalog } from '../../src/catalog/dynamodb-catalog.js';
import { DynamoDbAlertStateStore } from '../../src/catalog/dynamodb-alert-state-store.js';
import { DynamoDbAuditAnchor } from '../../src/catalog/dynamodb-audit-anchor.js';
import { DynamoDbAuditLog } from '../../src/catalog/dynamodb-audit-log.js';
import { DynamoDbRetentionPolicyStore } from '../../src/catalog/dynamodb-retention-policy-store.js';
import { DynamoDbRecoveryWindowStore } from '../../src/catalog/dynamodb-recovery-window-store.js';
import { DynamoDbScheduleStore } from '../../src/catalog/dynamodb-schedule-store.js';
import type { DynamoDbStoreOptions } from '../../src/catalog/dynamodb-store.js';
import { createCatalogTable, deleteCatalogTable } from '../../src/catalog/dynamodb-table.js';
import { StorageError } from '../../src/domain/errors.js';
import { randomId } from '../../src/domain/ids.js';
import { newSchedule, parseScheduleInput } from '../../src/domain/schedule.js';
import { awsStores } from '../../src/runtime/aws-stores.js';
import { startDynamoDbLocal, type DynamoDbLocalHandle } from '../harness/dynamodb-local.js';
import { describeAlertStateStoreContract } from './alert-state-store.contract.js';
import { describeAuditLogContract, type AuditLogFixture } from './audit-log.contract.js';
import { describeRecoveryWindowStoreContract, windowRecord } from './recovery-window-store.contract.js';
import { describeRetentionPolicyStoreContract } from './retention-policy-store.contract.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import type { StoreFixture } from './store-fixture.js';

// The stores beside the DynamoDB catalog, all their contracts in one file so that one JVM serves them.
// Every test gets a catalog table of its own; every `connect` builds another client, as another
// Lambda would have.
let dynamo: DynamoDbLocalHandle;
let admin: DynamoDBClient;

beforeAll(async () => {
  dynamo = await startDynamoDbLocal();
  admin = dynamo.client();
});

afterAll(async () => {
  admin?.destroy();
  await dynamo?.stop();
});

interface Table {
  tableName: string;
  /** Options for a store on the table, through a new client. */
  connect: () => DynamoDbStoreOptions;
  cleanup: () => Promise<void>;
}

async function freshTable(): Promise<Table> {
  const tableName = `stores-${randomId(6)}`;
  await createCatalogTable(admin, tableName);
  const clients: DynamoDBClient[] = [];
  return {
    tableName,
    connect: () => {
      const client = dynamo.client();
      clients.push(client);
      return { tableName, client };
    },
    cleanup: async () => {
      for (const client of clients.splice(0)) client.destroy();
      await deleteCatalogTable(admin, tableName);
    },
  };
}

function tableFixture<T>(create: (options: DynamoDbStoreOptions) => T): () => Promise<StoreFixture<T>> {
  return async () => {
    const table = await freshTable();
    return { connect: () => create(table.connect()), cleanup: table.cleanup };
  };
}

describeScheduleStoreContract('DynamoDbScheduleStore (DynamoDB Local)', tableFixture((options) => new DynamoDbScheduleStore(options)));
describeRetentionPolicyStoreContract('DynamoDbRetentionPolicyStore (DynamoDB Local)', tableFixture((options) => new DynamoDbRetentionPolicyStore(options)));
describeAlertStateStoreContract('DynamoDbAlertStateStore (DynamoDB Local)', tableFixture((options) => new DynamoDbAlertStateStore(options)));
describeRecoveryWindowStoreContract('DynamoDbRecoveryWindowStore (DynamoDB Local)', tableFixture((options) => new DynamoDbRecoveryWindowStore(options)));

describeAuditLogContract('DynamoDbAuditLog (DynamoDB Local, anchor item)', async (): Promise<AuditLogFixture> => {
  const table = await freshTable();
  const anchorKey = { PK: { S: 'AUDIT' }, SK: { S: 'ANCHOR' } };
  return {
    open: ({ key, clock }) => {
      const options = table.connect();
      return new DynamoDbAuditLog({ ...options, key, anchor: new DynamoDbAuditAnchor(options), clock });
    },
    rewriteEntry: async (seq, change) => {
      const Key = { PK: { S: 'AUDIT' }, SK: { S: `SEQ#${String(seq).padStart(15, '0')}` } };
      const { Item } = await admin.send(new GetItemCommand({ TableName: table.tableName, Key, ConsistentRead: true }));
      await admin.send(new UpdateItemCommand({ TableName: table.tableName, Key, UpdateExpression: 'SET #data = :data', ExpressionAttributeNames: { '#data': 'data' }, ExpressionAttributeValues: { ':data': { S: change(Item!.data!.S!) } } }));
    },
    saveAnchor: async () => {
      const { Item } = await admin.send(new GetItemCommand({ TableName: table.tableName, Key: anchorKey, ConsistentRead: true }));
      return async () => void (await admin.send(new PutItemCommand({ TableName: table.tableName, Item: Item! })));
    },
    damageAnchor: async () => void (await admin.send(new PutItemCommand({ TableName: table.tableName, Item: { ...anchorKey, seq: { N: '99' }, anchor: { S: '{"version":1' } } }))),
    removeAnchor: async () => void (await admin.send(new DeleteItemCommand({ TableName: table.tableName, Key: anchorKey }))),
    cleanup: table.cleanup,
  };
});

describe('awsStores', () => {
  it('builds the four stores on the catalog table beside the catalog, with the anchor in a table of its own', async () => {
    const catalogTable = await freshTable();
    const anchorTable = await freshTable();
    const options = { tableName: catalogTable.tableName, endpoint: dynamo.endpoint, region: dynamo.region, credentials: dynamo.credentials };
    const catalog = new DynamoDbCatalog(options);
    try {
      const stores = awsStores({ ...options, auditKey: randomBytes(32), anchorTableName: anchorTable.tableName });
      await catalog.putPlan({ name: 'shop', files: { paths: ['/srv/shop'] } });
      const schedule = newSchedule(parseScheduleInput({ name: 'nightly', plan: 'shop', cron_expression: '0 2 * * *' }), new Date('2026-01-01T00:00:00Z'));
      await stores.schedules.createSchedule(schedule);
      await stores.policies.putPolicy({ name: 'shop', policy: { retention_days: 30 }, updated: '2026-01-01T00:00:00.000Z' });
      await stores.alertState.put('backup_failed:plan=shop', { lastSentAt: 1, suppressed: 0, lastAlert: { type: 'backup_failed', severity: 'critical', state: 'firing', key: 'backup_failed:plan=shop', title: 'failed', details: {}, time: '2026-01-01T00:00:00.000Z' } });
      await stores.recoveryWindows.putWindow(windowRecord('repo', '7400000000000000001'));
      const entry = await stores.audit.append({ actor: { kind: 'system', name: 'test' }, action: 'schedule.create', source: 'local', result: 'success' });

      // Each item type keeps to its own partition: the catalog lists only its plan.
      expect((await catalog.listPlans()).map((plan) => plan.name)).toEqual(['shop']);
      await expect(stores.schedules.listSchedules()).resolves.toEqual([schedule]);
      await expect(stores.recoveryWindows.listWindows()).resolves.toEqual([windowRecord('repo', '7400000000000000001')]);
      await expect(stores.audit.verify()).resolves.toEqual({ ok: true, entries: 1, head: { seq: 1, hash: entry.hash } });
      const anchorKey = { PK: { S: 'AUDIT' }, SK: { S: 'ANCHOR' } };
      const inAnchorTable = await admin.send(new GetItemCommand({ TableName: anchorTable.tableName, Key: anchorKey, ConsistentRead: true }));
      const inCatalogTable = await admin.send(new GetItemCommand({ TableName: catalogTable.tableName, Key: anchorKey, ConsistentRead: true }));
      expect(inAnchorTable.Item?.seq?.N).toBe('1');
      expect(inCatalogTable.Item).toBeUndefined();
    } finally {
      await catalog.close();
      await catalogTable.cleanup();
      await anchorTable.cleanup();
    }
  });

  it('reports a missing table as a StorageError naming it', async () => {
    const stores = awsStores({ tableName: 'no-such-table', client: admin, auditKey: randomBytes(32) });
    const attempt = stores.schedules.listSchedules();
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
    await expect(attempt).rejects.toThrow(/no-such-table does not exist/);
    await expect(stores.audit.append({ actor: { kind: 'system', name: 'test' }, action: 'backup.manual', source: 'local', result: 'success' })).rejects.toMatchObject({ code: 'storage.catalog_failed' });
  });
});
