import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deflateSync } from 'node:zlib';

import { assertTreesEqual, describeTree, diffTrees, printablePath, type TreeEntry } from '../../helpers/compare-trees.js';
import {
  bigFileBlockSeed,
  edgeCasePaths,
  FIXTURE_OWNER,
  makeEdgeCaseTree,
  SeededRandom,
  seededRandomBytes,
  uniqueMarker,
  utimesArg,
  writeRandomFile,
} from '../../helpers/fixture-tree.js';

const MiB = 1024 * 1024;
// Not a multiple of the 1 MiB block, so the short last block is exercised too.
const BIG_FILE_BYTES = 5 * MiB + 7;
const isRoot = process.getuid?.() === 0;

let base: string;
let treeA: string;
let treeB: string;
let entriesA: TreeEntry[];
let counter = 0;

/** A fresh, fully built fixture tree for a test that mutates it. */
async function freshTree(): Promise<string> {
  const dir = join(base, `mutated-${++counter}`);
  await makeEdgeCaseTree(dir, { bigFileBytes: BIG_FILE_BYTES });
  return dir;
}

function abs(root: string, rel: string | Buffer): Buffer {
  return Buffer.concat([Buffer.from(root), Buffer.from('/'), typeof rel === 'string' ? Buffer.from(rel) : rel]);
}

function entry(entries: TreeEntry[], rel: string | Buffer): TreeEntry {
  const hex = (typeof rel === 'string' ? Buffer.from(rel) : rel).toString('hex');
  const found = entries.find((e) => e.pathHex === hex);
  if (!found) throw new Error(`no entry for ${String(rel)}`);
  return found;
}

async function differences(actual: string, options: Parameters<typeof diffTrees>[2] = {}): Promise<string[]> {
  return diffTrees(entriesA, await describeTree(actual), options);
}

