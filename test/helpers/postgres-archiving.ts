/**
 * For tests where PostgreSQL archives through the built CLI: the CLI run as the account PostgreSQL runs
 * as (`postgres` through runuser when the tests run as root, since PostgreSQL refuses root), and a wait
 * for the archiver to get past a position.
 */
import { execFile, spawn } from 'node:child_process';
import { chmod, chown, mkdtemp } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { startPostgresCluster, type PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { CLI } from '../integration/cli-harness.js';

const run = promisify(execFile);
export const asRoot = userInfo().uid === 0;

export interface PostgresCliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

/** Runs the built CLI as PostgreSQL's account and waits for it to close its output. */
export async function cliAsPostgres(args: string[], options: { env: NodeJS.ProcessEnv; cwd: string }): Promise<PostgresCliResult> {
  const [command, prefix] = asRoot ? ['runuser', ['-u', 'postgres', '--', process.execPath]] : [process.execPath, []];
  const started = Date.now();
  const child = spawn(command, [...prefix, CLI, ...args], { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((done) => child.on('close', done));
  return { code, stdout, stderr, ms: Date.now() - started };
}

/** The uid and gid PostgreSQL runs as when the tests run as root (files it must own); undefined otherwise. */
export async function postgresOwner(): Promise<{ uid: number; gid: number } | undefined> {
  if (!asRoot) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid), gid: Number(gid) };
}

/** Waits until the segment holding `lsn` has been archived (pg_stat_archiver). */
export async function waitArchived(cluster: PostgresClusterHandle, lsn: string, timeoutMs = 30_000): Promise<void> {
  const wanted = await cluster.psql(`SELECT pg_walfile_name('${lsn}')`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const archived = await cluster.psql("SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
    if (archived.length === 24 && archived >= wanted) return;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`segment ${wanted} was not archived within ${timeoutMs} ms`);
}

const PG_BIN = process.env.CHRONO_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/**
 * A PostgreSQL 15 cluster archiving every WAL file through `archiveCommand` (e.g. the built CLI's
 * `wal-push %p`), with 1 MiB segments and a switch every second so tests fill and archive them fast.
 */
export function startArchivingCluster(archiveCommand: string): Promise<PostgresClusterHandle> {
  return startPostgresCluster({ initdbArgs: ['--wal-segsize=1'], settings: ['archive_mode=on', `archive_command=${archiveCommand}`, 'archive_timeout=1', 'wal_level=replica'] });
}

/** Stops a server a test started on a restored data directory (immediately: the copy is thrown away); never throws. */
export async function stopPostgresServer(dataDir: string): Promise<void> {
  const pgCtl = [join(PG_BIN, 'pg_ctl'), '-D', dataDir, '-m', 'immediate', '-w', 'stop'];
  await (asRoot ? run('runuser', ['-u', 'postgres', '--', ...pgCtl]) : run(pgCtl[0]!, pgCtl.slice(1))).catch(() => undefined);
}

/** A test's folder for archiving: PostgreSQL's account owns it, and the CLI's home and repository are in it. */
export interface ArchivingScratch {
  root: string;
  home: string;
  repo: string;
  /** This process's environment naming that home and repository, without settings that would point elsewhere. */
  env: NodeJS.ProcessEnv;
  /** PostgreSQL's account when the tests run as root (see {@link postgresOwner}). */
  owner: { uid: number; gid: number } | undefined;
}

/** Settings that would send the CLI to another key or repository than the scratch one. */
const FOREIGN_SETTINGS = ['CHRONO_BACKUP_KEY_FILE', 'CHRONO_BACKUP_PASSPHRASE', 'BACKUP_ENCRYPTION_KEY', 'BACKUP_LOCAL_PATH'];

/** Creates the scratch folder (mode 0700, owned by PostgreSQL's account); `unset` names more variables to leave out. */
export async function archivingScratch(prefix: string, unset: readonly string[] = []): Promise<ArchivingScratch> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const owner = await postgresOwner();
  if (owner) await chown(root, owner.uid, owner.gid);
  await chmod(root, 0o700);
  const home = join(root, 'home');
  const repo = join(root, 'repo');
  const env: NodeJS.ProcessEnv = { ...process.env, CHRONO_BACKUP_HOME: home, CHRONO_BACKUP_REPO: repo };
  for (const name of [...FOREIGN_SETTINGS, ...unset]) delete env[name];
  return { root, home, repo, env, owner };
}

/** The archive_command that pushes into the scratch repository with the built CLI: `wal-push <args> %p`, with `settings` in its environment. */
export function walPushCommand(scratch: Pick<ArchivingScratch, 'home' | 'repo'>, options: { settings?: Record<string, string>; args?: readonly string[] } = {}): string {
  const settings = Object.entries({ CHRONO_BACKUP_HOME: scratch.home, CHRONO_BACKUP_REPO: scratch.repo, ...options.settings }).map(([name, value]) => `${name}=${value}`);
  return [...settings, process.execPath, CLI, 'wal-push', ...(options.args ?? []), '%p'].join(' ');
}
