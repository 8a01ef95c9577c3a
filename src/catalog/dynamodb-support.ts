import { BatchWriteCommand, QueryCommand, type DynamoDBDocumentClient, type QueryCommandInput } from '@aws-sdk/lib-dynamodb';

import { BackupError, StorageError } from '../domain/errors.js';
import { isTransientNetworkError, sanitizedCause } from '../storage/remote-storage-support.js';

/** Errors DynamoDB reports for load or contention: worth retrying later. */
const BUSY_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'TransactionConflictException',
  'TransactionInProgressException',
  'InternalServerError',
  'ServiceUnavailable',
]);

/**
 * Turns an SDK error into a domain error. The SDK already retried throttling and 5xx answers with
 * backoff, so what arrives here is reported, as retryable where waiting could help. DynamoDB's messages
 * name attributes and tables, never values, and the catalog holds no secrets anyway.
 */
export function translateDynamoError(error: unknown, operation: string, tableName: string): BackupError {
  if (error instanceof BackupError) return error;
  const { name, message } = (error ?? {}) as { name?: unknown; message?: unknown };
  const text = typeof message === 'string' ? message : String(error);
  const details = { table: tableName, awsError: typeof name === 'string' ? name : undefined };
  // SDK error objects carry request metadata: keep a plain copy of name, code and message only.
  const cause = sanitizedCause(error);
  if (typeof name === 'string' && BUSY_ERRORS.has(name)) {
    return new StorageError('catalog_busy', `catalog ${operation}: DynamoDB is busy (${name})`, { retryable: true, cause, details });
  }
  if (name === 'ResourceNotFoundException') {
    return new StorageError('catalog_failed', `catalog ${operation}: DynamoDB table ${tableName} does not exist (create it with the CDK stack)`, { cause, details });
  }
  if (isTransientNetworkError(error)) {
    return new StorageError('catalog_unavailable', `catalog ${operation}: DynamoDB cannot be reached (${text})`, { retryable: true, cause, details });
  }
  return new StorageError('catalog_failed', `catalog ${operation} failed: ${typeof name === 'string' ? `${name}: ` : ''}${text}`, { cause, details });
}

/** True when a conditional write failed its condition (not found, already exists, already finished). */
export function isConditionFailure(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'ConditionalCheckFailedException';
}

/**
 * The cancellation reason codes of a failed TransactWriteItems, in the order of its actions, or
 * undefined when `error` is not a cancelled transaction.
 */
export function cancellationCodes(error: unknown): (string | undefined)[] | undefined {
  const failure = error as { name?: unknown; CancellationReasons?: { Code?: string }[] } | null;
  if (failure?.name !== 'TransactionCanceledException') return undefined;
  return (failure.CancellationReasons ?? []).map((reason) => (reason.Code === 'None' ? undefined : reason.Code));
}

/**
 * Runs a query page after page and returns its items, stopping once `limit` items were collected.
 * DynamoDB applies its own `Limit` before a FilterExpression, so with a filter the limit is ours alone;
 * without one, each page asks for what is still missing.
 */
export async function queryItems(
  client: DynamoDBDocumentClient,
  input: QueryCommandInput,
  limit?: number,
  /** Items to drop as they arrive (before they count towards the limit). */
  exclude?: (item: Record<string, unknown>) => boolean,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(
      new QueryCommand({
        ...input,
        ...(limit !== undefined && input.FilterExpression === undefined ? { Limit: limit - items.length } : {}),
        ...(startKey ? { ExclusiveStartKey: startKey } : {}),
      }),
    );
    for (const item of (page.Items ?? []) as Record<string, unknown>[]) if (!exclude?.(item)) items.push(item);
    startKey = page.LastEvaluatedKey as Record<string, unknown> | undefined;
  } while (startKey !== undefined && (limit === undefined || items.length < limit));
  return limit === undefined ? items : items.slice(0, limit);
}

/** A strongly consistent query of the items of `partition` whose sort key starts with `prefix`. */
export function prefixQuery(tableName: string, partition: string, prefix: string): QueryCommandInput {
  return {
    TableName: tableName,
    KeyConditionExpression: 'PK = :pk AND begins_with(SK, :prefix)',
    ExpressionAttributeValues: { ':pk': partition, ':prefix': prefix },
    ConsistentRead: true,
  };
}

const BATCH_WRITE_MAX = 25;

/** BatchWriteItem in groups of 25, resubmitting what DynamoDB left unprocessed (with backoff). */
export async function batchWrite(client: DynamoDBDocumentClient, tableName: string, requests: Record<string, unknown>[]): Promise<void> {
  for (let start = 0; start < requests.length; start += BATCH_WRITE_MAX) {
    let pending = requests.slice(start, start + BATCH_WRITE_MAX);
    for (let round = 0; pending.length > 0; round++) {
      if (round > 0) await new Promise((done) => setTimeout(done, Math.min(1000, 50 * 2 ** round)));
      if (round > 8) throw new StorageError('catalog_busy', `catalog batch write: DynamoDB left ${pending.length} writes unprocessed; try again`, { retryable: true });
      const result = await client.send(new BatchWriteCommand({ RequestItems: { [tableName]: pending as never } }));
      pending = (result.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
    }
  }
}

/** Deletes every item of a partition (read strongly consistent, deleted in batches). */
export async function purgePartition(client: DynamoDBDocumentClient, tableName: string, partition: string): Promise<void> {
  const keys = await queryItems(client, {
    TableName: tableName,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': partition },
    ProjectionExpression: 'PK, SK',
    ConsistentRead: true,
  });
  await batchWrite(client, tableName, keys.map((key) => ({ DeleteRequest: { Key: { PK: key.PK, SK: key.SK } } })));
}