async function errorMessage(actual: string, options: Parameters<typeof assertTreesEqual>[2] = {}): Promise<string> {
  try {
    await assertTreesEqual(treeA, actual, options);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error('assertTreesEqual did not throw');
}

// Mutations must not disturb anything but the entry under test, so parent mtimes are put back by hand.
async function keepingMtime(path: Buffer, action: () => Promise<void>, link = false): Promise<void> {
  const { mtimeNs } = await fs.lstat(path, { bigint: true });
  await action();
  const time = utimesArg(mtimeNs);
  if (link) await fs.lutimes(path, time, time);
  else await fs.utimes(path, time, time);
}

beforeAll(async () => {
  base = await fs.mkdtemp(join(tmpdir(), 'chrono-fixture-'));
  treeA = join(base, 'a');
  treeB = join(base, 'b');
  await makeEdgeCaseTree(treeA, { bigFileBytes: BIG_FILE_BYTES });
  await makeEdgeCaseTree(treeB, { bigFileBytes: BIG_FILE_BYTES });
  entriesA = await describeTree(treeA);
});

afterAll(async () => {
  if (base) await fs.rm(base, { recursive: true, force: true });
});

describe('seededRandomBytes / SeededRandom', () => {
  it('is deterministic per seed and differs across seeds', () => {
    expect(seededRandomBytes(42, 4099).equals(seededRandomBytes(42, 4099))).toBe(true);
    expect(seededRandomBytes(42, 64).equals(seededRandomBytes(43, 64))).toBe(false);
    // Both 32-bit halves of the seed matter.
    expect(seededRandomBytes(1, 64).equals(seededRandomBytes(2 ** 32 + 1, 64))).toBe(false);
    expect(seededRandomBytes(7, 0)).toHaveLength(0);
  });

  it('is locked to known output so fixture hashes never drift silently', () => {
    expect(seededRandomBytes(0, 16).toString('hex')).toBe('cb8a97f966aeb5915a4ccee6ddec8f4d');
    expect(seededRandomBytes(0x5eed, 16).toString('hex')).toBe('5d220cbaf1bf54f63dbeae2aab6d71b0');
  });

  it('yields prefixes of longer outputs, whether filled at once, in chunks or unaligned', () => {
    const whole = seededRandomBytes(99, 1027);
    expect(seededRandomBytes(99, 13).equals(whole.subarray(0, 13))).toBe(true);
    const rng = new SeededRandom(99);
    const chunked = Buffer.concat([rng.bytes(512), rng.bytes(512), rng.bytes(3)]);
    expect(chunked.equals(whole)).toBe(true);
    const unaligned = Buffer.alloc(1028).subarray(1);
    new SeededRandom(99).fill(unaligned);
    expect(unaligned.equals(whole)).toBe(true);
  });

  it('looks random: incompressible and balanced', () => {
    const bytes = seededRandomBytes(123, 256 * 1024);
    expect(deflateSync(bytes).length).toBeGreaterThan(bytes.length * 0.99);
    const mean = bytes.reduce((sum, b) => sum + b, 0) / bytes.length;
    expect(Math.abs(mean - 127.5)).toBeLessThan(1);
  });

  it('rejects seeds and sizes that are not safe integers', () => {
    expect(() => seededRandomBytes(1.5, 4)).toThrow(RangeError);
    expect(() => seededRandomBytes(1, -1)).toThrow(RangeError);
  });

  it('writeRandomFile streams exactly seededRandomBytes', async () => {
    const file = join(base, 'random-stream.bin');
    await writeRandomFile(file, 2 * MiB + 3, 77);
    expect((await fs.readFile(file)).equals(seededRandomBytes(77, 2 * MiB + 3))).toBe(true);
    await writeRandomFile(file, 0, 77);
    expect((await fs.stat(file)).size).toBe(0);
  });
});

describe('uniqueMarker', () => {
  it('is a fresh, file-name-safe token each time', () => {
    const a = uniqueMarker();
    const b = uniqueMarker();
    expect(a).toMatch(/^leak-marker-[0-9a-f]{32}$/);
    expect(a).not.toBe(b);
  });
});

describe('utimesArg', () => {
  it('sets exactly the requested microsecond, before and after the epoch', async () => {
    const file = join(base, 'utimes-probe');
    await fs.writeFile(file, '');
    const samples = [0n, 1_000_000_000_123_456_000n, 1_234_567_890_999_999_000n, -14_182_939_876_544_000n, -1_000n, -1_000_000_000n];
    for (const ns of samples) {
      await fs.utimes(file, utimesArg(ns), utimesArg(ns));
      expect((await fs.lstat(file, { bigint: true })).mtimeNs).toBe(ns);
    }
  });
});

describe('printablePath', () => {
  it('escapes controls, quotes and invalid UTF-8 but keeps valid Unicode', () => {
    expect(printablePath(Buffer.from('a\nb\t"c"\\'))).toBe('a\\nb\\t\\"c\\"\\\\');
    expect(printablePath(Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]))).toBe('f\\xff\\xfe.bin');
    expect(printablePath(Buffer.from('ñandú/日本語/🦀'))).toBe('ñandú/日本語/🦀');
    // Overlong encoding of "/" and a lone surrogate are not valid UTF-8.
    expect(printablePath(Buffer.from([0xc0, 0xaf]))).toBe('\\xc0\\xaf');
    expect(printablePath(Buffer.from([0xed, 0xa0, 0x80]))).toBe('\\xed\\xa0\\x80');
  });
});

