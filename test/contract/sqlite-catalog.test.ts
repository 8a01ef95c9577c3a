import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SQLITE_CATALOG_SCHEMA_VERSION, SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { StorageError, ValidationError } from '../../src/domain/errors.js';
import { describeCatalogContract, makeRun, makeSnapshot } from './catalog.contract.js';

async function tempDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'chrono-sqlite-catalog-'));
}

describeCatalogContract('SqliteCatalog (temp file)', async () => {
  const dir = await tempDir();
  // A nested path so the suite also exercises creation of the parent directory.
  const catalog = SqliteCatalog.open(join(dir, 'state', 'catalog.db'));
  return { catalog, cleanup: () => rm(dir, { recursive: true, force: true }) };
});

describeCatalogContract('SqliteCatalog (:memory:)', async () => ({
  catalog: SqliteCatalog.open(':memory:'),
  cleanup: async () => {},
}));

describe('SqliteCatalog on a file', () => {
  let dir: string;
  let file: string;
  const opened: SqliteCatalog[] = [];
  const open = (path = file): SqliteCatalog => {
    const catalog = SqliteCatalog.open(path);
    opened.push(catalog);
    return catalog;
  };

  beforeEach(async () => {
    dir = await tempDir();
    file = join(dir, 'deep', 'er', 'catalog.db');
  });

  afterEach(async () => {
    for (const catalog of opened.splice(0)) await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('two instances on the same file see each other’s writes', async () => {
    const a = open();
    const b = open();
    const repo = 'shared-repo';

    await a.putSnapshot(repo, makeSnapshot({ id: 'full_20240101_000000' }));
    expect((await b.listSnapshots(repo)).map((s) => s.id)).toEqual(['full_20240101_000000']);

    await b.replaceSnapshots(repo, [makeSnapshot({ id: 'full_20240202_000000', time: '2024-02-02T00:00:00.000Z' })]);
    expect((await a.listSnapshots(repo)).map((s) => s.id)).toEqual(['full_20240202_000000']);

    const run = makeRun({ repository: repo });
    await b.startRun(run);
    await expect(a.getRun(run.id)).resolves.toStrictEqual(run);
    await a.finishRun(run.id, { status: 'succeeded', finishedAt: '2024-06-01T01:00:00.000Z' });
    await expect(b.getRun(run.id)).resolves.toMatchObject({ status: 'succeeded', finishedAt: '2024-06-01T01:00:00.000Z' });

    await a.deleteSnapshot(repo, 'full_20240202_000000');
    await expect(b.listSnapshots(repo)).resolves.toEqual([]);
  });

  it('creates the parent directory and a 0600 file in WAL mode with the schema version recorded', async () => {
    const catalog = open();
    await catalog.putSnapshot('r', makeSnapshot({ id: 'full_20240101_000000' }));

    expect((await stat(file)).mode & 0o777).toBe(0o600);
    // SQLite gives the write-ahead log the database file's mode, so it is private too.
    expect((await stat(`${file}-wal`)).mode & 0o777).toBe(0o600);

    const raw = new Database(file, { readonly: true });
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.pragma('user_version', { simple: true })).toBe(SQLITE_CATALOG_SCHEMA_VERSION);
      const columns = (raw.prepare(`SELECT name FROM pragma_table_info('snapshots')`).all() as { name: string }[]).map((c) => c.name);
      expect(columns).toEqual(expect.arrayContaining(['repository', 'id', 'time', 'type', 'source', 'backup_id', 'data']));
    } finally {
      raw.close();
    }
  });

  it('waits for another process’s write lock instead of failing (busy timeout)', async () => {
    const catalog = open();
    // A separate process takes the write lock, holds it for a while, then commits.
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const Database = require('better-sqlite3');
         const db = new Database(process.argv[1]);
         db.exec('BEGIN IMMEDIATE');
         db.exec("INSERT INTO runs (id, repository, kind, status, started_at, started_ms, data) VALUES ('child', 'r', 'backup', 'running', '2024-01-01T00:00:00.000Z', 0, '{}')");
         process.stdout.write('locked\\n');
         Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600);
         db.exec('COMMIT');
         db.close();`,
        file,
      ],
      { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const exited = once(child, 'exit');
    await once(child.stdout, 'data');

    const started = Date.now();
    await catalog.putSnapshot('r', makeSnapshot({ id: 'full_20240101_000000' }));
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    const [code] = await exited;
    expect(code).toBe(0);
    await expect(catalog.getSnapshot('r', 'full_20240101_000000')).resolves.toBeDefined();
  });

  it('reports a lock held past the busy timeout as a retryable busy error', async () => {
    open();
    const holder = new Database(file);
    try {
      holder.exec('BEGIN IMMEDIATE');
      const impatient = SqliteCatalog.open(file, { busyTimeoutMs: 200 });
      opened.push(impatient);
      const started = Date.now();
      const attempt = impatient.putSnapshot('r', makeSnapshot({ id: 'full_20240101_000000' }));
      await expect(attempt).rejects.toBeInstanceOf(StorageError);
      const failure = (await attempt.catch((error: unknown) => error)) as StorageError;
      // Spelled out so that a failure shows what SQLite actually answered.
      expect(`${failure.code} ${failure.retryable} ${String(failure.details?.sqliteCode)} ${failure.message}`).toMatch(/^storage\.catalog_busy true SQLITE_(BUSY|LOCKED|PROTOCOL)/);
      expect(Date.now() - started).toBeGreaterThanOrEqual(150);
      holder.exec('ROLLBACK');
      await impatient.putSnapshot('r', makeSnapshot({ id: 'full_20240101_000000' }));
    } finally {
      holder.close();
    }
  });

  it('keeps its data across close and reopen', async () => {
    const first = open();
    const snapshot = makeSnapshot({ id: 'full_20240101_000000', tags: ['keep'] });
    const run = makeRun({ repository: 'r' });
    await first.putSnapshot('r', snapshot);
    await first.startRun(run);
    await first.close();

    const second = open();
    await expect(second.getSnapshot('r', snapshot.id)).resolves.toStrictEqual(snapshot);
    await expect(second.listSnapshots('r', { tag: 'keep' })).resolves.toStrictEqual([snapshot]);
    await expect(second.getRun(run.id)).resolves.toStrictEqual(run);
  });

  it('does not change the mode of an existing file', async () => {
    await open().close();
    await chmod(file, 0o640);
    open();
    expect((await stat(file)).mode & 0o777).toBe(0o640);
  });

  it('refuses a catalog written by a newer schema version', async () => {
    await open().close();
    const raw = new Database(file);
    raw.pragma(`user_version = ${SQLITE_CATALOG_SCHEMA_VERSION + 1}`);
    raw.close();

    expect(() => SqliteCatalog.open(file)).toThrow(StorageError);
    expect(() => SqliteCatalog.open(file)).toThrow(/newer than this version/);
  });

  it('replaceSnapshots that fails part-way leaves the old set in place', async () => {
    const catalog = open();
    const old = makeSnapshot({ id: 'full_20240101_000000' });
    await catalog.putSnapshot('r', old);

    const good = makeSnapshot({ id: 'full_20240202_000000', time: '2024-02-02T00:00:00.000Z' });
    const bad = makeSnapshot({ id: 'full_20240303_000000', time: 'not a time' });
    const attempt = catalog.replaceSnapshots('r', [good, bad]);
    await expect(attempt).rejects.toBeInstanceOf(ValidationError);
    await expect(attempt).rejects.toMatchObject({ details: { field: 'snapshot.time' } });

    await expect(catalog.listSnapshots('r')).resolves.toStrictEqual([old]);
  });

  it('rejects invalid input with a ValidationError naming the field', async () => {
    const catalog = open();
    await expect(catalog.putSnapshot('r', makeSnapshot({ id: '' }))).rejects.toMatchObject({
      name: 'ValidationError',
      details: { field: 'snapshot.id' },
    });
    await expect(catalog.listSnapshots('r', { before: 'yesterday-ish' })).rejects.toMatchObject({
      name: 'ValidationError',
      details: { field: 'filter.before' },
    });
    await expect(catalog.listSnapshots('r', { limit: 0 })).rejects.toMatchObject({
      name: 'ValidationError',
      details: { field: 'filter.limit' },
    });
    await expect(catalog.listRuns({ limit: 1.5 })).rejects.toMatchObject({ name: 'ValidationError' });
    await expect(
      catalog.finishRun('x', { status: 'running' as never, finishedAt: '2024-01-01T00:00:00.000Z' }),
    ).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'result.status' } });
  });

  it('fails calls after close with a StorageError; closing twice is harmless', async () => {
    const catalog = open();
    await catalog.close();
    await expect(catalog.close()).resolves.toBeUndefined();
    await expect(catalog.listSnapshots('r')).rejects.toMatchObject({ code: 'storage.catalog_closed' });
  });
});
