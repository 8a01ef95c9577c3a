#!/usr/bin/env node
// Chrono Backup vs restic benchmark (`npm run bench`). See bench/README.md.
//
//   node bench/run.js [--size 1GiB] [--also-size 4GiB] [--only both|restic|ours] [--keep]
//                     [--seed 1] [--repeat 1] [--quiet-wait 0] [--work DIR] [--ours-bin PATH] [--no-raw] [--no-s3]
//
// Environment equivalents: BENCH_SIZE, BENCH_ALSO_SIZE, BENCH_ONLY, BENCH_KEEP=1, BENCH_SEED,
// BENCH_REPEAT, BENCH_QUIET_WAIT, BENCH_WORK_DIR, CHRONO_BENCH_BIN, BENCH_NO_RAW=1, BENCH_NO_S3=1.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { generateCorpus, mutateCorpus, measurePrng, parseSize, fmtBytes } from './corpus.js';
import { runMeasured, runPlain, duBytes, syncFs, warmCache, ensureProgram, cpuBusySeconds, GNU_TIME } from './measure.js';
import { walkTree, compareTrees, findRestoredRoot } from './tree.js';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(BENCH_DIR, '..');
const PASSWORD = 'bench';
const CORPUS = 'corpus'; // both tools back up this relative path from the run directory

const log = (msg = '') => console.log(msg);

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

const USAGE = `usage: node bench/run.js [options]
  --size SIZE        corpus size (default 1GiB; env BENCH_SIZE)
  --also-size SIZE   second corpus for the RSS-scaling check of our first backup (env BENCH_ALSO_SIZE)
  --only WHICH       both | restic | ours (default both; env BENCH_ONLY)
  --keep             keep the run directory (corpus, repositories, restores) (env BENCH_KEEP=1)
  --seed N           corpus seed (default 1; env BENCH_SEED)
  --work DIR         work directory (default bench/.work; env BENCH_WORK_DIR)
  --ours-bin PATH    Chrono Backup CLI (default bin/chrono-backup.js; env CHRONO_BENCH_BIN)
  --repeat N         run the whole sequence N times (fresh corpus and repositories) and report
                     medians (default 1; env BENCH_REPEAT)
  --quiet-wait SECS  before each measurement wait up to SECS seconds until other processes use
                     less than 0.2 CPU (for shared machines; default 0 = off; env BENCH_QUIET_WAIT)
  --no-raw           skip the raw tar|zstd|openssl reference row (env BENCH_NO_RAW=1)
  --no-s3            skip our backup and restore rows through the S3 emulator (env BENCH_NO_S3=1)`;

