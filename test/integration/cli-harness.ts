/**
 * Runs the real `chrono-backup` CLI (bin/chrono-backup.js → dist/) in child processes for integration
 * tests: isolated temporary homes, async spawning with timeouts, JSON parsing with readable failures,
 * random test data, and listings of a repository's files. Every process and directory a test creates
 * through this module is tracked and removed by {@link cleanupAll}, by its own handle only.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PruneResult } from '../../src/app/prune-repository.js';
import type { RepositoryStats } from '../../src/app/repository-stats.js';
import type { VerifyResult } from '../../src/app/verify-repository.js';

export const PROJECT_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(PROJECT_ROOT, 'bin', 'chrono-backup.js');

/** Exit codes of src/cli/exit-codes.ts, repeated here so a change there is a visible test change. */
export const EXIT = { ok: 0, failure: 1, usage: 2, partial: 3, notFound: 4, integrity: 5, keyAccess: 6, locked: 7, storage: 8, conflict: 9 } as const;

const DEFAULT_TIMEOUT_MS = 60_000;

export interface CliResult {
  args: string[];
  /** Exit code, or null when the process ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** Started and ended, in ms since the epoch: lets tests order concurrent runs. */
  startedAt: number;
  endedAt: number;
  timedOut: boolean;
}

export interface RunningCli {
  child: ChildProcess;
  pid: number;
  /** Settles when the process has exited (never rejects). */
  result: Promise<CliResult>;
  exited: boolean;
  signal(signal: NodeJS.Signals): void;
  /** What the process has written to stderr so far (to wait for a readiness line). */
  stderrSoFar(): string;
}

export interface RunOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
}

const started = new Set<RunningCli>();
const directories = new Set<string>();