describe('makeEdgeCaseTree + describeTree', () => {
  it('builds reproducibly: two builds compare equal, all mtimes included', async () => {
    await expect(assertTreesEqual(treeA, treeB)).resolves.toBeUndefined();
    expect(await differences(treeB)).toEqual([]);
  });

  it('refuses a non-empty root', async () => {
    await expect(makeEdgeCaseTree(treeA)).rejects.toThrow(/not empty/);
  });

  it('lists the root first and everything sorted by path bytes', () => {
    expect(entriesA[0]).toMatchObject({ pathHex: '', path: '.', type: 'dir', mode: 0o755 });
    const paths = entriesA.map((e) => Buffer.from(e.pathHex, 'hex'));
    for (let i = 1; i < paths.length; i++) expect(Buffer.compare(paths[i - 1] as Buffer, paths[i] as Buffer)).toBe(-1);
    expect(entriesA.length).toBeGreaterThan(100);
  });

  it('contains every entry type, with unique mtimes for every inode', () => {
    const types = new Set(entriesA.map((e) => e.type));
    expect([...types].sort()).toEqual(['dir', 'file', 'symlink']);
    const mtimes = new Map<bigint, string>();
    for (const e of entriesA) {
      const other = mtimes.get(e.mtimeNs);
      // Hard-linked names share their inode's mtime; everything else has its own.
      if (other !== undefined && e.hardLinkGroup === null) throw new Error(`${e.path} shares mtime with ${other}`);
      mtimes.set(e.mtimeNs, e.path);
    }
    // Sub-second precision is really there.
    expect(entriesA.filter((e) => e.mtimeNs % 1_000_000_000n !== 0n).length).toBeGreaterThan(100);
  });

  it('holds the non-UTF-8 names, reachable by Buffer path and found by describeTree', async () => {
    const stats = await fs.lstat(abs(treeA, edgeCasePaths.nonUtf8File));
    expect(stats.isFile()).toBe(true);
    const file = entry(entriesA, edgeCasePaths.nonUtf8File);
    expect(file.pathHex).toBe(Buffer.from('odd/').toString('hex') + '66fffe2e62696e');
    expect(file.path).toBe('odd/f\\xff\\xfe.bin');
    expect(file.size).toBe(333);
    expect(entry(entriesA, edgeCasePaths.nonUtf8Dir).type).toBe('dir');
    const names = await fs.readdir(join(treeA, 'odd'), { encoding: 'buffer' });
    expect(names.some((n) => n.equals(Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e])))).toBe(true);
  });

  it('holds unicode, odd and 255-byte names, NFC and NFD side by side', () => {
    const nfd = entry(entriesA, edgeCasePaths.nfdFile);
    const nfc = entry(entriesA, edgeCasePaths.nfcFile);
    expect(nfd.pathHex).not.toBe(nfc.pathHex);
    expect(nfd.sha256).not.toBe(nfc.sha256);
    expect(entry(entriesA, edgeCasePaths.unicodeFile).type).toBe('file');
    expect(entry(entriesA, edgeCasePaths.newlineName).path).toBe('odd/new\\nline.txt');
    for (const rel of ['odd/..txt', 'odd/*?[]', 'odd/-leading-dash.txt', 'odd/with space.txt']) expect(entry(entriesA, rel).type).toBe('file');
    const longNames = entriesA.filter((e) => e.path.startsWith('long-names/') && e.type === 'file');
    const leafLengths = longNames.map((e) => Buffer.from(e.pathHex, 'hex').toString('latin1').split('/').pop()?.length);
    expect(leafLengths).toEqual([255, 255, 255, 255]);
    expect(Math.max(...longNames.map((e) => e.pathHex.length / 2))).toBeGreaterThan(1000);
  });

  it('holds empty files and empty (nested) directories', () => {
    expect(entry(entriesA, edgeCasePaths.emptyFile)).toMatchObject({ type: 'file', size: 0 });
    const childrenOf = (rel: string): TreeEntry[] => entriesA.filter((e) => e.path.startsWith(`${rel}/`));
    expect(childrenOf(edgeCasePaths.emptyDir)).toEqual([]);
    expect(childrenOf(edgeCasePaths.nestedEmptyDir)).toEqual([]);
    expect(childrenOf('empty-dirs/nested').map((e) => e.path)).toEqual(['empty-dirs/nested/inner', edgeCasePaths.nestedEmptyDir]);
  });

  it('sets permission and special bits exactly', () => {
    const modes: Record<string, number> = {
      [edgeCasePaths.executable]: 0o755,
      [edgeCasePaths.privateFile]: 0o600,
      [edgeCasePaths.readOnlyFile]: 0o444,
      'perms/no-access': 0o000,
      [edgeCasePaths.privateDir]: 0o700,
      'perms/read-only-dir': 0o555,
      [edgeCasePaths.setuidFile]: 0o4755,
      [edgeCasePaths.stickyDir]: 0o1777,
      [edgeCasePaths.setgidDir]: 0o2775,
      // Would have inherited S_ISGID from its parent had the fixture not cleared it.
      [`${edgeCasePaths.setgidDir}/plain-sub`]: 0o755,
    };
    for (const [rel, mode] of Object.entries(modes)) expect({ rel, mode: entry(entriesA, rel).mode }).toEqual({ rel, mode });
  });

  (isRoot ? it : it.skip)('sets foreign ownership on a file, a symlink and a directory (as root)', () => {
    for (const rel of [edgeCasePaths.ownedFile, edgeCasePaths.ownedSymlink, edgeCasePaths.ownedDir, edgeCasePaths.setuidFile]) {
      expect(entry(entriesA, rel)).toMatchObject({ uid: FIXTURE_OWNER.uid, gid: FIXTURE_OWNER.gid });
    }
    expect(entry(entriesA, edgeCasePaths.ownedSymlink).type).toBe('symlink');
    expect(entry(entriesA, edgeCasePaths.setgidDir).gid).toBe(FIXTURE_OWNER.gid);
  });

  it('holds all kinds of symlinks with their own mtimes', async () => {
    const target = (rel: string): string | null => entry(entriesA, rel).linkTarget;
    expect(target(edgeCasePaths.symlinkRelative)).toBe('../plain.txt');
    expect(target(edgeCasePaths.symlinkAbsolute)).toBe('/dev/null');
    expect(target(edgeCasePaths.symlinkDangling)).toBe('does-not-exist/nowhere.txt');
    expect(target(edgeCasePaths.symlinkToDir)).toBe('../nested/level-1');
    expect(target(edgeCasePaths.symlinkUnicodeTarget)).toBe('../unicode/ñandú.txt');
    expect(entry(entriesA, edgeCasePaths.symlinkNonUtf8Target).linkTargetHex).toBe(Buffer.from('../odd/').toString('hex') + '66fffe2e62696e');
    await expect(fs.stat(join(treeA, edgeCasePaths.symlinkDangling))).rejects.toThrow(/ENOENT/);
    expect((await fs.stat(join(treeA, edgeCasePaths.symlinkToDir))).isDirectory()).toBe(true);
    expect(entry(entriesA, 'times/old-link').mtimeNs).toBe(946_684_799_999_999_000n);
  });

  it('groups hard links canonically', () => {
    const [first, second, third] = edgeCasePaths.hardLinks.map((rel) => entry(entriesA, rel));
    expect(first?.hardLinkGroup).toBe(1);
    expect(second?.hardLinkGroup).toBe(1);
    expect(third?.hardLinkGroup).toBe(1);
    expect(entry(entriesA, 'hardlinks/pair-a').hardLinkGroup).toBe(2);
    expect(entry(entriesA, 'hardlinks/pair-b').hardLinkGroup).toBe(2);
    expect(entriesA.filter((e) => e.hardLinkGroup !== null)).toHaveLength(5);
    // Directories have nlink >= 2 but are never grouped.
    expect(entriesA.filter((e) => e.type === 'dir' && e.hardLinkGroup !== null)).toEqual([]);
  });

  it('sets awkward mtimes exactly: pre-epoch, epoch, whole second, last microsecond', () => {
    expect(entry(entriesA, edgeCasePaths.preEpochFile).mtimeNs).toBe(-14_182_939_876_544_000n);
    expect(entry(entriesA, 'times/epoch.txt').mtimeNs).toBe(0n);
    expect(entry(entriesA, 'times/whole-second.txt').mtimeNs).toBe(1_234_567_890_000_000_000n);
    expect(entry(entriesA, 'times/last-microsecond.txt').mtimeNs).toBe(1_500_000_000_999_999_000n);
  });

  it('writes compressible, incompressible, spliced and sparse data', async () => {
    const log = await fs.readFile(join(treeA, edgeCasePaths.compressibleFile));
    const random = await fs.readFile(join(treeA, edgeCasePaths.randomFile));
    const spliced = await fs.readFile(join(treeA, edgeCasePaths.splicedFile));
    expect(log.length).toBeGreaterThanOrEqual(3 * MiB);
    expect(log.length).toBeLessThan(3 * MiB + 128 * 1024);
    expect(deflateSync(log).length).toBeLessThan(log.length / 3);
    expect(random.length).toBe(3 * MiB);
    expect(deflateSync(random).length).toBeGreaterThan(random.length * 0.99);
    expect(spliced.indexOf(random.subarray(0, 4096))).toBe(65_537);
    expect(spliced.subarray(65_537, 65_537 + random.length).equals(random)).toBe(true);
    expect(spliced.length).toBe(65_537 + random.length + 4_099);
    const sparse = await fs.readFile(join(treeA, edgeCasePaths.sparseFile));
    expect(sparse.length).toBe(2 * MiB + 8192);
    expect(sparse.subarray(4096, 2 * MiB + 4096).every((b) => b === 0)).toBe(true);
  });

  it('streams the optional big file with repeated 1 MiB blocks', async () => {
    const big = entry(entriesA, edgeCasePaths.bigFile);
    expect(big.size).toBe(BIG_FILE_BYTES);
    const handle = await fs.open(join(treeA, edgeCasePaths.bigFile), 'r');
    try {
      const block = async (index: number): Promise<Buffer> => {
        const buf = Buffer.alloc(MiB);
        const { bytesRead } = await handle.read(buf, 0, MiB, index * MiB);
        return buf.subarray(0, bytesRead);
      };
      expect((await block(0)).equals(seededRandomBytes(bigFileBlockSeed(0), MiB))).toBe(true);
      expect((await block(3)).equals(await block(1))).toBe(true);
      expect((await block(2)).equals(await block(1))).toBe(false);
      expect((await block(5)).equals(seededRandomBytes(bigFileBlockSeed(5), 7))).toBe(true);
    } finally {
      await handle.close();
    }
    const withoutBig = join(base, 'no-big');
    await makeEdgeCaseTree(withoutBig);
    // mtimes follow creation order and the big file comes last, so nothing else shifts.
    expect(await differences(withoutBig)).toEqual([
      `"${edgeCasePaths.bigFile}": missing in actual (expected file)`,
    ]);
  });
});

