/**
 * A snapshot is data from storage: whoever can write to the repository can craft one. Restoring a
 * crafted snapshot must never write outside the target — not through `..`, `/` in names, raw (base64)
 * names, nor through a symlink restored earlier. The snapshots are built in-process with the repository
 * API on the repository the CLI uses, then restored with the real CLI.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import { lstat, mkdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Snapshot } from '../../src/domain/snapshot.js';
import { PassphraseKeyProvider } from '../../src/keys/local-key-provider.js';
import type { BlobWriter } from '../../src/repository/blob-writer.js';
import { formatKeyId } from '../../src/repository/keyring.js';
import { Repository } from '../../src/repository/repository.js';
import { encodeTree, type TreeNode } from '../../src/repository/tree.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { cleanupAll, createHome, errorJson, EXIT, expectExit, listTree, writeTree, type CliHome } from './cli-harness.js';

const PASSPHRASE = 'traversal test passphrase';
const PAYLOAD = 'written by a crafted snapshot\n';

let home: CliHome;
/** Everything a restore may touch lives in here; only `a/b/target*` may change. */
let sandbox: string;
/** An existing directory outside the target, the goal of the symlink tricks (absolute path). */
let outside: string;
let nextIno = 1000;

beforeAll(async () => {
  home = await createHome('traversal', { CHRONO_BACKUP_PASSPHRASE: PASSPHRASE });
  sandbox = home.path('sandbox');
  outside = join(sandbox, 'outside');
  await writeTree(outside, { 'existing.txt': 'do not touch\n' });
  await mkdir(join(sandbox, 'a', 'b'), { recursive: true });
  // A real backup creates the repository with the passphrase, as a user would.
  const seed = home.path('seed');
  await writeTree(seed, { 'hello.txt': 'hello\n' });
  await home.backup([seed]);
}, 60_000);

afterAll(cleanupAll);

function node(name: string, type: TreeNode['type'], extra: Partial<TreeNode> = {}): TreeNode {
  const time = '1700000000000000000';
  return { name, type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtimeNs: time, atimeNs: time, ctimeNs: time, size: 0, dev: '42', ino: String(nextIno++), nlink: 1, ...extra };
}

function file(writer: BlobWriter, name: string, extra: Partial<TreeNode> = {}): TreeNode {
  const content = Buffer.from(PAYLOAD);
  return node(name, 'file', { size: content.length, content: [writer.addInline('data', content)], ...extra });
}

function dir(writer: BlobWriter, name: string, children: TreeNode[]): TreeNode {
  return node(name, 'dir', { subtree: writer.addInline('tree', encodeTree({ nodes: children })) });
}

function symlink(name: string, target: string): TreeNode {
  return node(name, 'symlink', { mode: 0o777, size: target.length, target });
}

/** Writes a snapshot whose root lists `build(writer)`: packs → index → snapshot, like a backup. */
async function craft(id: string, build: (writer: BlobWriter) => TreeNode[]): Promise<void> {
  const repository = await Repository.open(new LocalObjectStorage(home.repo), new PassphraseKeyProvider(PASSPHRASE));
  const writer = repository.createWriter();
  const tree = writer.addInline('tree', encodeTree({ nodes: build(writer) }));
  await writer.flush();
  const snapshot: Snapshot = {
    id,
    backupId: id,
    type: 'full',
    source: 'files',
    time: new Date().toISOString(),
    hostname: 'crafted',
    paths: ['/crafted'],
    tags: ['crafted'],
    tree,
    stats: { items: 0, totalBytes: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0, blobsAdded: 0, durationMs: 0 },
    keyId: formatKeyId(repository.keyring.writeKey.id),
  };
  await repository.saveSnapshot(snapshot);
}

/** The sandbox without the restore targets: what must stay exactly as it was. */
async function outsideTargets(): Promise<Map<string, string>> {
  return new Map([...(await listTree(sandbox))].filter(([path]) => !/^a\/b\/target[^/]*(\/|$)/.test(path)));
}

