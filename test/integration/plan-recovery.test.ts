/**
 * A whole application stack through a plan: PostgreSQL, Redis, files and configuration backed up as one
 * group sharing a backup id; per-source run types; a full system recovery into other servers; a
 * restore-test of both databases; and a failing source that spares the others.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { compareRedisManifests } from '../../src/sources/redis/redis-manifest.js';
import { fingerprintRedis } from '../../src/sources/redis/redis-restore.js';
import { parseRedisTarget } from '../../src/sources/redis/redis-target.js';
import { RespClient } from '../../src/sources/redis/resp-client.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { startPostgresCluster, type PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { startRedisServer, type RedisServerHandle } from '../harness/redis-server.js';
import { createHome, expectExit, EXIT, parseJson, type BackupJson, type CliHome } from './cli-harness.js';

let pg: PostgresClusterHandle;
let cache: RedisServerHandle;
let standbyCache: RedisServerHandle;
let scratchCache: RedisServerHandle;
let home: CliHome;
let planFile: string;
const uploads = () => home.path('uploads');

async function seedRedis(server: RedisServerHandle): Promise<void> {
  const client = await RespClient.connect({ host: server.host, port: server.port });
  await client.pipeline([
    ['SET', 'greeting', 'hello'],
    ['HSET', 'user:1', 'name', 'Ada'],
    ['RPUSH', 'jobs', 'a', 'b'],
    ['ZADD', 'ranking', 1, 'x', 2, 'y'],
    ['SET', 'session', 'token', 'EX', 600],
  ]);
  await client.close();
}

function plan(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    postgres: { url: pg.url('shop') },
    redis: { url: cache.url() },
    files: { paths: [uploads()] },
    config: { files: [home.path('app.yaml')], environment: ['SHOP_*'] },
    restore: { postgres: pg.url(''), redis: standbyCache.url(), files: home.path('recovered') },
    verify: { postgres: pg.url(''), redis: scratchCache.url() },
    ...extra,
  };
}

beforeAll(async () => {
  [pg, cache, standbyCache, scratchCache] = await Promise.all([startPostgresCluster(), startRedisServer(), startRedisServer(), startRedisServer()]);
  await pg.psql('CREATE DATABASE shop');
  await pg.psql(`CREATE TABLE orders (id serial PRIMARY KEY, item text, qty int); INSERT INTO orders (item, qty) SELECT 'item ' || g, g FROM generate_series(1, 500) g`, 'shop');
  await seedRedis(cache);
  home = await createHome('plan-recovery', { PGPASSWORD: pg.password, SHOP_MODE: 'production' });
  await mkdir(join(uploads(), 'img'), { recursive: true });
  await writeFile(join(uploads(), 'img', 'logo.svg'), '<svg/>');
  await writeFile(join(uploads(), 'terms.txt'), 'terms\n'.repeat(1000));
  await writeFile(home.path('app.yaml'), 'mode: production\n');
  planFile = home.path('plans.yaml');
  // JSON is valid YAML: the plan file takes either.
  await writeFile(
    planFile,
    JSON.stringify({ plans: { shop: plan(), broken: plan({ redis: { url: 'redis://127.0.0.1:1' } }), referenced: { postgres: { url: pg.url('shop'), password_env: 'SHOP_DB_PASSWORD' } } } }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all([pg?.stop(), cache?.stop(), standbyCache?.stop(), scratchCache?.stop()]);
});

describe('a plan', () => {
  let group: BackupJson;

  beforeAll(async () => {
    group = await home.backup([], ['--plan', 'shop', '--plans', planFile]);
  }, 120_000);

  it('backs up every source as one group sharing the backup id', () => {
    expect(group.id).toMatch(/^full_\d{8}_\d{6}$/);
    expect(group.snapshots.map((s) => [s.id, s.source])).toEqual([
      [`${group.id}.config`, 'config'],
      [`${group.id}.postgres`, 'postgres'],
      [`${group.id}.redis`, 'redis'],
      [`${group.id}.files`, 'files'],
    ]);
    for (const snapshot of group.snapshots) expect(snapshot.backupId).toBe(group.id);
  });

  it('backs up one source for a per-source run type', async () => {
    const databaseOnly = await home.backup([], ['--plan', 'shop', '--plans', planFile, '--type', 'database_only']);
    expect(databaseOnly.id).toMatch(/^database_only_\d{8}_\d{6}/);
    expect(databaseOnly.snapshots.map((s) => s.source)).toEqual(['postgres']);
  }, 120_000);

  it('recovers the whole system into the plan targets, each source to its own', async () => {
    const result = await home.json<{ sources: { source: string; into: string[] }[] }>(['restore', group.id, '--plan', 'shop', '--plans', planFile]);
    expect(result.sources.map((s) => s.source)).toEqual(['config', 'postgres', 'redis', 'files']);
    const database = result.sources[1]!.into[0]!.split('/').pop()!;
    expect(await pg.psql('SELECT count(*), sum(qty) FROM orders', database)).toBe('500|125250');
    const expected = await fingerprintRedis(parseRedisTarget(cache.url()));
    const restored = await fingerprintRedis(parseRedisTarget(standbyCache.url()));
    expect(compareRedisManifests(expected, restored)).toEqual([]);
    expect(restored.keyCount).toBe(5);
    await assertTreesEqual(uploads(), join(home.path('recovered'), 'files', 'uploads'), { mtimeToleranceNs: 999n });
  }, 120_000);

  it("passes a restore-test of both databases on the plan's scratch servers and leaves them empty", async () => {
    const result = await home.json<{ ok: boolean; outcomes: { source: string; checked: number; problems: string[] }[] }>([
      'verify', group.id, '--level', 'restore-test', '--plan', 'shop', '--plans', planFile,
    ]);
    expect(result.outcomes.map((o) => [o.source, o.checked, o.problems])).toEqual([
      ['postgres', 2, []],
      ['redis', 5, []],
    ]);
    expect(result.ok).toBe(true);
    expect((await fingerprintRedis(parseRedisTarget(scratchCache.url()))).keyCount).toBe(0);
  }, 120_000);

  it('a source that fails is recorded while the others complete, and the exit code is non-zero', async () => {
    const result = expectExit(await home.run(['backup', '--plan', 'broken', '--plans', planFile, '--json']), EXIT.partial);
    const output = parseJson<BackupJson & { failures: { source: string; message: string }[] }>(result);
    expect(output.snapshots.map((s) => s.source)).toEqual(['config', 'postgres', 'files']);
    expect(output.failures).toHaveLength(1);
    expect(output.failures[0]!.source).toBe('redis');
    expect(output.failures[0]!.message).toContain('redis://127.0.0.1:1');
  }, 120_000);

  it('takes a password from the variable the plan names, not from PGPASSWORD', async () => {
    const env = { PGPASSWORD: 'not-the-password', SHOP_DB_PASSWORD: pg.password };
    const backup = await home.backup([], ['--plan', 'referenced', '--plans', planFile], { env });
    expect(backup.snapshots.map((s) => s.source)).toEqual(['postgres']);
    const unset = expectExit(await home.run(['backup', '--plan', 'referenced', '--plans', planFile, '--json'], { env: { SHOP_DB_PASSWORD: undefined } }), EXIT.usage);
    expect(unset.stdout).toContain('plans.referenced.postgres.password_env');
  }, 60_000);

  it('plans imported into the catalog are used without a plan file, listed and removed', async () => {
    expect(await home.json<{ imported: string[] }>(['plan', 'import', planFile])).toEqual({ imported: ['shop', 'broken', 'referenced'] });
    expect((await home.json<{ name: string }[]>(['plan', 'list'])).map((p) => p.name)).toEqual(['broken', 'referenced', 'shop']);
    const filesOnly = await home.backup([], ['--plan', 'shop', '--type', 'files_only']);
    expect(filesOnly.snapshots.map((s) => [s.source, s.paths])).toEqual([['files', [uploads()]]]);
    await home.json(['plan', 'remove', 'broken']);
    expectExit(await home.run(['backup', '--plan', 'broken', '--json']), EXIT.notFound);
  }, 60_000);

  it('a plan file with a bad field is refused naming the field, before anything runs', async () => {
    const bad = home.path('bad-plans.yaml');
    await writeFile(bad, 'plans:\n  shop:\n    postgres:\n      url: postgres://h/db\n      fingerprnt: counts\n');
    const result = expectExit(await home.run(['backup', '--plan', 'shop', '--plans', bad, '--json']), EXIT.usage);
    expect(result.stdout).toContain('plans.shop.postgres.fingerprnt');
  }, 60_000);
});
