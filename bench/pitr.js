#!/usr/bin/env node
// Point-in-time recovery figures (a script, not a test: speed is measured here, never asserted in tests).
// Needs the build (`npm run build`) and PostgreSQL server programs (/usr/lib/postgresql/<N>/bin or
// CHRONO_PG_BIN). Runs the real CLI, as the `postgres` account when started as root.
//
//   node bench/pitr.js [--wal-mib 1024] [--scale 20] [--clients 2] [--async-concurrency 4]
//
// On a throwaway cluster with 16 MiB WAL segments and `pgbench -i -s <scale>` data:
// (a) base backup: `chrono-backup basebackup` vs bare `pg_basebackup -Ft -D - -X fetch > /dev/null`;
// (b) archive throughput: pgbench writes --wal-mib MiB of WAL while archive_command fails (a backlog
//     builds up in pg_wal), then archive_command becomes `chrono-backup wal-push %p` and the backlog's
//     drain is timed, in segments/s; then the same again with `wal-push --async %p` (the background
//     pusher, --async-concurrency pushes at once), and the ratio of the two;
// (c) restore + replay: `pitr-restore --latest --start` of that base backup and all that WAL (both
//     backlogs) into a fresh data directory, split into extraction and recovery.

import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'chrono-backup.js');
const MiB = 1024 * 1024;

function parseArgs(argv) {
  const o = { walMiB: 1024, scale: 20, clients: 2, asyncConcurrency: 4 };
  for (let i = 0; i < argv.length; i++) {
    const value = () => Number(argv[++i]);
    if (argv[i] === '--wal-mib') o.walMiB = value();
    else if (argv[i] === '--scale') o.scale = value();
    else if (argv[i] === '--clients') o.clients = value();
    else if (argv[i] === '--async-concurrency') o.asyncConcurrency = value();
    else throw new Error(`unknown option ${argv[i]}`);
  }
  return o;
}

const options = parseArgs(process.argv.slice(2));
const asRoot = os.userInfo().uid === 0;
const BIN = process.env.CHRONO_PG_BIN ?? (fs.existsSync('/usr/lib/postgresql/15/bin') ? '/usr/lib/postgresql/15/bin' : '');
const tool = (name) => (BIN ? path.join(BIN, name) : name);
/** Runs a program as the account PostgreSQL runs as. */
const asPostgres = (command, args) => (asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args]);

async function exec(command, args, opts = {}) {
  const [c, a] = asPostgres(command, args);
  return run(c, a, { maxBuffer: 64 * MiB, ...opts });
}

/** Segments, seconds and rates of one drain (16 MiB segments). */
function drainFigures({ ready, seconds }) {
  return { segments: ready, seconds: Number(seconds.toFixed(2)), segmentsPerSecond: Number((ready / seconds).toFixed(2)), mibPerSecond: Number(((ready * 16) / seconds).toFixed(1)) };
}

async function timed(what, work) {
  const started = performance.now();
  const result = await work();
  const seconds = (performance.now() - started) / 1000;
  console.log(`${what}: ${seconds.toFixed(2)} s`);
  return { seconds, result };
}

const root = fs.mkdtempSync(path.join(os.tmpdir(), 'chrono-bench-pitr-'));
if (asRoot) {
  const uid = Number((await run('id', ['-u', 'postgres'])).stdout);
  const gid = Number((await run('id', ['-g', 'postgres'])).stdout);
  fs.chownSync(root, uid, gid);
}
const home = path.join(root, 'home');
const repo = path.join(root, 'repo');
const data = path.join(root, 'data');
const env = { ...process.env, CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_REPO: repo };
delete env.CHRONO_BACKUP_PASSPHRASE;
delete env.CHRONO_BACKUP_KEY_FILE;
const cli = (args) => exec(process.execPath, [CLI, ...args], { env, cwd: root });

