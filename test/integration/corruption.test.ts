/**
 * Damage in the repository is found, traced to the snapshots it affects, and never restored silently:
 * a flipped byte in a pack, a damaged index file, a deleted pack.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { KeyFileKeyProvider } from '../../src/keys/local-key-provider.js';
import { packKey } from '../../src/repository/layout.js';
import { Repository } from '../../src/repository/repository.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import {
  cleanupAll,
  createHome,
  errorJson,
  EXIT,
  expectExit,
  flipByte,
  listObjects,
  listPacks,
  listTemporaries,
  listTree,
  parseJson,
  sha256,
  writeTree,
  type CliHome,
  type VerifyJson,
} from './cli-harness.js';

const TREE_OPTIONS = { mtimeToleranceNs: 999n };

let pristine: CliHome;
let alpha: string;
let beta: string;
/** Snapshot of `alpha`, the one whose data pack gets damaged; `beta`'s snapshot shares no pack with it. */
let damagedId: string;
let intactId: string;
let alphaDataPack: { id: string; path: string; size: number };
let alphaIndex: string;

interface RestoreFailureJson {
  path: string;
  code: string;
  message: string;
}

beforeAll(async () => {
  pristine = await createHome('corruption');
  alpha = pristine.path('alpha');
  beta = pristine.path('beta');
  await writeTree(alpha, { 'big.bin': 6_000_000, 'sub/other.bin': 1_500_000, 'small.txt': 'small and fine\n' });
  await writeTree(beta, { 'b.bin': 3_000_000, 'notes/readme.txt': 'beta notes\n' });

  damagedId = (await pristine.backup([alpha])).id;
  const afterAlpha = await listPacks(pristine.repo);
  alphaIndex = (await listObjects(pristine.repo, 'index'))[0]!;
  intactId = (await pristine.backup([beta])).id;
  expect(intactId).not.toBe(damagedId);
  // One data pack (7.5 MB < 16 MiB) and one small tree pack: the data pack is the bigger one.
  expect(afterAlpha).toHaveLength(2);
  alphaDataPack = afterAlpha.sort((a, b) => b.size - a.size)[0]!;
  expect(alphaDataPack.size).toBeGreaterThan(7_000_000);
}, 60_000);

afterAll(cleanupAll);

/** Where a path of the pristine repository lives in a clone. */
function inClone(clone: CliHome, path: string): string {
  return join(clone.repo, path.slice(pristine.repo.length));
}

async function verifyJson(home: CliHome, args: string[], code: number): Promise<VerifyJson> {
  return parseJson<VerifyJson>(expectExit(await home.run(['verify', ...args, '--json']), code));
}

