import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { SourceError } from '../../domain/errors.js';
import { RespClient, RespError } from './resp-client.js';

/**
 * A private, throw-away `redis-server` that loads an RDB file, so its keys can be read with ordinary
 * commands (DUMP, PTTL, reads for digests). It listens on a unix socket inside `dir` only (no TCP port):
 * nothing else on the machine can reach it, and there is no race for a free port. It never saves.
 */
export interface ScratchRedis {
  connect(): Promise<RespClient>;
  stop(): Promise<void>;
}

export interface ScratchRedisOptions {
  /** The binary; `redis-server` from PATH by default. */
  binary?: string;
  /** How many logical databases the RDB may use (it refuses to load a higher db number). */
  databases?: number;
  /** How long loading may take before giving up. */
  timeoutMs?: number;
}

/** Starts a scratch server on `dir`, which holds `dump.rdb` (or nothing, for an empty server). */
export async function startScratchRedis(dir: string, options: ScratchRedisOptions = {}): Promise<ScratchRedis> {
  const socketPath = join(dir, 'redis.sock');
  const binary = options.binary ?? 'redis-server';
  const args = [
    '--port', '0',
    '--unixsocket', socketPath,
    '--unixsocketperm', '700',
    '--dir', dir,
    '--dbfilename', 'dump.rdb',
    '--save', '',
    '--appendonly', 'no',
    '--databases', String(Math.max(16, options.databases ?? 16)),
    '--daemonize', 'no',
    '--logfile', '',
    '--loglevel', 'warning',
  ]; // prettier-ignore
  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  child.stderr.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-4000)));
  let exited = false;
  let spawnError: NodeJS.ErrnoException | undefined;
  const exit = new Promise<void>((done) => {
    child.once('exit', () => {
      exited = true;
      done();
    });
    child.once('error', (error: NodeJS.ErrnoException) => {
      spawnError = error;
      exited = true;
      done();
    });
  });
  const stop = async () => {
    if (exited) return;
    // SIGTERM makes redis-server save when save points are set; there are none, so it just exits.
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exit;
    clearTimeout(timer);
  };
  const connect = () => RespClient.connect({ path: socketPath, timeoutMs: 10_000 });
  const deadline = Date.now() + (options.timeoutMs ?? 600_000);
  while (true) {
    if (exited) {
      if (spawnError?.code === 'ENOENT') throw new SourceError('redis.no_server_binary', `${binary} is not installed: it is needed to read an RDB snapshot (Debian package redis-server)`, { cause: spawnError });
      throw new SourceError('redis.scratch_failed', `the scratch redis-server could not load the snapshot: ${output.trim().split('\n').slice(-3).join(' | ')}`);
    }
    if (Date.now() > deadline) {
      await stop();
      throw new SourceError('redis.scratch_failed', 'the scratch redis-server did not finish loading the snapshot in time');
    }
    const ready = await connect()
      .then(async (client) => {
        try {
          return (await client.call('PING')) === 'PONG';
        } catch (error) {
          if (error instanceof RespError && error.prefix === 'LOADING') return false;
          throw error;
        } finally {
          await client.close();
        }
      })
      .catch(() => false);
    if (ready) return { connect, stop };
    await new Promise((done) => setTimeout(done, 20));
  }
}