let server;
let restoredData;
const port = 20000 + Math.floor(Math.random() * 20000);
const psql = async (sql) => (await exec(tool('psql'), ['-X', '-q', '-A', '-t', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-c', sql])).stdout.trim();

try {
  await cli(['init']);
  await exec(tool('initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  const walPush = `CHRONO_BACKUP_HOME=${home} CHRONO_BACKUP_REPO=${repo} ${process.execPath} ${CLI} wal-push %p`;
  // archive_command is changed later through ALTER SYSTEM; the start settings must not pin it.
  fs.appendFileSync(path.join(data, 'postgresql.conf'), `\narchive_mode = on\narchive_command = '${walPush}'\nmax_wal_size = 4GB\n`);
  const [command, args] = asPostgres(tool('postgres'), ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off']);
  server = spawn(command, args, { stdio: 'ignore' });
  for (let i = 0; ; i++) {
    if (await psql('SELECT 1').then(() => true, (error) => (i === 100 ? Promise.reject(error) : false))) break;
    await sleep(100);
  }
  await timed(`pgbench -i -s ${options.scale}`, () => exec(tool('pgbench'), ['-i', '-s', String(options.scale), '-q', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres']));
  const dbSize = Number(await psql("SELECT pg_database_size('postgres')"));
  console.log(`database: ${(dbSize / MiB).toFixed(0)} MiB`);

  // (a) base backup, bare first (warms the page cache for both), then ours, then bare again. Each starts
  // once the archiver is idle: pgbench -i leaves several segments for archive_command and every base
  // backup ends with a segment switch; a wal-push running alongside would take CPU from whichever is
  // being timed (`chrono-backup basebackup` is CPU-bound: chunking, hashing, zstd on one worker thread).
  const archiveBacklog = () => fs.readdirSync(path.join(data, 'pg_wal', 'archive_status')).filter((name) => name.endsWith('.ready')).length;
  /** Resolves once archive_command has taken every finished segment (no `.ready` file left). */
  const archiverIdle = async () => {
    while (archiveBacklog() > 0) await sleep(50);
  };
  const backlogAfterInit = archiveBacklog();
  await timed(`archiver drains the ${backlogAfterInit} segments left by pgbench -i`, archiverIdle);
  const bare = () => exec('sh', ['-c', `${tool('pg_basebackup')} -h 127.0.0.1 -p ${port} -U postgres -Ft -D - -X fetch --checkpoint=fast > /dev/null`]);
  const bare1 = await timed('bare pg_basebackup -Ft -D - -X fetch > /dev/null', bare);
  await archiverIdle();
  const ours = await timed('chrono-backup basebackup', () => cli(['--json', 'basebackup', '--postgres', `postgres://postgres@127.0.0.1:${port}/postgres`]));
  await archiverIdle();
  const bare2 = await timed('bare pg_basebackup again', bare);
  const snapshot = JSON.parse(ours.result.stdout).snapshots[0];

  // (b) archive throughput: a backlog built while archiving fails, then drained by wal-push; twice,
  // synchronous then asynchronous, each over a fresh backlog of the same size.
  const walPushAsync = `CHRONO_BACKUP_HOME=${home} CHRONO_BACKUP_REPO=${repo} CHRONO_BACKUP_WAL_ASYNC_CONCURRENCY=${options.asyncConcurrency} ${process.execPath} ${CLI} wal-push --async %p`;
  const buildBacklog = async (label) => {
    await psql("ALTER SYSTEM SET archive_command = 'false'");
    await psql('SELECT pg_reload_conf()');
    const startLsn = await psql('SELECT pg_current_wal_lsn()');
    const generated = await timed(`${label}: pgbench until ${options.walMiB} MiB of WAL`, async () => {
      while (Number(await psql(`SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '${startLsn}')`)) < options.walMiB * MiB) {
        await exec(tool('pgbench'), ['-n', '-c', String(options.clients), '-j', String(options.clients), '-T', '5', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', 'postgres']);
      }
      return psql('SELECT pg_switch_wal()');
    });
    const lastSegment = await psql(`SELECT pg_walfile_name('${generated.result}')`);
    const ready = fs.readdirSync(path.join(data, 'pg_wal', 'archive_status')).filter((name) => name.endsWith('.ready')).length;
    return { lsn: generated.result, lastSegment, ready };
  };
  const drainWith = async (label, command) => {
    const backlog = await buildBacklog(label);
    await psql(`ALTER SYSTEM SET archive_command = '${command.replace(/'/g, "''")}'`);
    const drain = await timed(`archive ${backlog.ready} segments with ${label}`, async () => {
      await psql('SELECT pg_reload_conf()');
      while (true) {
        const archived = await psql('SELECT coalesce(last_archived_wal, \'\') FROM pg_stat_archiver');
        if (archived.length === 24 && archived >= backlog.lastSegment) return;
        await sleep(50);
      }
    });
    return { ...backlog, seconds: drain.seconds };
  };
  const sync = await drainWith('wal-push', walPush);
  const async_ = await drainWith('wal-push --async', walPushAsync);
  const walBytes = fs.readdirSync(path.join(repo, 'wal'), { recursive: true }).reduce((sum, name) => {
    const full = path.join(repo, 'wal', name);
    return fs.statSync(full).isFile() ? sum + fs.statSync(full).size : sum;
  }, 0);

  // (c) restore + replay of everything into a fresh directory.
  const restoreParent = path.join(root, 'restore');
  fs.mkdirSync(restoreParent);
  if (asRoot) fs.chownSync(restoreParent, fs.statSync(root).uid, fs.statSync(root).gid);
  restoredData = path.join(restoreParent, 'data');
  const restorePort = port + 1;
  const restore = await timed('pitr-restore --latest --start', () =>
    cli(['--json', 'pitr-restore', '--latest', '--data-dir', restoredData, '--start', '--wait-timeout', '60m', '--server-option', `port=${restorePort}`, '--server-option', 'listen_addresses=127.0.0.1', '--server-option', `unix_socket_directories=${restoreParent}`]),
  );
  const restored = JSON.parse(restore.result.stdout);
  const replayedMiB = Number(await psql(`SELECT pg_wal_lsn_diff('${async_.lsn}', '${snapshot.details.physical.stopLsn}')`)) / MiB;

  const figures = {
    machine: { cpus: os.cpus().length, load: os.loadavg().map((l) => Number(l.toFixed(2))) },
    databaseMiB: Math.round(dbSize / MiB),
    baseBackup: { archiveBacklogAfterInit: backlogAfterInit, bareSeconds: [bare1.seconds, bare2.seconds].map((s) => Number(s.toFixed(2))), chronoSeconds: Number(ours.seconds.toFixed(2)), tarMiB: Math.round(snapshot.stats.totalBytes / MiB), storedMiB: Math.round(snapshot.stats.bytesStored / MiB) },
    archive: {
      sync: drainFigures(sync),
      async: { ...drainFigures(async_), concurrency: options.asyncConcurrency },
      asyncToSyncRatio: Number((async_.ready / async_.seconds / (sync.ready / sync.seconds)).toFixed(2)),
      storedMiB: Math.round(walBytes / MiB),
    },
    restore: { walMiB: Math.round(replayedMiB), totalSeconds: Number(restore.seconds.toFixed(2)), extractSeconds: restored.extractMs / 1000, recoverySeconds: restored.recovery.durationMs / 1000 },
  };
  console.log(JSON.stringify(figures, null, 2));
} finally {
  // The asynchronous pusher exits when idle, or when pg_wal is gone; stop it now rather than wait.
  const pusher = (() => {
    try {
      return JSON.parse(fs.readFileSync(path.join(data, 'pg_wal', '.chrono-wal-async', 'pusher.json'), 'utf8')).pid;
    } catch {
      return undefined;
    }
  })();
  if (pusher) {
    try {
      process.kill(pusher, 'SIGTERM');
    } catch {
      // Already gone.
    }
  }
  if (restoredData) await exec(tool('pg_ctl'), ['-D', restoredData, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  if (server) {
    // Through pg_ctl: a signal to runuser does not reach the server.
    await exec(tool('pg_ctl'), ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => server.kill('SIGKILL'));
    await new Promise((done) => (server.exitCode !== null ? done() : server.once('exit', done)));
  }
  fs.rmSync(root, { recursive: true, force: true });
}
