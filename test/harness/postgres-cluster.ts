import { execFile } from 'node:child_process';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, spawnUntilReady, type ChildHandle } from './child-process.js';

const run = promisify(execFile);
const BIN = process.env.CHRONO_PG_BIN ?? '/usr/lib/postgresql/15/bin';

/** A throwaway PostgreSQL cluster and how to reach and stop it. */
export interface PostgresClusterHandle {
  host: string;
  port: number;
  /** The superuser; TCP logins need `password` (scram-sha-256). */
  user: string;
  password: string;
  /** `postgres://user@host:port/db` — no password: clients take it from PGPASSWORD. */
  url: (database?: string) => string;
  /** The environment a client needs (PGPASSWORD set). */
  env: NodeJS.ProcessEnv;
  /** Runs SQL through psql as the superuser and returns its unaligned, tuples-only output. */
  psql: (sql: string, database?: string) => Promise<string>;
  stop: () => Promise<void>;
}

export interface PostgresClusterOptions {
  /** Extra initdb arguments, e.g. `--wal-segsize=1` (1 MiB WAL segments). */
  initdbArgs?: string[];
  /** Extra server settings, `name=value` (archive_mode=on, archive_command=…). */
  settings?: string[];
}

/**
 * initdb + postgres on 127.0.0.1 and a free port, in a temporary directory, owned by the `postgres`
 * account when the tests run as root (PostgreSQL refuses to run as root). TCP logins use
 * scram-sha-256 so wrong passwords fail as they do in production; durability is off (fsync,
 * synchronous_commit) because the cluster is thrown away.
 */
export async function startPostgresCluster(options: PostgresClusterOptions = {}): Promise<PostgresClusterHandle> {
  const root = await mkdtemp(join(tmpdir(), 'chrono-pg-'));
  const asRoot = userInfo().uid === 0;
  const password = `pw-${Math.random().toString(36).slice(2)}`;
  const owner = asRoot ? await postgresAccount() : undefined;
  const prefix = (command: string) => (owner ? ['runuser', ['-u', 'postgres', '--', command]] : [command, []]) as [string, string[]];
  await writeFile(join(root, 'pwfile'), `${password}\n`);
  if (owner) {
    await chown(root, owner.uid, owner.gid);
    await chown(join(root, 'pwfile'), owner.uid, owner.gid);
  }
  await chmod(root, 0o700);
  const data = join(root, 'data');
  const [initCommand, initPrefix] = prefix(join(BIN, 'initdb'));
  await run(initCommand, [...initPrefix, '-D', data, '-U', 'postgres', '--pwfile', join(root, 'pwfile'), '--auth-host=scram-sha-256', '--auth-local=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync', ...(options.initdbArgs ?? [])], { timeout: 60_000 });
  const port = await freePort();
  const [serverCommand, serverPrefix] = prefix(join(BIN, 'postgres'));
  const settings = ['-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${root}`, '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'shared_buffers=128MB', '-c', 'max_wal_size=2GB', ...(options.settings ?? []).flatMap((setting) => ['-c', setting])];
  const { handle } = await spawnUntilReady(serverCommand, [...serverPrefix, '-D', data, '-p', String(port), ...settings], (output) => (output.includes('ready to accept connections') ? true : undefined), { timeoutMs: 60_000 });
  const env = { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '10' };
  const psql = async (sql: string, database = 'postgres') => {
    const { stdout } = await run('psql', ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', database, '-c', sql], { env, maxBuffer: 256 * 1024 * 1024 });
    return stdout.trim();
  };
  return {
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    url: (database = 'postgres') => `postgres://postgres@127.0.0.1:${port}/${database}`,
    env,
    psql,
    stop: () => stopCluster(handle, root),
  };
}

async function stopCluster(handle: ChildHandle, root: string): Promise<void> {
  // SIGINT is PostgreSQL's "fast" shutdown: it ends sessions at once and exits cleanly.
  handle.child.kill('SIGINT');
  await handle.stop(10_000);
  await rm(root, { recursive: true, force: true });
}

async function postgresAccount(): Promise<{ uid: number; gid: number }> {
  const { stdout } = await run('id', ['-u', 'postgres']);
  const { stdout: group } = await run('id', ['-g', 'postgres']);
  return { uid: Number(stdout.trim()), gid: Number(group.trim()) };
}
