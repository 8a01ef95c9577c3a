/**
 * Keys: a wrong or missing credential is refused with exit 6 before anything is written, another
 * passphrase can be added, and rotation keeps old data readable.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { join } from 'node:path';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { cleanupAll, createHome, errorJson, EXIT, expectExit, listTree, writeTree, type CliHome, type CliResult, type SnapshotJson } from './cli-harness.js';

const TREE_OPTIONS = { mtimeToleranceNs: 999n };
const SECOND_PASSPHRASE = 'second passphrase: correct horse battery staple';
const WRONG_PASSPHRASE = 'Wr0ng-passphrase-that-must-never-be-echoed';

let home: CliHome;
let source: string;
let firstId: string;

interface KeyListing {
  slots: { id: string; kind: string; description: string; created: string }[];
  dataKeys: { id: string; created: string; active: boolean }[];
}

beforeAll(async () => {
  home = await createHome('keys');
  source = home.path('docs');
  await writeTree(source, { 'a.txt': 'first version\n', 'b.bin': 300_000, 'sub/c.bin': 100_000 });
  // The first backup creates the repository and the default key file <home>/key.
  firstId = (await home.backup([source])).id;
  expect(existsSync(home.keyPath)).toBe(true);
}, 60_000);

afterAll(cleanupAll);

function expectNoSecret(result: CliResult, secret: string): void {
  expect(result.stdout).not.toContain(secret);
  expect(result.stderr).not.toContain(secret);
}

describe('adding a passphrase', () => {
  it('keys add --passphrase-env lets the second passphrase open the repository', async () => {
    const added = await home.json<{ id: string; kind: string }>(['keys', 'add', '--passphrase-env', 'SECOND_PASS'], { env: { SECOND_PASS: SECOND_PASSPHRASE } });
    expect(added.kind).toBe('passphrase');

    const withPassphrase = { env: { CHRONO_BACKUP_PASSPHRASE: SECOND_PASSPHRASE } };
    expect((await home.snapshots(withPassphrase)).map((s) => s.id)).toEqual([firstId]);
    const target = home.path('restore-passphrase');
    await home.json(['restore', firstId, '--target', target], withPassphrase);
    await assertTreesEqual(source, join(target, 'docs'), TREE_OPTIONS);

    const listing = await home.json<KeyListing>(['keys', 'list'], withPassphrase);
    expect(listing.slots.map((slot) => slot.kind).sort()).toEqual(['key-file', 'passphrase']);
    expect(listing.slots.find((slot) => slot.kind === 'key-file')!.description).toBe(home.keyPath);
    // the passphrase itself is never listed
    expect(JSON.stringify(listing)).not.toContain(SECOND_PASSPHRASE);
  }, 60_000);

  it('keys add without the variable set is a usage error naming the variable', async () => {
    const result = expectExit(await home.run(['keys', 'add', '--passphrase-env', 'UNSET_VARIABLE_FOR_TEST', '--json']), EXIT.usage);
    expect(errorJson(result).message).toContain('UNSET_VARIABLE_FOR_TEST');
  }, 30_000);
});

describe('a wrong passphrase', () => {
  it.each([
    ['snapshots', () => ['snapshots']],
    ['backup', () => ['backup', source]],
    ['restore', () => ['restore', firstId, '--target', home.path('restore-wrong')]],
    ['keys rotate', () => ['keys', 'rotate']],
    ['prune', () => ['prune', '--grace', '0s']],
  ])('%s exits 6 with a clear message, leaks nothing and leaves the repository byte-identical', async (_name, args) => {
    const before = await listTree(home.repo);
    const result = expectExit(await home.run([...args(), '--json'], { env: { CHRONO_BACKUP_PASSPHRASE: WRONG_PASSPHRASE } }), EXIT.keyAccess);
    const error = errorJson(result);
    expect(error.code).toBe('key.mismatch');
    expect(error.message).toMatch(/passphrase/);
    expectNoSecret(result, WRONG_PASSPHRASE);
    expect(await listTree(home.repo)).toEqual(before);
    expect(existsSync(home.path('restore-wrong'))).toBe(false);
  }, 30_000);
});

describe('a missing key file', () => {
  it('an explicit CHRONO_BACKUP_KEY_FILE that does not exist exits 6 naming the path', async () => {
    const missing = home.path('no-such.key');
    const before = await listTree(home.repo);
    const result = expectExit(await home.run(['snapshots', '--json'], { env: { CHRONO_BACKUP_KEY_FILE: missing } }), EXIT.keyAccess);
    expect(errorJson(result)).toMatchObject({ code: 'key.unavailable', details: { path: missing } });
    expect(errorJson(result).message).toContain(missing);
    expect(existsSync(missing)).toBe(false);
    expect(await listTree(home.repo)).toEqual(before);
  }, 30_000);

  it('a missing default key exits 6 naming <home>/key, and a backup does not create a new key', async () => {
    const moved = `${home.keyPath}.away`;
    await rename(home.keyPath, moved);
    try {
      const before = await listTree(home.repo);
      for (const args of [['snapshots'], ['backup', source]]) {
        const result = expectExit(await home.run([...args, '--json']), EXIT.keyAccess);
        expect(errorJson(result).code).toBe('key.unavailable');
        expect(errorJson(result).message).toContain(home.keyPath);
        // an existing repository never gets a freshly generated key that could not open it
        expect(existsSync(home.keyPath)).toBe(false);
      }
      expect(await listTree(home.repo)).toEqual(before);
    } finally {
      await rename(moved, home.keyPath);
    }
  }, 30_000);
});

describe('rotation', () => {
  it('keys rotate, then a backup: old and new snapshots both restore; keys list shows both data keys', async () => {
    const before = await home.json<KeyListing>(['keys', 'list']);
    expect(before.dataKeys).toHaveLength(1);
    const oldKey = before.dataKeys[0]!.id;

    const rotated = await home.json<{ id: string; active: boolean }>(['keys', 'rotate']);
    expect(rotated.active).toBe(true);
    expect(rotated.id).not.toBe(oldKey);

    const after = await home.json<KeyListing>(['keys', 'list']);
    expect(after.dataKeys.map((k) => k.id).sort()).toEqual([oldKey, rotated.id].sort());
    expect(after.dataKeys.filter((k) => k.active).map((k) => k.id)).toEqual([rotated.id]);

    await writeTree(source, { 'a.txt': 'second version\n', 'd.bin': 200_000 });
    const second = await home.backup([source]);
    const snapshots = await home.snapshots();
    const keyOf = (id: string) => snapshots.find((s: SnapshotJson) => s.id === id)!.keyId;
    expect(keyOf(firstId)).toBe(oldKey);
    expect(keyOf(second.id)).toBe(rotated.id);

    // The new snapshot restores with the new key, the old one still with the old key.
    const newTarget = home.path('restore-new');
    await home.json(['restore', second.id, '--target', newTarget]);
    await assertTreesEqual(source, join(newTarget, 'docs'), TREE_OPTIONS);
    const oldTarget = home.path('restore-old');
    await home.json(['restore', firstId, '--target', oldTarget]);
    expect((await listTree(join(oldTarget, 'docs'))).get('a.txt')).toBe((await listTree(home.path('restore-passphrase', 'docs'))).get('a.txt'));
    expect((await listTree(join(oldTarget, 'docs'))).has('d.bin')).toBe(false);

    // both keys are usable by every credential: the added passphrase opens the rotated repository too
    const viaPassphrase = await home.json<{ ok: boolean }>(['verify', '--level', 'full'], { env: { CHRONO_BACKUP_PASSPHRASE: SECOND_PASSPHRASE } });
    expect(viaPassphrase.ok).toBe(true);
  }, 60_000);
});
