#!/usr/bin/env node
// PostgreSQL rows of `npm run bench`: our backup and restore of a pgbench database next to pg_dump and
// pg_restore, measured side by side in one run on a throwaway cluster (127.0.0.1, a free port).
//
//   node bench/database.js [--scale 50] [--repeat 3] [--keep]
//
// Rows (median of --repeat runs, interleaved so that machine noise hits both sides alike):
//   backup:   chrono-backup backup --postgres URL      vs  pg_dump -Fc -Z0 > /dev/null
//   restore:  chrono-backup restore --target-postgres  vs  pg_restore -d NEW dump-file
//   day two:  bytes a backup adds after ~2% of the accounts changed (one contiguous range, and random)
// Peak RSS of our backup process is GNU time's %M. A first backup (everything new) is measured once
// before the runs; `--pg-fingerprint checksums` (a second scan of every table) gets a row of its own.

import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runMeasured } from './measure.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const CLI = path.join(ROOT, 'bin', 'chrono-backup.js');
const PG_BIN = process.env.CHRONO_PG_BIN ?? '/usr/lib/postgresql/15/bin';
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? args[at + 1] : fallback;
};
const scale = Number(option('scale', process.env.BENCH_PG_SCALE ?? 50));
const repeat = Number(option('repeat', process.env.BENCH_PG_REPEAT ?? 3));
const keep = args.includes('--keep');
const log = (message = '') => console.log(message);

function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

function check(result, what) {
  if (result.status !== 0) throw new Error(`${what} failed: ${result.stderr?.toString().slice(-2000)}`);
  return result.stdout?.toString() ?? '';
}

