import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConflictError, NotFoundError, SourceError, ValidationError } from '../../src/domain/errors.js';
import { captureRedis } from '../../src/sources/redis/redis-backup.js';
import { compareRedisManifests, type RedisManifest } from '../../src/sources/redis/redis-manifest.js';
import { fingerprintRedis, readRedisManifest, restoreRedis, writeRdbToDirectory } from '../../src/sources/redis/redis-restore.js';
import { parseRedisTarget, type RedisSecrets, type RedisTarget } from '../../src/sources/redis/redis-target.js';
import { RespClient, type RespArg } from '../../src/sources/redis/resp-client.js';
import type { StreamFiles, StreamSink } from '../../src/sources/stream-files.js';
import { freePort } from '../harness/child-process.js';
import { startRedisServer, type RedisServerHandle } from '../harness/redis-server.js';

const SOURCE_PASSWORD = 'source-pw-7d1c';
const NOSYNC_PASSWORD = 'nosync-pw-93ab';

/** A snapshot held in memory: the sink a backup writes to and the files a restore reads. */
class MemorySnapshot implements StreamSink, StreamFiles {
  readonly files = new Map<string, Buffer>();

  async add(name: string, stream: AsyncIterable<Uint8Array>): Promise<number> {
    const parts: Buffer[] = [];
    for await (const part of stream) parts.push(Buffer.from(part));
    const content = Buffer.concat(parts);
    this.files.set(name, content);
    return content.length;
  }

  names(): string[] {
    return [...this.files.keys()].sort();
  }

  size(name: string): number | undefined {
    return this.files.get(name)?.length;
  }

  async *open(name: string): AsyncIterable<Buffer> {
    const content = this.files.get(name);
    if (content === undefined) throw new NotFoundError('file', name);
    // Small pieces, so record and reply boundaries fall inside chunks.
    for (let at = 0; at < content.length; at += 7001) yield content.subarray(at, at + 7001);
  }
}

async function client(server: RedisServerHandle, auth: RespArg[] = []): Promise<RespClient> {
  const connection = await RespClient.connect({ host: server.host, port: server.port });
  if (auth.length > 0) await connection.call('AUTH', ...auth);
  return connection;
}

const BINARY_KEY = Buffer.from([0xff, 0x00, 0xfe, 0x6b, 0x0d, 0x0a]);
const BINARY_VALUE = Buffer.from(Array.from({ length: 256 }, (_, i) => 255 - i));
const TTL_KEYS: [number, string][] = [
  [0, 'session:1'],
  [0, 'session:2'],
  [3, 'cache:db3'],
];

/** Every data type, binary keys and values, TTLs, two databases, and enough keys for several SCAN pages. */
async function seed(redis: RespClient): Promise<void> {
  const commands: RespArg[][] = [
    ['SELECT', 0],
    ['SET', 'greeting', 'hello'],
    ['SET', BINARY_KEY, BINARY_VALUE],
    ['SET', 'big', Buffer.alloc(300_000, 'x')],
    ['HSET', 'user:1', 'name', 'Ada', 'lang', 'en', Buffer.from([0x80, 0x81]), Buffer.from([0x00, 0xc3])],
    ['RPUSH', 'queue', 'a', 'b', 'c', BINARY_VALUE],
    ['SADD', 'tags', 'x', 'y', 'z', Buffer.from([0xfe])],
    ['ZADD', 'scores', 1.5, 'alice', -3, 'bob', 10, Buffer.from([0xc0, 0x00])],
    ['XADD', 'events', '1-1', 'type', 'login', 'user', 'ada'],
    ['XADD', 'events', '2-0', 'type', 'logout', 'payload', BINARY_VALUE],
    ['SET', 'session:1', 'token-a', 'PX', 60_000],
    ['HSET', 'session:2', 'user', 'ada'],
    ['EXPIRE', 'session:2', 300],
    ...Array.from({ length: 600 }, (_, i) => ['SET', `item:${i}`, `value-${i}`]),
    ['SELECT', 3],
    ['SET', 'other', 'in db 3'],
    ['SET', 'cache:db3', 'short-lived', 'EX', 120],
    ['SET', 'greeting', 'hello from db 3'],
  ];
  for (const reply of await redis.pipeline(commands)) expect(reply).not.toBeInstanceOf(Error);
}

async function ttls(redis: RespClient): Promise<number[]> {
  const result: number[] = [];
  for (const [db, key] of TTL_KEYS) {
    await redis.call('SELECT', db);
    result.push(Number(await redis.call('PTTL', key)));
  }
  return result;
}

