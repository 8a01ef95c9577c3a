import { afterEach, beforeEach, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SQLITE_CATALOG_SCHEMA_VERSION, SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { makeRun, makeSnapshot } from '../../contract/catalog.contract.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-catalog-migration-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it('upgrades a version-1 catalog in place: its snapshots and runs stay, backends, receipts and plans work', async () => {
  const file = join(dir, 'catalog.sqlite');
  // A version-1 catalog: today's schema with the later tables removed and the version set back.
  const before = SqliteCatalog.open(file);
  await before.putSnapshot('repo', makeSnapshot({ id: 'full_20240101_000000' }));
  await before.startRun(makeRun({ id: 'run-1', repository: 'repo' }));
  await before.startRun(makeRun({ id: 'run-2', repository: 'repo' }));
  await before.finishRun('run-2', { status: 'succeeded', finishedAt: '2024-06-01T00:10:00.000Z', snapshotId: 'full_20240601_000000', summary: { plan: 'nightly' } });
  await before.close();
  const raw = new Database(file);
  raw.exec(
    'DROP TABLE storage_backends; DROP TABLE replication_receipts; DROP TABLE plans; ' +
      'DROP TABLE users; DROP TABLE schedules; DROP TABLE schedule_occurrences; DROP TABLE retention_policies; DROP TABLE audit_log; DROP TABLE alert_state; DROP TABLE recovery_windows; ' +
      'DROP INDEX runs_kind_newest; DROP INDEX runs_snapshot; ALTER TABLE runs DROP COLUMN plan; ALTER TABLE runs DROP COLUMN snapshot_id;',
  );
  raw.pragma('user_version = 1');
  raw.close();

  const after = SqliteCatalog.open(file);
  try {
    expect((await after.listSnapshots('repo')).map((s) => s.id)).toEqual(['full_20240101_000000']);
    await expect(after.getRun('run-1')).resolves.toMatchObject({ repository: 'repo', status: 'running' });
    // Version 4 moved the plan and snapshot id of existing runs into indexed columns.
    expect((await after.listRuns({ plan: 'nightly' })).map((run) => run.id)).toEqual(['run-2']);
    expect((await after.listRuns({ snapshotId: 'full_20240601_000000' })).map((run) => run.id)).toEqual(['run-2']);
    await expect(after.createStorageBackend({ name: 'nas', type: 'local', config: { base_path: '/mnt/nas' } })).resolves.toMatchObject({ id: 1 });
    await expect(after.listReplications()).resolves.toEqual([]);
    await expect(after.listPlans()).resolves.toEqual([]);
  } finally {
    await after.close();
  }
  const check = new Database(file, { readonly: true });
  expect(check.pragma('user_version', { simple: true })).toBe(SQLITE_CATALOG_SCHEMA_VERSION);
  check.close();
});
