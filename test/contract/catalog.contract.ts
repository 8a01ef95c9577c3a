import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { ConflictError, NotFoundError, ValidationError } from '../../src/domain/errors.js';
import { randomId } from '../../src/domain/ids.js';
import type { Plan } from '../../src/domain/plan.js';
import type { Snapshot } from '../../src/domain/snapshot.js';
import type { Catalog, ReplicationReceipt, RunRecord } from '../../src/ports/catalog.js';

/** What a contract run needs from an adapter: a fresh, empty catalog and a way to dispose of it. */
export interface CatalogUnderTest {
  catalog: Catalog;
  /** Removes whatever `create` made (files, tables). The suite closes the catalog itself first. */
  cleanup: () => Promise<void>;
}

/**
 * The Catalog contract of src/ports/catalog.ts, written once and run on every adapter.
 *
 * `create` is called before every test and must return an empty catalog. Repository names are random
 * per test, so an adapter backed by a shared table still keeps tests apart for snapshots.
 */
export function describeCatalogContract(name: string, create: () => Promise<CatalogUnderTest>): void {
  describe(`Catalog contract: ${name}`, () => {
    let catalog: Catalog;
    let cleanup: () => Promise<void>;
    let repo: string;
    let otherRepo: string;

    beforeEach(async () => {
      ({ catalog, cleanup } = await create());
      repo = `repo-${randomId(4)}`;
      otherRepo = `repo-${randomId(4)}`;
    });

    afterEach(async () => {
      await catalog.close();
      await cleanup();
    });

    const ids = (snapshots: Snapshot[]): string[] => snapshots.map((s) => s.id);

    describe('snapshots', () => {
      it('returns undefined for an unknown id and an empty list for an unknown repository', async () => {
        await expect(catalog.getSnapshot(repo, 'full_20240101_000000')).resolves.toBeUndefined();
        await expect(catalog.listSnapshots(repo)).resolves.toEqual([]);
      });

      it('stores a snapshot and returns it unchanged, optional fields included', async () => {
        const snapshot = makeSnapshot({
          id: 'incremental_20241224_120000',
          type: 'incremental',
          parent: 'full_20241223_120000',
          tags: ['daily', 'prod'],
          paths: ['/srv/app', '/etc/app'],
        });
        await catalog.putSnapshot(repo, snapshot);

        await expect(catalog.getSnapshot(repo, snapshot.id)).resolves.toStrictEqual(snapshot);
        await expect(catalog.listSnapshots(repo)).resolves.toStrictEqual([snapshot]);
      });

      it('upserts by (repository, id): putting the same id twice leaves one record, the latest', async () => {
        const first = makeSnapshot({ id: 'full_20241224_120000', tags: ['first'] });
        const second = { ...first, tags: ['second'], stats: { ...first.stats, items: 99 } };
        await catalog.putSnapshot(repo, first);
        await catalog.putSnapshot(repo, first);
        await catalog.putSnapshot(repo, second);

        const listed = await catalog.listSnapshots(repo);
        expect(listed).toStrictEqual([second]);
        await expect(catalog.getSnapshot(repo, first.id)).resolves.toStrictEqual(second);
      });

      it('lists newest first by time, whatever the insertion order or id order', async () => {
        // Ids deliberately sort opposite to time, so an adapter ordering by id fails.
        const a = makeSnapshot({ id: 'z_20240101_000000', time: '2024-01-01T00:00:00.000Z' });
        const b = makeSnapshot({ id: 'y_20240301_000000', time: '2024-03-01T00:00:00.000Z' });
        const c = makeSnapshot({ id: 'x_20240201_000000', time: '2024-02-01T00:00:00.000Z' });
        for (const s of [c, a, b]) await catalog.putSnapshot(repo, s);

        expect(ids(await catalog.listSnapshots(repo))).toEqual([b.id, c.id, a.id]);
      });

      it('breaks ties of equal time by id, descending', async () => {
        const time = '2024-12-24T12:00:00.000Z';
        const plain = makeSnapshot({ id: 'full_20241224_120000', time });
        const suffixA = makeSnapshot({ id: 'full_20241224_120000_a1b2', time });
        const suffixF = makeSnapshot({ id: 'full_20241224_120000_f0f0', time });
        for (const s of [suffixA, plain, suffixF]) await catalog.putSnapshot(repo, s);

        expect(ids(await catalog.listSnapshots(repo))).toEqual([suffixF.id, suffixA.id, plain.id]);
      });

      it('orders by instant, not by the text of the time (fractional seconds)', async () => {
        // As text "…00Z" sorts after "…00.500Z", yet it is half a second earlier.
        const whole = makeSnapshot({ id: 'full_20241224_120000', time: '2024-12-24T12:00:00Z' });
        const half = makeSnapshot({ id: 'full_20241224_120000_0001', time: '2024-12-24T12:00:00.500Z' });
        await catalog.putSnapshot(repo, whole);
        await catalog.putSnapshot(repo, half);

        expect(ids(await catalog.listSnapshots(repo))).toEqual([half.id, whole.id]);
      });

      describe('filters', () => {
        // t1 < t2 < t3 < t4 < t5
        const s1 = makeSnapshot({ id: 'full_20240101_000000', time: '2024-01-01T00:00:00.000Z', type: 'full', source: 'files', paths: ['/a', '/b'], tags: ['daily', 'prod'] });
        const s2 = makeSnapshot({ id: 'incremental_20240102_000000', time: '2024-01-02T00:00:00.000Z', type: 'incremental', source: 'files', paths: ['/b', '/a'], tags: ['daily'] });
        const s3 = makeSnapshot({ id: 'full_20240103_000000', time: '2024-01-03T00:00:00.000Z', type: 'full', source: 'config', paths: ['/etc/app'], tags: ['weekly'] });
        const s4 = makeSnapshot({ id: 'differential_20240104_000000', time: '2024-01-04T00:00:00.000Z', type: 'differential', source: 'files', paths: ['/a'], tags: ['daily-extra'] });
        const s5 = makeSnapshot({ id: 'full_20240105_000000', time: '2024-01-05T00:00:00.000Z', type: 'full', source: 'files', paths: ['/a', '/b', '/c'], tags: [] });

        beforeEach(async () => {
          for (const s of [s3, s1, s5, s2, s4]) await catalog.putSnapshot(repo, s);
        });

        it('without a filter returns everything, newest first', async () => {
          expect(ids(await catalog.listSnapshots(repo))).toEqual([s5.id, s4.id, s3.id, s2.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, {}))).toEqual([s5.id, s4.id, s3.id, s2.id, s1.id]);
        });

        it('type', async () => {
          expect(ids(await catalog.listSnapshots(repo, { type: 'full' }))).toEqual([s5.id, s3.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { type: 'incremental' }))).toEqual([s2.id]);
          expect(ids(await catalog.listSnapshots(repo, { type: 'differential' }))).toEqual([s4.id]);
        });

        it('source', async () => {
          expect(ids(await catalog.listSnapshots(repo, { source: 'config' }))).toEqual([s3.id]);
          expect(ids(await catalog.listSnapshots(repo, { source: 'files' }))).toEqual([s5.id, s4.id, s2.id, s1.id]);
        });

        it('paths: equal as a set of paths, in any order, neither subset nor superset', async () => {
          expect(ids(await catalog.listSnapshots(repo, { paths: ['/a', '/b'] }))).toEqual([s2.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { paths: ['/b', '/a'] }))).toEqual([s2.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { paths: ['/a'] }))).toEqual([s4.id]);
          expect(ids(await catalog.listSnapshots(repo, { paths: ['/c', '/a', '/b'] }))).toEqual([s5.id]);
          expect(await catalog.listSnapshots(repo, { paths: ['/b'] })).toEqual([]);
        });

        it('tag: membership of one tag, not a substring', async () => {
          expect(ids(await catalog.listSnapshots(repo, { tag: 'daily' }))).toEqual([s2.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { tag: 'prod' }))).toEqual([s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { tag: 'daily-extra' }))).toEqual([s4.id]);
          expect(await catalog.listSnapshots(repo, { tag: 'dai' })).toEqual([]);
        });

        it('before: strictly earlier than the given time', async () => {
          expect(ids(await catalog.listSnapshots(repo, { before: s3.time }))).toEqual([s2.id, s1.id]);
          expect(ids(await catalog.listSnapshots(repo, { before: '2024-01-03T00:00:00.001Z' }))).toEqual([s3.id, s2.id, s1.id]);
          expect(await catalog.listSnapshots(repo, { before: s1.time })).toEqual([]);
        });

        it('limit: the newest N', async () => {
          expect(ids(await catalog.listSnapshots(repo, { limit: 2 }))).toEqual([s5.id, s4.id]);
          expect(ids(await catalog.listSnapshots(repo, { limit: 1 }))).toEqual([s5.id]);
          expect(await catalog.listSnapshots(repo, { limit: 50 })).toHaveLength(5);
        });

        it('combines filters, applying limit after filtering', async () => {
          expect(ids(await catalog.listSnapshots(repo, { type: 'full', source: 'files', limit: 1 }))).toEqual([s5.id]);
          expect(ids(await catalog.listSnapshots(repo, { type: 'full', before: s5.time, limit: 1 }))).toEqual([s3.id]);
          expect(ids(await catalog.listSnapshots(repo, { tag: 'daily', paths: ['/b', '/a'], before: s2.time }))).toEqual([s1.id]);
          expect(await catalog.listSnapshots(repo, { type: 'incremental', source: 'config' })).toEqual([]);
        });
      });

      it('deletes one record; deleting a missing id succeeds', async () => {
        const keep = makeSnapshot({ id: 'full_20240101_000000', time: '2024-01-01T00:00:00.000Z' });
        const drop = makeSnapshot({ id: 'full_20240102_000000', time: '2024-01-02T00:00:00.000Z' });
        await catalog.putSnapshot(repo, keep);
        await catalog.putSnapshot(repo, drop);

        await catalog.deleteSnapshot(repo, drop.id);
        await expect(catalog.getSnapshot(repo, drop.id)).resolves.toBeUndefined();
        expect(ids(await catalog.listSnapshots(repo))).toEqual([keep.id]);

        await expect(catalog.deleteSnapshot(repo, drop.id)).resolves.toBeUndefined();
        await expect(catalog.deleteSnapshot(repo, 'never_20240101_000000')).resolves.toBeUndefined();
        await expect(catalog.deleteSnapshot(otherRepo, keep.id)).resolves.toBeUndefined();
        expect(ids(await catalog.listSnapshots(repo))).toEqual([keep.id]);
      });

      it('replaceSnapshots swaps the whole set of one repository and leaves other repositories untouched', async () => {
        const old1 = makeSnapshot({ id: 'full_20240101_000000', time: '2024-01-01T00:00:00.000Z' });
        const old2 = makeSnapshot({ id: 'full_20240102_000000', time: '2024-01-02T00:00:00.000Z' });
        const kept = makeSnapshot({ id: 'full_20240102_000000', time: '2024-01-02T00:00:00.000Z', tags: ['replaced'] });
        const new1 = makeSnapshot({ id: 'full_20240103_000000', time: '2024-01-03T00:00:00.000Z' });
        const foreign = makeSnapshot({ id: 'full_20240101_000000', time: '2024-01-01T00:00:00.000Z', hostname: 'elsewhere' });
        await catalog.putSnapshot(repo, old1);
        await catalog.putSnapshot(repo, old2);
        await catalog.putSnapshot(otherRepo, foreign);

        await catalog.replaceSnapshots(repo, [kept, new1]);

        expect(await catalog.listSnapshots(repo)).toStrictEqual([new1, kept]);
        await expect(catalog.getSnapshot(repo, old1.id)).resolves.toBeUndefined();
        expect(await catalog.listSnapshots(otherRepo)).toStrictEqual([foreign]);

        await catalog.replaceSnapshots(repo, []);
        await expect(catalog.listSnapshots(repo)).resolves.toEqual([]);
        expect(await catalog.listSnapshots(otherRepo)).toStrictEqual([foreign]);
      });

      it('replaceSnapshots is atomic for concurrent readers: each sees the whole old set or the whole new set', async () => {
        const oldSet = [1, 2, 3, 4, 5].map((d) => makeSnapshot({ id: `full_2024010${d}_000000`, time: `2024-01-0${d}T00:00:00.000Z` }));
        const newSet = [6, 7, 8].map((d) => makeSnapshot({ id: `full_2024010${d}_000000`, time: `2024-01-0${d}T00:00:00.000Z` }));
        for (const s of oldSet) await catalog.putSnapshot(repo, s);
        const oldIds = ids(oldSet).reverse();
        const newIds = ids(newSet).reverse();

        // Readers issued before, with and after the swap, so they overlap it however the adapter works.
        const early = Array.from({ length: 4 }, () => catalog.listSnapshots(repo));
        const swap = catalog.replaceSnapshots(repo, newSet);
        const late = Array.from({ length: 4 }, () => catalog.listSnapshots(repo));
        const seen = await Promise.all([...early, ...late]);
        await swap;
        for (const listed of seen) {
          expect([oldIds, newIds]).toContainEqual(ids(listed));
        }
        expect(ids(await catalog.listSnapshots(repo))).toEqual(newIds);
      });

      it('keeps repositories apart: the same id in two repositories is two records', async () => {
        const mine = makeSnapshot({ id: 'full_20240101_000000', hostname: 'mine', tags: ['shared'] });
        const theirs = makeSnapshot({ id: 'full_20240101_000000', hostname: 'theirs', tags: ['shared'] });
        const onlyTheirs = makeSnapshot({ id: 'full_20240102_000000', time: '2024-01-02T00:00:00.000Z', tags: ['shared'] });
        await catalog.putSnapshot(repo, mine);
        await catalog.putSnapshot(otherRepo, theirs);
        await catalog.putSnapshot(otherRepo, onlyTheirs);

        await expect(catalog.getSnapshot(repo, mine.id)).resolves.toStrictEqual(mine);
        await expect(catalog.getSnapshot(otherRepo, theirs.id)).resolves.toStrictEqual(theirs);
        await expect(catalog.getSnapshot(repo, onlyTheirs.id)).resolves.toBeUndefined();
        expect(await catalog.listSnapshots(repo, { tag: 'shared' })).toStrictEqual([mine]);

        await catalog.deleteSnapshot(repo, mine.id);
        await expect(catalog.getSnapshot(otherRepo, theirs.id)).resolves.toStrictEqual(theirs);
      });
    });

    describe('runs', () => {
      it('startRun records a running run that getRun returns; unknown ids are undefined', async () => {
        const run = makeRun({ repository: repo, summary: { plan: 'nightly' } });
        await catalog.startRun(run);

        await expect(catalog.getRun(run.id)).resolves.toStrictEqual(run);
        await expect(catalog.getRun(`run-${randomId(4)}`)).resolves.toBeUndefined();
      });

      it('startRun refuses a run that is not running, and a second run with the same id', async () => {
        const finished = { ...makeRun({ repository: repo }), status: 'succeeded' as const };
        await expect(catalog.startRun(finished)).rejects.toBeInstanceOf(ValidationError);
        await expect(catalog.getRun(finished.id)).resolves.toBeUndefined();

        const run = makeRun({ repository: repo });
        await catalog.startRun(run);
        const again = catalog.startRun({ ...run, kind: 'verify' });
        await expect(again).rejects.toBeInstanceOf(ConflictError);
        await expect(again).rejects.toMatchObject({ code: 'conflict.run_exists' });
        await expect(catalog.getRun(run.id)).resolves.toStrictEqual(run);
      });

      it('finishRun sets the final status and result, keeping what the start recorded', async () => {
        const ok = makeRun({ repository: repo, kind: 'backup' });
        const bad = makeRun({ repository: repo, kind: 'restore', snapshotId: 'full_20240101_000000' });
        await catalog.startRun(ok);
        await catalog.startRun(bad);

        await catalog.finishRun(ok.id, {
          status: 'succeeded',
          finishedAt: '2024-06-01T00:10:00.000Z',
          snapshotId: 'full_20240601_000000',
          summary: { bytes: 1234 },
        });
        await catalog.finishRun(bad.id, {
          status: 'failed',
          finishedAt: '2024-06-01T00:05:00.000Z',
          error: { code: 'storage.unavailable', message: 'bucket unreachable' },
        });

        await expect(catalog.getRun(ok.id)).resolves.toEqual({
          ...ok,
          status: 'succeeded',
          finishedAt: '2024-06-01T00:10:00.000Z',
          snapshotId: 'full_20240601_000000',
          summary: { bytes: 1234 },
        });
        await expect(catalog.getRun(bad.id)).resolves.toEqual({
          ...bad,
          status: 'failed',
          finishedAt: '2024-06-01T00:05:00.000Z',
          error: { code: 'storage.unavailable', message: 'bucket unreachable' },
        });
      });

      it('finishRun of an unknown run throws NotFoundError', async () => {
        const missing = `run-${randomId(4)}`;
        const attempt = catalog.finishRun(missing, { status: 'succeeded', finishedAt: '2024-06-01T00:00:00.000Z' });
        await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
        await expect(catalog.getRun(missing)).resolves.toBeUndefined();
      });

      describe('listRuns', () => {
        const r1 = makeRun({ id: 'run-1', kind: 'backup', startedAt: '2024-06-01T01:00:00.000Z' });
        const r2 = makeRun({ id: 'run-2', kind: 'verify', startedAt: '2024-06-01T03:00:00.000Z' });
        const r3 = makeRun({ id: 'run-3', kind: 'backup', startedAt: '2024-06-01T02:00:00.000Z' });
        const r4 = makeRun({ id: 'run-4', kind: 'backup', startedAt: '2024-06-01T04:00:00.000Z' });
        // Same start as r4: the tie is broken by id, descending.
        const r5 = makeRun({ id: 'run-5', kind: 'prune', startedAt: '2024-06-01T04:00:00.000Z' });
        const runIds = (runs: RunRecord[]): string[] => runs.map((r) => r.id);

        beforeEach(async () => {
          await catalog.startRun({ ...r3, repository: repo });
          await catalog.startRun({ ...r1, repository: repo });
          await catalog.startRun({ ...r4, repository: otherRepo });
          await catalog.startRun({ ...r2, repository: repo });
          await catalog.startRun({ ...r5, repository: repo });
          await catalog.finishRun('run-1', { status: 'succeeded', finishedAt: '2024-06-01T01:30:00.000Z' });
          await catalog.finishRun('run-2', { status: 'failed', finishedAt: '2024-06-01T03:30:00.000Z', error: { code: 'x', message: 'y' } });
        });

        it('lists every run newest first by start time, then id', async () => {
          expect(runIds(await catalog.listRuns())).toEqual(['run-5', 'run-4', 'run-2', 'run-3', 'run-1']);
          expect(runIds(await catalog.listRuns({}))).toEqual(['run-5', 'run-4', 'run-2', 'run-3', 'run-1']);
        });

        it('filters by kind, status and repository, and limits', async () => {
          expect(runIds(await catalog.listRuns({ kind: 'backup' }))).toEqual(['run-4', 'run-3', 'run-1']);
          expect(runIds(await catalog.listRuns({ status: 'running' }))).toEqual(['run-5', 'run-4', 'run-3']);
          expect(runIds(await catalog.listRuns({ status: 'failed' }))).toEqual(['run-2']);
          expect(runIds(await catalog.listRuns({ repository: repo }))).toEqual(['run-5', 'run-2', 'run-3', 'run-1']);
          expect(runIds(await catalog.listRuns({ repository: otherRepo }))).toEqual(['run-4']);
          expect(runIds(await catalog.listRuns({ limit: 2 }))).toEqual(['run-5', 'run-4']);
          expect(runIds(await catalog.listRuns({ kind: 'backup', repository: repo, limit: 1 }))).toEqual(['run-3']);
          expect(runIds(await catalog.listRuns({ kind: 'backup', status: 'succeeded' }))).toEqual(['run-1']);
          expect(await catalog.listRuns({ kind: 'forget' })).toEqual([]);
        });

        it('filters by plan, snapshot id and start time, and pages with a cursor', async () => {
          await catalog.finishRun('run-3', { status: 'succeeded', finishedAt: '2024-06-01T02:30:00.000Z', snapshotId: 'full_20240601_020000', summary: { plan: 'nightly' } });
          expect(runIds(await catalog.listRuns({ plan: 'nightly' }))).toEqual(['run-3']);
          await catalog.finishRun('run-1', { status: 'succeeded', finishedAt: '2024-06-01T01:30:00.000Z', summary: { type: 'database_only' } });
          expect(runIds(await catalog.listRuns({ backupType: 'database_only' }))).toEqual(['run-1']);
          expect(runIds(await catalog.listRuns({ snapshotId: 'full_20240601_020000' }))).toEqual(['run-3']);
          expect(await catalog.listRuns({ plan: 'weekly' })).toEqual([]);
          expect(runIds(await catalog.listRuns({ since: '2024-06-01T02:00:00.000Z', until: '2024-06-01T04:00:00.000Z' }))).toEqual(['run-2', 'run-3']);
          // The tie at 04:00 is ordered by id: the page after run-5 starts with run-4.
          expect(runIds(await catalog.listRuns({ after: { startedAt: '2024-06-01T04:00:00.000Z', id: 'run-5' }, limit: 2 }))).toEqual(['run-4', 'run-2']);
          expect(runIds(await catalog.listRuns({ kind: 'backup', after: { startedAt: '2024-06-01T02:00:00.000Z', id: 'run-3' } }))).toEqual(['run-1']);
        });

        it('returns the full, finished records', async () => {
          const [failed] = await catalog.listRuns({ status: 'failed' });
          expect(failed).toStrictEqual({
            ...r2,
            repository: repo,
            status: 'failed',
            finishedAt: '2024-06-01T03:30:00.000Z',
            error: { code: 'x', message: 'y' },
          });
        });
      });
    });

    describe('storage backends', () => {
      const s3Config = { bucket_name: 'backups', region: 'eu-west-1', secret_access_key: 'env:AWS_SECRET_ACCESS_KEY' };

      it('creates a backend with a positive id and finds it by id and by name; unknown ones are undefined', async () => {
        const created = await catalog.createStorageBackend({ name: 'offsite', type: 'aws_s3', config: s3Config });
        expect(created).toMatchObject({ name: 'offsite', type: 'aws_s3', config: s3Config });
        expect(Number.isInteger(created.id) && created.id > 0).toBe(true);
        expect(Number.isFinite(Date.parse(created.created))).toBe(true);
        await expect(catalog.getStorageBackend(created.id)).resolves.toStrictEqual(created);
        await expect(catalog.getStorageBackend('offsite')).resolves.toStrictEqual(created);
        await expect(catalog.getStorageBackend('missing')).resolves.toBeUndefined();
        await expect(catalog.getStorageBackend(created.id + 1000)).resolves.toBeUndefined();
      });

      it('refuses a taken name with ConflictError and lists backends by name', async () => {
        await catalog.createStorageBackend({ name: 'zeta', type: 'local', config: { base_path: '/z' } });
        await catalog.createStorageBackend({ name: 'alpha', type: 'local', config: { base_path: '/a' } });
        await expect(catalog.createStorageBackend({ name: 'zeta', type: 'local', config: { base_path: '/other' } })).rejects.toBeInstanceOf(ConflictError);
        expect((await catalog.listStorageBackends()).map((b) => [b.name, b.config])).toEqual([
          ['alpha', { base_path: '/a' }],
          ['zeta', { base_path: '/z' }],
        ]);
      });

      it('deletes by name, never reuses an id, and deleting an unknown name is NotFoundError', async () => {
        const first = await catalog.createStorageBackend({ name: 'gone', type: 'local', config: { base_path: '/g' } });
        await catalog.deleteStorageBackend('gone');
        await expect(catalog.getStorageBackend('gone')).resolves.toBeUndefined();
        await expect(catalog.deleteStorageBackend('gone')).rejects.toBeInstanceOf(NotFoundError);
        const second = await catalog.createStorageBackend({ name: 'gone', type: 'local', config: { base_path: '/g' } });
        expect(second.id).not.toBe(first.id);
      });
    });

    describe('plans', () => {
      const plan = (name: string, url: string): Plan => ({ name, postgres: { url }, restore: { postgres: 'postgres://standby/' } });

      it('stores, replaces and lists plans by name; unknown ones are undefined', async () => {
        await catalog.putPlan(plan('web', 'postgres://a/web'));
        await catalog.putPlan(plan('api', 'postgres://a/api'));
        await catalog.putPlan(plan('web', 'postgres://b/web'));
        await expect(catalog.getPlan('web')).resolves.toStrictEqual(plan('web', 'postgres://b/web'));
        await expect(catalog.getPlan('missing')).resolves.toBeUndefined();
        expect((await catalog.listPlans()).map((p) => p.name)).toEqual(['api', 'web']);
      });

      it('deletes by name; deleting an unknown name is NotFoundError', async () => {
        await catalog.putPlan(plan('old', 'postgres://a/old'));
        await catalog.deletePlan('old');
        await expect(catalog.getPlan('old')).resolves.toBeUndefined();
        await expect(catalog.deletePlan('old')).rejects.toBeInstanceOf(NotFoundError);
      });
    });

    describe('replication receipts', () => {
      const receipt = (overrides: Partial<ReplicationReceipt> = {}): ReplicationReceipt => ({
        id: `receipt-${randomId(6)}`,
        snapshotId: 'full_20240101_000000',
        source: { repository: repo, location: '/srv/repo', provider: 'local' },
        destination: { repository: repo, location: 's3://b/replica', provider: 's3' },
        blobsCopied: 10,
        bytesCopied: 10_000,
        blobsSkipped: 2,
        bytesSkipped: 2_000,
        verified: true,
        time: '2024-06-01T00:00:00.000Z',
        durationMs: 1200,
        ...overrides,
      });

      it('records receipts and lists them newest first, unchanged', async () => {
        const older = receipt({ time: '2024-06-01T00:00:00.000Z' });
        const newer = receipt({ time: '2024-06-02T00:00:00.000Z', snapshotId: 'full_20240102_000000' });
        await catalog.recordReplication(older);
        await catalog.recordReplication(newer);
        await expect(catalog.listReplications({ sourceRepository: repo })).resolves.toStrictEqual([newer, older]);
      });

      it('filters by source repository and snapshot, limits, and refuses a repeated id', async () => {
        const mine = receipt();
        await catalog.recordReplication(mine);
        await catalog.recordReplication(receipt({ source: { repository: otherRepo, location: '/x', provider: 'local' } }));
        await catalog.recordReplication(receipt({ snapshotId: 'full_20240301_000000', time: '2024-06-03T00:00:00.000Z' }));
        expect((await catalog.listReplications({ sourceRepository: repo })).length).toBe(2);
        expect((await catalog.listReplications({ sourceRepository: repo, snapshotId: mine.snapshotId })).map((r) => r.id)).toEqual([mine.id]);
        expect((await catalog.listReplications({ sourceRepository: repo, limit: 1 }))[0]!.snapshotId).toBe('full_20240301_000000');
        await expect(catalog.recordReplication(mine)).rejects.toBeInstanceOf(ConflictError);
        await expect(catalog.recordReplication(receipt({ time: 'yesterday' }))).rejects.toBeInstanceOf(ValidationError);
      });
    });
  });
}

/** A complete snapshot record with overridable fields. */
export function makeSnapshot(overrides: Partial<Snapshot> & Pick<Snapshot, 'id'>): Snapshot {
  return {
    backupId: overrides.id,
    type: 'full',
    source: 'files',
    time: '2024-01-01T00:00:00.000Z',
    hostname: 'host-1',
    paths: ['/srv/data'],
    tags: [],
    tree: 'ab'.repeat(32),
    stats: { items: 3, totalBytes: 3000, bytesRead: 3000, bytesAdded: 2000, bytesStored: 1500, blobsAdded: 2, durationMs: 120 },
    keyId: 'key-1',
    ...overrides,
  };
}

/** A running run record with overridable fields. */
export function makeRun(overrides: Partial<RunRecord> = {}): RunRecord {
  return {
    id: `run-${randomId(6)}`,
    kind: 'backup',
    repository: 'repo',
    status: 'running',
    startedAt: '2024-06-01T00:00:00.000Z',
    ...overrides,
  };
}