function expectSameData(expected: RedisManifest, actual: RedisManifest): void {
  expect(compareRedisManifests(expected, actual)).toEqual([]);
  expect(actual.keyCount).toBe(expected.keyCount);
}

describe('Redis source', () => {
  let source: RedisServerHandle;
  let target: RedisServerHandle;
  let sourceAdmin: RespClient;
  let targetAdmin: RespClient;
  let sourceTarget: RedisTarget;
  let restoreTarget: RedisTarget;
  let sourceManifest: RedisManifest;
  let sourceTtls: number[];
  const secrets: RedisSecrets = { password: SOURCE_PASSWORD };

  beforeAll(async () => {
    [source, target] = await Promise.all([
      startRedisServer({ requirepass: SOURCE_PASSWORD, users: [`nosync on >${NOSYNC_PASSWORD} ~* &* +@all -sync -psync`] }),
      startRedisServer(),
    ]);
    sourceAdmin = await client(source, [SOURCE_PASSWORD]);
    targetAdmin = await client(target);
    await seed(sourceAdmin);
    sourceTarget = parseRedisTarget(source.url());
    restoreTarget = parseRedisTarget(target.url());
    sourceManifest = await fingerprintRedis(sourceTarget, { secrets });
    sourceTtls = await ttls(sourceAdmin);
  });

  afterAll(async () => {
    await sourceAdmin?.close();
    await targetAdmin?.close();
    await Promise.all([source?.stop(), target?.stop()]);
  });

  beforeEach(async () => {
    await targetAdmin.call('FLUSHALL');
  });

  it('captures a point-in-time RDB with SYNC and restores every key, type, value and TTL into another server', async () => {
    const snapshot = new MemorySnapshot();
    const result = await captureRedis(sourceTarget, snapshot, { secrets });
    expect(result).toEqual({ method: 'sync', pointInTime: true, keys: sourceManifest.keyCount, bytes: snapshot.size('dump.rdb'), serverVersion: expect.stringMatching(/^\d+\.\d+/) });
    expect(snapshot.names()).toEqual(['dump.rdb', 'redis-manifest.json']);
    expect(snapshot.files.get('dump.rdb')!.subarray(0, 5).toString()).toBe('REDIS');

    const manifest = await readRedisManifest(snapshot);
    expect(manifest).toMatchObject({ method: 'sync', pointInTime: true, digestsFrom: 'snapshot', keyCount: sourceManifest.keyCount, databases: { '0': sourceManifest.databases['0'], '3': 3 } });
    expectSameData(manifest, sourceManifest);
    expect(manifest.keys.find((entry) => entry.key === BINARY_KEY.toString('base64'))).toMatchObject({ db: 0, type: 'string', ttl: false });
    expect(new Set(manifest.keys.map((entry) => entry.type))).toEqual(new Set(['string', 'hash', 'list', 'set', 'zset', 'stream']));

    const restored = await restoreRedis(restoreTarget, snapshot, { replace: false });
    expect(restored).toEqual({ keys: sourceManifest.keyCount, expired: 0 });
    expectSameData(manifest, await fingerprintRedis(restoreTarget));
    const targetTtls = await ttls(targetAdmin);
    targetTtls.forEach((ttl, index) => expect(Math.abs(ttl - sourceTtls[index]!)).toBeLessThanOrEqual(2000));
    await targetAdmin.call('SELECT', 0);
    expect(await targetAdmin.call('GET', BINARY_KEY)).toEqual(BINARY_VALUE);
  });

  it('falls back to SCAN + DUMP when the user may not SYNC, says so, and restores the same data', async () => {
    const snapshot = new MemorySnapshot();
    const limited = parseRedisTarget(`redis://nosync@127.0.0.1:${source.port}`);
    const result = await captureRedis(limited, snapshot, { secrets: { password: NOSYNC_PASSWORD } });
    expect(result).toMatchObject({ method: 'scan', pointInTime: false, keys: sourceManifest.keyCount, bytes: snapshot.size('keys.dump') });
    expect(result.syncRefused).toMatch(/NOPERM/);
    expect(snapshot.names()).toEqual(['keys.dump', 'redis-manifest.json']);
    const manifest = await readRedisManifest(snapshot);
    expect(manifest).toMatchObject({ method: 'scan', pointInTime: false });
    expectSameData(manifest, sourceManifest);

    expect(await restoreRedis(restoreTarget, snapshot, { replace: false })).toEqual({ keys: sourceManifest.keyCount, expired: 0 });
    expectSameData(manifest, await fingerprintRedis(restoreTarget));
    const targetTtls = await ttls(targetAdmin);
    targetTtls.forEach((ttl, index) => expect(Math.abs(ttl - sourceTtls[index]!)).toBeLessThanOrEqual(2000));
  });

  it('falls back to SCAN on a server that does not know SYNC (a managed service)', async () => {
    const managed = await startRedisServer({ config: ['rename-command SYNC ""', 'rename-command PSYNC ""'] });
    try {
      const admin = await client(managed);
      await admin.pipeline([['SET', 'a', '1'], ['LPUSH', 'b', 'x', 'y']]);
      await admin.close();
      const snapshot = new MemorySnapshot();
      const result = await captureRedis(parseRedisTarget(managed.url()), snapshot);
      expect(result).toMatchObject({ method: 'scan', pointInTime: false, keys: 2, syncRefused: expect.stringMatching(/unknown command/) });
      expect(await restoreRedis(restoreTarget, snapshot, { replace: false })).toEqual({ keys: 2, expired: 0 });
      expectSameData(await readRedisManifest(snapshot), await fingerprintRedis(restoreTarget));
    } finally {
      await managed.stop();
    }
  });

  it('refuses to overwrite existing keys without replace, writing nothing, and overwrites them with replace', async () => {
    const snapshot = new MemorySnapshot();
    await captureRedis(sourceTarget, snapshot, { secrets });
    await targetAdmin.pipeline([['SELECT', 3], ['SET', 'other', 'local value'], ['SELECT', 0]]);

    const conflict = await restoreRedis(restoreTarget, snapshot, { replace: false }).catch((error: unknown) => error);
    expect(conflict).toBeInstanceOf(ConflictError);
    expect((conflict as Error).message).toMatch(/1 of the snapshot's keys \(db 3 "other"\).*--confirm-overwrite/);
    expect(await targetAdmin.call('DBSIZE')).toBe(0);
    await targetAdmin.call('SELECT', 3);
    expect(await targetAdmin.call('DBSIZE')).toBe(1);

    // The same check on a SCAN snapshot, which is restored without a scratch server.
    const scanned = new MemorySnapshot();
    await captureRedis(sourceTarget, scanned, { secrets, method: 'scan' });
    await expect(restoreRedis(restoreTarget, scanned, { replace: false })).rejects.toThrow(ConflictError);
    expect(await targetAdmin.call('DBSIZE')).toBe(1);

    await restoreRedis(restoreTarget, snapshot, { replace: true });
    await targetAdmin.call('SELECT', 3);
    expect((await targetAdmin.call('GET', 'other'))!.toString()).toBe('in db 3');
    expectSameData(sourceManifest, await fingerprintRedis(restoreTarget));
  });

  it('writes dump.rdb into a data directory that a stopped server then starts from', async () => {
    const snapshot = new MemorySnapshot();
    await captureRedis(sourceTarget, snapshot, { secrets });
    const dir = await mkdtemp(join(tmpdir(), 'chrono-redis-datadir-'));
    try {
      const written = await writeRdbToDirectory(snapshot, dir);
      expect(written).toEqual({ path: join(dir, 'dump.rdb'), bytes: snapshot.size('dump.rdb') });
      expect(await readFile(written.path)).toEqual(snapshot.files.get('dump.rdb'));
      await expect(writeRdbToDirectory(snapshot, dir)).rejects.toThrow(ConflictError);
      await writeFile(written.path, 'stale');
      await writeRdbToDirectory(snapshot, dir, { replace: true });

      const started = await startRedisServer({ dir });
      try {
        expectSameData(sourceManifest, await fingerprintRedis(parseRedisTarget(started.url())));
      } finally {
        await started.stop();
      }
      const scanned = new MemorySnapshot();
      await captureRedis(sourceTarget, scanned, { secrets, method: 'scan' });
      await expect(writeRdbToDirectory(scanned, dir, { replace: true })).rejects.toThrow(ValidationError);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('does not revive keys whose TTL ran out between the backup and the restore', async () => {
    await sourceAdmin.pipeline([['SELECT', 5], ['SET', 'ephemeral', 'soon gone', 'PX', 2000], ['SET', 'durable', 'stays']]);
    try {
      const rdb = new MemorySnapshot();
      const scanned = new MemorySnapshot();
      await captureRedis(sourceTarget, rdb, { secrets });
      await captureRedis(sourceTarget, scanned, { secrets, method: 'scan' });
      expect((await readRedisManifest(rdb)).keys.filter((entry) => entry.db === 5)).toHaveLength(2);
      while ((await sourceAdmin.call('PTTL', 'ephemeral')) !== -2) await new Promise((done) => setTimeout(done, 100));

      const onlyDb5 = parseRedisTarget(target.url(5));
      for (const snapshot of [rdb, scanned]) {
        await targetAdmin.call('FLUSHALL');
        expect(await restoreRedis(onlyDb5, snapshot, { replace: false })).toEqual({ keys: 1, expired: 1 });
        const restored = await fingerprintRedis(parseRedisTarget(target.url()));
        expect(restored.keys.map((entry) => [entry.db, Buffer.from(entry.key, 'base64').toString()])).toEqual([[5, 'durable']]);
      }
    } finally {
      await sourceAdmin.pipeline([['SELECT', 5], ['FLUSHDB'], ['SELECT', 0]]);
    }
  });

  it('reports differences between manifests: changed values, TTLs, missing and extra keys', async () => {
    const snapshot = new MemorySnapshot();
    await captureRedis(sourceTarget, snapshot, { secrets, method: 'scan' });
    await restoreRedis(restoreTarget, snapshot, { replace: false });
    await targetAdmin.pipeline([['SELECT', 0], ['LSET', 'queue', 0, 'changed'], ['PERSIST', 'session:1'], ['DEL', 'greeting'], ['SET', 'extra', '1']]);
    const differences = compareRedisManifests(await readRedisManifest(snapshot), await fingerprintRedis(restoreTarget));
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    expect(differences).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'value', db: 0, key: b64('queue') }),
        expect.objectContaining({ kind: 'ttl', db: 0, key: b64('session:1') }),
        expect.objectContaining({ kind: 'missing', db: 0, key: b64('greeting') }),
        expect.objectContaining({ kind: 'extra', db: 0, key: b64('extra') }),
      ]),
    );
    expect(differences).toHaveLength(4);
  });

  it('fails with a SourceError naming the source, never the password', async () => {
    const closedPort = await freePort();
    const unreachable = await captureRedis(parseRedisTarget(`redis://127.0.0.1:${closedPort}/0`), new MemorySnapshot(), { secrets }).catch((error: unknown) => error);
    expect(unreachable).toBeInstanceOf(SourceError);
    expect(unreachable).toMatchObject({ code: 'source.redis.unreachable', retryable: true });
    expect((unreachable as Error).message).toContain(`redis://127.0.0.1:${closedPort}/0`);

    const noPassword = await captureRedis(sourceTarget, new MemorySnapshot()).catch((error: unknown) => error);
    expect(noPassword).toBeInstanceOf(SourceError);
    expect(noPassword).toMatchObject({ code: 'source.redis.auth' });
    expect((noPassword as Error).message).toMatch(new RegExp(`redis://127\\.0\\.0\\.1:${source.port}.*REDISCLI_AUTH`));

    const wrong = 'wrong-password-5f2e';
    for (const location of [source.url(), `redis://nosync@127.0.0.1:${source.port}`]) {
      const failure = await captureRedis(parseRedisTarget(location), new MemorySnapshot(), { secrets: { password: wrong } }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(SourceError);
      expect(failure).toMatchObject({ code: 'source.redis.auth' });
      expect((failure as Error).message).toContain(`127.0.0.1:${source.port}`);
      expect(JSON.stringify({ message: (failure as Error).message, details: (failure as SourceError).details })).not.toContain(wrong);
    }

    const restoreFailure = await restoreRedis(sourceTarget, new MemorySnapshot(), { replace: false }).catch((error: unknown) => error);
    expect(restoreFailure).toBeInstanceOf(ValidationError);
  });
});

