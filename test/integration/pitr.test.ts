/**
 * Point-in-time recovery end to end, against a real PostgreSQL 15 cluster that archives through the
 * built CLI (archive_command = chrono-backup wal-push %p, archive_timeout = 1, 1 MiB WAL segments so
 * switches are cheap): one base backup, then batches of transactions separated by a timestamp, an xid,
 * a named restore point and an LSN, then a dropped table and a last transaction. Each target is
 * restored into a fresh data directory and started; the rows found there are exactly the batches
 * committed before the target. Also: wal-push refuses conflicting content, wal-fetch of a missing file
 * fails fast with the "not archived" status, a push whose storage fails archives nothing, and
 * pitr-status reports a removed segment as a gap and narrows the window.
 *
 * PostgreSQL does not run as root: when the tests run as root, every CLI call and every server runs as
 * the `postgres` account (runuser), and the repository and home belong to it.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp, readdir, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePort } from '../harness/child-process.js';
import type { PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { asRoot, cliAsPostgres, type PostgresCliResult, startArchivingCluster, stopPostgresServer, archivingScratch, walPushCommand } from '../helpers/postgres-archiving.js';
import { CLI } from './cli-harness.js';
import { startLocalServer } from '../../src/local/local-server.js';
import type { Logger } from '../../src/ports/logger.js';

const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };

const run = promisify(execFile);

let cluster: PostgresClusterHandle;
let root: string;
let env: NodeJS.ProcessEnv;
let owner: { uid: number; gid: number } | undefined;
const startedDataDirs: string[] = [];

type Cli = PostgresCliResult;

/** Runs the built CLI as the account PostgreSQL runs as. */
function cli(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Cli> {
  return cliAsPostgres(args, { env: options.env ?? env, cwd: options.cwd ?? root });
}

async function cliJson<T>(args: string[]): Promise<T> {
  const result = await cli(['--json', ...args]);
  if (result.code !== 0) throw new Error(`chrono-backup ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

async function ownedDirectory(prefix: string): Promise<string> {
  const directory = await mkdtemp(join(root, prefix));
  if (owner) await chown(directory, owner.uid, owner.gid);
  return directory;
}

/** Waits until the segment holding `lsn` has been archived (pg_stat_archiver). */
async function waitArchived(lsn: string): Promise<void> {
  const wanted = await cluster.psql(`SELECT pg_walfile_name('${lsn}')`);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const [archived, failed] = (await cluster.psql('SELECT coalesce(last_archived_wal, \'\') || \'|\' || coalesce(last_failed_wal, \'\') FROM pg_stat_archiver')).split('|');
    if (archived && archived.length === 24 && archived >= wanted) return;
    if (failed) console.warn(`archiving failed for ${failed}`);
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`segment ${wanted} was not archived in time`);
}

/** A batch of rows in `items`, committed in one transaction; returns its xid. */
async function commitBatch(batch: number, rows = 50): Promise<string> {
  return cluster.psql(`BEGIN; INSERT INTO items (batch, note) SELECT ${batch}, md5(g::text) FROM generate_series(1, ${rows}) g; SELECT pg_current_xact_id(); COMMIT;`);
}

interface RestoreJson {
  baseBackup: string;
  settings: Record<string, string>;
  recovery?: { state: string; durationMs: number };
}

/** Restores to a target into a fresh directory, starts it, and returns what its tables hold. */
async function restoreAndRead(targetArgs: string[]): Promise<{ batches: Record<string, number>; victim: boolean; restore: RestoreJson }> {
  const parent = await ownedDirectory('restore-');
  const dataDir = join(parent, 'data');
  const port = await freePort();
  startedDataDirs.push(dataDir);
  const restore = await cliJson<RestoreJson>(['pitr-restore', ...targetArgs, '--data-dir', dataDir, '--start', '--wait-timeout', '60s', '--server-option', `port=${port}`, '--server-option', 'listen_addresses=127.0.0.1', '--server-option', `unix_socket_directories=${parent}`]);
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password: cluster.password, database: 'postgres' });
  await client.connect();
  try {
    const rows = (await client.query<{ batch: number; n: string }>('SELECT batch, count(*) AS n FROM items GROUP BY batch ORDER BY batch')).rows;
    const victim = (await client.query<{ present: boolean }>("SELECT to_regclass('public.victim') IS NOT NULL AS present")).rows[0]!.present;
    return { batches: Object.fromEntries(rows.map((row) => [String(row.batch), Number(row.n)])), victim, restore };
  } finally {
    await client.end();
    await stopServer(dataDir);
  }
}

const stopServer = stopPostgresServer;

const committed: { time?: string; xid?: string; lsn?: string; latestLsn?: string; baseBackup?: string; systemIdentifier?: string } = {};

beforeAll(async () => {
  const scratch = await archivingScratch('chrono-pitr-');
  ({ root, owner, env } = scratch);
  // init creates the default key file in the home, where archive_command finds it too.
  const init = await cli(['init']);
  expect(init.code).toBe(0);
  cluster = await startArchivingCluster(walPushCommand(scratch));
  env.PGPASSWORD = cluster.password;
  await cluster.psql('CREATE TABLE items (id serial PRIMARY KEY, batch int NOT NULL, note text); CREATE TABLE victim (id int); INSERT INTO victim SELECT generate_series(1, 10);');
}, 120_000);

afterAll(async () => {
  for (const dataDir of startedDataDirs) await stopServer(dataDir);
  await cluster?.stop();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('point-in-time recovery', () => {
  it('archives WAL through wal-push and takes a base backup recording its WAL position', async () => {
    const backup = await cliJson<{ snapshots: { id: string; source: string; details: { physical: { systemIdentifier: string; timeline: number; startLsn: string; stopLsn: string; stopTime: string; walSegmentSize: number } } }[] }>(['basebackup', '--postgres', cluster.url()]);
    const snapshot = backup.snapshots[0]!;
    expect(snapshot.source).toBe('physical');
    const physical = snapshot.details.physical;
    expect(physical.systemIdentifier).toBe(await cluster.psql('SELECT system_identifier FROM pg_control_system()'));
    expect(physical.timeline).toBe(1);
    expect(physical.walSegmentSize).toBe(1024 * 1024);
    expect(physical.stopLsn >= physical.startLsn).toBe(true);
    committed.baseBackup = snapshot.id;
    committed.systemIdentifier = physical.systemIdentifier;
  }, 60_000);

  it('restores a base backup with plain `restore` as its raw base.tar', async () => {
    const target = join(await ownedDirectory('raw-'), 'out');
    const restored = await cli(['restore', committed.baseBackup!, '--target', target]);
    expect(restored.code).toBe(0);
    const { stdout } = await run('tar', ['-tf', join(target, 'base.tar')], { maxBuffer: 64 * 1024 * 1024 });
    expect(stdout.split('\n')).toEqual(expect.arrayContaining(['backup_label', 'global/pg_control', 'backup_manifest']));
    // The usual integrity check reads it like any snapshot.
    const verified = await cli(['verify', committed.baseBackup!, '--level', 'full']);
    expect(verified.code).toBe(0);
  }, 60_000);

  it('runs batches between a time, an xid, a restore point and an LSN, then drops a table', async () => {
    await commitBatch(1);
    committed.time = await cluster.psql("SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    await new Promise((done) => setTimeout(done, 50));
    committed.xid = (await commitBatch(2)).split('\n').find((line) => /^\d+$/.test(line));
    await commitBatch(3);
    const point = await cliJson<{ lsn: string; name: string }>(['restore-point', 'before-batch-4', '--postgres', cluster.url()]);
    expect(point.name).toBe('before-batch-4');
    await commitBatch(4);
    committed.lsn = await cluster.psql('SELECT pg_current_wal_lsn()');
    await commitBatch(5);
    await cluster.psql('DROP TABLE victim');
    await commitBatch(6, 1);
    committed.latestLsn = await cluster.psql('SELECT pg_switch_wal()');
    await waitArchived(committed.latestLsn);
    expect(committed.xid).toMatch(/^\d+$/);
  }, 60_000);

  it('restores to a time: only what was committed before it', async () => {
    const restored = await restoreAndRead(['--target-time', committed.time!]);
    expect(restored.batches).toEqual({ 1: 50 });
    expect(restored.victim).toBe(true);
    expect(restored.restore.baseBackup).toBe(committed.baseBackup);
    expect(restored.restore.settings.restore_command).toContain('wal-fetch');
    expect(restored.restore.recovery?.state).toBe('in production');
  }, 90_000);

  it('restores to an xid, including that transaction', async () => {
    const restored = await restoreAndRead(['--target-xid', committed.xid!]);
    expect(restored.batches).toEqual({ 1: 50, 2: 50 });
  }, 90_000);

  it('restores to a named restore point', async () => {
    const restored = await restoreAndRead(['--target-name', 'before-batch-4']);
    expect(restored.batches).toEqual({ 1: 50, 2: 50, 3: 50 });
  }, 90_000);

  it('restores to an LSN', async () => {
    const restored = await restoreAndRead(['--target-lsn', committed.lsn!]);
    expect(restored.batches).toEqual({ 1: 50, 2: 50, 3: 50, 4: 50 });
    expect(restored.victim).toBe(true);
  }, 90_000);

  it('restores the latest state: the dropped table is gone and the last transaction is there', async () => {
    const restored = await restoreAndRead(['--latest']);
    expect(restored.batches).toEqual({ 1: 50, 2: 50, 3: 50, 4: 50, 5: 50, 6: 1 });
    expect(restored.victim).toBe(false);
  }, 90_000);
});

describe('wal-push and wal-fetch', () => {
  it('accepts a repeated push of the same content and refuses different content under an archived name', async () => {
    const archived = (await cluster.psql('SELECT last_archived_wal FROM pg_stat_archiver')).trim();
    const scratch = await ownedDirectory('push-');
    const fetched = join(scratch, archived);
    const fetch = await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, archived, fetched]);
    expect(fetch.code).toBe(0);
    const content = await readFile(fetched);
    expect(content.length).toBe(1024 * 1024);
    const again = await cli(['wal-push', fetched], { cwd: scratch });
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('already archived');
    content.writeUInt8(content.readUInt8(content.length - 1) ^ 0xff, content.length - 1);
    await writeFile(fetched, content);
    const conflicting = await cli(['wal-push', fetched], { cwd: scratch });
    expect(conflicting.code).not.toBe(0);
    expect(conflicting.stderr).toContain('different content');
    // The archive still holds the original.
    const check = join(scratch, 'check');
    expect((await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, archived, check])).code).toBe(0);
    const original = await readFile(check);
    expect(original.readUInt8(original.length - 1)).toBe(content.readUInt8(content.length - 1) ^ 0xff);
  }, 60_000);

  it('answers a missing file quickly with an ordinary non-zero status, and a broken repository with a fatal one', async () => {
    const scratch = await ownedDirectory('fetch-');
    const missing = await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, '0000000100000000000000FE', join(scratch, 'x')]);
    expect(missing.code).toBe(1);
    expect(missing.ms).toBeLessThan(3000);
    expect(await readdir(scratch)).toEqual([]);
    const broken = await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, '0000000100000000000000FE', join(scratch, 'x')], { env: { ...env, CHRONO_BACKUP_REPO: join(scratch, 'no-repository') } });
    // Above 125: PostgreSQL aborts recovery instead of taking it for the end of the archive.
    expect(broken.code).toBeGreaterThan(125);
  }, 30_000);

  it('exits non-zero and archives nothing when the storage refuses the write', async () => {
    const archived = (await cluster.psql('SELECT last_archived_wal FROM pg_stat_archiver')).trim();
    const scratch = await ownedDirectory('fail-');
    // A copy of the repository whose WAL directory cannot be written.
    const repo = join(scratch, 'repo');
    await run('cp', ['-a', join(root, 'repo'), repo]);
    // A real segment, its header's timeline rewritten to 9 to match a name not yet archived.
    const source = join(scratch, 'source');
    expect((await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, archived, source])).code).toBe(0);
    const bytes = await readFile(source);
    bytes.writeUInt32LE(9, 4);
    const name = `00000009${archived.slice(8)}`;
    const segment = join(scratch, name);
    await writeFile(segment, bytes);
    if (owner) await chown(segment, owner.uid, owner.gid);
    const walRoot = join(repo, 'wal', committed.systemIdentifier!);
    await chmod(walRoot, 0o500);
    const failed = await cli(['wal-push', segment], { cwd: scratch, env: { ...env, CHRONO_BACKUP_REPO: repo } });
    await chmod(walRoot, 0o700);
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('error');
    expect(await readdir(walRoot)).not.toContain('00000009');
    const fetchBack = await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, name, join(scratch, 'back')], { env: { ...env, CHRONO_BACKUP_REPO: repo } });
    expect(fetchBack.code).toBe(1);
    // Once the storage works again, the retry archives it.
    const retried = await cli(['wal-push', segment], { cwd: scratch, env: { ...env, CHRONO_BACKUP_REPO: repo } });
    expect(retried.code).toBe(0);
  }, 60_000);
});

describe('an archiver killed mid-push', () => {
  it('leaves either nothing or the whole segment, and the retry succeeds', async () => {
    const archived = (await cluster.psql('SELECT last_archived_wal FROM pg_stat_archiver')).trim();
    const scratch = await ownedDirectory('kill-');
    const repo = join(scratch, 'repo');
    await run('cp', ['-a', join(root, 'repo'), repo]);
    const source = join(scratch, 'source');
    expect((await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, archived, source])).code).toBe(0);
    const bytes = await readFile(source);
    const repoEnv = { ...env, CHRONO_BACKUP_REPO: repo };
    for (const [timeline, delayMs] of [[5, 150], [6, 300], [7, 450]] as const) {
      bytes.writeUInt32LE(timeline, 4);
      const name = `0000000${timeline}${archived.slice(8)}`;
      const segment = join(scratch, name);
      await writeFile(segment, bytes);
      if (owner) await chown(segment, owner.uid, owner.gid);
      const pushing = spawn(asRoot ? 'runuser' : process.execPath, [...(asRoot ? ['-u', 'postgres', '--', process.execPath] : []), CLI, 'wal-push', segment], { env: repoEnv, cwd: scratch, stdio: 'ignore' });
      const closed = new Promise((done) => pushing.once('close', done));
      await new Promise((done) => setTimeout(done, delayMs));
      // runuser does not pass signals on: kill the CLI itself (the archiver's child).
      if (asRoot) {
        const children = await readFile(`/proc/${pushing.pid}/task/${pushing.pid}/children`, 'utf8').catch(() => '');
        for (const pid of children.split(/\s+/).filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // Already finished: the push completed before the kill.
          }
        }
      }
      pushing.kill('SIGKILL');
      await closed;
      const back = join(scratch, `back-${timeline}`);
      const fetched = await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, name, back], { env: repoEnv });
      // Either not archived (1) or archived whole: never a truncated or unreadable object.
      expect([0, 1]).toContain(fetched.code);
      if (fetched.code === 0) expect((await readFile(back)).equals(bytes)).toBe(true);
      expect((await cli(['wal-push', segment], { cwd: scratch, env: repoEnv })).code).toBe(0);
      expect((await cli(['wal-fetch', '--system-id', committed.systemIdentifier!, name, back], { env: repoEnv })).code).toBe(0);
      expect((await readFile(back)).equals(bytes)).toBe(true);
    }
  }, 60_000);
});

describe('recoverability window in the API and the health checks', () => {
  it('serves the window at /api/v1/backup/recovery/window and checks it against the RPO', async () => {
    const server = await startLocalServer({ env: { ...env, CHRONO_BACKUP_ADMIN_EMAIL: 'admin@example.com', CHRONO_BACKUP_ADMIN_PASSWORD: 'pitr admin password', CHRONO_BACKUP_SCHEDULER: 'off' }, port: 0, host: '127.0.0.1', logger: silentLogger, announce: () => undefined });
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com', password: 'pitr admin password' }) });
      const { access_token: token } = (await login.json()) as { access_token: string };
      const response = await fetch(`${server.url}/api/v1/backup/recovery/window`, { headers: { authorization: `Bearer ${token}` } });
      expect(response.status).toBe(200);
      const { clusters } = (await response.json()) as { clusters: { system_identifier: string; earliest: string; latest: string; gaps: unknown[]; restore_points: { name: string }[] }[] };
      const cluster = clusters.find((entry) => entry.system_identifier === committed.systemIdentifier)!;
      expect(cluster.earliest < committed.time!).toBe(true);
      expect(cluster.latest > committed.time!).toBe(true);
      expect(cluster.gaps).toEqual([]);
      expect(cluster.restore_points.map((point) => point.name)).toContain('before-batch-4');
    } finally {
      await server.close(1000);
    }
    // archive_timeout=1 keeps the window's end within seconds of now: a 60 min RPO is met, a 1 s one is not.
    const generous = await cli(['--json', 'health', '--rpo', '60m']);
    const tight = await cli(['--json', 'health', '--rpo', '1s']);
    const check = (output: string) => (JSON.parse(output) as { checks: { name: string; status: string; values: Record<string, unknown> }[] }).checks.find((c) => c.name === 'recovery_point')!;
    expect(check(generous.stdout)).toMatchObject({ status: 'ok', values: { worstCluster: expect.any(String), rpoMinutes: 60 } });
    expect(check(tight.stdout).status).not.toBe('ok');
  }, 60_000);
});

describe('pitr-status', () => {
  interface StatusJson {
    windows: { systemIdentifier: string; earliest?: string; latest?: string; latestSegment?: string; gaps: { kind: string; from: string; to: string; count: number }[]; baseBackups: { id: string }[] }[];
  }

  it('reports the window, then a removed segment as a gap that narrows it', async () => {
    // Two more segments after the one holding the LSN target, so removing that one leaves a hole.
    for (const batch of [7, 8]) {
      await commitBatch(batch, 1);
      await waitArchived(await cluster.psql('SELECT pg_switch_wal()'));
    }
    const before = await cliJson<StatusJson>(['pitr-status']);
    const window = before.windows.find((w) => w.systemIdentifier === committed.systemIdentifier)!;
    expect(window.gaps).toEqual([]);
    expect(window.baseBackups.map((b) => b.id)).toEqual([committed.baseBackup]);
    expect(window.earliest! < committed.time!).toBe(true);
    expect(window.latest! > committed.time!).toBe(true);
    // Remove the segment that holds the restore LSN target: everything after it is unreachable.
    const victim = await cluster.psql(`SELECT pg_walfile_name('${committed.lsn}')`);
    await unlink(join(root, 'repo', 'wal', committed.systemIdentifier!, '00000001', victim));
    const after = await cli(['--json', 'pitr-status']);
    expect(after.code).toBe(3);
    const narrowed = (JSON.parse(after.stdout) as StatusJson).windows.find((w) => w.systemIdentifier === committed.systemIdentifier)!;
    expect(narrowed.gaps).toEqual([{ kind: 'missing-segment', from: victim, to: victim, count: 1 }]);
    expect(narrowed.latest! < window.latest!).toBe(true);
    expect(narrowed.latestSegment! < victim).toBe(true);
  }, 60_000);
});

describe('wal-prune', () => {
  it('removes the WAL older than the oldest remaining base backup, and nothing a kept backup needs', async () => {
    const second = await cliJson<{ snapshots: { id: string; details: { physical: { startLsn: string; stopTime: string } } }[] }>(['basebackup', '--postgres', cluster.url()]);
    const { id, details } = second.snapshots[0]!;
    await waitArchived(await cluster.psql('SELECT pg_switch_wal()'));
    expect((await cli(['forget', committed.baseBackup!])).code).toBe(0);
    const firstKept = await cluster.psql(`SELECT pg_walfile_name('${details.physical.startLsn}')`);
    const walDir = join(root, 'repo', 'wal', committed.systemIdentifier!, '00000001');
    const before = (await readdir(walDir)).filter((name) => !name.startsWith('.'));
    const dryRun = await cliJson<{ clusters: { keptFrom: string; deleted: string[] }[] }>(['wal-prune', '--dry-run']);
    expect(dryRun.clusters[0]!.keptFrom).toBe(firstKept);
    expect(dryRun.clusters[0]!.deleted.length).toBeGreaterThan(0);
    expect((await readdir(walDir)).filter((name) => !name.startsWith('.'))).toEqual(before);
    const pruned = await cliJson<{ clusters: { deleted: string[] }[] }>(['wal-prune']);
    expect(pruned.clusters[0]!.deleted).toEqual(dryRun.clusters[0]!.deleted);
    const after = (await readdir(walDir)).filter((name) => !name.startsWith('.'));
    expect(after.every((name) => name.slice(0, 24) >= firstKept)).toBe(true);
    expect(after).toEqual(before.filter((name) => name.slice(0, 24) >= firstKept));
    // The gap made above lay before the kept backup: the window is whole again and starts at that backup.
    const status = await cliJson<{ windows: { earliest: string; gaps: unknown[]; baseBackups: { id: string }[] }[] }>(['pitr-status']);
    expect(status.windows[0]!.gaps).toEqual([]);
    expect(status.windows[0]!.baseBackups.map((b) => b.id)).toEqual([id]);
    expect(status.windows[0]!.earliest).toBe(details.physical.stopTime);
  }, 60_000);
});