async function restore(id: string, target: string, force = false) {
  return home.run(['restore', id, '--target', target, ...(force ? ['--force'] : []), '--json']);
}

describe('crafted snapshots with unsafe names exit 5 and write nothing outside the target', () => {
  it.each<[string, (writer: BlobWriter) => TreeNode[]]>([
    ['a directory named ..', (w) => [dir(w, '..', [file(w, 'escaped.txt')])]],
    ['a file named ../../etc/x', (w) => [file(w, 'fine.txt'), file(w, '../../etc/x')]],
    ['a file named a/b', (w) => [file(w, 'a/b')]],
    ['an absolute name', (w) => [file(w, join(outside, 'absolute.txt'))]],
    ['a file named .', (w) => [file(w, '.')]],
    ['an empty name', (w) => [file(w, '')]],
    ['a harmless name whose raw bytes are ../raw', (w) => [file(w, 'innocent.txt', { nameRaw: Buffer.from('../raw').toString('base64') })]],
    ['.. deep inside a subdirectory', (w) => [dir(w, 'docs', [dir(w, 'inner', [file(w, '..', {})])])]],
    ['an absolute symlink, then a directory of the same name', (w) => [symlink('link', outside), dir(w, 'link', [file(w, 'through-link.txt')])]],
    ['an absolute symlink, then a file of the same name', (w) => [symlink('link', join(outside, 'existing.txt')), file(w, 'link')]],
  ])('%s', async (name, build) => {
    const id = `crafted_${name.replace(/[^A-Za-z0-9]+/g, '_')}`;
    await craft(id, build);
    const before = await outsideTargets();
    const target = join(sandbox, 'a', 'b', `target-${id}`);
    const result = expectExit(await restore(id, target), EXIT.integrity);
    expect(errorJson(result).code).toMatch(/^integrity\.(unsafe_name|duplicate_name)$/);
    expect(await outsideTargets()).toEqual(before);
    expect(await readFile(join(outside, 'existing.txt'), 'utf8')).toBe('do not touch\n');
    expect(existsSync('/etc/x')).toBe(false);
    expect(existsSync(join(sandbox, 'a', 'etc'))).toBe(false);
    expect(existsSync(join(sandbox, 'a', 'b', 'escaped.txt'))).toBe(false);
  }, 30_000);
});

describe('a symlink left in the target by one restore is replaced, never followed, by the next', () => {
  it('restoring a directory or a file over an absolute symlink writes inside the target only', async () => {
    const target = join(sandbox, 'a', 'b', 'target-two-step');
    await craft('crafted_step1_symlinks', () => [symlink('dirlink', outside), symlink('filelink', join(outside, 'existing.txt'))]);
    expectExit(await restore('crafted_step1_symlinks', target), EXIT.ok);
    // A symlink is legitimate content: it is restored as a link, pointing where it pointed.
    expect(await readlink(join(target, 'dirlink'))).toBe(outside);

    await craft('crafted_step2_through_links', (w) => [dir(w, 'dirlink', [file(w, 'planted.txt')]), file(w, 'filelink')]);
    const before = await outsideTargets();
    expectExit(await restore('crafted_step2_through_links', target, true), EXIT.ok);
    expect(await outsideTargets()).toEqual(before);
    expect(existsSync(join(outside, 'planted.txt'))).toBe(false);
    expect(await readFile(join(outside, 'existing.txt'), 'utf8')).toBe('do not touch\n');
    // the links were replaced by real entries inside the target
    expect((await lstat(join(target, 'dirlink'))).isDirectory()).toBe(true);
    expect(await readFile(join(target, 'dirlink', 'planted.txt'), 'utf8')).toBe(PAYLOAD);
    expect((await lstat(join(target, 'filelink'))).isFile()).toBe(true);
  }, 30_000);
});