describe('Redis source over TLS', () => {
  let server: RedisServerHandle;

  beforeAll(async () => {
    server = await startRedisServer({ tls: true });
    const admin = await RespClient.connect({ host: server.host, port: server.port, tls: { rejectUnauthorized: false } });
    await admin.pipeline([['SET', 'tls:key', 'over tls'], ['HSET', 'tls:hash', 'f', 'v']]);
    await admin.close();
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('captures with SYNC over a verified TLS connection, and refuses an unverified certificate', async () => {
    const snapshot = new MemorySnapshot();
    const verified = parseRedisTarget(server.url(), { caFile: server.caFile!, servername: 'localhost' });
    expect(await captureRedis(verified, snapshot)).toMatchObject({ method: 'sync', pointInTime: true, keys: 2 });
    expect(await fingerprintRedis(parseRedisTarget(server.url(), { insecure: true }))).toMatchObject({ keyCount: 2 });

    const untrusted = await captureRedis(parseRedisTarget(server.url()), new MemorySnapshot()).catch((error: unknown) => error);
    expect(untrusted).toBeInstanceOf(SourceError);
    expect(untrusted).toMatchObject({ code: 'source.redis.tls' });
    expect((untrusted as Error).message).toContain(`rediss://127.0.0.1:${server.port}`);
  });
});
