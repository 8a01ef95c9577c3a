import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { appendFile, copyFile, cp, mkdir, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runBackup } from '../../src/app/run-backup.js';
import { runRestore } from '../../src/app/run-restore.js';
import { verifyRepository } from '../../src/app/verify-repository.js';
import { rebuildCatalog } from '../../src/app/rebuild-catalog.js';
import { repositoryStats } from '../../src/app/repository-stats.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { createAppHarness, type AppHarness } from '../helpers/app-harness.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { makeEdgeCaseTree, uniqueMarker, writeRandomFile } from '../helpers/fixture-tree.js';

let harness: AppHarness;
let source: string;

beforeAll(async () => {
  harness = await createAppHarness();
  source = join(harness.dir, 'source');
  await makeEdgeCaseTree(source);
});

afterAll(async () => harness.cleanup());

async function sizeOf(dir: string): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isFile()) total += (await stat(join(entry.parentPath, entry.name))).size;
  }
  return total;
}

describe('backup and restore round trip', () => {
  it('restores an edge-case tree byte- and metadata-identical', async () => {
    const backup = await runBackup(harness.deps, { paths: [source], type: 'full' });
    expect(backup.backupId).toMatch(/^full_\d{8}_\d{6}(_[0-9a-f]{4})?$/);
    expect(backup.warnings).toEqual([]);
    const target = join(harness.dir, 'restore-1');
    const restored = await runRestore(harness.deps, { snapshotId: backup.backupId, target });
    expect(restored.failures).toEqual([]);
    await assertTreesEqual(source, join(target, 'source'));
  });

  it('restores a single path with --include and nothing else', async () => {
    const target = join(harness.dir, 'restore-include');
    await runRestore(harness.deps, { snapshotId: 'latest', target, include: ['source/data'] });
    expect(await readdir(join(target, 'source'))).toEqual(['data']);
    await assertTreesEqual(join(source, 'data'), join(target, 'source', 'data'));
  });

  it('accepts the original absolute path as an include', async () => {
    const target = join(harness.dir, 'restore-include-abs');
    await runRestore(harness.deps, { snapshotId: 'latest', target, include: [join(source, 'data')] });
    expect(await readdir(join(target, 'source'))).toEqual(['data']);
  });

  it('refuses a non-empty target unless forced', async () => {
    const target = join(harness.dir, 'restore-nonempty');
    await mkdir(target);
    await writeFile(join(target, 'keep.txt'), 'x');
    await expect(runRestore(harness.deps, { snapshotId: 'latest', target })).rejects.toMatchObject({ code: 'conflict.target_not_empty' });
    const forced = await runRestore(harness.deps, { snapshotId: 'latest', target, force: true });
    expect(forced.failures).toEqual([]);
    expect(await readFile(join(target, 'keep.txt'), 'utf8')).toBe('x');
  });

  it('verifies clean at every level', async () => {
    for (const level of ['structure', 'read', 'full'] as const) {
      const result = await verifyRepository(harness.deps, { level, readPercent: level === 'read' ? 50 : undefined });
      expect(result).toMatchObject({ ok: true, problems: [], damagedSnapshots: [] });
    }
  });
});