function parseArgs(argv) {
  const env = process.env;
  const o = {
    size: env.BENCH_SIZE ?? '1GiB',
    alsoSize: env.BENCH_ALSO_SIZE || null,
    only: env.BENCH_ONLY ?? 'both',
    keep: env.BENCH_KEEP === '1' || env.BENCH_KEEP === 'true',
    seed: Number(env.BENCH_SEED ?? 1),
    work: env.BENCH_WORK_DIR ?? path.join(BENCH_DIR, '.work'),
    oursBin: env.CHRONO_BENCH_BIN ?? path.join(ROOT, 'bin', 'chrono-backup.js'),
    raw: !(env.BENCH_NO_RAW === '1' || env.BENCH_NO_RAW === 'true'),
    s3: !(env.BENCH_NO_S3 === '1' || env.BENCH_NO_S3 === 'true'),
    repeat: Number(env.BENCH_REPEAT ?? 1),
    quietWait: Number(env.BENCH_QUIET_WAIT ?? 0),
    fraction: 0.02,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      if (inline !== undefined) return inline;
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value\n${USAGE}`);
      return argv[++i];
    };
    switch (flag) {
      case '--size': o.size = value(); break;
      case '--also-size': o.alsoSize = value(); break;
      case '--only': o.only = value(); break;
      case '--keep': o.keep = true; break;
      case '--seed': o.seed = Number(value()); break;
      case '--work': o.work = path.resolve(value()); break;
      case '--ours-bin': o.oursBin = path.resolve(value()); break;
      case '--no-raw': o.raw = false; break;
      case '--no-s3': o.s3 = false; break;
      case '--repeat': o.repeat = Number(value()); break;
      case '--quiet-wait': o.quietWait = Number(value()); break;
      case '-h': case '--help': log(USAGE); process.exit(0); break;
      default: throw new Error(`unknown option ${a}\n${USAGE}`);
    }
  }
  if (!['both', 'restic', 'ours'].includes(o.only)) throw new Error(`--only must be both, restic or ours\n${USAGE}`);
  if (!Number.isInteger(o.seed)) throw new Error('--seed must be an integer');
  if (!Number.isInteger(o.repeat) || o.repeat < 1) throw new Error('--repeat must be a positive integer');
  if (!(o.quietWait >= 0)) throw new Error('--quiet-wait must be a number of seconds');
  o.sizeBytes = parseSize(o.size);
  o.alsoSizeBytes = o.alsoSize ? parseSize(o.alsoSize) : null;
  return o;
}

// ---------------------------------------------------------------------------------------------
// Tools. Each exposes command builders (CommandSpec = {argv, env, cwd}) used by the steps below.
// ---------------------------------------------------------------------------------------------

function resticTool(resticPath, runDir, cacheDir) {
  const repo = path.join(runDir, 'restic-repo');
  const env = { RESTIC_PASSWORD: PASSWORD, RESTIC_CACHE_DIR: cacheDir };
  const cmd = (...args) => ({ argv: [resticPath, ...args], env, cwd: runDir });
  const tool = {
    name: 'restic',
    repoDir: repo,
    restoreDir: path.join(runDir, 'restore-restic'),
    /** cache directory of this repository inside RESTIC_CACHE_DIR (named after the repository id) */
    cacheEntry: null,
    setup() {
      runPlain(cmd('init', '--repo', repo));
      const cfg = parseJsonOutput(runPlain({ ...cmd('cat', 'config', '--no-cache', '--repo', repo), allowFail: true }).stdout);
      if (cfg && typeof cfg.id === 'string') tool.cacheEntry = path.join(cacheDir, cfg.id);
    },
    backup: () => cmd('backup', '--repo', repo, '--host', 'bench', CORPUS),
    restore: (target) => cmd('restore', 'latest', '--repo', repo, '--target', target),
    verify: () => cmd('check', '--read-data', '--repo', repo),
  };
  return tool;
}

function oursTool(oursBin, runDir, homeName = 'ours-home', extraEnv = {}) {
  const home = path.join(runDir, homeName);
  const env = { CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_PASSPHRASE: PASSWORD, ...extraEnv };
  const cmd = (...args) => ({ argv: [process.execPath, oursBin, ...args], env, cwd: runDir });
  const tool = {
    name: 'ours',
    home,
    repoDir: path.join(home, 'repo'),
    restoreDir: path.join(runDir, 'restore-ours'),
    /** snapshot ids reported by `backup --json`, by step key */
    snapshotIds: /** @type {Record<string,string>} */ ({}),
    setup() {},
    backup: (type) => cmd('backup', CORPUS, '--type', type, '--json'),
    /** Latest snapshot id from `snapshots --json` (unmeasured), falling back to the last backup's id. */
    latestSnapshotId() {
      const r = runPlain({ ...cmd('snapshots', '--json'), allowFail: true });
      if (r.ok) {
        const list = parseJsonOutput(r.stdout);
        if (Array.isArray(list) && list.length > 0) {
          const sorted = [...list].sort((a, b) => timeValue(a.time) - timeValue(b.time));
          return String(sorted[sorted.length - 1].id);
        }
      }
      const fallback = tool.snapshotIds.nextday ?? tool.snapshotIds.rebackup ?? tool.snapshotIds.first;
      if (!fallback) throw new Error(`cannot determine the latest snapshot: snapshots --json failed (${r.stderr.trim().slice(-300)}) and no backup reported an id`);
      log(`  [ours] snapshots --json unusable; restoring the id the last backup reported (${fallback})`);
      return fallback;
    },
    restore: (target) => cmd('restore', tool.latestSnapshotId(), '--target', target),
    verify: () => cmd('verify', '--level', 'full'),
  };
  return tool;
}

/**
 * Our CLI with its repository in the S3 emulator (bench/s3-emulator.js, a process of its own), for the
 * rows that compare the S3 path with the local folder in the same run. Returns the tool and how to stop
 * the emulator.
 */
async function oursS3Tool(oursBin, runDir, rep) {
  const child = spawn(process.execPath, [path.join(BENCH_DIR, 's3-emulator.js'), 'chrono-bench'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr = (stderr + d).slice(-4000)));
  const ready = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(JSON.parse(out.slice(0, out.indexOf('\n'))));
    });
    child.once('exit', (code) => reject(new Error(`the S3 emulator exited (${code}) before it was ready: ${stderr}`)));
  });
  const env = {
    CHRONO_BACKUP_REPO: `s3://${ready.bucket}/rep-${rep + 1}`,
    AWS_ENDPOINT_URL_S3: ready.endpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'bench',
    AWS_SECRET_ACCESS_KEY: 'bench-secret',
  };
  const tool = oursTool(oursBin, runDir, 'ours-s3-home', env);
  tool.name = 'ours-s3';
  tool.restoreDir = path.join(runDir, 'restore-ours-s3');
  tool.emulatorPid = child.pid;
  const stop = () => new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
  return { tool, endpoint: ready.endpoint, stop };
}

