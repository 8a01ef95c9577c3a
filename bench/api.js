#!/usr/bin/env node
// API row of `npm run bench`: GET /api/v1/backup/history?limit=50 with 10,000 backups in the catalog,
// served by `npm start`'s server in its own process, loaded by autocannon from this one (127.0.0.1).
// Beside it, the same load on a bare node:http server returning a JSON body of the same size: the raw
// floor of this machine, so the ratio shows what routing, auth, validation and the catalog query cost.
//
//   node bench/api.js [--backups 10000] [--seconds 10] [--connections 10]
//
// Target (issue 6): at least 200 requests/s with p99 under 100 ms.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const at = args.indexOf(`--${name}`);
  return at >= 0 ? Number(args[at + 1]) : fallback;
};
const backups = option('backups', 10_000);
const seconds = option('seconds', 10);
const connections = option('connections', 10);

const { SqliteCatalog } = await import(path.join(ROOT, 'dist', 'catalog', 'sqlite-catalog.js'));

function startServer(env) {
  const child = spawn(process.execPath, [path.join(ROOT, 'dist', 'local', 'main.js')], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const found = /API on (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(output);
      if (found) {
        clearInterval(timer);
        resolve({ child, url: found[1] });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`server exited:\n${output}`));
      }
    }, 50);
  });
}

/** 10,000 finished backup runs, written in one transaction in the catalog's own format. */
function seedCatalog(file) {
  SqliteCatalog.open(file).close();
  const db = new Database(file);
  const insert = db.prepare('INSERT INTO runs (id, repository, kind, status, started_at, started_ms, plan, snapshot_id, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const start = Date.parse('2024-01-01T00:00:00Z');
  db.transaction(() => {
    for (let i = 0; i < backups; i++) {
      const startedMs = start + i * 3_600_000;
      const startedAt = new Date(startedMs).toISOString();
      const plan = `plan-${i % 5}`;
      const id = `backup-${i.toString(16).padStart(16, '0')}`;
      const snapshotId = `full_${startedAt.slice(0, 10).replaceAll('-', '')}_${String(i).padStart(6, '0')}`;
      const status = i % 50 === 0 ? 'failed' : 'succeeded';
      const run = {
        id,
        kind: 'backup',
        repository: 'r0',
        status,
        startedAt,
        finishedAt: new Date(startedMs + 60_000).toISOString(),
        ...(status === 'succeeded' ? { snapshotId } : { error: { code: 'source.unreachable', message: 'connection refused' } }),
        summary: { plan, type: 'full', snapshots: [snapshotId], warnings: 0, failures: [], stats: { totalBytes: 1e9, bytesRead: 1e9, bytesAdded: 2e7, bytesStored: 1e7 } },
      };
      insert.run(id, 'r0', 'backup', status, startedAt, startedMs, plan, run.snapshotId ?? null, JSON.stringify(run));
    }
  })();
  db.close();
}

function load(url, headers) {
  return new Promise((resolve, reject) => {
    autocannon({ url, headers, connections, duration: seconds }, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

function row(name, result) {
  const p99 = result.latency.p99;
  return { name, rps: result.requests.average, p50: result.latency.p50, p99, non2xx: result.non2xx + result.errors };
}

const home = fs.mkdtempSync(path.join(os.tmpdir(), 'chrono-bench-api-'));
const env = { PATH: process.env.PATH, HOME: home, CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_ADMIN_EMAIL: 'bench@example.com', CHRONO_BACKUP_ADMIN_PASSWORD: 'bench password 1', CHRONO_BACKUP_LOG_LEVEL: 'warn', CHRONO_BACKUP_SCHEDULER: 'off' };
seedCatalog(path.join(home, 'catalog.sqlite'));
const server = await startServer(env);
let raw;
try {
  const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'bench@example.com', password: 'bench password 1' }) });
  const { access_token: token } = await login.json();
  const historyUrl = `${server.url}/api/v1/backup/history?limit=50`;
  const sample = await fetch(historyUrl, { headers: { authorization: `Bearer ${token}` } });
  const body = await sample.text();
  if (sample.status !== 200 || JSON.parse(body).items.length !== 50) throw new Error(`unexpected history answer: ${sample.status} ${body.slice(0, 200)}`);

  raw = http.createServer((_request, response) => response.writeHead(200, { 'content-type': 'application/json' }).end(body));
  await new Promise((resolve) => raw.listen(0, '127.0.0.1', resolve));
  // Warm both up, then measure.
  await load(historyUrl, { authorization: `Bearer ${token}` });
  const ours = row('GET /api/v1/backup/history?limit=50 (10k backups)', await load(historyUrl, { authorization: `Bearer ${token}` }));
  const floor = row('bare node:http, same JSON body', await load(`http://127.0.0.1:${raw.address().port}/`, {}));
  console.log(`\nAPI: ${backups} backups in the catalog, ${connections} connections, ${seconds} s each, ${os.cpus().length} cores (load generator and server share them)`);
  console.log(`${'case'.padEnd(52)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(7)} ${'p99 ms'.padStart(7)} ${'errors'.padStart(7)}`);
  for (const r of [ours, floor]) console.log(`${r.name.padEnd(52)} ${r.rps.toFixed(0).padStart(8)} ${String(r.p50).padStart(7)} ${String(r.p99).padStart(7)} ${String(r.non2xx).padStart(7)}`);
  console.log(`ratio ours/bare: ${(ours.rps / floor.rps).toFixed(2)}× the requests/s; target 200 req/s with p99 < 100 ms: ${ours.rps >= 200 && ours.p99 < 100 ? 'met' : 'NOT met'}`);
} finally {
  raw?.close();
  server.child.kill('SIGTERM');
  await new Promise((resolve) => server.child.on('close', resolve));
  fs.rmSync(home, { recursive: true, force: true });
}