describe('incremental and differential backups', () => {
  it('reads only changed files, and every snapshot restores on its own', async () => {
    const tree = join(harness.dir, 'incremental-src');
    await mkdir(join(tree, 'a'), { recursive: true });
    await writeRandomFile(join(tree, 'a', 'one.bin'), 3 * 1024 * 1024, 1);
    await writeRandomFile(join(tree, 'two.bin'), 2 * 1024 * 1024, 2);
    const full = await runBackup(harness.deps, { paths: [tree], type: 'full' });
    expect(full.snapshots[0]!.stats.bytesRead).toBe(5 * 1024 * 1024);

    const unchanged = await runBackup(harness.deps, { paths: [tree], type: 'incremental' });
    expect(unchanged.snapshots[0]!.stats.bytesRead).toBe(0);
    expect(unchanged.snapshots[0]!.parent).toBe(full.backupId);

    await appendFile(join(tree, 'two.bin'), 'more');
    const incremental = await runBackup(harness.deps, { paths: [tree], type: 'incremental' });
    expect(incremental.snapshots[0]!.stats.bytesRead).toBe(2 * 1024 * 1024 + 4);

    await writeFile(join(tree, 'new.txt'), 'new file');
    const differential = await runBackup(harness.deps, { paths: [tree], type: 'differential' });
    expect(differential.snapshots[0]!.parent).toBe(full.backupId);
    expect(differential.snapshots[0]!.stats.bytesRead).toBe(2 * 1024 * 1024 + 4 + 8);

    const rereadFull = await runBackup(harness.deps, { paths: [tree], type: 'full' });
    expect(rereadFull.snapshots[0]!.stats.bytesRead).toBe(5 * 1024 * 1024 + 12);
    expect(rereadFull.snapshots[0]!.stats.bytesAdded).toBeLessThan(10_000); // only trees are new

    const target = join(harness.dir, 'restore-differential');
    await runRestore(harness.deps, { snapshotId: differential.backupId, target });
    // Files written here carry nanosecond mtimes; Node can set them to the microsecond only.
    await assertTreesEqual(tree, join(target, 'incremental-src'), { mtimeToleranceNs: 999n });
  });
});

describe('exclusions', () => {
  it('skips names at any depth, paths relative to the backed-up path, and absolute paths', async () => {
    const tree = join(harness.dir, 'exclude-src');
    for (const dir of ['cache/deep', 'keep/cache', 'keep/tmp', 'other']) await mkdir(join(tree, dir), { recursive: true });
    for (const file of ['a.log', 'keep/b.log', 'keep/b.txt', 'cache/deep/x', 'keep/cache/y', 'keep/tmp/z', 'other/o.txt']) await writeFile(join(tree, file), file);
    const backup = await runBackup(harness.deps, { paths: [tree], type: 'full', exclude: ['*.log', 'cache/**', join(tree, 'keep', 'tmp')] });
    const target = join(harness.dir, 'restore-exclude');
    await runRestore(harness.deps, { snapshotId: backup.backupId, target });
    const restored = (await readdir(join(target, 'exclude-src'), { recursive: true })).sort();
    // `cache/**` matches the top-level cache and everything in it, not keep/cache.
    expect(restored).toEqual(['keep', 'keep/b.txt', 'keep/cache', 'keep/cache/y', 'other', 'other/o.txt']);
  });
});

describe('deduplication', () => {
  it('stores a copy of a 100 MB file, and the same tree from another path, for < 1% growth', async () => {
    const original = join(harness.dir, 'dedup-a');
    await mkdir(original);
    await writeRandomFile(join(original, 'big.bin'), 100 * 1024 * 1024, 42);
    await runBackup(harness.deps, { paths: [original], type: 'full' });
    const before = await sizeOf(harness.repositoryDir);

    await copyFile(join(original, 'big.bin'), join(original, 'big-copy.bin'));
    await runBackup(harness.deps, { paths: [original], type: 'incremental' });
    const afterCopy = await sizeOf(harness.repositoryDir);
    expect((afterCopy - before) / (100 * 1024 * 1024)).toBeLessThan(0.01);

    const elsewhere = join(harness.dir, 'dedup-b');
    await cp(original, elsewhere, { recursive: true });
    await runBackup(harness.deps, { paths: [elsewhere], type: 'full' });
    const afterMove = await sizeOf(harness.repositoryDir);
    expect((afterMove - afterCopy) / (200 * 1024 * 1024)).toBeLessThan(0.01);
    await rm(elsewhere, { recursive: true });
    await rm(original, { recursive: true });
  });
});

