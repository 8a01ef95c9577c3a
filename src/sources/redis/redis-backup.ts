import { mkdtemp, open, rm } from 'node:fs/promises';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SourceError } from '../../domain/errors.js';
import type { StreamSink } from '../stream-files.js';
import { encodeEnd, encodeHeader, encodeRecord, KEYS_DUMP_FILE } from './keys-dump-format.js';
import { databasesWithKeys, readKeys, scanKeys, serverVersion } from './redis-keyspace.js';
import { fingerprintClient, ManifestBuilder, MANIFEST_FILE, serializeManifest, type RedisManifest } from './redis-manifest.js';
import { asRedisSourceError, connectRedis, describeRedisTarget, type RedisSecrets, type RedisTarget } from './redis-target.js';
import { RespError, type RespClient } from './resp-client.js';
import { startScratchRedis, type ScratchRedisOptions } from './scratch-redis.js';

export const RDB_FILE = 'dump.rdb';
const HEADER_TIMEOUT_MS = 60_000;

export interface RedisCaptureOptions {
  secrets?: RedisSecrets;
  /** Connect / reply timeout in ms. */
  timeoutMs?: number;
  /** `auto`: SYNC, falling back to SCAN when the server refuses it; `scan`: SCAN only. */
  method?: 'auto' | 'scan';
  /** The local redis-server used to fingerprint a captured RDB. */
  scratch?: ScratchRedisOptions;
}

export interface RedisCaptureResult {
  method: 'sync' | 'scan';
  /** True for SYNC: the RDB is one consistent moment of every database. */
  pointInTime: boolean;
  keys: number;
  /** Bytes of the data file (dump.rdb or keys.dump). */
  bytes: number;
  serverVersion: string;
  /** Why SYNC was not used (the server's error reply), when the fallback ran. */
  syncRefused?: string;
}

/**
 * Backs up a Redis server into `sink`: `dump.rdb` through the replication protocol (SYNC) when the server
 * allows it, else `keys.dump` from SCAN + DUMP (see keys-dump-format.ts); then `redis-manifest.json`.
 * Every failure is a SourceError naming the source without secrets (or the sink's own error).
 */
export async function captureRedis(target: RedisTarget, sink: StreamSink, options: RedisCaptureOptions = {}): Promise<RedisCaptureResult> {
  const label = `Redis source ${describeRedisTarget(target)}`;
  const connect = () => connectRedis(target, options.secrets, { role: 'Redis source', ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}) });
  const client = await connect();
  try {
    const version = await serverVersion(client);
    let syncRefused: string | undefined;
    if (options.method !== 'scan') {
      const synced = await captureBySync(client, await connect(), sink, target, label, version, options);
      if (synced.kind === 'done') return synced.result;
      syncRefused = synced.reason;
    }
    return { ...(await captureByScan(client, sink, target, version)), ...(syncRefused !== undefined ? { syncRefused } : {}) };
  } catch (error) {
    throw asRedisSourceError(error, label);
  } finally {
    await client.close();
  }
}

/**
 * SYNC, as an old-style replica: the server answers (after newline keep-alives while it saves) with
 * `$<length>\r\n` and exactly that many RDB bytes, then the replication stream, which we do not read.
 * We do not announce `capa eof`, so the server never uses the diskless `$EOF:<marker>` form with us.
 */
