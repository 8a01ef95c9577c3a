import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, TransactWriteCommand, type TransactWriteCommandInput } from '@aws-sdk/lib-dynamodb';

import { StorageError } from '../domain/errors.js';
import { cancellationCodes, translateDynamoError } from './dynamodb-support.js';
import { requireText } from './sqlite-store.js';

/** Where a store beside the DynamoDB catalog keeps its items: the catalog's table, through a client the caller owns. */
export interface DynamoDbStoreOptions {
  tableName: string;
  /** Shared with the catalog and the other stores; never destroyed by a store. */
  client: DynamoDBClient;
}

export type DynamoItem = Record<string, unknown>;
export type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

/** Rounds of a transaction that DynamoDB cancelled only because another one held an item. */
const CONFLICT_ATTEMPTS = 12;

/**
 * The plumbing of the stores that share the DynamoDB catalog's table (schedules, retention policies,
 * alert state, audit trail): a document client, {@link DynamoDbStore.guard} turning SDK errors into
 * domain errors, strongly consistent reads, and transactions that are retried while they merely
 * collided with another one. The stores hold no connection of their own, so they have no `close`.
 */
export abstract class DynamoDbStore {
  readonly tableName: string;
  protected readonly documents: DynamoDBDocumentClient;

  protected constructor(options: DynamoDbStoreOptions) {
    requireText(options?.tableName, 'tableName');
    this.tableName = options.tableName;
    this.documents = DynamoDBDocumentClient.from(options.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  protected async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw translateDynamoError(error, operation, this.tableName);
    }
  }

  protected async getItem(key: DynamoItem): Promise<DynamoItem | undefined> {
    const { Item: item } = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return item;
  }

  /**
   * Runs a write transaction. Resolves undefined when it was applied, or with the cancellation codes
   * (one per action, undefined where that action was fine) when a condition failed. A transaction
   * cancelled only by a conflict with a concurrent one (two claims checking the same schedule) is run
   * again after a short random pause; still colliding after a dozen rounds, it is a retryable busy error.
   */
  protected async transact(items: TransactItem[]): Promise<(string | undefined)[] | undefined> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.documents.send(new TransactWriteCommand({ TransactItems: items }));
        return undefined;
      } catch (error) {
        const codes = cancellationCodes(error);
        if (codes?.includes('ConditionalCheckFailed')) return codes;
        if (!codes?.includes('TransactionConflict')) throw error;
        if (attempt >= CONFLICT_ATTEMPTS) throw busy('transaction', 'concurrent writes kept colliding');
        await pause(attempt);
      }
    }
  }
}

/** A random pause growing with the attempt (5–40 ms, then up to 320 ms): colliding writers spread out. */
export function pause(attempt: number): Promise<void> {
  const ceiling = Math.min(320, 5 * 2 ** Math.min(attempt, 6));
  return new Promise((done) => setTimeout(done, 5 + Math.random() * ceiling));
}

export function busy(operation: string, reason: string): StorageError {
  return new StorageError('catalog_busy', `catalog ${operation}: ${reason}; try again`, { retryable: true });
}
