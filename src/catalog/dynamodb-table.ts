import {
  CreateTableCommand,
  DeleteTableCommand,
  waitUntilTableExists,
  type CreateTableCommandInput,
  type DynamoDBClient,
} from '@aws-sdk/client-dynamodb';

/*
 * The catalog's DynamoDB table: one table, string keys PK and SK, three local secondary indexes that
 * re-sort a partition. docs/DYNAMODB.md describes every item and access pattern; the CDK definition
 * (infra/) must mirror CATALOG_TABLE exactly.
 *
 * Why local and not global secondary indexes: a GSI is only eventually consistent, so a snapshot or a
 * run written a moment ago could be missing from a listing. Every listing here stays inside one
 * partition key, where an LSI can be read with ConsistentRead. The price is the 10 GB limit of one
 * item collection (a partition key with its index entries), which bounds one repository's snapshot
 * records, all runs, and all receipts — see docs/DYNAMODB.md for the arithmetic.
 */

/** Attribute and index names of the catalog table. */
export const CATALOG_KEYS = {
  partitionKey: 'PK',
  sortKey: 'SK',
  /** LSI sorting a partition by time, then id: `<encodeTime>#<id>`. */
  byTime: { index: 'byTime', attribute: 'byTime' },
  /** LSI sorting a partition by a scope (a repository), then time and id. */
  byScope: { index: 'byScope', attribute: 'byScope' },
  /** LSI sorting a partition by a narrower scope (receipts: repository and snapshot; runs: snapshot), then time and id. */
  bySubScope: { index: 'bySubScope', attribute: 'bySubScope' },
} as const;

/** Plain attributes that listings filter on (projected into every index). */
export const CATALOG_FILTER_ATTRIBUTES = ['type', 'source', 'pathsHash', 'tags', 'kind', 'status', 'repository', 'plan', 'backupType', 'snapshotId'] as const;

const LOCAL_INDEXES = [CATALOG_KEYS.byTime, CATALOG_KEYS.byScope, CATALOG_KEYS.bySubScope];

/**
 * The table definition (keys, attribute types, indexes, on-demand billing) without its name. Point-in-
 * time recovery and KMS encryption are set by the CDK stack; the catalog uses no TTL attribute.
 */
export const CATALOG_TABLE: Omit<CreateTableCommandInput, 'TableName'> = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [
    { AttributeName: CATALOG_KEYS.partitionKey, AttributeType: 'S' },
    { AttributeName: CATALOG_KEYS.sortKey, AttributeType: 'S' },
    ...LOCAL_INDEXES.map((index) => ({ AttributeName: index.attribute, AttributeType: 'S' as const })),
  ],
  KeySchema: [
    { AttributeName: CATALOG_KEYS.partitionKey, KeyType: 'HASH' },
    { AttributeName: CATALOG_KEYS.sortKey, KeyType: 'RANGE' },
  ],
  // INCLUDE the attributes that filters read, not the record itself: with ALL, the record's copy in the
  // index counts against the 400 KB item limit (DynamoDB Local refused a 290 KB record), halving the room
  // for a large snapshot. Queries ask for ALL_ATTRIBUTES, which an LSI serves by fetching the record
  // from the table, still strongly consistent, for one extra read unit per item listed.
  LocalSecondaryIndexes: LOCAL_INDEXES.map((index) => ({
    IndexName: index.index,
    KeySchema: [
      { AttributeName: CATALOG_KEYS.partitionKey, KeyType: 'HASH' },
      { AttributeName: index.attribute, KeyType: 'RANGE' },
    ],
    Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: [...CATALOG_FILTER_ATTRIBUTES] },
  })),
};

/** Creates the catalog table and waits until it is active (tests and local setups; production uses the CDK stack). */
export async function createCatalogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand({ ...CATALOG_TABLE, TableName: tableName }));
  await waitUntilTableExists({ client, maxWaitTime: 60, minDelay: 1 }, { TableName: tableName });
}

/** Deletes the catalog table (tests). */
export async function deleteCatalogTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new DeleteTableCommand({ TableName: tableName }));
}

/** Offset that makes every JavaScript time (±8.64e15 ms) non-negative. */
const TIME_OFFSET = 8_640_000_000_000_000n;

/**
 * A time in milliseconds as 17 fixed-width digits, so that string order (how DynamoDB sorts keys) is
 * time order. ISO strings of different precision do not sort as text ("12:00:00Z" > "12:00:00.500Z").
 */
export function encodeTime(ms: number): string {
  return (BigInt(ms) + TIME_OFFSET).toString().padStart(17, '0');
}

/**
 * A user-given name (repository, snapshot id) as a key component followed by `#`: percent-encoded so
 * that it contains no `#`, making a prefix of one name never a prefix of another ("a#" vs "a#b#…").
 * Used only where the component is a grouping, not the sort order: names that order a listing are
 * stored raw as the last component of their key.
 */
export function keyPart(name: string): string {
  return encodeURIComponent(name);
}
