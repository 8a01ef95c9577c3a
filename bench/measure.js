// Measurement helpers for the benchmark: run a command under GNU time (wall seconds, peak RSS),
// repository size (recursive apparent size of files), page-cache warm-up, tool discovery/installation.

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';

export const GNU_TIME = '/usr/bin/time';

/**
 * @typedef {object} CommandSpec
 * @property {string[]} argv          program and arguments
 * @property {Record<string,string>} [env]  extra environment (merged over process.env)
 * @property {string} [cwd]
 */

/**
 * @typedef {object} Measurement
 * @property {string[]} argv
 * @property {number|null} exitCode
 * @property {string|null} signal
 * @property {boolean} ok
 * @property {number} wallS        GNU time %e (elapsed wall seconds)
 * @property {number} peakRssKiB   GNU time %M (peak resident set size of the largest process, KiB)
 * @property {number} userS        GNU time %U
 * @property {number} sysS         GNU time %S
 * @property {number} hrWallS      wall seconds measured by this process around the spawn (cross-check)
 * @property {number} otherCpuS    CPU seconds used by other processes on the machine during the run
 *                                 (system-wide busy time from /proc/stat minus this command's user+sys);
 *                                 large values mean the timing was disturbed
 * @property {{name: string, pid: number, cpuS: number}[]} otherTop  processes that used the most CPU meanwhile
 * @property {string} stdout       full stdout (capped at 64 MiB)
 * @property {string} stderrTail   last 8 KiB of stderr
 */

/**
 * Run a command through `/usr/bin/time -f '%e %M %U %S'`, capturing wall seconds and peak RSS.
 * Note: %M is the peak RSS of the largest single process in the tree, not the sum over a pipeline.
 * @param {CommandSpec} spec
 * @returns {Promise<Measurement>}
 */