describe('a flipped byte in the middle of a data pack', () => {
  let home: CliHome;

  beforeAll(async () => {
    home = await pristine.clone('corruption-flip');
    await flipByte(inClone(home, alphaDataPack.path));
  }, 30_000);

  it('verify --level full exits 5 and names exactly the snapshot that references the pack', async () => {
    const result = await verifyJson(home, ['--level', 'full'], EXIT.integrity);
    expect(result.ok).toBe(false);
    expect(result.damagedSnapshots).toEqual([damagedId]);
    // every problem is in the damaged pack, and the one damaged blob is pinned down
    expect(result.problems.length).toBeGreaterThanOrEqual(1);
    expect(result.problems.every((p) => p.pack === alphaDataPack.id)).toBe(true);
    expect(result.problems.filter((p) => p.blob !== undefined)).toHaveLength(1);
  }, 30_000);

  it('verify --level full of the other snapshot alone passes', async () => {
    const result = await verifyJson(home, [intactId, '--level', 'full'], EXIT.ok);
    expect(result).toMatchObject({ ok: true, damagedSnapshots: [], snapshotsChecked: 1 });
  }, 30_000);

  it('restore of the damaged snapshot exits 5; the damaged file is not written, the others are intact', async () => {
    const target = home.path('restore-damaged');
    const result = expectExit(await home.run(['restore', damagedId, '--target', target, '--json']), EXIT.integrity);
    const error = errorJson(result);
    expect(error.code).toBe('integrity.restore_incomplete');
    const failures = (error.details?.failures ?? []) as RestoreFailureJson[];
    expect(failures).toHaveLength(1);
    const failed = failures[0]!.path;
    expect(failed).toMatch(/^alpha\//);
    expect(error.message).toContain(failed);

    // No corrupt file, no temporary: the damaged file is simply absent.
    expect(existsSync(join(target, failed))).toBe(false);
    expect(await listTemporaries(target)).toEqual([]);
    // Every other file is there and byte-identical.
    const source = await listTree(alpha);
    const restored = await listTree(join(target, 'alpha'));
    const expected = new Map([...source].filter(([path]) => `alpha/${path}` !== failed));
    expect(restored).toEqual(expected);
    expect(expected.size).toBeGreaterThanOrEqual(3); // small.txt, sub, sub/other.bin or big.bin
  }, 30_000);

  it('the snapshot that does not reference the pack restores byte-identical', async () => {
    const target = home.path('restore-intact');
    expectExit(await home.run(['restore', intactId, '--target', target, '--json']), EXIT.ok);
    await assertTreesEqual(beta, join(target, 'beta'), TREE_OPTIONS);
  }, 30_000);
});

describe('a damaged index file', () => {
  it('is reported by verify, leaves other snapshots usable, and `repair index` rebuilds it from the packs', async () => {
    const home = await pristine.clone('corruption-index');
    await flipByte(join(home.repo, 'index', alphaIndex));
    const verify = await verifyJson(home, ['--level', 'full'], EXIT.integrity);
    expect(verify.problems).toEqual(expect.arrayContaining([expect.objectContaining({ code: 'integrity.index_hash', message: expect.stringContaining(alphaIndex) })]));
    // the snapshot whose blobs that index listed cannot be restored until repair: nothing is written
    const target = home.path('restore');
    expectExit(await home.run(['restore', damagedId, '--target', target, '--json']), EXIT.integrity);
    expect([...(await listTree(target)).values()].every((kind) => kind === 'dir')).toBe(true);
    // the snapshot of another index still restores
    const other = home.path('restore-intact');
    expectExit(await home.run(['restore', intactId, '--target', other, '--json']), EXIT.ok);
    await assertTreesEqual(beta, join(other, 'beta'), TREE_OPTIONS);

    const repair = parseJson<{ packsIndexed: number; damagedPacks: unknown[]; indexFilesReplaced: number }>(expectExit(await home.run(['repair', 'index', '--json']), EXIT.ok));
    expect(repair.damagedPacks).toEqual([]);
    expect(repair.indexFilesReplaced).toBeGreaterThanOrEqual(2);
    expect((await verifyJson(home, ['--level', 'full'], EXIT.ok)).ok).toBe(true);
    const repaired = home.path('restore-repaired');
    expectExit(await home.run(['restore', damagedId, '--target', repaired, '--json']), EXIT.ok);
    await assertTreesEqual(alpha, join(repaired, 'alpha'), TREE_OPTIONS);
  }, 60_000);
});

describe('a deleted pack', () => {
  let home: CliHome;

  beforeAll(async () => {
    home = await pristine.clone('corruption-deleted');
    await rm(inClone(home, alphaDataPack.path));
  }, 30_000);

  it.each(['structure', 'full'])('verify --level %s exits 5 naming the pack and the snapshot', async (level) => {
    const result = await verifyJson(home, ['--level', level], EXIT.integrity);
    expect(result.damagedSnapshots).toEqual([damagedId]);
    expect(result.problems).toEqual([expect.objectContaining({ code: 'pack_missing', pack: alphaDataPack.id })]);
    expect(result.problems[0]!.message).toContain(alphaDataPack.id);
  }, 30_000);

  it('restore exits 5 listing every file of the pack and writes none of them', async () => {
    const target = home.path('restore-deleted');
    const result = expectExit(await home.run(['restore', damagedId, '--target', target, '--json']), EXIT.integrity);
    const failures = ((errorJson(result).details?.failures ?? []) as RestoreFailureJson[]).map((f) => f.path).sort();
    expect(failures).toEqual(['alpha/big.bin', 'alpha/small.txt', 'alpha/sub/other.bin']);
    // directories only, no file content and no temporaries
    const restored = await listTree(target);
    expect([...restored.values()].every((kind) => kind === 'dir')).toBe(true);
    expect(await listTemporaries(target)).toEqual([]);
  }, 30_000);

  it('the other snapshot still restores byte-identical', async () => {
    const target = home.path('restore-other');
    expectExit(await home.run(['restore', intactId, '--target', target, '--json']), EXIT.ok);
    await assertTreesEqual(beta, join(target, 'beta'), TREE_OPTIONS);
    expect(sha256(await readFile(join(target, 'beta', 'b.bin')))).toBe(sha256(await readFile(join(beta, 'b.bin'))));
  }, 30_000);
});

describe('a damaged blob in the middle of a large file', () => {
  it('restore exits 5 cleanly even when the damage is met while reading ahead', async () => {
    const home = await pristine.clone('corruption-blob');
    // Locate big.bin's 2nd and 3rd blobs with the key and the index and damage exactly those: they are
    // fetched ahead while earlier blobs are written, and the restore stops at the first of them while
    // the other is still in flight, the case that used to crash the restore (unhandled rejection).
    const repository = await Repository.open(new LocalObjectStorage(home.repo), new KeyFileKeyProvider(home.keyPath));
    const snapshot = await repository.loadSnapshot(damagedId);
    const root = await repository.loadTree(snapshot.tree);
    const folder = await repository.loadTree(root.nodes.find((node) => node.name === 'alpha')!.subtree!);
    const content = folder.nodes.find((node) => node.name === 'big.bin')!.content!;
    expect(content.length).toBeGreaterThanOrEqual(3);
    const damaged = [content[1]!, content[2]!];
    for (const blob of damaged) {
      const location = repository.index.get(blob)!;
      await flipByte(join(home.repo, packKey(location.pack)), location.offset + Math.floor(location.length / 2));
    }

    const target = home.path('restore-blob');
    const result = expectExit(await home.run(['restore', damagedId, '--target', target, '--json']), EXIT.integrity);
    const failures = ((errorJson(result).details?.failures ?? []) as RestoreFailureJson[]).map((f) => f.path);
    expect(failures).toEqual(['alpha/big.bin']);
    expect(existsSync(join(target, 'alpha', 'big.bin'))).toBe(false);
    expect(await listTemporaries(target)).toEqual([]);
    const expected = new Map([...(await listTree(alpha))].filter(([path]) => path !== 'big.bin'));
    expect(await listTree(join(target, 'alpha'))).toEqual(expected);

    const verify = await verifyJson(home, ['--level', 'full'], EXIT.integrity);
    expect(verify.damagedSnapshots).toEqual([damagedId]);
    expect(verify.problems.filter((p) => p.blob !== undefined).map((p) => p.blob).sort()).toEqual([...damaged].sort());
  }, 30_000);
});
