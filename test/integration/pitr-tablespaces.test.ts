/**
 * Base backups and point-in-time restores of a PostgreSQL 15 cluster with a user tablespace, end to
 * end through the built CLI: the cluster archives through `wal-push`, holds one table in a tablespace
 * (in a temporary directory) and one in the default tablespace; `basebackup` stores base.tar, the
 * manifest and the tablespace's tar and records the tablespace; rows are committed after it; a restore
 * without a mapping while the original location is in use fails before writing anything; a restore
 * with `--tablespace-mapping OLD=NEW --latest --start` recovers every row, with the tablespace's files
 * under NEW.
 *
 * As in pitr.test.ts, when the tests run as root every CLI call and server runs as `postgres`.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { chown, mkdir, readdir, readFile, readlink, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../harness/child-process.js';
import type { PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { cliAsPostgres, waitArchived, type PostgresCliResult, startArchivingCluster, stopPostgresServer, archivingScratch, walPushCommand } from '../helpers/postgres-archiving.js';

const run = promisify(execFile);

let cluster: PostgresClusterHandle;
let root: string;
let env: NodeJS.ProcessEnv;
let owner: { uid: number; gid: number } | undefined;
let tablespaceDir: string;
let tablespaceOid: number;
let restoredDataDir: string | undefined;

const cli = (args: string[]): Promise<PostgresCliResult> => cliAsPostgres(args, { env, cwd: root });

async function ownedDirectory(path: string): Promise<string> {
  await mkdir(path, { mode: 0o700 });
  if (owner) await chown(path, owner.uid, owner.gid);
  return path;
}

const stopServer = stopPostgresServer;

beforeAll(async () => {
  const scratch = await archivingScratch('chrono-pitr-ts-');
  ({ root, owner, env } = scratch);
  expect((await cli(['init'])).code).toBe(0);
  cluster = await startArchivingCluster(walPushCommand(scratch));
  env.PGPASSWORD = cluster.password;
  tablespaceDir = await ownedDirectory(join(root, 'ts-original'));
  await cluster.psql(`CREATE TABLESPACE spaced LOCATION '${tablespaceDir}'`);
  await cluster.psql(
    'CREATE TABLE in_space (id int PRIMARY KEY, note text) TABLESPACE spaced; CREATE TABLE in_default (id int PRIMARY KEY);' +
      'INSERT INTO in_space SELECT g, md5(g::text) FROM generate_series(1, 1000) g; INSERT INTO in_default SELECT generate_series(1, 500);',
  );
  tablespaceOid = Number(await cluster.psql("SELECT oid FROM pg_tablespace WHERE spcname = 'spaced'"));
}, 120_000);

afterAll(async () => {
  if (restoredDataDir) await stopServer(restoredDataDir);
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('point-in-time recovery with a tablespace', () => {
  it('takes a base backup that stores and records the tablespace', async () => {
    const result = await cli(['--json', 'basebackup', '--postgres', cluster.url()]);
    expect(result.code).toBe(0);
    const snapshot = (JSON.parse(result.stdout) as { snapshots: { id: string; details: { method: string; physical: { tablespaces?: unknown[] } } }[] }).snapshots[0]!;
    // Streamed over the replication protocol, not through pg_basebackup (which cannot stream several archives).
    expect(snapshot.details.method).toBe('BASE_BACKUP');
    expect(snapshot.details.physical.tablespaces).toEqual([{ oid: tablespaceOid, name: 'spaced', location: tablespaceDir, file: `tablespace-${tablespaceOid}.tar` }]);
    // The snapshot's files, as plain `restore` gives them back.
    const raw = join(await ownedDirectory(join(root, 'raw')), 'out');
    expect((await cli(['restore', snapshot.id, '--target', raw])).code).toBe(0);
    expect((await readdir(raw)).sort()).toEqual(['backup_manifest', 'base.tar', `tablespace-${tablespaceOid}.tar`]);
    const { stdout: inSpace } = await run('tar', ['-tf', join(raw, `tablespace-${tablespaceOid}.tar`)]);
    expect(inSpace).toMatch(/^PG_15_\d+\//m);
    const { stdout: map } = await run('tar', ['-xOf', join(raw, 'base.tar'), 'tablespace_map']);
    expect(map).toBe(`${tablespaceOid} ${tablespaceDir}\n`);
    await rm(raw, { recursive: true, force: true });
  }, 60_000);

  it('refuses to restore over the original location in use, before writing anything', async () => {
    await cluster.psql('INSERT INTO in_space SELECT g, md5(g::text) FROM generate_series(1001, 1500) g; INSERT INTO in_default SELECT generate_series(501, 700);');
    const latest = await cluster.psql('SELECT pg_switch_wal()');
    await waitArchived(cluster, latest);
    const parent = await ownedDirectory(join(root, 'refused'));
    const before = (await readdir(tablespaceDir)).sort();
    const result = await cli(['pitr-restore', '--latest', '--data-dir', join(parent, 'data')]);
    expect(result.code).not.toBe(0);
    const output = result.stderr + result.stdout;
    expect(output).toContain('--tablespace-mapping');
    expect(output).toContain('"spaced"');
    expect(output).toContain(tablespaceDir);
    // Nothing written: the data directory was not even created, the tablespace is as it was.
    expect(await readdir(parent)).toEqual([]);
    expect((await readdir(tablespaceDir)).sort()).toEqual(before);
  }, 60_000);

  it('restores the latest state with --tablespace-mapping: every row, the tablespace under the new directory', async () => {
    const parent = await ownedDirectory(join(root, 'restored'));
    const dataDir = join(parent, 'data');
    const newTablespace = join(parent, 'ts-new');
    const port = await freePort();
    restoredDataDir = dataDir;
    const result = await cli(['--json', 'pitr-restore', '--latest', '--data-dir', dataDir, '--tablespace-mapping', `${tablespaceDir}=${newTablespace}`, '--start', '--wait-timeout', '60s',
      '--server-option', `port=${port}`, '--server-option', 'listen_addresses=127.0.0.1', '--server-option', `unix_socket_directories=${parent}`, '--server-option', 'archive_mode=off']);
    expect(result.code).toBe(0);
    const restore = JSON.parse(result.stdout) as { tablespaces: unknown[]; recovery: { state: string } };
    expect(restore.tablespaces).toEqual([{ oid: tablespaceOid, name: 'spaced', location: tablespaceDir, directory: newTablespace }]);
    expect(restore.recovery.state).toBe('in production');
    // PostgreSQL made the link from the rewritten tablespace_map (and renamed the map when done).
    expect(await readlink(join(dataDir, 'pg_tblspc', String(tablespaceOid)))).toBe(newTablespace);
    expect((await readdir(newTablespace)).some((entry) => /^PG_15_\d+$/.test(entry))).toBe(true);
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: cluster.password, database: 'postgres' });
    await client.connect();
    try {
      const counts = (await client.query<{ spaced: string; plain: string; location: string; file: string }>(
        "SELECT (SELECT count(*) FROM in_space) AS spaced, (SELECT count(*) FROM in_default) AS plain, pg_tablespace_location(oid) AS location, pg_relation_filepath('in_space') AS file FROM pg_tablespace WHERE spcname = 'spaced'",
      )).rows[0]!;
      expect(counts).toMatchObject({ spaced: '1500', plain: '700', location: newTablespace });
      // The table's file is really there, under the new directory.
      const size = (await readFile(join(dataDir, counts.file))).length;
      expect(size).toBeGreaterThan(0);
      expect(counts.file.startsWith(`pg_tblspc/${tablespaceOid}/`)).toBe(true);
    } finally {
      await client.end();
      await stopServer(dataDir);
      restoredDataDir = undefined;
    }
  }, 90_000);
});