export function runMeasured(spec) {
  const timeFile = path.join(os.tmpdir(), `bench-time-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  const args = ['-f', '%e %M %U %S', '-o', timeFile, ...spec.argv];
  return new Promise((resolve, reject) => {
    const busy0 = cpuBusySeconds();
    const procs0 = processCpu();
    const t0 = performance.now();
    const child = spawn(GNU_TIME, args, {
      cwd: spec.cwd,
      env: { ...process.env, ...(spec.env ?? {}) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const out = [];
    let outLen = 0;
    let errTail = '';
    child.stdout.on('data', (d) => {
      if (outLen < 64 * 1024 * 1024) {
        out.push(d);
        outLen += d.length;
      }
    });
    child.stderr.on('data', (d) => {
      errTail = (errTail + d.toString('utf8')).slice(-8192);
    });
    // A step that hangs (restic 0.14's restore of the 1 GiB corpus once waited forever after writing
    // every file) is killed after the limit and reported as failed, so the run still finishes.
    const limitS = Number(process.env.BENCH_STEP_TIMEOUT_S ?? 900);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      spawnSync('pkill', ['-KILL', '-P', String(child.pid)]);
      child.kill('SIGKILL');
    }, limitS * 1000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) errTail += `\n[bench] killed after ${limitS} s (BENCH_STEP_TIMEOUT_S)`;
      const hrWallS = (performance.now() - t0) / 1000;
      const busy1 = cpuBusySeconds();
      const others = topProcessDeltas(procs0, processCpu(), process.pid);
      let wallS = NaN, peakRssKiB = NaN, userS = NaN, sysS = NaN;
      try {
        // GNU time may prefix "Command exited with non-zero status N"; the numbers are on the last line
        const lines = fs.readFileSync(timeFile, 'utf8').trim().split('\n');
        const nums = lines[lines.length - 1].trim().split(/\s+/).map(Number);
        [wallS, peakRssKiB, userS, sysS] = nums;
      } catch {
        // leave NaN: time output missing (command could not be started)
      }
      fs.rmSync(timeFile, { force: true });
      resolve({
        argv: spec.argv,
        exitCode: code,
        signal,
        ok: code === 0,
        wallS,
        peakRssKiB,
        userS,
        sysS,
        hrWallS,
        otherCpuS: Number.isFinite(busy0) && Number.isFinite(busy1) ? Math.max(0, busy1 - busy0 - (userS + sysS)) : NaN,
        otherTop: others,
        stdout: Buffer.concat(out).toString('utf8'),
        stderrTail: errTail,
      });
    });
  });
}

/**
 * System-wide busy CPU seconds since boot (user+nice+system+irq+softirq+steal from /proc/stat,
 * USER_HZ = 100 on Linux). NaN where /proc/stat is not available.
 */
export function cpuBusySeconds() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return (f[0] + f[1] + f[2] + f[5] + f[6] + (f[7] || 0)) / 100;
  } catch {
    return NaN;
  }
}

/**
 * CPU seconds (utime+stime) of every process, by pid, from /proc/PID/stat. Empty where /proc is missing.
 * @returns {Map<number, {name: string, cpuS: number}>}
 */
export function processCpu() {
  const out = new Map();
  let pids = [];
  try {
    pids = fs.readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return out;
  }
  for (const pid of pids) {
    try {
      const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
      const close = st.lastIndexOf(')');
      const name = st.slice(st.indexOf('(') + 1, close);
      const f = st.slice(close + 2).split(' ');
      // fields after ")": state(0) ppid(1) ... utime(11) stime(12)
      out.set(Number(pid), { name, cpuS: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {
      // process exited meanwhile
    }
  }
  return out;
}

/** The processes (other than `selfPid`) that used the most CPU between two processCpu() snapshots. */
function topProcessDeltas(before, after, selfPid) {
  const deltas = [];
  for (const [pid, a] of after) {
    if (pid === selfPid) continue;
    const b = before.get(pid);
    const d = b && b.name === a.name ? a.cpuS - b.cpuS : a.cpuS;
    if (d >= 0.05) deltas.push({ name: a.name, pid, cpuS: Math.round(d * 100) / 100 });
  }
  return deltas.sort((x, y) => y.cpuS - x.cpuS).slice(0, 5);
}

/**
 * Run a command (unmeasured) and return its output; throws on failure unless allowFail.
 * @param {CommandSpec & {allowFail?: boolean, inherit?: boolean}} spec
 */
export function runPlain(spec) {
  const r = spawnSync(spec.argv[0], spec.argv.slice(1), {
    cwd: spec.cwd,
    env: { ...process.env, ...(spec.env ?? {}) },
    stdio: spec.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) {
    if (spec.allowFail) return { ok: false, stdout: '', stderr: String(r.error), status: null };
    throw r.error;
  }
  const res = { ok: r.status === 0, stdout: r.stdout ?? '', stderr: r.stderr ?? '', status: r.status };
  if (!res.ok && !spec.allowFail) {
    throw new Error(`command failed (${r.status}): ${spec.argv.join(' ')}\n${(res.stderr || res.stdout).slice(-4000)}`);
  }
  return res;
}

/**
 * Repository size: recursive sum of the apparent sizes of regular files (directories themselves and
 * block rounding are not counted; hard-linked files counted once). Symlinks are not followed.
 * @param {string} dir
 * @returns {{bytes: number, files: number}}
 */
export function duBytes(dir) {
  let bytes = 0;
  let files = 0;
  if (!fs.existsSync(dir)) return { bytes: 0, files: 0 };
  const seen = new Set();
  const stack = [dir];
  while (stack.length) {
    const d = stack.pop();
    for (const ent of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, ent.name);
      if (ent.isDirectory()) stack.push(p);
      else if (ent.isFile()) {
        const st = fs.statSync(p);
        if (st.nlink > 1) {
          const key = `${st.dev}:${st.ino}`;
          if (seen.has(key)) continue;
          seen.add(key);
        }
        bytes += st.size;
        files++;
      }
    }
  }
  return { bytes, files };
}

/** Flush dirty pages so one tool's writes are not paid for during the next tool's measurement. */
export function syncFs() {
  spawnSync('sync', [], { stdio: 'ignore' });
}

/**
 * Warm-up read: `cat` every regular file under dir to /dev/null so both tools read from the page cache.
 * @param {string} dir
 * @returns {number} seconds taken
 */
export function warmCache(dir) {
  const t0 = performance.now();
  runPlain({ argv: ['sh', '-c', 'find . -type f -print0 | xargs -0 -r cat > /dev/null'], cwd: dir });
  return (performance.now() - t0) / 1000;
}

/**
 * Locate an executable on PATH (or an absolute path).
 * @param {string} name
 * @returns {string|null}
 */
export function which(name) {
  if (name.includes('/')) return isExecutable(name) ? name : null;
  for (const dir of (process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(':')) {
    const p = path.join(dir || '.', name);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p) {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

let aptUpdated = false;

/**
 * Make sure a program exists, installing its Debian package with apt-get if it is missing.
 * Prints what it does. Returns the path, or null with a reason when it cannot be installed.
 * @param {string} program   executable name or absolute path
 * @param {string} pkg       Debian package providing it
 * @param {(msg: string) => void} log
 * @returns {{path: string|null, reason?: string, installed?: boolean}}
 */
export function ensureProgram(program, pkg, log) {
  const found = which(program);
  if (found) return { path: found };
  const apt = which('apt-get');
  if (!apt) return { path: null, reason: `${program} missing and apt-get is not available (install the "${pkg}" package)` };
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  const prefix = isRoot ? [] : which('sudo') ? ['sudo', '-n'] : null;
  if (!prefix) return { path: null, reason: `${program} missing; not root and no sudo to run apt-get install ${pkg}` };
  const env = { DEBIAN_FRONTEND: 'noninteractive' };
  if (!aptUpdated) {
    log(`[setup] ${program} not found: running ${[...prefix, 'apt-get', 'update'].join(' ')}`);
    const u = runPlain({ argv: [...prefix, 'apt-get', 'update'], env, allowFail: true, inherit: true });
    if (!u.ok) log('[setup] apt-get update failed; trying the install anyway');
    aptUpdated = true;
  }
  log(`[setup] installing Debian package "${pkg}" for ${program}: ${[...prefix, 'apt-get', 'install', '-y', '--no-install-recommends', pkg].join(' ')}`);
  const r = runPlain({ argv: [...prefix, 'apt-get', 'install', '-y', '--no-install-recommends', pkg], env, allowFail: true, inherit: true });
  const after = which(program);
  if (!r.ok || !after) return { path: null, reason: `apt-get install ${pkg} failed (exit ${r.status})` };
  log(`[setup] installed ${pkg}: ${after}`);
  return { path: after, installed: true };
}
