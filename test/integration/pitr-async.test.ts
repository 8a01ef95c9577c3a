/**
 * Asynchronous WAL archiving end to end, against a real PostgreSQL 15 cluster whose archive_command is
 * `chrono-backup wal-push --async %p` (archive_timeout = 1, 1 MiB segments): under concurrent writes,
 * with the background pusher killed mid-run, every segment from the base backup on reaches the
 * repository with no gap (pitr-status and a listing of the archive). While the repository refuses
 * writes, archive_command fails (PostgreSQL counts failures), no `.ok` exists for a segment that is not
 * in the repository, and once it accepts them again the chain closes without a gap. The pusher, run on
 * its own against a backlog, writes the "pg_wal fills" warning to the server log and raises an alert.
 *
 * As in pitr.test.ts, the CLI and the servers run as `postgres` when the tests run as root.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, chown, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseWalFileName, segmentNumber } from '../../src/pitr/wal-names.js';
import { startHttpReceiver } from '../harness/alert-receivers.js';
import type { PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { cliAsPostgres, waitArchived, startArchivingCluster, archivingScratch, walPushCommand } from '../helpers/postgres-archiving.js';

const SEGMENT_SIZE = 1024 * 1024;
const WEBHOOK_SECRET = 'a-webhook-secret-for-the-async-test';

let cluster: PostgresClusterHandle;
let root: string;
let repo: string;
let env: NodeJS.ProcessEnv;
let owner: { uid: number; gid: number } | undefined;
let spool: string;
let systemIdentifier: string;
let baseBackupStart: string;

const cli = (args: string[], extra: NodeJS.ProcessEnv = {}, cwd = root) => cliAsPostgres(args, { env: { ...env, ...extra }, cwd });

async function pitrStatus(): Promise<{ gaps: unknown[]; latestSegment: string; segments: number }> {
  const result = await cli(['--json', 'pitr-status']);
  if (result.code !== 0 && result.code !== 3) throw new Error(`pitr-status exited ${result.code}: ${result.stderr}`);
  return (JSON.parse(result.stdout) as { windows: { systemIdentifier: string; gaps: unknown[]; latestSegment: string; segments: number }[] }).windows.find((w) => w.systemIdentifier === systemIdentifier)!;
}

/** The archived segments of timeline 1 in the repository. */
async function archivedSegments(): Promise<string[]> {
  const names = await readdir(join(repo, 'wal', systemIdentifier, '00000001')).catch(() => [] as string[]);
  return names.filter((name) => parseWalFileName(name)?.kind === 'segment').sort();
}

/** Every segment from `first` to `last` is in the repository. */
async function expectContiguous(first: string, last: string): Promise<void> {
  const archived = new Set(await archivedSegments());
  const missing: string[] = [];
  const from = segmentNumber(first, SEGMENT_SIZE);
  for (let n = from; n <= segmentNumber(last, SEGMENT_SIZE); n++) {
    const name = `00000001${(n / 4096n).toString(16).toUpperCase().padStart(8, '0')}${(n % 4096n).toString(16).toUpperCase().padStart(8, '0')}`;
    if (!archived.has(name)) missing.push(name);
  }
  expect(missing).toEqual([]);
}

async function archiver(): Promise<{ archived: number; failed: number; lastArchived: string; lastFailed: string }> {
  const [archived, failed, lastArchived, lastFailed] = (await cluster.psql("SELECT archived_count || '|' || failed_count || '|' || coalesce(last_archived_wal, '') || '|' || coalesce(last_failed_wal, '') FROM pg_stat_archiver")).split('|');
  return { archived: Number(archived), failed: Number(failed), lastArchived: lastArchived!, lastFailed: lastFailed! };
}

/** Kills the running pusher (SIGKILL: no chance to write anything); false when none runs. */
async function killPusher(): Promise<boolean> {
  const info = await readFile(join(spool, 'pusher.json'), 'utf8').catch(() => undefined);
  if (!info) return false;
  try {
    process.kill((JSON.parse(info) as { pid: number }).pid, 'SIGKILL');
    return true;
  } catch {
    return false;
  }
}

beforeAll(async () => {
  const scratch = await archivingScratch('chrono-pitr-async-', ['CHRONO_BACKUP_WAL_ASYNC']);
  ({ root, owner, repo, env } = scratch);
  expect((await cli(['init'])).code).toBe(0);
  // Short waits so a failing repository shows within seconds; a short idle so no pusher outlives the test by much.
  cluster = await startArchivingCluster(walPushCommand(scratch, { settings: { CHRONO_BACKUP_WAL_ASYNC_WAIT: '5s', CHRONO_BACKUP_WAL_ASYNC_IDLE: '3s' }, args: ['--async'] }));
  env.PGPASSWORD = cluster.password;
  spool = join(await cluster.psql('SHOW data_directory'), 'pg_wal', '.chrono-wal-async');
  systemIdentifier = await cluster.psql('SELECT system_identifier FROM pg_control_system()');
  await cluster.psql('CREATE TABLE items (id bigserial PRIMARY KEY, client int NOT NULL, note text)');
}, 120_000);

afterAll(async () => {
  await cluster?.stop();
  // The pusher exits on its own once idle, or at once when pg_wal is gone; do not wait for either.
  await killPusher();
  if (root) await rm(root, { recursive: true, force: true });
}, 60_000);