describe('confidentiality', () => {
  it('leaves no plaintext of contents or names in the repository or the catalog', async () => {
    const marker = uniqueMarker();
    const tree = join(harness.dir, `secret-${marker}`);
    await mkdir(join(tree, `dir-${marker}`), { recursive: true });
    await writeFile(join(tree, `dir-${marker}`, `file-${marker}.txt`), `${marker}\n`.repeat(1000));
    await writeFile(join(tree, 'small.txt'), marker);
    await runBackup(harness.deps, { paths: [tree], type: 'full', compression: 'none', configFiles: [join(tree, 'small.txt')], environment: ['CHRONO_TEST_SECRET'] });
    const needles = [marker, Buffer.from(marker).toString('base64').slice(0, 24), Buffer.from(marker).toString('hex')];
    for (const file of await readdir(harness.repositoryDir, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      const bytes = await readFile(join(file.parentPath, file.name));
      for (const needle of needles) expect(bytes.includes(needle)).toBe(false);
      expect(file.name.includes(marker)).toBe(false);
    }
    const catalogBytes = await readFile(harness.catalogPath);
    // The catalog lists the backed-up root path (that is its job) but never contents or inner names.
    expect(catalogBytes.includes(`file-${marker}`)).toBe(false);
    expect(catalogBytes.includes(`${marker}\n`)).toBe(false);
  });
});

describe('configuration source', () => {
  it('captures config files and environment variables into an encrypted config snapshot', async () => {
    const configDir = join(harness.dir, 'etc-app');
    await mkdir(configDir);
    await writeFile(join(configDir, 'app.yml'), 'port: 8080\n');
    process.env.CHRONO_TEST_DB_URL = 'postgres://u:secret@h/db';
    process.env.CHRONO_TEST_MODE = 'prod';
    const backup = await runBackup(harness.deps, { paths: [], type: 'full', configFiles: [join(configDir, 'app.yml')], environment: ['CHRONO_TEST_*'] });
    expect(backup.snapshots.map((s) => s.source)).toEqual(['config']);
    const target = join(harness.dir, 'restore-config');
    await runRestore(harness.deps, { snapshotId: backup.backupId, target });
    expect(await readFile(join(target, 'app.yml'), 'utf8')).toBe('port: 8080\n');
    expect(JSON.parse(await readFile(join(target, 'environment.json'), 'utf8'))).toEqual({ CHRONO_TEST_DB_URL: 'postgres://u:secret@h/db', CHRONO_TEST_MODE: 'prod' });
    expect((await stat(join(target, 'environment.json'))).mode & 0o777).toBe(0o600);
  });

  it('groups files and config of one run under one backup id', async () => {
    const tree = join(harness.dir, 'group-src');
    await mkdir(tree);
    await writeFile(join(tree, 'f.txt'), 'f');
    const backup = await runBackup(harness.deps, { paths: [tree], type: 'full', environment: ['HOME'] });
    expect(backup.snapshots.map((s) => s.id)).toEqual([`${backup.backupId}.files`, `${backup.backupId}.config`]);
    const target = join(harness.dir, 'restore-group');
    const restored = await runRestore(harness.deps, { snapshotId: backup.backupId, target });
    expect(restored.snapshots).toHaveLength(2);
    expect(await readFile(join(target, 'files', 'group-src', 'f.txt'), 'utf8')).toBe('f');
    expect(await readdir(join(target, 'config'))).toEqual(['environment.json']);
  });
});

describe('catalog', () => {
  it('is rebuilt from the repository alone', async () => {
    const before = await harness.deps.catalog.listSnapshots((await repositoryStats(harness.deps)).repository);
    expect(before.length).toBeGreaterThan(3);
    await harness.deps.catalog.close();
    await rm(harness.catalogPath);
    harness.deps.catalog = SqliteCatalog.open(harness.catalogPath);
    const rebuilt = await rebuildCatalog(harness.deps);
    expect(rebuilt.snapshots).toBe(before.length);
    const after = await harness.deps.catalog.listSnapshots(rebuilt.repository);
    expect(after.map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort());
  });
});
