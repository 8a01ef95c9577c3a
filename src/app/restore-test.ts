import { randomBytes } from 'node:crypto';
import { ConflictError, ValidationError } from '../domain/errors.js';
import type { Snapshot } from '../domain/snapshot.js';
import { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { quoteIdent, withPg } from '../sources/postgres/pg-client.js';
import { compareFingerprints, fingerprintDatabase } from '../sources/postgres/pg-fingerprint.js';
import { restorePostgres } from '../sources/postgres/pg-restore.js';
import type { PgTarget } from '../sources/postgres/pg-target.js';
import { dumpedTableContents, restoredTableContent } from '../sources/postgres/pg-content.js';
import { pgToolsForServer } from '../sources/postgres/pg-tools.js';
import { compareRedisManifests, fingerprintRedis, readRedisManifest, restoreRedis } from '../sources/redis/redis-restore.js';
import { connectRedis, redisSecretsFromEnv, type RedisTarget } from '../sources/redis/redis-target.js';
import type { AppDeps } from './deps.js';
import { withRepository } from './repository-session.js';
import { resolveSnapshots } from './run-restore.js';
import { snapshotFiles } from './stream-snapshot.js';

export interface RestoreTestInput {
  /** A snapshot id, a backup id or `latest`. */
  snapshotId: string;
  /** A PostgreSQL server for scratch databases (created, checked, dropped). */
  postgres?: PgTarget;
  /** An empty Redis server (checked empty first, emptied afterwards). */
  redis?: RedisTarget;
  env?: NodeJS.ProcessEnv;
}

/** The outcome for one snapshot: its restore time is the recovery-time evidence. */
export interface RestoreTestOutcome {
  snapshot: string;
  source: Snapshot['source'];
  restoreMs: number;
  /** What was compared: tables, sequences and views, or keys. */
  checked: number;
  problems: string[];
}

export interface RestoreTestResult {
  level: 'restore-test';
  ok: boolean;
  outcomes: RestoreTestOutcome[];
}

/**
 * The deepest verification: restores each database snapshot of a group into scratch servers and compares
 * what came back with what the snapshot recorded at backup time — per table row counts and content
 * checksums, sequences and views for PostgreSQL; per key type, value digest and TTL presence for Redis.
 * The result and the measured restore times are recorded with the run in the catalog. Scratch databases
 * are dropped and the scratch Redis emptied whether the test passes or not.
 */
export async function restoreTest(deps: AppDeps, input: RestoreTestInput): Promise<RestoreTestResult> {
  return withRepository(
    deps,
    { lock: 'shared', operation: 'verify', summary: { level: 'restore-test' } },
    async (repository) => {
      const snapshots = (await resolveSnapshots(repository, input.snapshotId)).filter((snapshot) => snapshot.source === 'postgres' || snapshot.source === 'redis');
      if (snapshots.length === 0) throw new ValidationError(`${input.snapshotId} holds no database snapshot: a restore-test restores PostgreSQL and Redis snapshots (use --level full for files)`, 'level');
      for (const snapshot of snapshots) {
        if (snapshot.source === 'postgres' && !input.postgres) throw new ValidationError(`restore-test of ${snapshot.id} needs a scratch PostgreSQL server: give --scratch-postgres URL`, 'scratch-postgres');
        if (snapshot.source === 'redis' && !input.redis) throw new ValidationError(`restore-test of ${snapshot.id} needs an empty scratch Redis server: give --scratch-redis URL`, 'scratch-redis');
      }
      const pool = new BlobPool(repository.keyring, { compression: 'none', chunker: repository.config.chunker, ...(deps.workers ? { workers: deps.workers } : {}) });
      const outcomes: RestoreTestOutcome[] = [];
      try {
        for (const snapshot of snapshots) {
          deps.progress.phase(`restore-test ${snapshot.id}`, { bytes: snapshot.stats.totalBytes });
          outcomes.push(snapshot.source === 'postgres' ? await testPostgres(deps, repository, pool, snapshot, input.postgres!, input.env) : await testRedis(repository, pool, snapshot, input.redis!, input.env));
        }
      } finally {
        await pool.close();
      }
      deps.progress.done();
      return { level: 'restore-test' as const, ok: outcomes.every((outcome) => outcome.problems.length === 0), outcomes };
    },
    (result) => ({ snapshotId: input.snapshotId, summary: { level: 'restore-test', ok: result.ok, outcomes: result.outcomes } }),
  );
}

async function testPostgres(deps: AppDeps, repository: Repository, pool: BlobPool, snapshot: Snapshot, scratch: PgTarget, env = process.env): Promise<RestoreTestOutcome> {
  const files = await snapshotFiles(repository, snapshot.tree, pool);
  const suffix = randomBytes(4).toString('hex');
  const tools = await pgToolsForServer(scratch, env);
  const started = Date.now();
  const created: string[] = [];
  try {
    const restored = await restorePostgres(scratch, files, {
      confirmOverwrite: false,
      globals: false,
      now: deps.clock.now(),
      env,
      tools,
      nameFor: (database) => {
        const name = `chrono_restoretest_${suffix}_${database}`.slice(0, 63);
        created.push(name);
        return name;
      },
    });
    const restoreMs = Date.now() - started;
    const problems: string[] = [];
    let checked = 0;
    for (const database of restored.manifest.databases) {
      const into = restored.databases.find((db) => db.name === database.name)!.restoredAs;
      // Every table against the rows the dump holds: counts and content, read back the way pg_dump read them.
      const dumped = await dumpedTableContents(files, database.file, tools);
      for (const [table, content] of dumped.tables) {
        const actual = await restoredTableContent(scratch, into, content, dumped.encoding, tools, env);
        checked++;
        if (actual.rows !== content.rows) problems.push(`database ${database.name}: table ${table} has ${actual.rows} rows, the dump holds ${content.rows}`);
        else if (actual.sha256 !== content.sha256) problems.push(`database ${database.name}: table ${table} differs from the dump`);
      }
      // And what the backup recorded in its own snapshot: sequences, views, and counts or checksums if taken.
      if (!database.fingerprint) continue;
      const recorded = database.fingerprint;
      const current = await withPg(scratch, into, env, (client) => fingerprintDatabase(client, restored.manifest.fingerprintLevel));
      checked += recorded.tables.length + recorded.sequences.length + recorded.views.length;
      problems.push(...compareFingerprints(recorded, current).map((problem) => `database ${database.name}: ${problem}`));
    }
    return { snapshot: snapshot.id, source: 'postgres', restoreMs, checked, problems };
  } finally {
    await withPg(scratch, 'postgres', env, async (client) => {
      for (const name of created) await client.query(`DROP DATABASE IF EXISTS ${quoteIdent(name)}`);
    }).catch(() => undefined);
  }
}

async function testRedis(repository: Repository, pool: BlobPool, snapshot: Snapshot, scratch: RedisTarget, env = process.env): Promise<RestoreTestOutcome> {
  const secrets = redisSecretsFromEnv(env);
  const before = await fingerprintRedis(scratch, { secrets });
  if (before.keyCount > 0) throw new ConflictError('scratch_not_empty', `the scratch Redis server holds ${before.keyCount} keys; a restore-test needs an empty one (it is emptied afterwards)`, { details: { field: 'scratch-redis' } });
  const files = await snapshotFiles(repository, snapshot.tree, pool);
  const expected = await readRedisManifest(files);
  const started = Date.now();
  try {
    await restoreRedis(scratch, files, { replace: false, secrets });
    const restoreMs = Date.now() - started;
    const actual = await fingerprintRedis(scratch, { secrets });
    const problems = compareRedisManifests(expected, actual).map((difference) => JSON.stringify(difference));
    return { snapshot: snapshot.id, source: 'redis', restoreMs, checked: expected.keyCount, problems };
  } finally {
    const client = await connectRedis(scratch, secrets).catch(() => undefined);
    await client?.call('FLUSHALL').catch(() => undefined);
    await client?.close();
  }
}
