import { DynamoDBClient, type DynamoDBClientConfig } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type QueryCommandInput,
  type TransactWriteCommandInput,
} from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';

import { ConflictError, NotFoundError, StorageError, ValidationError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { Plan } from '../domain/plan.js';
import type { Snapshot } from '../domain/snapshot.js';
import type {
  Catalog,
  NewStorageBackend,
  ReplicationFilter,
  ReplicationReceipt,
  RunFilter,
  RunRecord,
  RunResult,
  RunStatus,
  SnapshotFilter,
  StorageBackendRecord,
} from '../ports/catalog.js';
import { decodeRecord, encodeRecord } from './dynamodb-record-codec.js';
import { batchWrite, cancellationCodes, isConditionFailure, prefixQuery, purgePartition, queryItems, translateDynamoError } from './dynamodb-support.js';
import { CATALOG_KEYS, encodeTime, keyPart } from './dynamodb-table.js';
import { parseLimit, parseTime, pathsKey, requireText } from './sqlite-store.js';

/*
 * The catalog in one DynamoDB table (single-table design; docs/DYNAMODB.md has the same table).
 *
 * Items (PK / SK; LSI sort keys; other attributes). `<t>` is encodeTime(ms) (17 digits, sorts as time),
 * `<r>` / `<s>` are keyPart(repository / snapshot id), and `rec` is the record (`json` or `jsonBr`).
 *
 *   REPO#<r>            / HEAD            generation, retired[]        current snapshot generation
 *   SNAPS#<r>#<gen>     / SNAP#<id>       byTime=<t>#<id>; type, source, pathsHash, tags[], rec
 *   RUNS                / RUN#<id>        byTime=<t>#<id>, byScope=<r>#<t>#<id>,
 *                                         bySubScope=<s>#<t>#<id> (when it has a snapshotId);
 *                                         kind, status, repository, plan, backupType, rec
 *   BACKENDS            / COUNTER         last (the last id given out)
 *   BACKENDS            / NAME#<name>     id, rec
 *   BACKENDS            / ID#<id>         name, rec
 *   PLANS               / PLAN#<name>     rec
 *   RECEIPTS            / RECEIPT#<id>    byTime=<t>#<id>, byScope=<src r>#<t>#<id>,
 *                                         bySubScope=<src r>#<s>#<t>#<id>; snapshotId, rec
 *
 * Access patterns (every read is strongly consistent: base table or LSI, never a GSI):
 *   getSnapshot            GetItem HEAD, GetItem SNAP#<id> in its generation, GetItem HEAD again
 *   listSnapshots          HEAD, Query byTime desc (`before` as a key condition; type, source, paths,
 *                          tag as filters), HEAD again
 *   put/deleteSnapshot     TransactWriteItems: ConditionCheck HEAD generation + Put/Delete
 *   replaceSnapshots       BatchWrite the new generation, UpdateItem HEAD (conditional flip), then
 *                          BatchWrite deletes of the retired generation
 *   startRun               PutItem, attribute_not_exists
 *   finishRun              GetItem, PutItem conditional on the status read (running, or the same
 *                          final status when the same finish is repeated)
 *   getRun                 GetItem
 *   listRuns               Query bySubScope (snapshotId), byScope (repository) or byTime, desc;
 *                          since/until/after as a key range; kind, status, plan, backupType filters
 *   createStorageBackend   GetItem NAME# (early conflict), UpdateItem COUNTER ADD 1, TransactWriteItems
 *                          Put NAME# + Put ID#, both attribute_not_exists
 *   getStorageBackend      GetItem ID#<id> or NAME#<name>
 *   listStorageBackends    Query BACKENDS begins_with NAME# (by name)
 *   deleteStorageBackend   GetItem NAME#, TransactWriteItems Delete NAME# (attribute_exists) + ID#
 *   put/get/deletePlan     PutItem / GetItem / DeleteItem attribute_exists; listPlans Query PLANS
 *   recordReplication      PutItem, attribute_not_exists
 *   listReplications       Query byTime, byScope or bySubScope desc, by the filters given
 *
 * Why a generation per repository: replaceSnapshots must swap a set of any size atomically for readers,
 * and a DynamoDB transaction holds at most 100 items. So the new set is written under a new partition
 * key and published by one conditional write to HEAD. Readers read HEAD before and after their read and
 * retry when it changed, so they never see a generation half deleted; writers condition on HEAD, so a
 * put cannot land in a retired generation.
 */

/** Options for {@link DynamoDbCatalog}. */
export interface DynamoDbCatalogOptions {
  tableName: string;
  /** e.g. `http://127.0.0.1:8000` for DynamoDB Local; default: the region's DynamoDB endpoint. */
  endpoint?: string;
  region?: string;
  credentials?: DynamoDBClientConfig['credentials'];
  /**
   * A client to use instead of building one from endpoint, region and credentials. The caller keeps
   * ownership: `close()` does not destroy it.
   */
  client?: DynamoDBClient;
}

/** A client for the endpoint, region and credentials of `options` (each optional: the SDK's defaults). */
export function dynamoDbClient(options: Pick<DynamoDbCatalogOptions, 'endpoint' | 'region' | 'credentials'>): DynamoDBClient {
  return new DynamoDBClient({
    ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
    ...(options.region !== undefined ? { region: options.region } : {}),
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
  });
}

const FINAL_STATUSES: readonly RunStatus[] = ['succeeded', 'failed', 'interrupted'];
/** The generation of a repository that was never replaced (no HEAD item yet). */
const FIRST_GENERATION = '0';
/** Attempts when a HEAD flip races a read or a write; each flip is a whole `catalog rebuild`, so rare. */
const GENERATION_ATTEMPTS = 5;

const RUNS_PK = 'RUNS';
const BACKENDS_PK = 'BACKENDS';
const PLANS_PK = 'PLANS';
const RECEIPTS_PK = 'RECEIPTS';

type Item = Record<string, unknown>;
type TransactItem = NonNullable<TransactWriteCommandInput['TransactItems']>[number];

interface Head {
  exists: boolean;
  generation: string;
  retired: string[];
}

/**
 * The catalog on DynamoDB, for the AWS deployment. Same contract as the SQLite catalog
 * (test/contract/catalog.contract.ts runs on both); the table comes from the CDK stack
 * (or {@link createCatalogTable} in tests).
 *
 * One difference is deliberate: `finishRun` finishes a run once. A second finish with another status
 * or finish time is a ConflictError `conflict.run_finished`; repeating the same status and time (an SDK
 * or Step Functions retry, or a caller adding a summary) is applied as a first finish would be. Step
 * Functions may run the record step and the failure handler of one run: the first final status stands.
 */
export class DynamoDbCatalog implements Catalog {
  readonly tableName: string;
  private readonly client: DynamoDBClient;
  private readonly documents: DynamoDBDocumentClient;
  private readonly ownsClient: boolean;
  private closed = false;

  constructor(options: DynamoDbCatalogOptions) {
    requireText(options?.tableName, 'tableName');
    this.tableName = options.tableName;
    this.ownsClient = options.client === undefined;
    this.client = options.client ?? dynamoDbClient(options);
    this.documents = DynamoDBDocumentClient.from(this.client, { marshallOptions: { removeUndefinedValues: true } });
  }

  // ---- snapshots ----

  putSnapshot(repository: string, snapshot: Snapshot): Promise<void> {
    return this.guard('putSnapshot', async () => {
      requireText(repository, 'repository');
      const fields = snapshotFields(snapshot);
      await this.inGeneration(repository, (partition) => ({ Put: { TableName: this.tableName, Item: { PK: partition, ...fields } } }));
    });
  }

  getSnapshot(repository: string, id: string): Promise<Snapshot | undefined> {
    return this.guard('getSnapshot', () =>
      this.readGeneration(repository, async (partition) => {
        const item = await this.get({ PK: partition, SK: snapshotSk(id) });
        return item === undefined ? undefined : decodeRecord<Snapshot>(item);
      }),
    );
  }

  listSnapshots(repository: string, filter: SnapshotFilter = {}): Promise<Snapshot[]> {
    return this.guard('listSnapshots', async () => {
      const limit = filter.limit === undefined ? undefined : parseLimit(filter.limit, 'filter.limit');
      const query = new QueryBuilder(CATALOG_KEYS.byTime.index);
      if (filter.before !== undefined) query.keyBelow(CATALOG_KEYS.byTime.attribute, encodeTime(parseTime(filter.before, 'filter.before')));
      if (filter.type !== undefined) query.filterEquals('type', filter.type);
      if (filter.source !== undefined) query.filterEquals('source', filter.source);
      if (filter.paths !== undefined) query.filterEquals('pathsHash', pathsHash(filter.paths, 'filter.paths'));
      // contains() on a list is membership, not substring: "daily" does not match "daily-extra".
      if (filter.tag !== undefined) query.filter('contains(#tags, :tag)', { '#tags': 'tags' }, { ':tag': filter.tag });
      return this.readGeneration(repository, async (partition) => {
        const items = await queryItems(this.documents, query.build(this.tableName, partition), limit);
        return items.map((item) => decodeRecord<Snapshot>(item));
      });
    });
  }

  deleteSnapshot(repository: string, id: string): Promise<void> {
    return this.guard('deleteSnapshot', () =>
      this.inGeneration(repository, (partition) => ({ Delete: { TableName: this.tableName, Key: { PK: partition, SK: snapshotSk(id) } } })),
    );
  }

  /**
   * Writes `snapshots` as a new generation and publishes it with one conditional write to the
   * repository's HEAD, then deletes the retired generation. Readers see the old set or the new one; an
   * invalid record fails before anything is written. A concurrent replace of the same repository makes
   * the later flip fail with a retryable `storage.catalog_busy`, its new generation removed again.
   */
  replaceSnapshots(repository: string, snapshots: Snapshot[]): Promise<void> {
    return this.guard('replaceSnapshots', async () => {
      requireText(repository, 'repository');
      const byId = new Map<string, Item>();
      for (const snapshot of snapshots) {
        const fields = snapshotFields(snapshot);
        byId.set(snapshot.id, fields); // a repeated id keeps the last record, as in SQLite
      }
      const head = await this.readHead(repository);
      const generation = randomId(8);
      const partition = snapshotPartition(repository, generation);
      await this.batchWrite([...byId.values()].map((fields) => ({ PutRequest: { Item: { PK: partition, ...fields } } })));
      try {
        await this.documents.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headKey(repository),
            UpdateExpression: 'SET #generation = :new, #retired = list_append(if_not_exists(#retired, :none), :old)',
            ConditionExpression: head.exists ? '#generation = :current' : 'attribute_not_exists(#generation)',
            ExpressionAttributeNames: { '#generation': 'generation', '#retired': 'retired' },
            ExpressionAttributeValues: { ':new': generation, ':none': [], ':old': [head.generation], ...(head.exists ? { ':current': head.generation } : {}) },
          }),
        );
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        await this.purgePartition(partition);
        throw busy('replaceSnapshots', `another catalog rebuild of repository ${repository} ran at the same time`);
      }
      // Readers check HEAD after reading, so the retired generations can go at once (including any left
      // behind by an earlier replace that stopped before its clean-up).
      for (const retired of new Set([...head.retired, head.generation])) await this.purgePartition(snapshotPartition(repository, retired));
      await this.documents
        .send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: headKey(repository),
            UpdateExpression: 'SET #retired = :none',
            ConditionExpression: '#generation = :new',
            ExpressionAttributeNames: { '#generation': 'generation', '#retired': 'retired' },
            ExpressionAttributeValues: { ':new': generation, ':none': [] },
          }),
        )
        .catch((error: unknown) => {
          // A newer replace flipped HEAD meanwhile; its clean-up covers what we retired.
          if (!isConditionFailure(error)) throw error;
        });
    });
  }

  // ---- runs ----

  startRun(run: RunRecord): Promise<void> {
    return this.guard('startRun', async () => {
      requireText(run.id, 'run.id');
      requireText(run.repository, 'run.repository');
      requireText(run.kind, 'run.kind');
      if (run.status !== 'running') {
        throw new ValidationError(`run.status must be "running" when a run starts (got "${String(run.status)}")`, 'run.status');
      }
      const startedMs = parseTime(run.startedAt, 'run.startedAt');
      try {
        await this.documents.send(new PutCommand({ TableName: this.tableName, Item: runItem(run, startedMs), ConditionExpression: 'attribute_not_exists(PK)' }));
      } catch (error) {
        if (isConditionFailure(error)) throw new ConflictError('run_exists', `run ${run.id} is already recorded`, { details: { id: run.id } });
        throw error;
      }
    });
  }

  /**
   * Sets the final status of a running run; absent fields of `result` keep the run's values, except
   * `error`, which the final result alone decides.
   *
   * @throws NotFoundError when no run `id` is recorded.
   * @throws ConflictError `conflict.run_finished` when the run already finished otherwise.
   */
  finishRun(id: string, result: RunResult): Promise<void> {
    return this.guard('finishRun', async () => {
      if (!FINAL_STATUSES.includes(result.status)) {
        throw new ValidationError(`result.status must be one of ${FINAL_STATUSES.join(', ')} (got "${String(result.status)}")`, 'result.status');
      }
      parseTime(result.finishedAt, 'result.finishedAt');
      // Read, then write on condition that the status is still the one read (compare and swap): of two
      // finishes racing, one wins and the other sees the winner's status on its second read.
      for (let attempt = 1; ; attempt++) {
        const item = await this.get(runKey(id));
        if (item === undefined) throw new NotFoundError('run', id);
        const run = decodeRecord<RunRecord>(item);
        if (run.status !== 'running' && (run.status !== result.status || run.finishedAt !== result.finishedAt)) {
          throw new ConflictError('run_finished', `run ${id} already finished (${run.status} at ${String(run.finishedAt)})`, {
            details: { id, status: run.status },
          });
        }
        const updated: RunRecord = {
          ...run,
          status: result.status,
          finishedAt: result.finishedAt,
          snapshotId: result.snapshotId ?? run.snapshotId,
          error: result.error,
          summary: result.summary ?? run.summary,
        };
        try {
          await this.documents.send(
            new PutCommand({
              TableName: this.tableName,
              Item: runItem(updated, parseTime(run.startedAt, 'run.startedAt')),
              ConditionExpression: '#status = :read',
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: { ':read': run.status },
            }),
          );
          return;
        } catch (error) {
          if (!isConditionFailure(error) || attempt >= 3) throw error;
        }
      }
    });
  }

  getRun(id: string): Promise<RunRecord | undefined> {
    return this.guard('getRun', async () => {
      const item = await this.get(runKey(id));
      return item === undefined ? undefined : decodeRecord<RunRecord>(item);
    });
  }

  /**
   * Runs newest first. The index follows the most selective filter given: `snapshotId` (bySubScope),
   * else `repository` (byScope), else all runs (byTime); `since`, `until` and the `after` cursor bound
   * its sort key, and the other filters are FilterExpressions.
   */
  listRuns(filter: RunFilter = {}): Promise<RunRecord[]> {
    return this.guard('listRuns', async () => {
      const limit = filter.limit === undefined ? undefined : parseLimit(filter.limit, 'filter.limit');
      const bounds = runTimeBounds(filter);
      if (bounds.lower !== undefined && bounds.upper !== undefined && bounds.lower > bounds.upper) return [];
      let query: QueryBuilder;
      if (filter.snapshotId !== undefined) {
        query = new QueryBuilder(CATALOG_KEYS.bySubScope.index).keyRange(CATALOG_KEYS.bySubScope.attribute, `${keyPart(filter.snapshotId)}#`, bounds);
        if (filter.repository !== undefined) query.filterEquals('repository', filter.repository);
      } else if (filter.repository !== undefined) {
        query = new QueryBuilder(CATALOG_KEYS.byScope.index).keyRange(CATALOG_KEYS.byScope.attribute, `${keyPart(filter.repository)}#`, bounds);
      } else {
        query = new QueryBuilder(CATALOG_KEYS.byTime.index).keyRange(CATALOG_KEYS.byTime.attribute, '', bounds);
      }
      if (filter.kind !== undefined) query.filterEquals('kind', filter.kind);
      if (filter.status !== undefined) query.filterEquals('status', filter.status);
      if (filter.plan !== undefined) query.filterEquals('plan', filter.plan);
      if (filter.backupType !== undefined) query.filterEquals('backupType', filter.backupType);
      const items = await queryItems(this.documents, query.build(this.tableName, RUNS_PK), limit, query.excludedKey());
      return items.map((item) => decodeRecord<RunRecord>(item));
    });
  }

  // ---- storage backends ----

  /**
   * Records a backend under a new id from an atomic counter. An id is never given out twice; one taken
   * by a create that then lost a race for its name stays unused.
   *
   * @throws ConflictError `conflict.storage_backend_exists` when the name is taken.
   */
  createStorageBackend(backend: NewStorageBackend): Promise<StorageBackendRecord> {
    return this.guard('createStorageBackend', async () => {
      requireText(backend.name, 'name');
      requireText(backend.type, 'type');
      if (typeof backend.config !== 'object' || backend.config === null || Array.isArray(backend.config)) {
        throw new ValidationError('config must be an object', 'config');
      }
      const taken = (): ConflictError =>
        new ConflictError('storage_backend_exists', `a storage backend named "${backend.name}" already exists`, { details: { name: backend.name } });
      // Checked first so that the common conflict does not use up an id.
      if ((await this.get(backendNameKey(backend.name))) !== undefined) throw taken();
      const counter = await this.documents.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { PK: BACKENDS_PK, SK: 'COUNTER' },
          UpdateExpression: 'ADD #last :one',
          ExpressionAttributeNames: { '#last': 'last' },
          ExpressionAttributeValues: { ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      const id = Number(counter.Attributes?.last);
      const record: StorageBackendRecord = { id, name: backend.name, type: backend.type, config: backend.config, created: new Date().toISOString() };
      const stored = encodeRecord(record, `storage backend ${backend.name}`);
      try {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tableName, Item: { ...backendNameKey(record.name), id, ...stored }, ConditionExpression: 'attribute_not_exists(PK)' } },
              { Put: { TableName: this.tableName, Item: { ...backendIdKey(id), name: record.name, ...stored }, ConditionExpression: 'attribute_not_exists(PK)' } },
            ],
          }),
        );
      } catch (error) {
        if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') throw taken();
        throw error;
      }
      return record;
    });
  }

  getStorageBackend(idOrName: number | string): Promise<StorageBackendRecord | undefined> {
    return this.guard('getStorageBackend', async () => {
      const item = await this.get(typeof idOrName === 'number' ? backendIdKey(idOrName) : backendNameKey(idOrName));
      return item === undefined ? undefined : decodeRecord<StorageBackendRecord>(item);
    });
  }

  listStorageBackends(): Promise<StorageBackendRecord[]> {
    return this.guard('listStorageBackends', async () => {
      const items = await queryItems(this.documents, prefixQuery(this.tableName, BACKENDS_PK, 'NAME#'));
      return items.map((item) => decodeRecord<StorageBackendRecord>(item));
    });
  }

  deleteStorageBackend(name: string): Promise<void> {
    return this.guard('deleteStorageBackend', async () => {
      const item = await this.get(backendNameKey(name));
      if (item === undefined) throw new NotFoundError('storage backend', name);
      try {
        await this.documents.send(
          new TransactWriteCommand({
            TransactItems: [
              { Delete: { TableName: this.tableName, Key: backendNameKey(name), ConditionExpression: 'attribute_exists(PK)' } },
              { Delete: { TableName: this.tableName, Key: backendIdKey(Number(item.id)) } },
            ],
          }),
        );
      } catch (error) {
        if (cancellationCodes(error)?.[0] === 'ConditionalCheckFailed') throw new NotFoundError('storage backend', name);
        throw error;
      }
    });
  }

  // ---- plans ----

  putPlan(plan: Plan): Promise<void> {
    return this.guard('putPlan', async () => {
      requireText(plan.name, 'plan.name');
      await this.documents.send(new PutCommand({ TableName: this.tableName, Item: { ...planKey(plan.name), ...encodeRecord(plan, `plan ${plan.name}`) } }));
    });
  }

  getPlan(name: string): Promise<Plan | undefined> {
    return this.guard('getPlan', async () => {
      const item = await this.get(planKey(name));
      return item === undefined ? undefined : decodeRecord<Plan>(item);
    });
  }

  listPlans(): Promise<Plan[]> {
    return this.guard('listPlans', async () => {
      const items = await queryItems(this.documents, prefixQuery(this.tableName, PLANS_PK, 'PLAN#'));
      return items.map((item) => decodeRecord<Plan>(item));
    });
  }

  deletePlan(name: string): Promise<void> {
    return this.guard('deletePlan', async () => {
      try {
        await this.documents.send(new DeleteCommand({ TableName: this.tableName, Key: planKey(name), ConditionExpression: 'attribute_exists(PK)' }));
      } catch (error) {
        if (isConditionFailure(error)) throw new NotFoundError('plan', name);
        throw error;
      }
    });
  }

  // ---- replication receipts ----

  /** @throws ConflictError `conflict.receipt_exists` when a receipt with this id is recorded. */
  recordReplication(receipt: ReplicationReceipt): Promise<void> {
    return this.guard('recordReplication', async () => {
      requireText(receipt.id, 'receipt.id');
      requireText(receipt.snapshotId, 'receipt.snapshotId');
      requireText(receipt.source?.repository, 'receipt.source.repository');
      requireText(receipt.destination?.location, 'receipt.destination.location');
      const time = encodeTime(parseTime(receipt.time, 'receipt.time'));
      const source = keyPart(receipt.source.repository);
      const item: Item = {
        PK: RECEIPTS_PK,
        SK: `RECEIPT#${receipt.id}`,
        [CATALOG_KEYS.byTime.attribute]: `${time}#${receipt.id}`,
        [CATALOG_KEYS.byScope.attribute]: `${source}#${time}#${receipt.id}`,
        [CATALOG_KEYS.bySubScope.attribute]: `${source}#${keyPart(receipt.snapshotId)}#${time}#${receipt.id}`,
        snapshotId: receipt.snapshotId,
        ...encodeRecord(receipt, `replication receipt ${receipt.id}`),
      };
      try {
        await this.documents.send(new PutCommand({ TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' }));
      } catch (error) {
        if (isConditionFailure(error)) throw new ConflictError('receipt_exists', `replication receipt ${receipt.id} is already recorded`, { details: { id: receipt.id } });
        throw error;
      }
    });
  }

  listReplications(filter: ReplicationFilter = {}): Promise<ReplicationReceipt[]> {
    return this.guard('listReplications', async () => {
      const limit = filter.limit === undefined ? undefined : parseLimit(filter.limit, 'filter.limit');
      const { sourceRepository, snapshotId } = filter;
      let query: QueryBuilder;
      if (sourceRepository !== undefined && snapshotId !== undefined) {
        query = new QueryBuilder(CATALOG_KEYS.bySubScope.index).keyPrefix(CATALOG_KEYS.bySubScope.attribute, `${keyPart(sourceRepository)}#${keyPart(snapshotId)}#`);
      } else if (sourceRepository !== undefined) {
        query = new QueryBuilder(CATALOG_KEYS.byScope.index).keyPrefix(CATALOG_KEYS.byScope.attribute, `${keyPart(sourceRepository)}#`);
      } else {
        query = new QueryBuilder(CATALOG_KEYS.byTime.index);
        if (snapshotId !== undefined) query.filterEquals('snapshotId', snapshotId);
      }
      const items = await queryItems(this.documents, query.build(this.tableName, RECEIPTS_PK), limit);
      return items.map((item) => decodeRecord<ReplicationReceipt>(item));
    });
  }

  /** Releases the client (when the catalog built it). Closing twice is harmless; other calls then fail. */
  close(): Promise<void> {
    if (!this.closed) {
      this.closed = true;
      if (this.ownsClient) this.client.destroy();
    }
    return Promise.resolve();
  }

  // ---- plumbing ----

  private async guard<T>(operation: string, work: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StorageError('catalog_closed', `catalog is closed (${operation})`);
    try {
      return await work();
    } catch (error) {
      throw translateDynamoError(error, operation, this.tableName);
    }
  }

  private async get(key: Item): Promise<Item | undefined> {
    const { Item: item } = await this.documents.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return item;
  }

  private async readHead(repository: string): Promise<Head> {
    const item = await this.get(headKey(repository));
    if (item === undefined) return { exists: false, generation: FIRST_GENERATION, retired: [] };
    return { exists: true, generation: String(item.generation), retired: Array.isArray(item.retired) ? (item.retired as string[]) : [] };
  }

  /** Runs `read` on the current generation, again when HEAD moved meanwhile (a replace ran). */
  private async readGeneration<T>(repository: string, read: (partition: string) => Promise<T>): Promise<T> {
    let head = await this.readHead(repository);
    for (let attempt = 1; ; attempt++) {
      const result = await read(snapshotPartition(repository, head.generation));
      const after = await this.readHead(repository);
      if (after.generation === head.generation) return result;
      if (attempt >= GENERATION_ATTEMPTS) throw busy('read', `repository ${repository} is being rebuilt`);
      head = after;
    }
  }

  /** Applies `action` to the current generation in a transaction that checks HEAD did not move. */
  private async inGeneration(repository: string, action: (partition: string) => TransactItem): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const head = await this.readHead(repository);
      const check: TransactItem = {
        ConditionCheck: {
          TableName: this.tableName,
          Key: headKey(repository),
          ConditionExpression: head.exists ? '#generation = :generation' : 'attribute_not_exists(#generation)',
          ExpressionAttributeNames: { '#generation': 'generation' },
          ...(head.exists ? { ExpressionAttributeValues: { ':generation': head.generation } } : {}),
        },
      };
      try {
        await this.documents.send(new TransactWriteCommand({ TransactItems: [check, action(snapshotPartition(repository, head.generation))] }));
        return;
      } catch (error) {
        const codes = cancellationCodes(error);
        const raced = codes !== undefined && (codes[0] === 'ConditionalCheckFailed' || codes.includes('TransactionConflict'));
        if (!raced) throw error;
        if (attempt >= GENERATION_ATTEMPTS) throw busy('write', `repository ${repository} is being rebuilt`);
      }
    }
  }

  private batchWrite(requests: Item[]): Promise<void> {
    return batchWrite(this.documents, this.tableName, requests);
  }

  private purgePartition(partition: string): Promise<void> {
    return purgePartition(this.documents, this.tableName, partition);
  }
}

