import { afterAll, beforeAll, expect, it } from '@jest/globals';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, stat, utimes } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { createAppHarness, type AppHarness } from '../helpers/app-harness.js';
import { seededRandomBytes } from '../helpers/fixture-tree.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** Past 2^32 bytes, so no 32-bit offset or size survives unnoticed. */
const SIZE = 4 * GiB + 200 * MiB + 12345;

let harness: AppHarness;

beforeAll(async () => {
  harness = await createAppHarness();
});

afterAll(async () => harness.cleanup());

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

it('backs up and restores a file larger than 4 GiB byte-identical', async () => {
  const dir = join(harness.dir, 'big');
  await mkdir(dir);
  const path = join(dir, 'disk.img');
  // A sparse file with random islands every 256 MiB (and one straddling the 4 GiB mark): cheap to
  // create, yet every region of the file has to come back at the right offset.
  const handle = await open(path, 'w');
  await handle.truncate(SIZE);
  for (let offset = 0, seed = 1; offset < SIZE - MiB; offset += 256 * MiB, seed++) await handle.write(seededRandomBytes(seed, MiB), 0, MiB, offset);
  await handle.write(seededRandomBytes(99, 3 * MiB), 0, 3 * MiB, 4 * GiB - MiB);
  await handle.write(Buffer.from('tail'), 0, 4, SIZE - 4);
  await handle.close();
  await utimes(path, 1_700_000_000, 1_700_000_000);

  const backup = await runBackup(harness.deps, { paths: [dir], type: 'full' });
  expect(backup.snapshots[0]!.stats.totalBytes).toBe(SIZE);
  // Zero runs deduplicate to a few blobs: the repository stays tiny next to the file.
  expect(backup.snapshots[0]!.stats.bytesStored).toBeLessThan(64 * MiB);

  const target = join(harness.dir, 'restored');
  await runRestore(harness.deps, { snapshotId: backup.backupId, target });
  const restored = join(target, 'big', 'disk.img');
  expect((await stat(restored)).size).toBe(SIZE);
  expect((await stat(restored)).mtimeMs).toBe(1_700_000_000_000);
  expect(await sha256(restored)).toBe(await sha256(path));
}, 300_000);
