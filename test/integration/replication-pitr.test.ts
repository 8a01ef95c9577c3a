/**
 * Point-in-time recovery from a replica, end to end: a real PostgreSQL 15 cluster archives through the
 * built CLI into a repository (1 MiB WAL segments), a base backup and two batches separated by a named
 * restore point are taken, `replicate` copies the repository, and with the source repository moved
 * out of reach, `pitr-restore --repo <replica> --target-name` recovers exactly the first batch — the
 * base backup, the restore point record and the WAL all come from the replica.
 *
 * PostgreSQL does not run as root: when the tests run as root, every CLI call and every server runs as
 * the `postgres` account (runuser), and the directories belong to it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../harness/child-process.js';
import type { PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { asRoot, cliAsPostgres, waitArchived as waitArchivedBy, startArchivingCluster, stopPostgresServer, archivingScratch, walPushCommand } from '../helpers/postgres-archiving.js';

const run = promisify(execFile);

let cluster: PostgresClusterHandle;
let root: string;
let env: NodeJS.ProcessEnv;
let restoredDataDir: string | undefined;

/** Runs the built CLI as the account PostgreSQL runs as; rejects unless it exits 0. */
async function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  const { code, stdout, stderr } = await cliAsPostgres(args, { env: { ...env, ...extraEnv }, cwd: root });
  if (code !== 0) throw new Error(`chrono-backup ${args.join(' ')} exited ${code}: ${stderr}${stdout}`);
  return stdout;
}

const waitArchived = (lsn: string) => waitArchivedBy(cluster, lsn);

const stopServer = stopPostgresServer;

beforeAll(async () => {
  const scratch = await archivingScratch('chrono-replica-pitr-', ['CHRONO_BACKUP_REPLICAS']);
  ({ root, env } = scratch);
  await cli(['init']);
  cluster = await startArchivingCluster(walPushCommand(scratch));
  env.PGPASSWORD = cluster.password;
  await cluster.psql('CREATE TABLE items (id serial PRIMARY KEY, batch int NOT NULL)');
}, 120_000);

afterAll(async () => {
  if (restoredDataDir) await stopServer(restoredDataDir);
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('point-in-time recovery from a replica', () => {
  const replica = () => join(root, 'replica');

  it('replicates the base backup, the WAL archive and the restore point, and a second run copies nothing', async () => {
    await cli(['basebackup', '--postgres', cluster.url()]);
    await cluster.psql('INSERT INTO items (batch) SELECT 1 FROM generate_series(1, 50)');
    await cli(['restore-point', 'after-batch-1', '--postgres', cluster.url()]);
    await cluster.psql('INSERT INTO items (batch) SELECT 2 FROM generate_series(1, 50)');
    await waitArchived(await cluster.psql('SELECT pg_switch_wal()'));

    const text = await cli(['replicate', '--to', replica()]);
    // The segments written before the base backup are of no use to a restore from the replica.
    expect(text).toMatch(/^WAL: [1-9]\d* files copied \(.+\), 0 already there(, [1-9]\d* not needed \(older than the replica's oldest base backup\))?; 1 restore point\(s\) copied/m);
    const again = JSON.parse(await cli(['--json', 'replicate', '--to', replica()])) as Record<string, unknown>;
    expect(again).toMatchObject({ blobsCopied: 0, walFilesCopied: 0, walBytesCopied: 0, restorePointsCopied: 0, walFilesPresent: expect.any(Number) });
    expect(again.walFilesPresent as number).toBeGreaterThan(0);
  }, 90_000);

  it('restores to the restore point with --repo pointing at the replica, the source repository out of reach', async () => {
    // Moved away: nothing of the restore, wal-fetch included, can read the source.
    await rename(join(root, 'repo'), join(root, 'repo-away'));
    const parent = await mkdtemp(join(root, 'restore-'));
    if (asRoot) await run('chown', ['postgres:postgres', parent]);
    restoredDataDir = join(parent, 'data');
    const port = await freePort();
    const restored = JSON.parse(
      await cli(['--json', 'pitr-restore', '--repo', replica(), '--target-name', 'after-batch-1', '--data-dir', restoredDataDir, '--start', '--wait-timeout', '60s', '--server-option', `port=${port}`, '--server-option', 'listen_addresses=127.0.0.1', '--server-option', `unix_socket_directories=${parent}`]),
    ) as { settings: Record<string, string>; recovery?: { state: string } };
    expect(restored.settings.restore_command).toContain(replica());
    expect(restored.recovery?.state).toBe('in production');
    const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: cluster.password, database: 'postgres' });
    await client.connect();
    try {
      const rows = (await client.query<{ batch: number; n: string }>('SELECT batch, count(*) AS n FROM items GROUP BY batch ORDER BY batch')).rows;
      expect(rows.map((row) => [row.batch, Number(row.n)])).toEqual([[1, 50]]);
    } finally {
      await client.end();
    }
  }, 90_000);
});