/** initdb + postgres as the postgres account (PostgreSQL refuses root), trust auth on 127.0.0.1. */
async function startCluster(root) {
  const asRoot = process.getuid?.() === 0;
  const as = (argv) => (asRoot ? ['runuser', '-u', 'postgres', '--', ...argv] : argv);
  fs.mkdirSync(root, { recursive: true, mode: 0o700 });
  if (asRoot) check(spawnSync('chown', ['postgres', root]), 'chown');
  const data = path.join(root, 'data');
  const [initCommand, ...initArgs] = as([path.join(PG_BIN, 'initdb'), '-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8']);
  check(spawnSync(initCommand, initArgs), 'initdb');
  const port = await freePort();
  const [command, ...rest] = as([path.join(PG_BIN, 'postgres'), '-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_wal_size=4GB']);
  const server = spawn(command, rest, { stdio: ['ignore', 'ignore', 'pipe'] });
  let output = '';
  server.stderr.on('data', (chunk) => (output += chunk));
  for (let i = 0; i < 400 && !output.includes('ready to accept connections'); i++) await new Promise((done) => setTimeout(done, 50));
  if (!output.includes('ready to accept connections')) throw new Error(`postgres did not start: ${output}`);
  // SIGTERM, not SIGINT: runuser passes SIGTERM on to postgres (a smart shutdown; no session is left by
  // then), while a SIGINT to runuser would leave the server running.
  return { port, stop: () => new Promise((done) => (server.exitCode !== null ? done() : (server.once('exit', done), server.kill('SIGTERM')))) };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const seconds = (value) => `${value.toFixed(2)} s`;

async function main() {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'chrono-bench-pg-'));
  // The cluster runs as the postgres account, which must reach its directory below this one.
  fs.chmodSync(work, 0o755);
  const cluster = await startCluster(path.join(work, 'pg'));
  const env = { PGHOST: '127.0.0.1', PGPORT: String(cluster.port), PGUSER: 'postgres' };
  const ours = { CHRONO_BACKUP_HOME: path.join(work, 'home'), CHRONO_BACKUP_REPO: path.join(work, 'repo') };
  const url = (db = '') => `postgres://postgres@127.0.0.1:${cluster.port}/${db}`;
  const psql = (sql, db = 'bench') => check(spawnSync('psql', ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', db, '-c', sql], { env: { ...process.env, ...env } }), `psql ${sql}`).trim();
  try {
    log(`PostgreSQL bench: pgbench scale ${scale}, ${repeat} interleaved runs, ${os.cpus().length} cores`);
    psql('CREATE DATABASE bench', 'postgres');
    check(spawnSync('pgbench', ['-i', '-q', '-s', String(scale), 'bench'], { env: { ...process.env, ...env } }), 'pgbench -i');
    log(`database size ${psql("SELECT pg_size_pretty(pg_database_size('bench'))")}`);
    const dumpFile = path.join(work, 'bench.dump');
    check(spawnSync('sh', ['-c', `pg_dump -Fc -Z0 bench > '${dumpFile}'`], { env: { ...process.env, ...env } }), 'pg_dump to file');

    const rows = { dump: [], backup: [], backupChecksums: [], rss: [], pgRestore: [], restore: [] };
    const ourBackup = (...extra) => ({ argv: [process.execPath, CLI, 'backup', '--postgres', url('bench'), ...extra, '--json'], env: { ...env, ...ours } });
    // Before each measurement: a checkpoint and a sync, so one side never pays for the other's dirty
    // pages. The order alternates between runs, so neither side always goes first.
    const settle = () => {
      psql('CHECKPOINT', 'postgres');
      spawnSync('sync');
    };
    const measure = async (run, first, second) => {
      const results = [];
      for (const step of run % 2 === 0 ? [first, second] : [second, first]) {
        settle();
        results[step === first ? 0 : 1] = await runMeasured(step);
      }
      return results;
    };
    // The first backup stores everything; the measured runs after it are the daily case (unchanged
    // table data deduplicates).
    const [firstDump, firstBackup] = await measure(0, { argv: ['sh', '-c', 'pg_dump -Fc -Z0 bench > /dev/null'], env }, ourBackup());
    log(`  first backup: pg_dump ${seconds(firstDump.wallS)}, ours ${seconds(firstBackup.wallS)} (${Math.round(firstBackup.peakRssKiB / 1024)} MiB)`);
    for (let i = 0; i < repeat; i++) {
      const [dump, backup] = await measure(
        i + 1,
        { argv: ['sh', '-c', 'pg_dump -Fc -Z0 bench > /dev/null'], env },
        ourBackup(),
      );
      if (!dump.ok || !backup.ok) throw new Error(`backup run failed: ${backup.stderrTail || dump.stderrTail}`);
      settle();
      const checksums = await runMeasured(ourBackup('--pg-fingerprint', 'checksums'));
      rows.backupChecksums.push(checksums.wallS);
      rows.dump.push(dump.wallS);
      rows.backup.push(backup.wallS);
      rows.rss.push(backup.peakRssKiB / 1024);
      psql(`CREATE DATABASE pgr_${i}`, 'postgres');
      const [pgRestore, restore] = await measure(
        i,
        { argv: ['pg_restore', '-d', `pgr_${i}`, dumpFile], env },
        { argv: [process.execPath, CLI, 'restore', 'latest', '--target-postgres', url(`ours_${i}`), '--no-globals', '--json'], env: { ...env, ...ours } },
      );
      if (!pgRestore.ok || !restore.ok) throw new Error(`restore run failed: ${restore.stderrTail || pgRestore.stderrTail}`);
      rows.pgRestore.push(pgRestore.wallS);
      rows.restore.push(restore.wallS);
      psql(`DROP DATABASE pgr_${i}`, 'postgres');
      psql(`DROP DATABASE ours_${i}`, 'postgres');
      log(`  run ${i + 1}${i % 2 === 0 ? '' : ' (ours first)'}: pg_dump ${seconds(dump.wallS)}, ours ${seconds(backup.wallS)} (${Math.round(backup.peakRssKiB / 1024)} MiB); pg_restore ${seconds(pgRestore.wallS)}, ours ${seconds(restore.wallS)}`);
    }
    log('');
    log('| row | reference | chrono-backup | ratio |');
    log('|---|---|---|---|');
    log(`| first backup (vs pg_dump -Fc -Z0 > /dev/null) | ${seconds(firstDump.wallS)} | ${seconds(firstBackup.wallS)} | ${(firstBackup.wallS / firstDump.wallS).toFixed(2)} |`);
    log(`| backup (vs pg_dump -Fc -Z0 > /dev/null) | ${seconds(median(rows.dump))} | ${seconds(median(rows.backup))} | ${(median(rows.backup) / median(rows.dump)).toFixed(2)} |`);
    log(`| backup, --pg-fingerprint checksums | ${seconds(median(rows.dump))} | ${seconds(median(rows.backupChecksums))} | ${(median(rows.backupChecksums) / median(rows.dump)).toFixed(2)} |`);
    log(`| restore (vs pg_restore from a local file) | ${seconds(median(rows.pgRestore))} | ${seconds(median(rows.restore))} | ${(median(rows.restore) / median(rows.pgRestore)).toFixed(2)} |`);
    log(`| backup peak RSS (max of the runs) | | ${Math.round(Math.max(...rows.rss, firstBackup.peakRssKiB / 1024))} MiB | |`);

    const accounts = scale * 100_000;
    const dayTwo = (label, where) => {
      const first = JSON.parse(check(spawnSync(process.execPath, [CLI, 'backup', '--postgres', url('bench'), '--json'], { env: { ...process.env, ...env, ...ours } }), 'backup'));
      psql(`UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE ${where}`);
      const second = JSON.parse(check(spawnSync(process.execPath, [CLI, 'backup', '--postgres', url('bench'), '--json'], { env: { ...process.env, ...env, ...ours } }), 'backup'));
      const ratio = second.snapshots[0].stats.bytesAdded / first.snapshots[0].stats.totalBytes;
      log(`| day two, ${label} | ${(first.snapshots[0].stats.totalBytes / 2 ** 20).toFixed(0)} MiB dumped | ${(second.snapshots[0].stats.bytesAdded / 2 ** 20).toFixed(1)} MiB new | ${(ratio * 100).toFixed(1)}% |`);
    };
    dayTwo('2% of accounts, one contiguous range', `aid <= ${accounts / 50}`);
    dayTwo('2% of accounts, at random', 'random() < 0.02');
  } finally {
    await cluster.stop();
    if (!keep) fs.rmSync(work, { recursive: true, force: true });
    else log(`kept ${work}`);
  }
}

main().catch((error) => {
  console.error(error.message);
  process.exit(1);
});
