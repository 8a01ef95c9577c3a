/**
 * Backups against a misbehaving backend (test/helpers/storage-faults.ts) below the real retry decorator:
 * random retryable failures and stalls longer than the per-attempt timeout, and a backend that disappears
 * mid-backup and comes back. Needs `npm run build`: the backup's worker threads load dist/.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppDeps } from '../../src/app/deps.js';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { verifyRepository } from '../../src/app/verify-repository.js';
import { StorageError } from '../../src/domain/errors.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { RetryingObjectStorage } from '../../src/storage/retrying-object-storage.js';
import { createAppHarness, type AppHarness } from '../helpers/app-harness.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { makeEdgeCaseTree, writeRandomFile } from '../helpers/fixture-tree.js';
import { DisappearingObjectStorage, FaultyObjectStorage } from '../helpers/storage-faults.js';

const MiB = 1024 * 1024;
/** Small packs make many uploads (and index files) out of a few MiB of fixture. */
const PACK_SIZE = MiB;
const ATTEMPT_TIMEOUT_MS = 150;

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-faults-'));
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** The harness's dependencies with `storage` in place of its local folder, and a repository with small packs. */
async function prepare(harness: AppHarness, storage: RetryingObjectStorage): Promise<AppDeps> {
  await Repository.init(new LocalObjectStorage(harness.repositoryDir), harness.deps.keys, { now: new Date(), packSize: PACK_SIZE });
  return { ...harness.deps, storage, workers: 2 };
}

async function stagingFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true });
  return entries.filter((path) => path.split('/').some((part) => part.startsWith('.~tmp-')));
}

describe('fault injection', () => {
  it('completes, verifies and restores byte-identical while 10% of calls fail or stall', async () => {
    const harness = await createAppHarness();
    const source = join(dir, 'flaky-source');
    await makeEdgeCaseTree(source, { bigFileBytes: 12 * MiB });
    const faulty = new FaultyObjectStorage(new LocalObjectStorage(harness.repositoryDir), { seed: 20240611, faultRate: 0.1, stallMs: 4 * ATTEMPT_TIMEOUT_MS });
    // Enough attempts that ten faults in a row (p = 1e-10 per call) never decide the outcome.
    const storage = new RetryingObjectStorage(faulty, { attempts: 10, baseDelayMs: 1, maxDelayMs: 20, attemptTimeoutMs: ATTEMPT_TIMEOUT_MS });
    const deps = await prepare(harness, storage);
    try {
      const backup = await runBackup(deps, { paths: [source], type: 'full' });
      expect(backup.warnings).toEqual([]);

      const verified = await verifyRepository(deps, { level: 'full' });
      expect(verified).toMatchObject({ ok: true, problems: [], damagedSnapshots: [] });
      expect(verified.packsChecked).toBeGreaterThanOrEqual(10);

      const target = join(dir, 'flaky-restore');
      const restored = await runRestore(deps, { snapshotId: backup.backupId, target });
      expect(restored.failures).toEqual([]);
      await assertTreesEqual(source, join(target, 'flaky-source'));

      // Every kind of fault really happened, at roughly the rate asked for.
      const { calls, failedBefore, failedAfter, stalls } = faulty.counts;
      expect(failedBefore).toBeGreaterThan(0);
      expect(failedAfter).toBeGreaterThan(0);
      expect(stalls).toBeGreaterThan(0);
      expect((failedBefore + failedAfter + stalls) / calls).toBeGreaterThan(0.04);
      expect((failedBefore + failedAfter + stalls) / calls).toBeLessThan(0.2);
      // Late completions of abandoned attempts left nothing half-written behind.
      await faulty.settled();
      expect(await stagingFiles(harness.repositoryDir)).toEqual([]);
    } finally {
      await faulty.settled();
      await harness.cleanup();
    }
  }, 60_000);

  it('fails cleanly when the backend disappears mid-backup, and the next run reuses what was indexed', async () => {
    const harness = await createAppHarness();
    const source = join(dir, 'outage-source');
    const sizes = [8 * MiB, 7 * MiB, 5 * MiB, 4 * MiB];
    await mkdir(source);
    for (const [i, size] of sizes.entries()) await writeRandomFile(join(source, `file-${i}.bin`), size, 100 + i);
    const totalBytes = sizes.reduce((sum, size) => sum + size, 0);
    const local = new LocalObjectStorage(harness.repositoryDir);
    // Gone right after the first index file is stored: by then 8 packs are durable and indexed.
    const flaky = new DisappearingObjectStorage(local, 1, (operation, key) => operation === 'put' && key.startsWith('index/'));
    const storage = new RetryingObjectStorage(flaky, { attempts: 3, baseDelayMs: 1, maxDelayMs: 5 });
    const deps = await prepare(harness, storage);
    try {
      const failure = await runBackup(deps, { paths: [source], type: 'full' }).catch((error: unknown) => error);
      expect(flaky.disappeared).toBe(true);
      expect(failure).toBeInstanceOf(StorageError);
      expect((failure as StorageError).message).toContain('backend is unreachable');
      // No snapshot anywhere, and no staging file of an unfinished pack left behind.
      expect(await readdir(join(harness.repositoryDir, 'snapshots')).catch(() => [])).toEqual([]);
      expect(await stagingFiles(harness.repositoryDir)).toEqual([]);

      flaky.reappear();
      const verified = await verifyRepository(deps, { level: 'full' });
      expect(verified).toMatchObject({ ok: true, problems: [], snapshotsChecked: 0 });
      const indexed = await Repository.open(local, harness.deps.keys);
      expect(await harness.deps.catalog.listSnapshots(indexed.config.id)).toEqual([]);
      let indexedBytes = 0;
      for (const [, location] of indexed.index.entries()) if (location.type === 'data') indexedBytes += location.rawLength;
      expect(indexed.index.packIds().length).toBeGreaterThanOrEqual(8);

      const again = await runBackup(deps, { paths: [source], type: 'full' });
      const stats = again.snapshots[0]!.stats;
      expect(stats.totalBytes).toBe(totalBytes);
      // Only what was not indexed before the outage is uploaded again (plus the tree blob).
      expect(stats.bytesAdded).toBeGreaterThan(0);
      expect(stats.bytesAdded).toBeLessThanOrEqual(totalBytes - indexedBytes + 64 * 1024);
      expect(stats.bytesAdded).toBeLessThan(totalBytes * 0.75);

      const target = join(dir, 'outage-restore');
      await runRestore(deps, { snapshotId: again.backupId, target });
      await assertTreesEqual(source, join(target, 'outage-source'), { mtimeToleranceNs: 999n });
      expect((await verifyRepository(deps, { level: 'full' })).ok).toBe(true);
    } finally {
      await harness.cleanup();
    }
  }, 60_000);
});
