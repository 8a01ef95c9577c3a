import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { GetItemCommand, ScanCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { randomBytes } from 'node:crypto';

import { DynamoDbCatalog } from '../../src/catalog/dynamodb-catalog.js';
import { createCatalogTable, deleteCatalogTable } from '../../src/catalog/dynamodb-table.js';
import { ConflictError, NotFoundError, StorageError, ValidationError } from '../../src/domain/errors.js';
import { randomId } from '../../src/domain/ids.js';
import { startDynamoDbLocal, type DynamoDbLocalHandle } from '../harness/dynamodb-local.js';
import { describeCatalogContract, makeRun, makeSnapshot } from './catalog.contract.js';

// One JVM for the whole file (about a second to start); every test gets a table of its own.
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

async function freshTable(): Promise<string> {
  const tableName = `catalog-${randomId(6)}`;
  await createCatalogTable(admin, tableName);
  return tableName;
}

function openCatalog(tableName: string): DynamoDbCatalog {
  return new DynamoDbCatalog({ tableName, endpoint: dynamo.endpoint, region: dynamo.region, credentials: dynamo.credentials });
}

describeCatalogContract('DynamoDbCatalog (DynamoDB Local)', async () => {
  const tableName = await freshTable();
  return { catalog: openCatalog(tableName), cleanup: () => deleteCatalogTable(admin, tableName) };
});

describe('DynamoDbCatalog', () => {
  let tableName: string;
  const opened: DynamoDbCatalog[] = [];
  const open = (): DynamoDbCatalog => {
    const catalog = openCatalog(tableName);
    opened.push(catalog);
    return catalog;
  };

  /** Every item of the table, for checks on how records are stored. */
  async function scanTable(): Promise<Record<string, { S?: string; B?: Uint8Array }>[]> {
    const items: Record<string, { S?: string; B?: Uint8Array }>[] = [];
    let start: Record<string, never> | undefined;
    do {
      const page = await admin.send(new ScanCommand({ TableName: tableName, ...(start ? { ExclusiveStartKey: start } : {}) }));
      items.push(...((page.Items ?? []) as never[]));
      start = page.LastEvaluatedKey as never;
    } while (start);
    return items;
  }

  beforeEach(async () => {
    tableName = await freshTable();
  });

  afterEach(async () => {
    for (const catalog of opened.splice(0)) await catalog.close();
    await deleteCatalogTable(admin, tableName);
  });

  it('finishes a run once: a different second finish is a ConflictError, repeating the same one is applied', async () => {
    const catalog = open();
    const run = makeRun({ repository: 'r' });
    await catalog.startRun(run);
    const done = { status: 'succeeded' as const, finishedAt: '2024-06-01T01:00:00.000Z', summary: { bytes: 1 } };
    await catalog.finishRun(run.id, done);
    await expect(catalog.finishRun(run.id, done)).resolves.toBeUndefined();
    await catalog.finishRun(run.id, { ...done, summary: { bytes: 2 } });
    await expect(catalog.getRun(run.id)).resolves.toMatchObject({ status: 'succeeded', summary: { bytes: 2 } });

    const late = catalog.finishRun(run.id, { status: 'failed', finishedAt: '2024-06-01T01:00:05.000Z', error: { code: 'x', message: 'late failure handler' } });
    await expect(late).rejects.toBeInstanceOf(ConflictError);
    await expect(late).rejects.toMatchObject({ code: 'conflict.run_finished' });
    await expect(catalog.getRun(run.id)).resolves.toStrictEqual({ ...run, ...done, summary: { bytes: 2 } });
  });

  it('lets exactly one of several concurrent finishes of a run win, across catalog instances', async () => {
    const writers = [open(), open(), open()];
    const run = makeRun({ repository: 'r' });
    await writers[0]!.startRun(run);
    const statuses = ['succeeded', 'failed', 'interrupted'] as const;
    const outcomes = await Promise.allSettled(
      statuses.map((status, index) => writers[index]!.finishRun(run.id, { status, finishedAt: `2024-06-01T01:00:0${index}.000Z` })),
    );
    const winners = outcomes.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [statuses[index]] : []));
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === 'rejected') expect(outcome.reason).toMatchObject({ code: 'conflict.run_finished' });
    }
    await expect(writers[1]!.getRun(run.id)).resolves.toMatchObject({ status: winners[0] });
  });

  it('gives a name to exactly one of several concurrent creates, and distinct ids to distinct names', async () => {
    const writers = [open(), open(), open(), open()];
    const sameName = await Promise.allSettled(writers.map((catalog) => catalog.createStorageBackend({ name: 'shared', type: 'local', config: { base_path: '/s' } })));
    expect(sameName.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    for (const outcome of sameName) {
      if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConflictError);
    }
    const created = await Promise.all(writers.map((catalog, index) => catalog.createStorageBackend({ name: `b${index}`, type: 'local', config: { base_path: `/${index}` } })));
    expect(new Set(created.map((backend) => backend.id)).size).toBe(created.length);
    expect((await writers[0]!.listStorageBackends()).map((backend) => backend.name)).toEqual(['b0', 'b1', 'b2', 'b3', 'shared']);
  });

  it('replaces more snapshots than one transaction holds, and leaves no item of the retired set behind', async () => {
    const catalog = open();
    const day = (n: number): string => new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString();
    for (let n = 0; n < 30; n++) await catalog.putSnapshot('r', makeSnapshot({ id: `old_${n}`, time: day(n) }));
    const fresh = Array.from({ length: 240 }, (_, n) => makeSnapshot({ id: `new_${String(n).padStart(3, '0')}`, time: day(n) }));

    const readers = Array.from({ length: 6 }, () => catalog.listSnapshots('r'));
    await catalog.replaceSnapshots('r', fresh);
    for (const seen of await Promise.all(readers)) expect([30, 240]).toContain(seen.length);

    const listed = await catalog.listSnapshots('r');
    expect(listed.map((s) => s.id)).toEqual(fresh.map((s) => s.id).reverse());
    expect(await catalog.listSnapshots('r', { limit: 3, before: day(100) })).toStrictEqual([fresh[99], fresh[98], fresh[97]]);
    const snapshotItems = (await scanTable()).filter((item) => item.PK?.S?.startsWith('SNAPS#'));
    expect(snapshotItems).toHaveLength(240);

    // A second replace retires the generation the first one created.
    await catalog.replaceSnapshots('r', fresh.slice(0, 5));
    expect((await scanTable()).filter((item) => item.PK?.S?.startsWith('SNAPS#'))).toHaveLength(5);
    await catalog.putSnapshot('r', makeSnapshot({ id: 'after_replace', time: day(500) }));
    expect((await catalog.listSnapshots('r', { limit: 1 }))[0]!.id).toBe('after_replace');
  });

  it('replaceSnapshots with an invalid record writes nothing and keeps the old set', async () => {
    const catalog = open();
    const old = makeSnapshot({ id: 'full_20240101_000000' });
    await catalog.putSnapshot('r', old);
    const attempt = catalog.replaceSnapshots('r', [makeSnapshot({ id: 'full_20240202_000000' }), makeSnapshot({ id: 'full_20240303_000000', time: 'not a time' })]);
    await expect(attempt).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'snapshot.time' } });
    await expect(catalog.listSnapshots('r')).resolves.toStrictEqual([old]);
    expect(await scanTable()).toHaveLength(1);
  });

  it('compresses a large snapshot record to fit an item, and refuses one that cannot fit, naming it', async () => {
    const catalog = open();
    // 20 000 paths: about 1 MB of JSON, more than twice DynamoDB's 400 KB item limit.
    const paths = Array.from({ length: 20_000 }, (_, n) => `/srv/projects/customer-${n % 97}/releases/${n}/shared/config`);
    const large = makeSnapshot({ id: 'full_20240101_000000', paths, tags: ['large'] });
    expect(JSON.stringify(large).length).toBeGreaterThan(900_000);
    await catalog.putSnapshot('r', large);
    await expect(catalog.getSnapshot('r', large.id)).resolves.toStrictEqual(large);
    expect(await catalog.listSnapshots('r', { paths: [...paths].reverse(), tag: 'large' })).toStrictEqual([large]);

    const raw = await admin.send(new GetItemCommand({ TableName: tableName, Key: { PK: { S: 'SNAPS#r#0' }, SK: { S: `SNAP#${large.id}` } }, ConsistentRead: true }));
    expect(raw.Item?.json).toBeUndefined();
    expect(raw.Item?.jsonBr?.B?.length).toBeLessThan(350 * 1024);

    // Random paths hardly compress: 570 KB of them cannot be stored.
    const noise = Array.from({ length: 7000 }, () => `/${randomBytes(60).toString('base64url')}`);
    const attempt = catalog.putSnapshot('r', makeSnapshot({ id: 'full_20240102_000000', paths: noise }));
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
    await expect(attempt).rejects.toMatchObject({ code: 'storage.catalog_record_too_large', details: { what: 'snapshot full_20240102_000000' } });
    expect((await catalog.listSnapshots('r')).map((s) => s.id)).toEqual([large.id]);
  });

  it('keeps repositories whose names share a prefix apart ("a" and "a#b")', async () => {
    const catalog = open();
    await catalog.startRun(makeRun({ id: 'run-a', repository: 'a' }));
    await catalog.startRun(makeRun({ id: 'run-ab', repository: 'a#b' }));
    await catalog.putSnapshot('a', makeSnapshot({ id: 'full_20240101_000000' }));
    expect((await catalog.listRuns({ repository: 'a' })).map((run) => run.id)).toEqual(['run-a']);
    expect((await catalog.listRuns({ repository: 'a#b' })).map((run) => run.id)).toEqual(['run-ab']);
    await expect(catalog.listSnapshots('a#b')).resolves.toEqual([]);
  });

  it('rejects invalid input with a ValidationError naming the field, before any request', async () => {
    const catalog = open();
    await expect(catalog.putSnapshot('r', makeSnapshot({ id: '' }))).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'snapshot.id' } });
    await expect(catalog.putSnapshot('', makeSnapshot({ id: 'x' }))).rejects.toMatchObject({ details: { field: 'repository' } });
    await expect(catalog.listSnapshots('r', { before: 'yesterday-ish' })).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'filter.before' } });
    await expect(catalog.listSnapshots('r', { limit: 0 })).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'filter.limit' } });
    await expect(catalog.listRuns({ limit: 1.5 })).rejects.toBeInstanceOf(ValidationError);
    await expect(catalog.finishRun('x', { status: 'running' as never, finishedAt: '2024-01-01T00:00:00.000Z' })).rejects.toMatchObject({
      name: 'ValidationError',
      details: { field: 'result.status' },
    });
    expect(() => new DynamoDbCatalog({ tableName: '' })).toThrow(ValidationError);
    expect(await scanTable()).toEqual([]);
  });

  it('reports a missing table as a StorageError naming it, and calls after close as catalog_closed', async () => {
    const missing = new DynamoDbCatalog({ tableName: 'no-such-table', endpoint: dynamo.endpoint, region: dynamo.region, credentials: dynamo.credentials });
    const attempt = missing.getRun('run-1');
    await expect(attempt).rejects.toBeInstanceOf(StorageError);
    await expect(attempt).rejects.toThrow(/no-such-table does not exist/);
    await missing.close();
    await expect(missing.close()).resolves.toBeUndefined();
    await expect(missing.listSnapshots('r')).rejects.toMatchObject({ code: 'storage.catalog_closed' });
    await expect(open().deleteStorageBackend('none')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('reports an unreachable endpoint as a retryable StorageError', async () => {
    const unreachable = new DynamoDbCatalog({ tableName, endpoint: 'http://127.0.0.1:9', region: dynamo.region, credentials: dynamo.credentials });
    opened.push(unreachable);
    const failure = await unreachable.getRun('run-1').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(StorageError);
    expect(failure).toMatchObject({ code: 'storage.catalog_unavailable', retryable: true });
  });
});