describe('assertTreesEqual detects each kind of damage and names the path', () => {
  it('one flipped byte (same size, same mtime)', async () => {
    const tree = await freshTree();
    const file = abs(tree, edgeCasePaths.randomFile);
    await keepingMtime(file, async () => {
      const handle = await fs.open(file, 'r+');
      const byte = Buffer.alloc(1);
      await handle.read(byte, 0, 1, 1_000_000);
      byte[0] = (byte[0] as number) ^ 0x01;
      await handle.write(byte, 0, 1, 1_000_000);
      await handle.close();
    });
    const found = await differences(tree);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^"data\/random\.bin": sha256 expected "[0-9a-f]{64}" got "[0-9a-f]{64}"$/);
    expect(await errorMessage(tree)).toContain('"data/random.bin": sha256');
  });

  it('one flipped byte in the file with the non-UTF-8 name', async () => {
    const tree = await freshTree();
    const file = abs(tree, edgeCasePaths.nonUtf8File);
    await keepingMtime(file, async () => {
      const content = await fs.readFile(file);
      content[0] = (content[0] as number) ^ 0xff;
      await fs.writeFile(file, content);
    });
    const message = await errorMessage(tree);
    expect(message).toContain('"odd/f\\xff\\xfe.bin" [hex 6f64642f66fffe2e62696e]: sha256 expected');
  });

  it('one mode on the NFD-named file, shown with hex because it looks like its NFC twin', async () => {
    const tree = await freshTree();
    await fs.chmod(join(tree, edgeCasePaths.nfdFile), 0o640);
    await fs.chmod(join(tree, edgeCasePaths.nfcFile), 0o600);
    const nfdHex = Buffer.from(edgeCasePaths.nfdFile).toString('hex');
    expect(await differences(tree)).toEqual([
      // Byte order: "e" (0x65) sorts before the first byte of the precomposed "é" (0xc3).
      `"${edgeCasePaths.nfdFile}" [hex ${nfdHex}]: mode expected 0644 got 0640`,
      `"${edgeCasePaths.nfcFile}": mode expected 0644 got 0600`,
    ]);
  });

  it('one mode', async () => {
    const tree = await freshTree();
    await fs.chmod(join(tree, edgeCasePaths.executable), 0o744);
    expect(await differences(tree)).toEqual([`"${edgeCasePaths.executable}": mode expected 0755 got 0744`]);
    expect(await errorMessage(tree)).toContain(`"${edgeCasePaths.executable}": mode expected 0755 got 0744`);
  });

  it('one mtime, off by a single microsecond', async () => {
    const tree = await freshTree();
    const file = abs(tree, edgeCasePaths.unicodeFile);
    const { mtimeNs } = await fs.lstat(file, { bigint: true });
    await fs.utimes(file, utimesArg(mtimeNs + 1000n), utimesArg(mtimeNs + 1000n));
    const found = await differences(tree);
    expect(found).toHaveLength(1);
    // Plain NFC text needs no hex; see the NFD test below for when it is added.
    expect(found[0]).toContain(`"${edgeCasePaths.unicodeFile}": mtime expected `);
    expect(found[0]).toContain(`(${mtimeNs}ns) got `);
    expect(await errorMessage(tree)).toContain(edgeCasePaths.unicodeFile);
    // The tolerance option exists for trees with nanosecond timestamps Node cannot restore.
    await expect(assertTreesEqual(treeA, tree, { mtimeToleranceNs: 1000n })).resolves.toBeUndefined();
    await expect(assertTreesEqual(treeA, tree, { mtimeToleranceNs: 999n })).rejects.toThrow(edgeCasePaths.unicodeFile);
  });

  it('one symlink target', async () => {
    const tree = await freshTree();
    const link = abs(tree, edgeCasePaths.symlinkRelative);
    await keepingMtime(abs(tree, 'links'), () =>
      keepingMtime(
        link,
        async () => {
          await fs.unlink(link);
          // Same length as the original target, so only the target itself differs.
          await fs.symlink('../empty.txt', link);
        },
        true,
      ),
    );
    expect(await differences(tree)).toEqual([`"${edgeCasePaths.symlinkRelative}": linkTarget expected "../plain.txt" got "../empty.txt"`]);
    expect(await errorMessage(tree)).toContain(`"${edgeCasePaths.symlinkRelative}": linkTarget`);
  });

  it('one owner of a symlink (lchown)', async () => {
    const tree = await freshTree();
    const link = abs(tree, edgeCasePaths.ownedSymlink);
    const stats = await fs.lstat(link);
    await fs.lchown(link, stats.uid + 1, stats.gid);
    expect(await differences(tree)).toEqual([`"${edgeCasePaths.ownedSymlink}": uid expected ${stats.uid} got ${stats.uid + 1}`]);
  });

  it('a broken hard link', async () => {
    const tree = await freshTree();
    const [first, second, third] = edgeCasePaths.hardLinks;
    const name = abs(tree, second);
    const parent = abs(tree, 'nested/level-1/level-2');
    await keepingMtime(parent, async () => {
      // Same content, mode, owner and mtime: only the link structure changes.
      const copy = Buffer.concat([parent, Buffer.from('/.copy')]);
      const stats = await fs.lstat(name, { bigint: true });
      await fs.copyFile(name, copy);
      await fs.chown(copy, Number(stats.uid), Number(stats.gid));
      await fs.chmod(copy, Number(stats.mode & 0o7777n));
      await fs.utimes(copy, utimesArg(stats.mtimeNs), utimesArg(stats.mtimeNs));
      await fs.rename(copy, name);
    });
    const found = await differences(tree);
    expect(found).toEqual([
      `"${first}": hardLink expected linked with "${second}", "${third}" got linked with "${third}"`,
      `"${second}": hardLink expected linked with "${first}", "${third}" got not hard-linked`,
      `"${third}": hardLink expected linked with "${first}", "${second}" got linked with "${first}"`,
    ]);
    expect(await errorMessage(tree)).toContain(`"${second}": hardLink expected linked with`);
  });

  it('an added empty directory (and its parent mtime, unless directory mtimes are ignored)', async () => {
    const tree = await freshTree();
    await fs.mkdir(join(tree, 'empty-dirs/surprise'));
    const found = await differences(tree);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^"empty-dirs": mtime expected /);
    expect(found[1]).toBe('"empty-dirs/surprise": unexpected dir in actual');
    expect(await differences(tree, { ignoreDirMtimes: true })).toEqual(['"empty-dirs/surprise": unexpected dir in actual']);
    expect(await errorMessage(tree, { ignoreDirMtimes: true })).toContain('"empty-dirs/surprise": unexpected dir in actual');
  });

  it('a missing file and a changed type', async () => {
    const tree = await freshTree();
    await keepingMtime(Buffer.from(tree), () => fs.unlink(join(tree, 'one-byte')));
    await keepingMtime(Buffer.from(join(tree, 'empty-dirs')), async () => {
      await fs.rmdir(join(tree, edgeCasePaths.emptyDir));
      await fs.writeFile(join(tree, edgeCasePaths.emptyDir), '');
    });
    const found = await differences(tree);
    expect(found).toEqual(['"empty-dirs/alone": type expected dir got file', '"one-byte": missing in actual (expected file)']);
  });

  it('root and directory mtimes are compared by default and can be ignored', async () => {
    const tree = await freshTree();
    const later = utimesArg(1_700_000_000_000_000_000n);
    await fs.utimes(tree, later, later);
    expect(await errorMessage(tree)).toContain('"." (root): mtime expected');
    await expect(assertTreesEqual(treeA, tree, { ignoreRootMtime: true })).resolves.toBeUndefined();
    await fs.utimes(join(tree, 'nested/level-1'), later, later);
    await expect(assertTreesEqual(treeA, tree, { ignoreRootMtime: true })).rejects.toThrow('"nested/level-1": mtime');
    await expect(assertTreesEqual(treeA, tree, { ignoreDirMtimes: true })).resolves.toBeUndefined();
  });

  it('reports at most 50 differences and counts the rest', async () => {
    const tree = await freshTree();
    for (let i = 0; i < 60; i++) await fs.mkdir(join(tree, edgeCasePaths.emptyDir, `extra-${String(i).padStart(2, '0')}`));
    const message = await errorMessage(tree, { ignoreDirMtimes: true });
    const lines = message.split('\n');
    expect(lines[0]).toContain('60 difference(s)');
    expect(lines.filter((l) => l.includes('unexpected dir'))).toHaveLength(50);
    expect(lines.at(-1)).toBe('  ... and 10 more');
  });
});