async function captureBySync(
  client: RespClient,
  replica: RespClient,
  sink: StreamSink,
  target: RedisTarget,
  label: string,
  version: string,
  options: RedisCaptureOptions,
): Promise<{ kind: 'done'; result: RedisCaptureResult } | { kind: 'refused'; reason: string }> {
  const { socket, pending } = replica.sendAndTakeOver(['SYNC']);
  const reader = new SocketReader(socket, pending, label);
  // The RDB is kept in a private temporary file as it streams, so a local scratch server can fingerprint
  // exactly what was captured (the live server moves on meanwhile).
  const dir = await mkdtemp(join(tmpdir(), 'chrono-redis-'));
  try {
    // While it saves, the server sends a newline every second; silence means it is gone. The limit holds
    // for the header only: later the socket may rightly sit idle while the repository paces our reads.
    socket.setTimeout(HEADER_TIMEOUT_MS, () => socket.destroy(new Error(`no reply to SYNC within ${HEADER_TIMEOUT_MS} ms`)));
    const header = await reader.header();
    socket.setTimeout(0);
    if (header.startsWith('-')) return { kind: 'refused', reason: header.slice(1, 300) };
    const length = /^\$(\d+)$/.exec(header)?.[1];
    if (length === undefined) throw new SourceError('redis.protocol', `${label}: unexpected reply to SYNC (${JSON.stringify(header.slice(0, 40))})`);
    const total = Number(length);
    const file = await open(join(dir, RDB_FILE), 'wx', 0o600);
    let bytes: number;
    try {
      bytes = await sink.add(RDB_FILE, reader.exactly(total, (chunk) => file.write(chunk).then(() => undefined)));
    } finally {
      await file.close();
    }
    if (bytes !== total) throw new SourceError('redis.protocol', `${label}: the RDB stream was ${bytes} bytes, the server announced ${total}`);
    socket.destroy();
    const manifest = await fingerprintRdb(dir, client, target, version, options);
    await sink.add(MANIFEST_FILE, once(serializeManifest(manifest)));
    return { kind: 'done', result: { method: 'sync', pointInTime: true, keys: manifest.keyCount, bytes, serverVersion: version } };
  } finally {
    socket.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The manifest of a captured RDB, from a scratch server loaded with it. When no local redis-server can
 * load it (not installed, or older than the source's RDB version) the live server is fingerprinted
 * instead, and the manifest says so (`digestsFrom: live`).
 */
async function fingerprintRdb(dir: string, client: RespClient, target: RedisTarget, version: string, options: RedisCaptureOptions): Promise<RedisManifest> {
  const header = { method: 'sync', pointInTime: true } as const;
  let scratch;
  try {
    scratch = await startScratchRedis(dir, { databases: await databaseCount(client), ...options.scratch });
  } catch (error) {
    if (!(error instanceof SourceError)) throw error;
    return { ...(await fingerprintClient(client, { ...header, digestsFrom: 'live' }, target.db)), serverVersion: version };
  }
  try {
    const local = await scratch.connect();
    try {
      return { ...(await fingerprintClient(local, { ...header, digestsFrom: 'snapshot' }, target.db, false)), serverVersion: version };
    } finally {
      await local.close();
    }
  } finally {
    await scratch.stop();
  }
}

/** How many databases the source has (CONFIG GET may be refused: then the highest one holding keys). */
async function databaseCount(client: RespClient): Promise<number> {
  try {
    const reply = (await client.call('CONFIG', 'GET', 'databases')) as Buffer[];
    if (reply[1] !== undefined) return Number(reply[1].toString());
  } catch (error) {
    if (!(error instanceof RespError)) throw error;
  }
  return Math.max(0, ...(await databasesWithKeys(client))) + 1;
}

async function captureByScan(client: RespClient, sink: StreamSink, target: RedisTarget, version: string): Promise<RedisCaptureResult> {
  const builder = new ManifestBuilder();
  let count = 0;
  async function* records(): AsyncGenerator<Buffer> {
    yield encodeHeader();
    for (const db of await databasesWithKeys(client, target.db)) {
      await client.call('SELECT', db);
      // SCAN may return a key more than once; each is stored once.
      const seen = new Set<string>();
      for await (const keys of scanKeys(client)) {
        const fresh = keys.filter((key) => !seen.has(key.toString('latin1')));
        const batch = await readKeys(client, fresh, { payload: true, digest: true });
        const readAt = Date.now();
        const encoded: Buffer[] = [];
        for (const record of batch) {
          seen.add(record.key.toString('latin1'));
          builder.add(db, record);
          encoded.push(encodeRecord({ db, key: record.key, expireAt: record.ttlMs < 0 ? -1 : readAt + record.ttlMs, payload: record.payload! }));
          count++;
        }
        if (encoded.length > 0) yield Buffer.concat(encoded);
      }
    }
    yield encodeEnd(count);
  }
  const bytes = await sink.add(KEYS_DUMP_FILE, records());
  const manifest = builder.finish({ serverVersion: version, method: 'scan', pointInTime: false, digestsFrom: 'snapshot' });
  await sink.add(MANIFEST_FILE, once(serializeManifest(manifest)));
  return { method: 'scan', pointInTime: false, keys: manifest.keyCount, bytes, serverVersion: version };
}

async function* once(bytes: Buffer): AsyncGenerator<Buffer> {
  yield bytes;
}

/** Reads a socket handed over after SYNC: the reply line, then a counted byte stream. */
class SocketReader {
  private readonly chunks: AsyncIterator<Buffer>;
  private rest: Buffer;

  constructor(
    socket: Socket,
    pending: Buffer,
    private readonly label: string,
  ) {
    this.chunks = socket[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
    this.rest = pending;
  }

  /** The first reply line, after the bare newlines a server sends while it prepares the RDB. */
  async header(): Promise<string> {
    while (true) {
      let start = 0;
      while (start < this.rest.length && this.rest[start] === 0x0a) start++;
      this.rest = this.rest.subarray(start);
      const end = this.rest.indexOf('\r\n');
      if (end >= 0) {
        const line = this.rest.toString('latin1', 0, end);
        this.rest = this.rest.subarray(end + 2);
        return line;
      }
      if (this.rest.length > 1024) throw new SourceError('redis.protocol', `${this.label}: unexpected reply to SYNC (no line end)`);
      const next = await this.chunks.next().catch((error: unknown) => {
        throw new SourceError('redis.sync_broken', `${this.label}: the replication link failed before the RDB started: ${(error as Error).message}`, { cause: error, retryable: true });
      });
      if (next.done) throw new SourceError('redis.protocol', `${this.label}: the server closed the connection after SYNC`);
      this.rest = Buffer.concat([this.rest, next.value]);
    }
  }

  /** Exactly `length` bytes, each chunk also passed to `tee` before it is yielded. */
  async *exactly(length: number, tee: (chunk: Buffer) => Promise<void>): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      let chunk: Buffer;
      if (this.rest.length > 0) {
        chunk = this.rest;
        this.rest = Buffer.alloc(0);
      } else {
        const next = await this.chunks.next().catch((error: unknown) => {
          throw new SourceError('redis.sync_broken', `${this.label}: the replication link failed after ${length - left} of ${length} RDB bytes`, { cause: error, retryable: true });
        });
        if (next.done) {
          // A slow reader lets the server's replica output buffer fill up, and the server then drops us.
          throw new SourceError('redis.sync_broken', `${this.label}: the server closed the replication link after ${length - left} of ${length} RDB bytes (client-output-buffer-limit replica?)`, { retryable: true });
        }
        chunk = next.value;
      }
      if (chunk.length > left) chunk = chunk.subarray(0, left);
      left -= chunk.length;
      await tee(chunk);
      yield chunk;
    }
  }
}
