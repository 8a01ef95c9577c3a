/**
 * `max_parallel_uploads` end to end: the setting reaches the BlobWriter through AppDeps, and that many
 * pack uploads really overlap on a slow backend. Needs `npm run build` (worker threads load dist/).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runBackup } from '../../src/app/run-backup.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { createAppHarness } from '../helpers/app-harness.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';
import { DelayedObjectStorage } from '../helpers/storage-faults.js';

const MiB = 1024 * 1024;
let dir: string;
let source: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-parallel-'));
  source = join(dir, 'source');
  await mkdir(source);
  // ~12 packs of 1 MiB: more than 8 uploads can be waiting at once.
  for (let i = 0; i < 3; i++) await writeRandomFile(join(source, `file-${i}.bin`), 4 * MiB, 300 + i);
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Backs the source up through a backend where every pack upload takes 500 ms; returns the overlap seen. */
async function maxPackUploadsInFlight(maxParallelUploads: number | undefined): Promise<{ maxInFlight: number; packs: number }> {
  const harness = await createAppHarness();
  try {
    const local = new LocalObjectStorage(harness.repositoryDir);
    await Repository.init(local, harness.deps.keys, { now: new Date(), packSize: MiB });
    const slow = new DelayedObjectStorage(local, 500, (operation, key) => operation === 'put' && key.startsWith('data/'));
    const deps = { ...harness.deps, storage: slow, workers: 2, ...(maxParallelUploads !== undefined ? { maxParallelUploads } : {}) };
    const backup = await runBackup(deps, { paths: [source], type: 'full' });
    expect(backup.snapshots[0]!.stats.totalBytes).toBe(12 * MiB);
    return { maxInFlight: slow.maxInFlight, packs: slow.tracked };
  } finally {
    await harness.cleanup();
  }
}

describe('parallel uploads', () => {
  it('keeps 8 pack uploads in flight at once when max_parallel_uploads is 8', async () => {
    const { maxInFlight, packs } = await maxPackUploadsInFlight(8);
    expect(packs).toBeGreaterThan(8);
    expect(maxInFlight).toBe(8);
  }, 30_000);

  it('never has more pack uploads in flight than the setting', async () => {
    const { maxInFlight, packs } = await maxPackUploadsInFlight(undefined);
    expect(packs).toBeGreaterThan(2);
    expect(maxInFlight).toBe(2);
  }, 30_000);
});