/**
 * Builds a newest-first, strongly consistent query of one partition on an LSI: a key condition on the
 * index's sort key (a prefix, or "below" a bound) and equality or custom filters.
 */
class QueryBuilder {
  private keyCondition = '';
  private readonly filters: string[] = [];
  private readonly names: Record<string, string> = {};
  private readonly values: Record<string, unknown> = {};
  private excluded: { attribute: string; value: string } | undefined;

  constructor(private readonly index: string) {}

  keyPrefix(attribute: string, prefix: string): this {
    this.keyCondition = ' AND begins_with(#sortKey, :sortKey)';
    this.names['#sortKey'] = attribute;
    this.values[':sortKey'] = prefix;
    return this;
  }

  keyBelow(attribute: string, bound: string): this {
    this.keyCondition = ' AND #sortKey < :sortKey';
    this.names['#sortKey'] = attribute;
    this.values[':sortKey'] = bound;
    return this;
  }

  /**
   * Sort keys `<prefix><key>` with lower <= key < upper (either bound optional). DynamoDB has no
   * range with an exclusive upper end, so BETWEEN is used and the one item whose key equals the upper
   * bound (a pagination cursor) is dropped by {@link excludedKey}.
   */
  keyRange(attribute: string, prefix: string, bounds: { lower?: string; upper?: string }): this {
    this.names['#sortKey'] = attribute;
    const { lower, upper } = bounds;
    if (lower === undefined && upper === undefined) {
      if (prefix === '') delete this.names['#sortKey'];
      else return this.keyPrefix(attribute, prefix);
    } else if (lower === undefined && prefix === '') {
      this.keyCondition = ' AND #sortKey < :upper';
      this.values[':upper'] = upper;
    } else if (upper === undefined && prefix === '') {
      this.keyCondition = ' AND #sortKey >= :lower';
      this.values[':lower'] = lower;
    } else {
      // Within a prefix, keys continue with a digit (encodeTime), so ':' bounds them from above.
      this.keyCondition = ' AND #sortKey BETWEEN :lower AND :upper';
      this.values[':lower'] = `${prefix}${lower ?? ''}`;
      this.values[':upper'] = `${prefix}${upper ?? ':'}`;
      this.excluded = upper === undefined ? undefined : { attribute, value: `${prefix}${upper}` };
    }
    return this;
  }

