/**
 * Failover: a repository on the S3 emulator with a local replica. Once the emulator is stopped (connections
 * refused: a `storage.network`/`storage.unavailable` StorageError, which app/failover.ts treats as
 * unreachable), listing, verify and restore are served by the first replica holding the snapshot, and
 * the outcome says so. Needs `npm run build` (worker threads load dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppDeps } from '../../src/app/deps.js';
import { isUnreachable, withFailover, type Replica } from '../../src/app/failover.js';
import { replicateRepository } from '../../src/app/replicate-repository.js';
import { openOrCreate } from '../../src/app/repository-session.js';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { verifyRepository } from '../../src/app/verify-repository.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { StorageError } from '../../src/domain/errors.js';
import { PassphraseKeyProvider } from '../../src/keys/local-key-provider.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentProgress } from '../../src/ports/progress.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { openStorage, type OpenedStorage } from '../../src/storage/open-storage.js';
import { startS3Emulator, type S3EmulatorHandle } from '../harness/s3-emulator.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';

let dir: string;
let tree: string;
let s3: S3EmulatorHandle | undefined;
let primaryStorage: OpenedStorage;
let deps: AppDeps;
let snapshotId: string;
let replicas: Replica[];

const localReplica = (path: string): Replica => ({ location: path, open: async () => ({ storage: new LocalObjectStorage(path) }) });

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-failover-'));
  tree = join(dir, 'tree');
  await mkdir(join(tree, 'sub'), { recursive: true });
  await writeRandomFile(join(tree, 'data.bin'), 1_500_000, 11);
  await writeFile(join(tree, 'sub', 'note.txt'), 'served from wherever it is\n');
  s3 = await startS3Emulator();
  await s3.createBucket('chrono-failover');
  const env = { AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey };
  // Few, quick retries: the emulator stays down, and the test need not wait out a production backoff.
  primaryStorage = await openStorage('s3://chrono-failover/repo', { env, retry: { attempts: 2, baseDelayMs: 10 } });
  deps = {
    storage: primaryStorage,
    keys: new PassphraseKeyProvider('failover passphrase', { scrypt: { N: 1024 } }),
    catalog: SqliteCatalog.open(join(dir, 'catalog.sqlite')),
    clock: systemClock,
    progress: silentProgress,
    hostname: 'test-host',
    workers: 2,
  };
  snapshotId = (await runBackup(deps, { paths: [tree], type: 'full' })).snapshots[0]!.id;
  await replicateRepository(deps, new LocalObjectStorage(join(dir, 'replica')));
  // The first replica listed is empty: failover must pass over it to the one holding the snapshot.
  await mkdir(join(dir, 'empty-replica'));
  replicas = [localReplica(join(dir, 'empty-replica')), localReplica(join(dir, 'replica'))];
}, 60_000);

afterAll(async () => {
  await primaryStorage?.close();
  await deps?.catalog.close();
  await s3?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('failover to a replica', () => {
  it('uses the primary while it is reachable', async () => {
    const outcome = await withFailover(deps, replicas, { snapshots: [snapshotId] }, async (served) => (await openOrCreate(served, false)).listSnapshotIds());
    expect(outcome).toMatchObject({ failedOver: false, servedBy: primaryStorage.location, result: [snapshotId] });
    expect(outcome.notice).toBeUndefined();
  });

  it('serves snapshots, verify and restore from the replica holding the snapshot once the primary is unreachable', async () => {
    await s3!.stop();
    s3 = undefined;
    const probe = await primaryStorage.head('config').catch((error: unknown) => error);
    expect(isUnreachable(probe)).toBe(true);

    const listed = await withFailover(deps, replicas, {}, async (served) => (await openOrCreate(served, false)).listSnapshotIds());
    // With no snapshot asked for, the first replica holding a repository serves: the empty folder does not.
    expect(listed).toMatchObject({ failedOver: true, servedBy: join(dir, 'replica'), result: [snapshotId] });

    const verified = await withFailover(deps, replicas, { snapshots: [snapshotId] }, (served) => verifyRepository(served, { snapshotId, level: 'full' }));
    expect(verified.result).toMatchObject({ ok: true, snapshotsChecked: 1 });
    expect(verified.servedBy).toBe(join(dir, 'replica'));

    const target = join(dir, 'restored');
    const restored = await withFailover(deps, replicas, { snapshots: [snapshotId] }, async (served, how) => ({ ...(await runRestore(served, { snapshotId, target })), servedBy: how.servedBy }));
    expect(restored).toMatchObject({ failedOver: true, servedBy: join(dir, 'replica'), result: { servedBy: join(dir, 'replica'), failures: [] } });
    expect(restored.notice).toContain('unreachable');
    expect(restored.notice).toContain(primaryStorage.location);
    await assertTreesEqual(tree, join(target, 'tree'), { mtimeToleranceNs: 999n });
  });

  it('fails clearly, naming each replica passed over, when no replica holds the snapshot', async () => {
    const error = await withFailover(deps, replicas, { snapshots: ['full_20000101_000000'] }, () => Promise.resolve('never')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).code).toBe('storage.unreachable');
    expect((error as StorageError).message).toContain('no repository there');
    expect((error as StorageError).message).toContain('does not hold full_20000101_000000');
  });

  it('does not fail over without replicas: the primary error is reported as it is', async () => {
    const error = await withFailover(deps, [], {}, () => Promise.resolve('never')).catch((e: unknown) => e);
    expect(isUnreachable(error)).toBe(true);
  });
});
