/**
 * The RunStatistics port on SQLite (incremental reader) and on any Catalog (full read) give the same
 * answers over the same history, including after runs finish, new runs arrive, snapshots are forgotten
 * and the catalog is rebuilt between two calls of the same reader.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { SqliteRunStatistics } from '../../../src/catalog/sqlite-run-statistics.js';
import { catalogRunStatistics } from '../../../src/metrics/catalog-run-statistics.js';
import type { LatestRunsQuery, RunStatistics, RunTally } from '../../../src/ports/run-statistics.js';
import { recordBackup, recordVerify, REPOSITORY, snapshotRecord } from './run-history.js';

let catalog: SqliteCatalog;
let incremental: RunStatistics;
let reference: RunStatistics;

const QUERIES: LatestRunsQuery[] = [
  { kind: 'backup', groupBy: 'plan', statuses: ['succeeded', 'failed', 'interrupted'] },
  { kind: 'backup', groupBy: 'plan', statuses: ['succeeded'] },
  { kind: 'verify', groupBy: 'level', statuses: ['succeeded'], passed: true },
  { kind: 'verify', groupBy: 'level', statuses: ['succeeded'], passed: false },
];

const byKey = (tallies: RunTally[]) => [...tallies].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

async function expectSameAnswers(): Promise<void> {
  expect(byKey(await incremental.tallyRuns(['backup', 'verify']))).toEqual(byKey(await reference.tallyRuns(['backup', 'verify'])));
  for (const query of QUERIES) {
    const ids = async (statistics: RunStatistics) => (await statistics.latestRuns(query)).map((run) => run.id).sort();
    expect(await ids(incremental)).toEqual(await ids(reference));
  }
  expect(await incremental.snapshotTotals()).toEqual(await reference.snapshotTotals());
}

beforeAll(async () => {
  catalog = SqliteCatalog.open(':memory:');
  incremental = catalog.sibling((db) => new SqliteRunStatistics(db));
  reference = catalogRunStatistics(catalog);
  await recordBackup(catalog, { id: 'a', plan: 'p1', type: 'full', status: 'succeeded', startedAt: '2025-03-01T00:00:00.000Z', seconds: 5 });
  await recordBackup(catalog, { id: 'b', plan: 'p1', type: 'incremental', status: 'failed', startedAt: '2025-03-02T00:00:00.000Z', seconds: 5 });
  // Same start as b: the greater id is the newer one.
  await recordBackup(catalog, { id: 'c', plan: 'p1', type: 'incremental', status: 'succeeded', startedAt: '2025-03-02T00:00:00.000Z', seconds: 5 });
  await recordBackup(catalog, { id: 'd', type: 'full', status: 'succeeded', startedAt: '2025-03-03T00:00:00.000Z', seconds: 5 });
  await recordBackup(catalog, { id: 'e', plan: 'p2', status: 'running', startedAt: '2025-03-04T00:00:00.000Z', seconds: 0 });
  await recordVerify(catalog, { id: 'v1', level: 'read', status: 'succeeded', ok: false, startedAt: '2025-03-01T00:00:00.000Z', seconds: 1 });
  await recordVerify(catalog, { id: 'v2', level: 'read', status: 'succeeded', startedAt: '2025-03-02T00:00:00.000Z', seconds: 1 });
  // A label of the wrong JSON type is absent, not stringified.
  await catalog.startRun({ id: 'odd', kind: 'backup', repository: REPOSITORY, status: 'running', startedAt: '2025-03-01T12:00:00.000Z', summary: { plan: 7, type: ['x'] } });
  await catalog.finishRun('odd', { status: 'interrupted', finishedAt: '2025-03-01T12:00:01.000Z' });
  await catalog.putSnapshot(REPOSITORY, snapshotRecord('s1', '2025-03-01T00:00:00.000Z', { totalBytes: 100, bytesAdded: 50, bytesStored: 30 }));
  await catalog.putSnapshot(REPOSITORY, snapshotRecord('s2', '2025-03-02T00:00:00.000Z', { totalBytes: 200, bytesAdded: 20, bytesStored: 10 }));
});

afterAll(() => catalog.close());

describe('run statistics', () => {
  it('count, pick and sum as the port says', async () => {
    const tallies = await incremental.tallyRuns(['backup']);
    expect(tallies.find((tally) => tally.plan === undefined && tally.status === 'interrupted')).toEqual({ kind: 'backup', status: 'interrupted', count: 1 });
    expect(tallies.some((tally) => tally.plan === 'p2')).toBe(false); // still running
    expect((await incremental.latestRuns(QUERIES[0]!)).map((run) => run.id).sort()).toEqual(['c', 'd']); // odd has no plan, like d, and is older
    expect((await incremental.latestRuns(QUERIES[2]!)).map((run) => run.id)).toEqual(['v2']);
    expect((await incremental.latestRuns(QUERIES[3]!)).map((run) => run.id)).toEqual(['v1']);
    expect(await incremental.snapshotTotals()).toEqual([{ repository: REPOSITORY, snapshots: 2, totalBytes: 300, bytesAdded: 70, bytesStored: 40 }]);
    await expectSameAnswers();
  });

  it('follow a running run to its end and new runs after it', async () => {
    await catalog.finishRun('e', { status: 'succeeded', finishedAt: '2025-03-04T00:00:05.000Z', summary: { plan: 'p2', type: 'full' } });
    await recordBackup(catalog, { id: 'f', plan: 'p2', type: 'full', status: 'failed', startedAt: '2025-03-05T00:00:00.000Z', seconds: 1 });
    await recordVerify(catalog, { id: 'v3', level: 'full', status: 'failed', startedAt: '2025-03-05T00:00:00.000Z', seconds: 1 });
    expect((await incremental.tallyRuns(['backup'])).filter((tally) => tally.plan === 'p2').map((tally) => `${tally.status}:${tally.count}`).sort()).toEqual(['failed:1', 'succeeded:1']);
    await expectSameAnswers();
  });

  it('notice forgotten snapshots, a reused rowid and a rebuilt catalog', async () => {
    await catalog.deleteSnapshot(REPOSITORY, 's2');
    await expectSameAnswers();
    // s3 takes the rowid s2 had (SQLite reuses the highest rowid after its row was deleted).
    await catalog.putSnapshot(REPOSITORY, snapshotRecord('s3', '2025-03-06T00:00:00.000Z', { totalBytes: 999, bytesAdded: 9, bytesStored: 5 }));
    await expectSameAnswers();
    await catalog.replaceSnapshots(REPOSITORY, [snapshotRecord('s4', '2025-03-07T00:00:00.000Z', { totalBytes: 1, bytesAdded: 1, bytesStored: 1 })]);
    await expectSameAnswers();
    expect(await incremental.snapshotTotals()).toEqual([{ repository: REPOSITORY, snapshots: 1, totalBytes: 1, bytesAdded: 1, bytesStored: 1 }]);
  });
});

describe('run statistics across processes', () => {
  it('see runs another connection (a CLI backup next to the server) records in the same file', async () => {
    const directory = await mkdtemp(join(tmpdir(), 'run-statistics-'));
    const server = SqliteCatalog.open(join(directory, 'catalog.db'));
    const cli = SqliteCatalog.open(join(directory, 'catalog.db'));
    try {
      const statistics = server.sibling((db) => new SqliteRunStatistics(db));
      expect(await statistics.tallyRuns(['backup'])).toEqual([]);
      await recordBackup(cli, { id: 'x1', plan: 'p', type: 'full', status: 'running', startedAt: '2025-04-01T00:00:00.000Z', seconds: 0 });
      expect(await statistics.tallyRuns(['backup'])).toEqual([]);
      await cli.finishRun('x1', { status: 'failed', finishedAt: '2025-04-01T00:00:03.000Z' });
      await recordBackup(cli, { id: 'x2', plan: 'p', type: 'full', status: 'succeeded', startedAt: '2025-04-02T00:00:00.000Z', seconds: 2 });
      expect(byKey(await statistics.tallyRuns(['backup']))).toEqual(byKey([
        { kind: 'backup', status: 'failed', plan: 'p', type: 'full', count: 1 },
        { kind: 'backup', status: 'succeeded', plan: 'p', type: 'full', count: 1 },
      ]));
      expect((await statistics.latestRuns({ kind: 'backup', groupBy: 'plan', statuses: ['succeeded'] })).map((run) => run.id)).toEqual(['x2']);
    } finally {
      await cli.close();
      await server.close();
      await rm(directory, { recursive: true, force: true });
    }
  });
});