  /** A predicate dropping the item whose sort key is the exclusive upper bound, if the range has one. */
  excludedKey(): ((item: Record<string, unknown>) => boolean) | undefined {
    const excluded = this.excluded;
    return excluded === undefined ? undefined : (item) => item[excluded.attribute] === excluded.value;
  }

  filterEquals(attribute: string, value: unknown): this {
    return this.filter(`#${attribute} = :${attribute}`, { [`#${attribute}`]: attribute }, { [`:${attribute}`]: value });
  }

  filter(expression: string, names: Record<string, string>, values: Record<string, unknown>): this {
    this.filters.push(expression);
    Object.assign(this.names, names);
    Object.assign(this.values, values);
    return this;
  }

  build(tableName: string, partition: string): QueryCommandInput {
    return {
      TableName: tableName,
      IndexName: this.index,
      KeyConditionExpression: `#PK = :PK${this.keyCondition}`,
      ...(this.filters.length > 0 ? { FilterExpression: this.filters.join(' AND ') } : {}),
      ExpressionAttributeNames: { '#PK': CATALOG_KEYS.partitionKey, ...this.names },
      ExpressionAttributeValues: { ':PK': partition, ...this.values },
      ScanIndexForward: false,
      ConsistentRead: true,
      // The record is not projected into the index: the LSI fetches it from the table.
      Select: 'ALL_ATTRIBUTES',
    };
  }
}

