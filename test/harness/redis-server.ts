import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { freePort, spawnUntilReady } from './child-process.js';

const run = promisify(execFile);

const REDIS_SERVER = 'redis-server';

export interface RedisServerOptions {
  /** Password of the `default` user (`requirepass`). */
  requirepass?: string;
  /** ACL users, each as the rest of a `user` config line, e.g. `backup on >secret ~* &* +@all -sync -psync`. */
  users?: string[];
  /** A data directory to start on (it may hold a dump.rdb); a fresh temporary one by default. */
  dir?: string;
  /** Serve TLS only, with a fresh self-signed certificate for `localhost` and 127.0.0.1. */
  tls?: boolean;
  /** More config lines, e.g. `rename-command SYNC ""` to play a managed service. */
  config?: string[];
}

/** A running redis-server and how to stop it. */
export interface RedisServerHandle {
  host: string;
  port: number;
  /** The data directory (removed by `stop` when the harness created it). */
  dir: string;
  /** `redis://127.0.0.1:<port>` (`rediss://` with TLS; plus `/db` when given). */
  url: (db?: number) => string;
  /** The PEM certificate that signs the server's TLS certificate (with `tls`). */
  caFile?: string;
  stop: () => Promise<void>;
}

/**
 * Starts Debian's redis-server on 127.0.0.1 and a free port, with its own config file in a temporary
 * directory: no persistence (save points off, no AOF), so a test's data lives only in memory unless the
 * test asks for an RDB. scripts/install-system-deps.sh installs the redis-server package.
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  const confDir = await mkdtemp(join(tmpdir(), 'chrono-redis-test-'));
  const dir = options.dir ?? confDir;
  const caFile = join(confDir, 'cert.pem');
  if (options.tls) {
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(confDir, 'key.pem'), '-out', caFile]);
  }
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const config = join(confDir, 'redis.conf');
    await writeFile(
      config,
      [
        ...(options.tls
          ? ['port 0', `tls-port ${port}`, `tls-cert-file ${caFile}`, `tls-key-file ${join(confDir, 'key.pem')}`, 'tls-auth-clients no']
          : [`port ${port}`]),
        'bind 127.0.0.1',
        `dir ${dir}`,
        'dbfilename dump.rdb',
        'save ""',
        'appendonly no',
        'daemonize no',
        'logfile ""',
        'loglevel warning',
        ...(options.requirepass !== undefined ? [`requirepass ${options.requirepass}`] : []),
        ...(options.users ?? []).map((user) => `user ${user}`),
        ...(options.config ?? []),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    try {
      const { handle } = await spawnUntilReady(REDIS_SERVER, [config], () => answers(port, options.tls === true), { timeoutMs: 10_000 });
      return {
        host: '127.0.0.1',
        port,
        dir,
        url: (db) => `${options.tls ? 'rediss' : 'redis'}://127.0.0.1:${port}${db === undefined ? '' : `/${db}`}`,
        ...(options.tls ? { caFile } : {}),
        stop: async () => {
          await handle.stop();
          await rm(confDir, { recursive: true, force: true });
        },
      };
    } catch (error) {
      // Another process may have taken the port between freePort and the bind: try another.
      if (attempt >= 3) {
        await rm(confDir, { recursive: true, force: true });
        throw error;
      }
    }
  }
}

/** True once the server on `port` answers PING (NOAUTH counts: it is up, it just wants a password). */
function answers(port: number, tls: boolean): Promise<true | undefined> {
  return new Promise((resolve) => {
    const socket: Socket = tls ? tlsConnect({ port, host: '127.0.0.1', rejectUnauthorized: false }) : connect(port, '127.0.0.1');
    const finish = (value: true | undefined) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(1000, () => finish(undefined));
    socket.once(tls ? 'secureConnect' : 'connect', () => socket.write('PING\r\n'));
    socket.once('data', (chunk: Buffer) => {
      const reply = chunk.toString();
      finish(reply.startsWith('+PONG') || reply.startsWith('-NOAUTH') ? true : undefined);
    });
    socket.once('error', () => finish(undefined));
  });
}