/** CPU seconds (user + system) a process has used so far, from /proc; NaN when unavailable. */
function pidCpuSeconds(pid) {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function timeValue(t) {
  if (typeof t === 'number') return t;
  const v = Date.parse(String(t));
  return Number.isNaN(v) ? 0 : v;
}

/** Parse a JSON document printed on stdout; tolerate log lines before it. */
function parseJsonOutput(stdout) {
  const s = stdout.trim();
  try {
    return JSON.parse(s);
  } catch {
    // fall through: try the last line(s) that look like JSON
  }
  const lines = s.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    const l = lines[i].trim();
    if (l.startsWith('{') || l.startsWith('[')) {
      try {
        return JSON.parse(lines.slice(i).join('\n'));
      } catch {
        // keep looking
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Steps: a generic list. Each step has a name and, per tool, a function returning the command to
// measure (called right before the measurement, so it may do unmeasured preparation). Optional
// hooks: before(ctx) once before the step, after(ctx, toolName, measurement) after each tool.
// A database (pg_dump) row or an S3 row is another entry in this list.
// ---------------------------------------------------------------------------------------------

/**
 * @typedef {object} Step
 * @property {string} key
 * @property {string} name
 * @property {boolean} readsCorpus      warm the page cache with the corpus before each tool's run
 * @property {{wall?: number, rss?: number}} targets  ratio targets (ours / restic), omitted = informational
 * @property {(ctx: any) => any} restic
 * @property {(ctx: any) => any} ours
 * @property {(ctx: any) => void} [before]
 * @property {(ctx: any, toolName: string, m: any) => void} [after]
 * @property {(ctx: any) => void} [afterAll]  once after both tools ran
 */

/** @returns {Step[]} */
function defineSteps() {
  const recordBackup = (ctx, toolName, m, stepKey) => {
    if (toolName === 'ours' && m.ok) {
      const out = parseJsonOutput(m.stdout);
      if (out && typeof out === 'object' && 'id' in out) ctx.tools.ours.snapshotIds[stepKey] = String(out.id);
      else log(`  [ours] warning: backup --json printed no JSON object with an "id"`);
    }
    ctx.repoSizes[toolName][stepKey] = duBytes(ctx.tools[toolName].repoDir).bytes;
  };
  return [
    {
      key: 'first',
      name: 'first backup',
      readsCorpus: true,
      targets: { wall: 0.8, rss: 1.0 },
      restic: (ctx) => ctx.tools.restic.backup(),
      ours: (ctx) => ctx.tools.ours.backup('full'),
      after: (ctx, tool, m) => recordBackup(ctx, tool, m, 'first'),
    },
    {
      key: 'rebackup',
      name: 'unchanged re-backup',
      readsCorpus: true,
      targets: { wall: 1.0, rss: 1.0 },
      restic: (ctx) => ctx.tools.restic.backup(),
      ours: (ctx) => ctx.tools.ours.backup('incremental'),
      after: (ctx, tool, m) => recordBackup(ctx, tool, m, 'rebackup'),
    },
    {
      key: 'nextday',
      name: 'next-day backup',
      readsCorpus: true,
      targets: { wall: 1.0, rss: 1.0 },
      before: (ctx) => {
        const t0 = performance.now();
        const summary = mutateCorpus(ctx.corpusDir, { fraction: ctx.opts.fraction, seed: ctx.opts.seed + 1000 });
        ctx.mutation = summary;
        log(`  mutated corpus in ${((performance.now() - t0) / 1000).toFixed(1)} s: ${fmtBytes(summary.changedBytes)} changed ` +
          `(${fmtBytes(summary.appendedBytes)} appended, ${fmtBytes(summary.editedBytes)} edited in place, ${fmtBytes(summary.newBytes)} in ${summary.newFiles} new files), ` +
          `${summary.deletedFiles} files deleted (${fmtBytes(summary.deletedBytes)}), ${summary.touchedFiles} mtimes touched`);
      },
      restic: (ctx) => ctx.tools.restic.backup(),
      ours: (ctx) => ctx.tools.ours.backup('incremental'),
      after: (ctx, tool, m) => recordBackup(ctx, tool, m, 'nextday'),
    },
    {
      key: 'restore',
      name: 'restore latest',
      readsCorpus: false,
      targets: { wall: 0.8, rss: 1.0 },
      before: (ctx) => {
        ctx.expectedTree = walkTree(ctx.corpusDir);
        ctx.expectedHashes = new Map();
      },
      restic: (ctx) => freshDir(ctx.tools.restic.restoreDir) && ctx.tools.restic.restore(ctx.tools.restic.restoreDir),
      ours: (ctx) => freshDir(ctx.tools.ours.restoreDir) && ctx.tools.ours.restore(ctx.tools.ours.restoreDir),
      after: (ctx, toolName, m) => {
        if (m.ok) ctx.restoreChecks[toolName] = checkRestore(ctx, toolName);
      },
      // Delete the restored trees only after both tools restored: on ext4, creating many files right
      // after deleting many is much slower (inode allocation skips recently deleted inodes), which
      // would penalise whichever tool restores second.
      afterAll: (ctx) => {
        if (ctx.opts.keep) return;
        for (const t of Object.values(ctx.tools)) fs.rmSync(t.restoreDir, { recursive: true, force: true });
      },
    },
    {
      key: 'verify',
      name: 'full verify',
      readsCorpus: false,
      targets: { rss: 1.0 },
      restic: (ctx) => ctx.tools.restic.verify(),
      ours: (ctx) => ctx.tools.ours.verify(),
    },
    // Ours through the S3 emulator, next to the local-folder rows above (same corpus as the restore row).
    // The emulator runs in its own process; its CPU is taken out of "other processes" for these rows.
    {
      key: 's3first',
      name: 'first backup → S3 emulator',
      readsCorpus: true,
      targets: {},
      tools: ['ours'],
      skip: (ctx) => !ctx.s3,
      ours: (ctx) => s3Measured(ctx, ctx.s3.tool.backup('full')),
      after: (ctx, _tool, m) => s3After(ctx, m),
    },
    {
      key: 's3restore',
      name: 'restore latest ← S3 emulator',
      readsCorpus: false,
      targets: {},
      tools: ['ours'],
      skip: (ctx) => !ctx.s3,
      ours: (ctx) => freshDir(ctx.s3.tool.restoreDir) && s3Measured(ctx, ctx.s3.tool.restore(ctx.s3.tool.restoreDir)),
      after: (ctx, _tool, m) => {
        s3After(ctx, m);
        if (!m.ok) return;
        ctx.restoreChecks['ours-s3'] = checkRestore(ctx, 'ours-s3', ctx.s3.tool);
        if (!ctx.restoreChecks['ours-s3'].ok) m.ok = false;
      },
      afterAll: (ctx) => {
        if (!ctx.opts.keep && ctx.s3) fs.rmSync(ctx.s3.tool.restoreDir, { recursive: true, force: true });
      },
    },
  ];
}

/** Notes the emulator's CPU time before an S3 row's command runs. */
function s3Measured(ctx, spec) {
  ctx.s3.cpuBefore = pidCpuSeconds(ctx.s3.tool.emulatorPid);
  return spec;
}

/** The emulator serves the command: its CPU is part of the S3 path, not a disturbance. */
function s3After(ctx, m) {
  const used = pidCpuSeconds(ctx.s3.tool.emulatorPid) - ctx.s3.cpuBefore;
  if (Number.isFinite(used)) {
    m.emulatorCpuS = used;
    if (Number.isFinite(m.otherCpuS)) m.otherCpuS = Math.max(0, m.otherCpuS - used);
  }
}

function freshDir(dir) {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  return true;
}

function checkRestore(ctx, toolName, tool = ctx.tools[toolName]) {
  const t0 = performance.now();
  const probe = [...ctx.expectedTree.keys()].find((k) => ctx.expectedTree.get(k).type === 'file') ?? '';
  const root = findRestoredRoot(tool.restoreDir, ctx.corpusDir, probe);
  if (!root) {
    const res = { ok: false, mismatches: [`could not find the restored corpus under ${tool.restoreDir} (looked for ${probe})`], warnings: [] };
    loudMismatch(toolName, res);
    return res;
  }
  const res = compareTrees(ctx.corpusDir, root, {
    expected: ctx.expectedTree,
    expectedHashes: ctx.expectedHashes,
    mustInclude: ctx.mutation?.changedPaths ?? [],
    sampleFiles: 500,
  });
  res.restoredRoot = path.relative(tool.restoreDir, root) || '.';
  res.seconds = (performance.now() - t0) / 1000;
  if (res.ok) {
    log(`  [${toolName}] restore check OK: ${res.actual.files} files, ${fmtBytes(res.actual.apparentBytes)}, ${res.actual.dirs} dirs, ` +
      `${res.actual.symlinks} symlinks; sha256 of ${res.sampledFiles} sampled files (${fmtBytes(res.sampledBytes)}) match` +
      (res.warnings.length ? `; warnings: ${res.warnings.join('; ')}` : ''));
  } else {
    loudMismatch(toolName, res);
  }
  return res;
}

function loudMismatch(toolName, res) {
  const bar = '!'.repeat(78);
  log(bar);
  log(`!!! RESTORE MISMATCH (${toolName}): ${res.mismatches.length} problem(s)`);
  for (const m of res.mismatches.slice(0, 25)) log(`!!!   ${m}`);
  if (res.mismatches.length > 25) log(`!!!   ... and ${res.mismatches.length - 25} more (see the results JSON)`);
  for (const w of res.warnings ?? []) log(`!!!   warning: ${w}`);
  log(bar);
}

// ---------------------------------------------------------------------------------------------
// Running
// ---------------------------------------------------------------------------------------------

async function measure(ctx, toolName, step) {
  let spec;
  try {
    spec = step[toolName](ctx);
  } catch (err) {
    const m = failed(`could not prepare the command: ${err instanceof Error ? err.message : err}`);
    reportFailure(toolName, step.name, m);
    return m;
  }
  if (step.readsCorpus) warmCache(ctx.corpusDir);
  syncFs();
  if (ctx.opts?.quietWait > 0) await waitQuiet(ctx.opts.quietWait);
  const m = await runMeasured(spec);
  if (!m.ok) reportFailure(toolName, step.name, m);
  log(`  [${toolName.padEnd(6)}] ${step.name}: ${fmtNum(m.wallS, 2)} s wall, ${fmtNum(m.peakRssKiB / 1024, 0)} MiB peak RSS, ` +
    `${fmtNum(m.userS, 1)} s user, ${fmtNum(m.sysS, 1)} s sys${m.ok ? '' : '  ** FAILED **'}` +
    (disturbed(m) ? `  ** other processes used ${fmtNum(m.otherCpuS, 1)} CPU-s meanwhile: timing disturbed **` +
      (m.otherTop?.length ? ` (${m.otherTop.map((p) => `${p.name} ${p.cpuS.toFixed(1)} s`).join(', ')})` : '') : ''));
  try {
    step.after?.(ctx, toolName, m);
  } catch (err) {
    log(`  [${toolName}] after-step hook failed: ${err instanceof Error ? err.stack : err}`);
    m.ok = false;
    m.hookError = String(err);
  }
  return m;
}

/** Wait (up to maxS seconds) until the machine's busy CPU over one second drops below 0.2 CPU. */
async function waitQuiet(maxS) {
  const t0 = performance.now();
  let busy = NaN;
  while ((performance.now() - t0) / 1000 < maxS) {
    const b0 = cpuBusySeconds();
    await new Promise((r) => setTimeout(r, 1000));
    busy = cpuBusySeconds() - b0;
    if (!(busy >= 0.2)) break;
  }
  const waited = (performance.now() - t0) / 1000;
  if (waited > 1.5) log(`  (waited ${waited.toFixed(0)} s for a quiet machine${busy >= 0.2 ? `; still busy: ${busy.toFixed(2)} CPU` : ''})`);
}

/** Did other processes use more than a quarter of a CPU on average during the measurement? */
function disturbed(m) {
  return Number.isFinite(m?.otherCpuS) && Number.isFinite(m?.wallS) && m.otherCpuS > 0.25 * Math.max(m.wallS, 0.5);
}

function failed(reason) {
  return { ok: false, exitCode: null, wallS: NaN, peakRssKiB: NaN, userS: NaN, sysS: NaN, hrWallS: NaN, stdout: '', stderrTail: reason, argv: [] };
}

function reportFailure(toolName, stepName, m) {
  log(`  !!! ${toolName}: "${stepName}" failed (exit ${m.exitCode}${m.signal ? `, signal ${m.signal}` : ''})`);
  const tail = (m.stderrTail || m.stdout || '').trim().split('\n').slice(-15);
  for (const l of tail) log(`  !!!   ${l}`);
}

function fmtNum(v, digits) {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

function ratio(ours, restic) {
  return Number.isFinite(ours) && Number.isFinite(restic) && restic > 0 ? ours / restic : NaN;
}

/** Keep the results JSON readable: drop full stdout, keep tails. */
function slim(m) {
  if (!m) return null;
  const { stdout, stderrTail, ...rest } = m;
  return { ...rest, stdoutTail: (stdout ?? '').slice(-2000), stderrTail: (stderrTail ?? '').slice(-2000) };
}

function machineInfo(resticPath, workDir) {
  const cpus = os.cpus();
  let fsType = null;
  const st = runPlain({ argv: ['stat', '-f', '-c', '%T', workDir], allowFail: true });
  if (st.ok) fsType = st.stdout.trim();
  return {
    hostname: os.hostname(),
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: cpus.length,
    memoryBytes: os.totalmem(),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    restic: resticPath ? runPlain({ argv: [resticPath, 'version'], allowFail: true }).stdout.trim() : null,
    workDirFs: fsType,
  };
}

function freeBytes(dir) {
  try {
    const s = fs.statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return 0;
  }
}

function checkDiskSpace(dir, opts) {
  const need = opts.sizeBytes * 5.5 + (opts.alsoSizeBytes ? opts.alsoSizeBytes * 2.3 : 0);
  try {
    const s = fs.statfsSync(dir);
    const avail = s.bavail * s.bsize;
    if (avail < need) log(`WARNING: ${fmtBytes(avail)} free in ${dir}, this run needs about ${fmtBytes(need)}`);
  } catch {
    // statfs not available: skip the check
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const want = { restic: opts.only !== 'ours', ours: opts.only !== 'restic' };
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');

  log(`Chrono Backup benchmark — ${startedAt.toISOString()}`);
  log(`corpus ${fmtBytes(opts.sizeBytes)} (seed ${opts.seed})${opts.alsoSizeBytes ? `, RSS scaling corpus ${fmtBytes(opts.alsoSizeBytes)}` : ''}; ` +
    `tools: ${opts.only}; repetitions: ${opts.repeat}`);

  // --- tools ---------------------------------------------------------------------------------
  const skipped = {};
  const tm = ensureProgram(GNU_TIME, 'time', log);
  if (!tm.path) throw new Error(`GNU time is required: ${tm.reason}`);
  let resticPath = null;
  if (want.restic) {
    const r = ensureProgram('restic', 'restic', log);
    if (!r.path) throw new Error(`restic is required for --only ${opts.only}: ${r.reason}`);
    resticPath = r.path;
  }
  if (want.ours && !fs.existsSync(opts.oursBin)) {
    throw new Error(`Chrono Backup CLI not found at ${opts.oursBin}. Build it (npm run build) or run with --only restic.`);
  }
  let rawOk = opts.raw;
  if (opts.raw) {
    for (const [prog, pkg] of [['tar', 'tar'], ['zstd', 'zstd'], ['openssl', 'openssl'], ['bash', 'bash']]) {
      const r = ensureProgram(prog, pkg, log);
      if (!r.path) {
        rawOk = false;
        skipped.raw = `raw pipeline skipped: ${r.reason}`;
        log(`  ${skipped.raw}`);
        break;
      }
    }
  } else {
    skipped.raw = 'raw pipeline skipped (--no-raw)';
  }

  fs.mkdirSync(opts.work, { recursive: true });
  const runDir = path.join(opts.work, `run-${stamp}`);
  const resticCache = path.join(opts.work, 'restic-cache');
  // The cache directory is shared with other runs; every repository is new, so its cache starts cold,
  // and each run deletes only its own repositories' cache entries.
  const resticCacheEntries = [];
  fs.mkdirSync(runDir, { recursive: true });
  checkDiskSpace(opts.work, opts);
  const cleanup = () => {
    if (!opts.keep) {
      fs.rmSync(runDir, { recursive: true, force: true });
      for (const e of resticCacheEntries) fs.rmSync(e, { recursive: true, force: true });
    }
  };
  process.on('SIGINT', () => {
    log('\ninterrupted; cleaning up' + (opts.keep ? ' (keeping the run directory)' : ''));
    cleanup();
    process.exit(130);
  });

  const machine = machineInfo(resticPath, opts.work);
  log(`machine: ${machine.cpuModel}, ${machine.cpus} CPUs, ${fmtBytes(machine.memoryBytes)} RAM, ${machine.kernel}, node ${machine.node}, work dir fs ${machine.workDirFs}`);
  if (machine.restic) log(`restic: ${machine.restic}`);
  const load = os.loadavg();
  log(`load average: ${load.map((l) => l.toFixed(2)).join(' ')}${load[0] > machine.cpus * 0.5 ? '  ** the machine is busy: timings will be noisy **' : ''}`);
  const prng = measurePrng(512 * 1024 * 1024);
  log(`PRNG speed: ${prng.mbPerS.toFixed(0)} MB/s (target ≥ 500 MB/s)${prng.mbPerS < 500 ? '  ** below target **' : ''}`);

  // --- repetitions of the whole sequence (fresh corpus and repositories each time) -------------
  const steps = defineSteps();
  const reps = [];
  for (let rep = 0; rep < opts.repeat; rep++) {
    const repDir = opts.repeat === 1 ? runDir : path.join(runDir, `rep-${rep + 1}`);
    if (opts.repeat > 1) log(`\n########## repetition ${rep + 1} of ${opts.repeat}`);
    reps.push(await runSequence({ opts, want, steps, repDir, resticPath, resticCache, resticCacheEntries, rawOk, rep }));
    // Deleting tens of thousands of files shortly before the next repetition would slow down file
    // creation there (ext4 skips recently deleted inodes); so delete now only if disk space is short.
    if (!opts.keep && opts.repeat > 1 && rep < opts.repeat - 1 && freeBytes(opts.work) < opts.sizeBytes * 6) {
      log('  (low on disk space: deleting this repetition now; the next one may create files more slowly)');
      fs.rmSync(repDir, { recursive: true, force: true });
    }
  }
  const agg = aggregate(reps, steps);

  // --- RSS scaling (ours) --------------------------------------------------------------------
  let scaling = null;
  if (opts.alsoSizeBytes) {
    if (!want.ours) {
      scaling = { skipped: 'ours not selected (--only restic)' };
      log(`\nRSS scaling check skipped: ${scaling.skipped}`);
    } else {
      log(`\n== RSS scaling: first backup of a ${fmtBytes(opts.alsoSizeBytes)} corpus (ours)`);
      // make room if needed: the main run's repositories and corpus are no longer needed
      if (!opts.keep && freeBytes(opts.work) < opts.alsoSizeBytes * 2.5) {
        for (const name of fs.readdirSync(runDir)) fs.rmSync(path.join(runDir, name), { recursive: true, force: true });
      }
      const scaleDir = path.join(runDir, 'scale');
      const scaleCorpus = path.join(scaleDir, CORPUS);
      const c2 = generateCorpus(scaleCorpus, { totalBytes: opts.alsoSizeBytes, seed: opts.seed });
      log(`  generated ${fmtBytes(c2.bytes)} in ${c2.files} files (${c2.seconds.toFixed(1)} s)`);
      const tool = oursTool(opts.oursBin, scaleDir);
      const step = { key: 'scale', name: `first backup ${fmtBytes(opts.alsoSizeBytes)}`, readsCorpus: true, targets: {}, restic: () => null, ours: () => tool.backup('full') };
      const m = await measure({ corpusDir: scaleCorpus, tools: { ours: tool } }, 'ours', step);
      const base = agg.results.first?.ours;
      scaling = {
        sizeBytes: opts.sizeBytes,
        alsoSizeBytes: opts.alsoSizeBytes,
        corpus: c2,
        base,
        large: slim(m),
        repoBytes: duBytes(tool.repoDir).bytes,
        rssRatio: m.ok && base?.ok ? ratio(m.peakRssKiB, base.peakRssKiB) : NaN,
        wallRatio: m.ok && base?.ok ? ratio(m.wallS, base.wallS) : NaN,
      };
      if (!opts.keep) fs.rmSync(scaleDir, { recursive: true, force: true });
    }
  }

  // --- report --------------------------------------------------------------------------------
  const last = reps[reps.length - 1];
  const tools = Object.keys(last.repoSizes).filter((t) => want[t]);
  const report = buildReport({ steps, agg, reps, tools, scaling, want });
  printReport(report, { steps, agg, reps, tools, scaling, opts });

  const resultsFile = path.join(opts.work, `results-${stamp}.json`);
  const json = {
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    options: { ...opts },
    machine: { ...machine, loadAverageAtStart: load },
    prng,
    corpus: last.corpus,
    mutation: last.mutation ? { ...last.mutation, changedPaths: undefined, changedFiles: last.mutation.changedPaths.length } : null,
    skipped,
    raw: agg.raw,
    steps: steps.map((s) => ({
      key: s.key,
      name: s.name,
      targets: s.targets,
      restic: agg.results[s.key]?.restic ?? null,
      ours: agg.results[s.key]?.ours ?? null,
      wallRatio: ratio(agg.results[s.key]?.ours?.wallS, agg.results[s.key]?.restic?.wallS),
      rssRatio: ratio(agg.results[s.key]?.ours?.peakRssKiB, agg.results[s.key]?.restic?.peakRssKiB),
    })),
    repoSizes: last.repoSizes,
    restoreChecks: reps.map((r) => r.restoreChecks),
    repetitions: reps.map((r) => ({
      raw: r.raw ? slim(r.raw) : null,
      steps: Object.fromEntries(Object.entries(r.results).map(([k, v]) => [k, Object.fromEntries(Object.entries(v).map(([t, m]) => [t, slim(m)]))])),
      repoSizes: r.repoSizes,
    })),
    scaling,
    targets: report.targets,
    ok: report.ok,
  };
  fs.writeFileSync(resultsFile, JSON.stringify(json, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2) + '\n');
  log(`\nresults written to ${path.relative(process.cwd(), resultsFile) || resultsFile}`);

  if (opts.keep) log(`kept run directory ${runDir}`);
  cleanup();
  if (!report.ok) {
    log('\nSOME STEPS FAILED OR A RESTORE DID NOT MATCH — see above.');
    process.exitCode = 1;
  }
}

/**
 * One full sequence: generate the corpus, set up the tools, raw reference, then every step for
 * every tool. Returns the measurements.
 */
async function runSequence({ opts, want, steps, repDir, resticPath, resticCache, resticCacheEntries, rawOk, rep }) {
  const corpusDir = path.join(repDir, CORPUS);
  fs.mkdirSync(repDir, { recursive: true });
  log(`generating corpus in ${corpusDir} ...`);
  const corpus = generateCorpus(corpusDir, { totalBytes: opts.sizeBytes, seed: opts.seed });
  const cat = corpus.categories;
  const catSum = (prefix, field) => Object.entries(cat).filter(([k]) => k.startsWith(prefix)).reduce((s, [, v]) => s + v[field], 0);
  log(`  ${fmtBytes(corpus.bytes)} in ${corpus.files} files, ${corpus.dirs} dirs, ${corpus.symlinks} symlinks; ` +
    `${corpus.seconds.toFixed(1)} s (${corpus.mbPerS.toFixed(0)} MB/s). text ${pct(catSum('text', 'bytes'), corpus.bytes)}, ` +
    `binary ${pct(catSum('binary', 'bytes'), corpus.bytes)}, duplicates ${pct(catSum('dup', 'bytes'), corpus.bytes)}, ` +
    `small files ${pct(catSum('small', 'bytes'), corpus.bytes)} (${catSum('small', 'files')} files)`);

  const ctx = {
    opts,
    runDir: repDir,
    corpusDir,
    tools: {},
    repoSizes: { restic: {}, ours: {} },
    restoreChecks: {},
    mutation: null,
    expectedTree: null,
    expectedHashes: null,
  };
  if (want.restic) {
    ctx.tools.restic = resticTool(resticPath, repDir, resticCache);
    ctx.tools.restic.setup();
    if (ctx.tools.restic.cacheEntry) resticCacheEntries.push(ctx.tools.restic.cacheEntry);
    log(`restic repository initialised (unmeasured): ${ctx.tools.restic.repoDir}`);
  }
  if (want.ours) ctx.tools.ours = oursTool(opts.oursBin, repDir);
  const order = Object.keys(ctx.tools);
  if (want.ours && opts.s3) {
    ctx.s3 = await oursS3Tool(opts.oursBin, repDir, rep);
    log(`S3 emulator (fauxqs) for the S3 rows at ${ctx.s3.endpoint}, pid ${ctx.s3.tool.emulatorPid}`);
  }
  try {
    return await runSteps({ steps, ctx, order, rep, corpus, corpusDir, repDir, rawOk });
  } finally {
    await ctx.s3?.stop();
  }
}

/** The measurements of one sequence, once the corpus and the tools are ready. */
async function runSteps({ steps, ctx, order, rep, corpus, corpusDir, repDir, rawOk }) {
  let raw = null;
  if (rawOk) {
    warmCache(corpusDir);
    syncFs();
    raw = await runMeasured({
      argv: ['bash', '-c', `set -o pipefail; tar -cf - ${CORPUS} | zstd -3 -T0 | openssl enc -aes-256-ctr -pbkdf2 -pass pass:${PASSWORD} > /dev/null`],
      cwd: repDir,
    });
    if (!raw.ok) reportFailure('raw', 'tar | zstd | openssl', raw);
    log(`  [raw   ] tar | zstd -3 -T0 | openssl aes-256-ctr: ${fmtNum(raw.wallS, 2)} s wall, ${fmtNum(raw.peakRssKiB / 1024, 0)} MiB peak RSS (largest process)`);
  }

  /** @type {Record<string, Record<string, any>>} */
  const results = {};
  for (const [i, step] of steps.entries()) {
    if (step.skip?.(ctx)) continue;
    log(`\n== ${step.name}`);
    step.before?.(ctx);
    results[step.key] = {};
    // alternate which tool goes first (per step and per repetition) to avoid order bias
    const seq = ((i + rep) % 2 === 0 ? order : [...order].reverse()).filter((t) => !step.tools || step.tools.includes(t));
    for (const toolName of seq) results[step.key][toolName] = await measure(ctx, toolName, step);
    step.afterAll?.(ctx);
  }
  for (const t of order) ctx.repoSizes[t].final = duBytes(ctx.tools[t].repoDir).bytes;
  if (ctx.tools.ours) ctx.repoSizes.ours.homeTotal = duBytes(ctx.tools.ours.home).bytes;
  return { corpus, raw, results, repoSizes: ctx.repoSizes, restoreChecks: ctx.restoreChecks, mutation: ctx.mutation };
}

function median(values) {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

/**
 * Median over repetitions, using only the repetitions whose measurement was not disturbed by other
 * processes when there is at least one such; a step counts as failed if it failed in any repetition.
 */
function aggregate(reps, steps) {
  const one = (ms) => {
    const present = ms.filter(Boolean);
    if (present.length === 0) return undefined;
    const ok = present.length === ms.length && present.every((m) => m.ok);
    const clean = present.filter((m) => !disturbed(m));
    const use = clean.length > 0 ? clean : present;
    return {
      ok,
      wallS: ok ? median(use.map((m) => m.wallS)) : NaN,
      peakRssKiB: ok ? median(use.map((m) => m.peakRssKiB)) : NaN,
      userS: ok ? median(use.map((m) => m.userS)) : NaN,
      sysS: ok ? median(use.map((m) => m.sysS)) : NaN,
      otherCpuS: ok ? median(use.map((m) => m.otherCpuS)) : NaN,
      usedRuns: use.length,
      runs: present.map((m) => ({ ok: m.ok, wallS: m.wallS, peakRssKiB: m.peakRssKiB, otherCpuS: m.otherCpuS, disturbed: disturbed(m) })),
    };
  };
  const results = {};
  for (const s of steps) {
    results[s.key] = {};
    for (const t of ['restic', 'ours']) {
      const v = one(reps.map((r) => r.results[s.key]?.[t]));
      if (v) results[s.key][t] = v;
    }
  }
  const raw = reps.some((r) => r.raw) ? one(reps.map((r) => r.raw)) : null;
  return { results, raw };
}

function pct(part, whole) {
  return `${((100 * part) / whole).toFixed(0)}%`;
}

function buildReport({ steps, agg, reps, tools, scaling, want }) {
  const both = want.restic && want.ours;
  const targets = [];
  let ok = true;
  // A step limited to some tools (the S3 rows: ours only, and only when they ran) counts for those.
  for (const s of steps) for (const t of tools) if ((!s.tools || (s.tools.includes(t) && agg.results[s.key]?.[t])) && !agg.results[s.key]?.[t]?.ok) ok = false;
  for (const r of reps) for (const t of [...tools, ...('ours-s3' in r.restoreChecks ? ['ours-s3'] : [])]) if (!r.restoreChecks[t]?.ok) ok = false;
  const last = reps[reps.length - 1];
  const add = (label, value, max) => {
    let status;
    if (!both) status = 'n/a (needs both tools)';
    else if (!Number.isFinite(value)) status = 'n/a (a run failed)';
    else status = value <= max ? 'met' : 'NOT MET';
    targets.push({ label, value: Number.isFinite(value) ? value : null, max, status });
  };
  const r = (key, t) => agg.results[key]?.[t];
  for (const s of steps) if (s.targets.wall !== undefined) add(`${s.name}: wall time`, ratio(r(s.key, 'ours')?.wallS, r(s.key, 'restic')?.wallS), s.targets.wall);
  add('repository size after next-day backup', ratio(last.repoSizes.ours.final, last.repoSizes.restic.final), 1.0);
  for (const s of steps) if (s.targets.rss !== undefined) add(`${s.name}: peak RSS`, ratio(r(s.key, 'ours')?.peakRssKiB, r(s.key, 'restic')?.peakRssKiB), s.targets.rss);
  if (scaling && !scaling.skipped) {
    const label = `first backup peak RSS ${fmtBytes(scaling.alsoSizeBytes)} ÷ ${fmtBytes(scaling.sizeBytes)} (ours)`;
    const v = scaling.rssRatio;
    targets.push({ label, value: Number.isFinite(v) ? v : null, max: 1.2, status: Number.isFinite(v) ? (v <= 1.2 ? 'met' : 'NOT MET') : 'n/a (a run failed)' });
    if (!scaling.large?.ok) ok = false;
  }
  return { targets, ok };
}

function printReport(report, { steps, agg, reps, tools, scaling, opts }) {
  const last = reps[reps.length - 1];
  const rows = [['step', 'restic wall s', 'ours wall s', 'ratio', 'restic peak RSS MiB', 'ours peak RSS MiB', 'ratio']];
  let anyDisturbed = false;
  for (const s of steps) {
    const r = agg.results[s.key] ?? {};
    const rw = r.restic?.wallS;
    const ow = r.ours?.wallS;
    const rr = r.restic?.peakRssKiB / 1024;
    const or = r.ours?.peakRssKiB / 1024;
    const mark = (m) => (disturbed(m) ? '*' : '');
    if (disturbed(r.restic) || disturbed(r.ours)) anyDisturbed = true;
    rows.push([s.name, cell(r.restic, rw, 2) + mark(r.restic), cell(r.ours, ow, 2) + mark(r.ours), fmtNum(ratio(ow, rw), 2), cell(r.restic, rr, 0), cell(r.ours, or, 0), fmtNum(ratio(or, rr), 2)]);
  }
  log('\n' + '='.repeat(100));
  log(`RESULTS — corpus ${fmtBytes(opts.sizeBytes)}${opts.repeat > 1 ? `, median of ${opts.repeat} repetitions (of the undisturbed ones where there are any)` : ''} ` +
    '(ratio = ours ÷ restic; lower is better)');
  log(table(rows));
  if (anyDisturbed) {
    log('* other processes used more than a quarter of a CPU on average during this measurement (see otherCpuS in the JSON);\n' +
      '  the wall time is not trustworthy: re-run on a quiet machine, with --repeat 3 or with --quiet-wait 300');
  }
  const ours = (key) => agg.results[key]?.ours;
  if (ours('s3first') || ours('s3restore')) {
    log('\nours, local folder vs S3 emulator (same run; ratio = S3 ÷ local):');
    const srows = [['step', 'local wall s', 'S3 wall s', 'ratio', 'local peak RSS MiB', 'S3 peak RSS MiB']];
    for (const [label, local, s3] of [['first backup', 'first', 's3first'], ['restore latest', 'restore', 's3restore']]) {
      const l = ours(local);
      const r = ours(s3);
      srows.push([label, cell(l, l?.wallS, 2), cell(r, r?.wallS, 2), fmtNum(ratio(r?.wallS, l?.wallS), 2), cell(l, l?.peakRssKiB / 1024, 0), cell(r, r?.peakRssKiB / 1024, 0)]);
    }
    log(table(srows));
    log('(the S3 first backup stores the corpus after the next-day changes, into an empty bucket)');
  }
  const raw = agg.raw;
  if (raw) {
    const f = agg.results.first ?? {};
    const parts = [];
    if (raw.ok && f.restic?.ok) parts.push(`restic first backup = ${(f.restic.wallS / raw.wallS).toFixed(2)}× raw`);
    if (raw.ok && f.ours?.ok) parts.push(`ours = ${(f.ours.wallS / raw.wallS).toFixed(2)}× raw`);
    log(`reference, raw tar | zstd -3 -T0 | openssl aes-256-ctr > /dev/null: ${raw.ok ? `${fmtNum(raw.wallS, 2)} s wall, ${fmtNum(raw.peakRssKiB / 1024, 0)} MiB peak RSS (largest process)` : 'FAILED'}` +
      (parts.length ? `; ${parts.join(', ')}` : ''));
  }
  const rs = last.repoSizes;
  log('\nrepository size (apparent bytes of files):');
  const sizeRows = [['after', 'restic', 'ours', 'ratio']];
  for (const [k, label] of [['first', 'first backup'], ['rebackup', 'unchanged re-backup'], ['nextday', 'next-day backup']]) {
    const fmt = (t) => (tools.includes(t) && rs[t][k] !== undefined ? `${fmtBytes(rs[t][k])} (${rs[t][k]})` : '—');
    sizeRows.push([label, fmt('restic'), fmt('ours'), fmtNum(ratio(rs.ours[k], rs.restic[k]), 3)]);
  }
  log(table(sizeRows));
  if (rs.ours.homeTotal !== undefined) log(`ours: whole CHRONO_BACKUP_HOME (repository + catalog + key) = ${fmtBytes(rs.ours.homeTotal)}`);
  const corpusAfter = last.mutation ? last.mutation.corpusBytesAfter : last.corpus.bytes;
  log(`corpus: ${fmtBytes(last.corpus.bytes)} generated, ${fmtBytes(corpusAfter)} after the next-day changes`);

  if (scaling && !scaling.skipped) {
    log(`\nRSS scaling (ours, first backup): ${fmtBytes(scaling.sizeBytes)} → ${fmtNum(scaling.base?.peakRssKiB / 1024, 0)} MiB, ` +
      `${fmtBytes(scaling.alsoSizeBytes)} → ${fmtNum(scaling.large?.peakRssKiB / 1024, 0)} MiB; ratio ${fmtNum(scaling.rssRatio, 2)} ` +
      `(wall ${fmtNum(scaling.large?.wallS, 1)} s = ${fmtNum(scaling.wallRatio, 2)}× the smaller corpus)`);
  }

  log('\nrestore checks:');
  for (const [i, r] of reps.entries()) {
    const prefix = reps.length > 1 ? `rep ${i + 1} ` : '';
    for (const t of [...tools, ...('ours-s3' in r.restoreChecks ? ['ours-s3'] : [])]) {
      const c = r.restoreChecks[t];
      if (!c) log(`  ${prefix}${t}: not run (restore failed)`);
      else if (c.ok) log(`  ${prefix}${t}: OK (${c.actual.files} files, ${fmtBytes(c.actual.apparentBytes)}, ${c.sampledFiles} files sha256-checked)${c.warnings.length ? ` — warnings: ${c.warnings.join('; ')}` : ''}`);
      else log(`  ${prefix}${t}: !!! MISMATCH — ${c.mismatches.length} problem(s), first: ${c.mismatches[0]}`);
    }
  }

  log('\ntargets (ours ÷ restic):');
  const trows = [['target', 'ratio', '≤', 'status']];
  for (const t of report.targets) trows.push([t.label, t.value === null ? '—' : t.value.toFixed(3), t.max.toFixed(2), t.status]);
  log(table(trows));
}

function cell(m, v, digits) {
  if (!m) return '—';
  if (!m.ok) return 'FAILED';
  return fmtNum(v, digits);
}

function table(rows) {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => String(r[c]).length)));
  const line = (r) => r.map((v, c) => (c === 0 ? String(v).padEnd(widths[c]) : String(v).padStart(widths[c]))).join(' | ');
  const out = [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('-|-')];
  for (const r of rows.slice(1)) out.push(line(r));
  return out.join('\n');
}

main().catch((err) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