/** The attributes of a snapshot item except its partition key; validates the record as SQLite does. */
function snapshotFields(snapshot: Snapshot): Item {
  requireText(snapshot?.id, 'snapshot.id');
  requireText(snapshot.backupId, 'snapshot.backupId');
  requireText(snapshot.type, 'snapshot.type');
  requireText(snapshot.source, 'snapshot.source');
  const timeMs = parseTime(snapshot.time, 'snapshot.time');
  if (!Array.isArray(snapshot.tags) || !snapshot.tags.every((tag) => typeof tag === 'string')) {
    throw new ValidationError('snapshot.tags must be an array of strings', 'snapshot.tags');
  }
  return {
    SK: snapshotSk(snapshot.id),
    [CATALOG_KEYS.byTime.attribute]: `${encodeTime(timeMs)}#${snapshot.id}`,
    type: snapshot.type,
    source: snapshot.source,
    pathsHash: pathsHash(snapshot.paths, 'snapshot.paths'),
    tags: [...snapshot.tags],
    ...encodeRecord(snapshot, `snapshot ${snapshot.id}`),
  };
}

/** The order-insensitive identity of a list of paths, as a short hash: the list itself can be long. */
function pathsHash(paths: unknown, field: string): string {
  return createHash('sha256').update(pathsKey(paths, field)).digest('base64url');
}