describe('wal-push --async as archive_command', () => {
  it('archives every segment under concurrent writes, with the pusher killed mid-run, without a gap', async () => {
    const backup = await cli(['--json', 'basebackup', '--postgres', cluster.url()]);
    expect(backup.code).toBe(0);
    const physical = (JSON.parse(backup.stdout) as { snapshots: { details: { physical: { startLsn: string } } }[] }).snapshots[0]!.details.physical;
    baseBackupStart = await cluster.psql(`SELECT pg_walfile_name('${physical.startLsn}')`);
    // Two writers, each committing batches and switching segments: dozens of segments in a few seconds.
    const writer = async (client: number) => {
      for (let batch = 0; batch < 6; batch++) {
        await cluster.psql(`INSERT INTO items (client, note) SELECT ${client}, md5(g::text) || md5((g + 1)::text) FROM generate_series(1, 15000) g`);
        if (batch % 2 === 1) await cluster.psql('SELECT pg_switch_wal()');
      }
    };
    const writing = Promise.all([writer(1), writer(2)]);
    // Kill the pusher once it is busy: what it had in flight gets no .ok, and the next one pushes it again.
    let killed = false;
    for (let tries = 0; tries < 100 && !killed; tries++) {
      await new Promise((done) => setTimeout(done, 50));
      killed = await killPusher();
    }
    await writing;
    expect(killed).toBe(true);
    const last = await cluster.psql('SELECT pg_walfile_name(pg_switch_wal())');
    await waitArchived(cluster, await cluster.psql('SELECT pg_current_wal_lsn()'), 45_000);
    const status = await pitrStatus();
    expect(status.gaps).toEqual([]);
    expect(status.latestSegment >= last).toBe(true);
    expect(segmentNumber(last, SEGMENT_SIZE) - segmentNumber(baseBackupStart, SEGMENT_SIZE)).toBeGreaterThan(20n);
    await expectContiguous(baseBackupStart, last);
    // The asynchronous path did the work: its spool holds the pusher's lock.
    expect(await readdir(spool)).toContain('pusher.lock');
    expect((await archiver()).failed).toBe(0);
  }, 60_000);

  it('fails archive_command while the repository refuses writes, never reports a segment it did not store, and closes the chain afterwards', async () => {
    const timelineDir = join(repo, 'wal', systemIdentifier, '00000001');
    const before = await archiver();
    await chmod(timelineDir, 0o500);
    try {
      for (let i = 0; i < 3; i++) await cluster.psql(`INSERT INTO items (client, note) VALUES (3, 'during the outage ${i}'); SELECT pg_switch_wal();`);
      const deadline = Date.now() + 20_000;
      while ((await archiver()).failed <= before.failed && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
      const during = await archiver();
      expect(during.failed).toBeGreaterThan(before.failed);
      expect(during.lastFailed).toMatch(/^[0-9A-F]{24}$/);
      const archived = new Set(await archivedSegments());
      expect(archived.has(during.lastFailed)).toBe(false);
      // Whatever the pusher says it pushed is in the repository; nothing for the segment that failed.
      const oks = (await readdir(spool)).filter((name) => name.endsWith('.ok')).map((name) => name.slice(0, -'.ok'.length));
      expect(oks.filter((name) => !archived.has(name))).toEqual([]);
      expect(archived.size).toBeGreaterThan(0);
    } finally {
      await chmod(timelineDir, 0o700);
    }
    // A new segment wakes the archiver, which retries; the retry starts a fresh pusher.
    await cluster.psql("INSERT INTO items (client, note) VALUES (3, 'after the outage')");
    const last = await cluster.psql('SELECT pg_walfile_name(pg_switch_wal())');
    await waitArchived(cluster, await cluster.psql('SELECT pg_current_wal_lsn()'), 45_000);
    const status = await pitrStatus();
    expect(status.gaps).toEqual([]);
    expect(status.latestSegment >= last).toBe(true);
    await expectContiguous(baseBackupStart, last);
  }, 60_000);
});

describe('the background pusher', () => {
  it('warns in the server log and raises an alert when the backlog passes its threshold', async () => {
    const receiver = await startHttpReceiver({ secret: WEBHOOK_SECRET });
    try {
      // A pg_wal with three files marked ready whose segments are gone: a backlog that pushes nothing.
      const data = join(root, 'backlog');
      const walDir = join(data, 'pg_wal');
      await mkdir(join(walDir, 'archive_status'), { recursive: true });
      for (const n of [1, 2, 3]) await writeFile(join(walDir, 'archive_status', `00000001000000000000000${n}.ready`), '');
      if (owner) for (const path of [data, walDir, join(walDir, 'archive_status')]) await chown(path, owner.uid, owner.gid);
      const pusher = await cli(['wal-push-daemon', walDir], { CHRONO_BACKUP_WAL_WARN_BACKLOG: '2', CHRONO_BACKUP_WAL_ASYNC_IDLE: '1s', BACKUP_ALERT_WEBHOOK_URL: receiver.url, BACKUP_ALERT_WEBHOOK_SECRET: WEBHOOK_SECRET }, data);
      expect(pusher.code).toBe(0);
      expect(pusher.stderr).toContain(`chrono-backup wal-push: WARNING: WAL archiving is falling behind: 3 WAL file(s) (0 B) wait for archiving in ${walDir}`);
      expect(pusher.stderr.match(/WARNING/g)).toHaveLength(1);
      expect(receiver.received).toHaveLength(1);
      expect((receiver.received[0]!.json as { alert: { type: string; severity: string; details: Record<string, unknown> } }).alert).toMatchObject({ type: 'storage_issue', severity: 'warning', details: { readyFiles: 3, walDirectory: walDir } });
      // It released its lock and pid file when it went idle.
      expect((await readdir(join(walDir, '.chrono-wal-async'))).sort()).toEqual(['last-warning', 'pusher.lock']);
    } finally {
      await receiver.stop();
    }
  }, 30_000);
});