/** Starts the CLI without waiting. A process still running after `timeoutMs` is killed (SIGKILL). */
export function startCli(args: string[], options: RunOptions): RunningCli {
  if (!existsSync(join(PROJECT_ROOT, 'dist', 'cli', 'main.js'))) throw new Error('dist/ is missing: run `npm run build` before the integration tests');
  const startedAt = Date.now();
  const child = spawn(process.execPath, [CLI, ...args], { env: options.env, cwd: options.cwd ?? PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start the CLI: ${args.join(' ')}`);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  const running: RunningCli = {
    child,
    pid: child.pid,
    exited: false,
    result: new Promise<CliResult>((resolve) => {
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        running.exited = true;
        started.delete(running);
        const endedAt = Date.now();
        resolve({ args, code, signal, stdout, stderr, durationMs: endedAt - startedAt, startedAt, endedAt, timedOut });
      });
    }),
    signal(signal) {
      if (!running.exited) child.kill(signal);
    },
    stderrSoFar: () => stderr,
  };
  started.add(running);
  return running;
}

export function runCli(args: string[], options: RunOptions): Promise<CliResult> {
  return startCli(args, options).result;
}

/** A one-line description of a run with its output, for assertion messages. */
export function describeRun(result: CliResult): string {
  const status = result.timedOut ? 'timed out' : result.signal ? `signal ${result.signal}` : `exit ${result.code}`;
  return `\`chrono-backup ${result.args.join(' ')}\` → ${status} after ${result.durationMs} ms\n--- stdout\n${result.stdout.slice(0, 4000)}\n--- stderr\n${result.stderr.slice(0, 4000)}`;
}

/** Throws a readable error unless the run exited with `code`. */
export function expectExit(result: CliResult, code: number): CliResult {
  if (result.code !== code || result.timedOut) throw new Error(`expected exit ${code}: ${describeRun(result)}`);
  return result;
}

export function parseJson<T>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON: ${describeRun(result)}`);
  }
}

export interface CliErrorJson {
  code: string;
  message: string;
  details?: Record<string, unknown>;
}

/** The `{ error: { code, message, details } }` a failing `--json` run prints on stdout. */
export function errorJson(result: CliResult): CliErrorJson {
  const parsed = parseJson<{ error?: CliErrorJson }>(result);
  if (!parsed.error) throw new Error(`no error object on stdout: ${describeRun(result)}`);
  return parsed.error;
}

/** Only what the runs need: nothing of the developer's own Chrono Backup configuration leaks in. */
function baseEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('CHRONO_BACKUP_') || name.startsWith('BACKUP_') || name === 'NODE_OPTIONS') continue;
    env[name] = value;
  }
  return env;
}

export async function makeTempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), `chrono-it-${prefix}-`));
  directories.add(dir);
  return dir;
}

/**
 * One isolated installation: CHRONO_BACKUP_HOME=`<root>/home` (repository `home/repo`, catalog, key)
 * and HOME=`<root>` so nothing can reach the real `~/.chrono-backup`. `<root>/work` is for sources and
 * restore targets.
 */
export class CliHome {
  readonly home: string;
  readonly repo: string;
  readonly keyPath: string;
  readonly work: string;

  constructor(
    readonly root: string,
    private readonly defaults: Record<string, string | undefined> = {},
  ) {
    this.home = join(root, 'home');
    this.repo = join(this.home, 'repo');
    this.keyPath = join(this.home, 'key');
    this.work = join(root, 'work');
  }

  env(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = { ...baseEnv(), HOME: this.root, CHRONO_BACKUP_HOME: this.home };
    for (const [name, value] of Object.entries({ ...this.defaults, ...extra })) {
      if (value === undefined) delete env[name];
      else env[name] = value;
    }
    return env;
  }

  path(...parts: string[]): string {
    return join(this.work, ...parts);
  }

  start(args: string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): RunningCli {
    return startCli(args, { env: this.env(options.env), ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  }

  run(args: string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<CliResult> {
    return this.start(args, options).result;
  }

  /** Runs with `--json`, expects exit 0 and returns the parsed output. */
  async json<T>(args: string[], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<T> {
    return parseJson<T>(expectExit(await this.run([...args, '--json'], options), EXIT.ok));
  }

  async backup(paths: string[], extra: string[] = [], options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<BackupJson> {
    return this.json<BackupJson>(['backup', ...paths, ...extra], options);
  }

  async snapshots(options: { env?: Record<string, string | undefined> } = {}): Promise<SnapshotJson[]> {
    return this.json<SnapshotJson[]>(['snapshots'], options);
  }

  /** A copy of this installation (repository, catalog, key) to damage without touching the original. */
  async clone(name: string): Promise<CliHome> {
    const root = await makeTempDir(name);
    await cp(this.home, join(root, 'home'), { recursive: true, preserveTimestamps: true });
    await mkdir(join(root, 'work'), { recursive: true });
    return new CliHome(root, this.defaults);
  }
}

export interface SnapshotJson {
  id: string;
  backupId: string;
  type: string;
  source: string;
  time: string;
  paths: string[];
  tree: string;
  keyId: string;
  size: number;
  stats: { items: number; totalBytes: number; bytesRead: number; bytesAdded: number; bytesStored: number; blobsAdded: number; durationMs: number };
}

export interface BackupJson {
  id: string;
  snapshots: SnapshotJson[];
  warnings: string[];
}




/** A fresh installation; `defaults` are environment variables set on every run (e.g. a passphrase). */
export async function createHome(name: string, defaults: Record<string, string | undefined> = {}): Promise<CliHome> {
  const root = await makeTempDir(name);
  await mkdir(join(root, 'work'), { recursive: true });
  return new CliHome(root, defaults);
}

/** Kills (SIGKILL) every CLI process this module started that still runs, and removes every temp dir. */
export async function cleanupAll(): Promise<void> {
  const pending = [...started];
  for (const running of pending) running.signal('SIGKILL');
  await Promise.all(pending.map((running) => running.result));
  await Promise.all([...directories].map((dir) => rm(dir, { recursive: true, force: true })));
  directories.clear();
}

// ---- data ----

const FILL_CHUNK = 4 * 1024 * 1024;

/** Streams `bytes` of incompressible random data into a new file, 4 MiB at a time. */
export async function writeRandomFile(path: string, bytes: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const handle = await open(path, 'w');
  try {
    const buffer = Buffer.allocUnsafe(Math.min(FILL_CHUNK, Math.max(1, bytes)));
    for (let done = 0; done < bytes; ) {
      const n = Math.min(buffer.length, bytes - done);
      randomFillSync(buffer, 0, n);
      let written = 0;
      while (written < n) written += (await handle.write(buffer, written, n - written)).bytesWritten;
      done += n;
    }
  } finally {
    await handle.close();
  }
}

/** Creates files under `root`: a number is a size of random bytes, a string is the content. */
export async function writeTree(root: string, files: Record<string, number | string>): Promise<void> {
  await mkdir(root, { recursive: true });
  for (const [path, content] of Object.entries(files)) {
    const target = join(root, path);
    await mkdir(dirname(target), { recursive: true });
    if (typeof content === 'number') await writeRandomFile(target, content);
    else await writeFile(target, content);
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Every entry below `root` (files, including dot-files and temporaries, and directories) as
 * `relative path → "dir" | "<size> <sha256>" | "link -> target"`: compares repositories and targets
 * byte for byte.
 */
export async function listTree(root: string): Promise<Map<string, string>> {
  const listing = new Map<string, string>();
  if (!existsSync(root)) return listing;
  for (const entry of await readdir(root, { withFileTypes: true, recursive: true })) {
    const path = join(entry.parentPath, entry.name);
    const key = relative(root, path);
    if (entry.isDirectory()) listing.set(key, 'dir');
    else if (entry.isFile()) {
      const data = await readFile(path);
      listing.set(key, `${data.length} ${sha256(data)}`);
    } else listing.set(key, entry.isSymbolicLink() ? 'link' : 'other');
  }
  return new Map([...listing].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Pack objects of a repository (`data/xx/<id>`), without the temporaries a killed upload leaves. */
export async function listPacks(repo: string): Promise<{ id: string; path: string; size: number }[]> {
  const packs: { id: string; path: string; size: number }[] = [];
  const data = join(repo, 'data');
  if (!existsSync(data)) return packs;
  for (const prefix of await readdir(data).catch(() => [] as string[])) {
    for (const name of await readdir(join(data, prefix)).catch(() => [] as string[])) {
      if (!/^[0-9a-f]{64}$/.test(name)) continue;
      const path = join(data, prefix, name);
      const info = await stat(path).catch(() => undefined);
      if (info) packs.push({ id: name, path, size: info.size });
    }
  }
  return packs;
}

/** Names of the objects directly under `<repo>/<folder>` (index, snapshots, locks …), temporaries excluded. */
export async function listObjects(repo: string, folder: string): Promise<string[]> {
  const names = await readdir(join(repo, folder)).catch(() => [] as string[]);
  return names.filter((name) => !name.startsWith('.')).sort();
}

/** Files left by interrupted writes: storage temporaries (`.~tmp-`) and restore temporaries. */
export async function listTemporaries(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const entries = await readdir(root, { recursive: true });
  return entries.filter((path) => /(^|\/)\.(~tmp-|chrono-restore-)/.test(path));
}

/** Flips every bit of the byte at `offset` (default: the middle of the file). */
export async function flipByte(path: string, offset?: number): Promise<number> {
  const handle = await open(path, 'r+');
  try {
    const { size } = await handle.stat();
    const at = offset ?? Math.floor(size / 2);
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, at);
    byte[0] = byte[0]! ^ 0xff;
    await handle.write(byte, 0, 1, at);
    return at;
  } finally {
    await handle.close();
  }
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every `intervalMs` until it returns a value other than undefined/false, or times out. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 30_000, intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** The CLI prints these use-case results as they are with `--json`. */
export type VerifyJson = VerifyResult;
export type PruneJson = PruneResult;
export type StatsJson = RepositoryStats;