function runItem(run: RunRecord, startedMs: number): Item {
  const time = encodeTime(startedMs);
  const plan = run.summary?.plan;
  const backupType = run.summary?.type;
  return {
    ...runKey(run.id),
    [CATALOG_KEYS.byTime.attribute]: `${time}#${run.id}`,
    [CATALOG_KEYS.byScope.attribute]: `${keyPart(run.repository)}#${time}#${run.id}`,
    // Sparse: only runs that wrote or read a snapshot are in this index.
    ...(run.snapshotId ? { [CATALOG_KEYS.bySubScope.attribute]: `${keyPart(run.snapshotId)}#${time}#${run.id}` } : {}),
    kind: run.kind,
    status: run.status,
    repository: run.repository,
    ...(typeof plan === 'string' ? { plan } : {}),
    ...(typeof backupType === 'string' ? { backupType } : {}),
    ...encodeRecord(run, `run ${run.id}`),
  };
}

/** The sort-key bounds (without prefix) of `since` (inclusive), `until` and the `after` cursor (exclusive). */
function runTimeBounds(filter: RunFilter): { lower?: string; upper?: string } {
  const uppers: string[] = [];
  if (filter.until !== undefined) uppers.push(encodeTime(parseTime(filter.until, 'filter.until')));
  if (filter.after !== undefined) {
    requireText(filter.after.id, 'filter.after.id');
    uppers.push(`${encodeTime(parseTime(filter.after.startedAt, 'filter.after.startedAt'))}#${filter.after.id}`);
  }
  const upper = uppers.sort()[0];
  return {
    ...(filter.since !== undefined ? { lower: encodeTime(parseTime(filter.since, 'filter.since')) } : {}),
    ...(upper !== undefined ? { upper } : {}),
  };
}

function headKey(repository: string): Item {
  return { PK: `REPO#${keyPart(repository)}`, SK: 'HEAD' };
}

function snapshotPartition(repository: string, generation: string): string {
  return `SNAPS#${keyPart(repository)}#${generation}`;
}

function snapshotSk(id: string): string {
  return `SNAP#${id}`;
}

function runKey(id: string): Item {
  return { PK: RUNS_PK, SK: `RUN#${id}` };
}

function backendNameKey(name: string): Item {
  return { PK: BACKENDS_PK, SK: `NAME#${name}` };
}

function backendIdKey(id: number): Item {
  return { PK: BACKENDS_PK, SK: `ID#${id}` };
}

function planKey(name: string): Item {
  return { PK: PLANS_PK, SK: `PLAN#${name}` };
}

function busy(operation: string, reason: string): StorageError {
  return new StorageError('catalog_busy', `catalog ${operation}: ${reason}; try again`, { retryable: true });
}
