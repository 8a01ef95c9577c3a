import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { chmod, lstat, mkdir, mkdtemp, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TreeNode } from '../../../src/repository/tree.js';
import { nodeFromStats, unchangedSince, utimesArgument } from '../../../src/sources/file-metadata.js';

function fileNode(fields: Partial<TreeNode> = {}): TreeNode {
  return {
    name: 'f',
    type: 'file',
    mode: 0o644,
    uid: 1000,
    gid: 1000,
    mtimeNs: '1735041600123456789',
    atimeNs: '1735041600000000000',
    ctimeNs: '1735041700000000001',
    size: 100,
    dev: '64769',
    ino: '123456',
    nlink: 1,
    ...fields,
  };
}

/** The recorded time truncated to whole microseconds, rounding toward negative infinity. */
function floorMicros(ns: string): bigint {
  const value = BigInt(ns);
  let micros = value / 1000n;
  if (value < 0n && micros * 1000n !== value) micros -= 1n;
  return micros * 1000n;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-metadata-'));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('unchangedSince', () => {
  const previous = fileNode({ content: ['aa'.repeat(32)] });

  it('is true for the same size, mtime, ctime and inode', () => {
    const current = fileNode({ atimeNs: '1800000000000000000', mode: 0o600, uid: 0 });
    expect(unchangedSince(previous, current)).toBe(true);
  });

  it('is false without a previous node', () => {
    expect(unchangedSince(undefined, fileNode())).toBe(false);
  });

  it('is false when the previous node has no content list', () => {
    expect(unchangedSince(fileNode(), fileNode())).toBe(false);
  });

  it.each<[string, Partial<TreeNode>]>([
    ['size', { size: 101 }],
    ['mtime', { mtimeNs: '1735041600123456790' }],
    ['ctime (an edit that restored the mtime)', { ctimeNs: '1735041700000000002' }],
    ['inode (a replaced file)', { ino: '123457' }],
    ['type', { type: 'symlink' }],
  ])('is false when the %s differs', (_label, change) => {
    expect(unchangedSince(previous, fileNode(change))).toBe(false);
  });

  it('is false when the previous entry was not a file', () => {
    expect(unchangedSince({ ...previous, type: 'dir' }, fileNode())).toBe(false);
  });
});

describe('utimesArgument', () => {
  it('returns text that parses as a finite number of seconds', () => {
    for (const ns of ['0', '1735041600123456789', '-1', '-86400000000000']) {
      const argument = utimesArgument(ns);
      expect(typeof argument).toBe('string');
      expect(Number.isFinite(Number(argument))).toBe(true);
    }
  });

  it('aims at the middle of the recorded microsecond', () => {
    expect(Number(utimesArgument('1735041600123456789'))).toBeCloseTo(1735041600.1234565, 6);
    expect(Number(utimesArgument('1000'))).toBeCloseTo(0.0000015, 12);
    expect(Number(utimesArgument('-1'))).toBeCloseTo(-0.0000015, 12);
    expect(Number(utimesArgument('-1000'))).toBeCloseTo(-0.0000015, 12);
    expect(Number(utimesArgument('-1001'))).toBeCloseTo(-0.0000025, 12);
  });

  it.each([
    ['the epoch', '0'],
    ['sub-microsecond after the epoch', '999'],
    ['one microsecond', '1000'],
    ['now-ish with nanoseconds', '1735041600123456789'],
    ['whole microseconds', '1735041600123456000'],
    ['the last microsecond of a second', '1735041600999999999'],
    ['the first microsecond of a second', '1735041601000000001'],
    ['2038 and beyond 32-bit seconds', '2147483648500000000'],
    ['the year 2100', '4102444800999999999'],
    ['one nanosecond before the epoch', '-1'],
    ['exactly one microsecond before the epoch', '-1000'],
    ['just over a microsecond before the epoch', '-1001'],
    ['half a microsecond before a microsecond', '-1500'],
    ['just after -1 s', '-999999999'],
    ['exactly -1 s', '-1000000000'],
    ['just before -1 s', '-1000000001'],
    ['a day before the epoch', '-86400123456789'],
    ['1950', '-631152000654321987'],
    ['1910', '-1893456000000001000'],
  ])('lands on the recorded microsecond through fs.utimes: %s', async (_label, ns) => {
    const path = join(dir, `utimes-${ns}`);
    await writeFile(path, 'x');
    await utimes(path, utimesArgument(ns), utimesArgument(ns));
    const stats = await stat(path, { bigint: true });
    expect(stats.mtimeNs).toBe(floorMicros(ns));
    expect(stats.atimeNs).toBe(floorMicros(ns));
  });

  it('sets atime and mtime independently', async () => {
    const path = join(dir, 'independent');
    await writeFile(path, 'x');
    await utimes(path, utimesArgument('-31536000000000500'), utimesArgument('1700000000000000999'));
    const stats = await stat(path, { bigint: true });
    expect(stats.atimeNs).toBe(-31536000000001000n);
    expect(stats.mtimeNs).toBe(1700000000000000000n);
  });
});

describe('nodeFromStats', () => {
  it('describes a regular file', async () => {
    const path = join(dir, 'regular.txt');
    await writeFile(path, 'hello world', { mode: 0o640 });
    await utimes(path, utimesArgument('1600000000000000000'), utimesArgument('1700000000123456000'));
    const stats = await lstat(path, { bigint: true });
    const node = nodeFromStats(Buffer.from('regular.txt'), stats);
    expect(node).toEqual({
      name: 'regular.txt',
      type: 'file',
      mode: Number(stats.mode & 0o7777n),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      mtimeNs: '1700000000123456000',
      atimeNs: '1600000000000000000',
      ctimeNs: stats.ctimeNs.toString(),
      size: 11,
      dev: stats.dev.toString(),
      ino: stats.ino.toString(),
      nlink: 1,
    });
    expect(node).not.toHaveProperty('nameRaw');
  });

  it('describes directories and symlinks with size 0', async () => {
    const sub = join(dir, 'sub');
    await mkdir(sub);
    await writeFile(join(sub, 'a'), 'aaaa');
    const link = join(dir, 'link');
    await symlink('sub/a', link);
    const dirNode = nodeFromStats(Buffer.from('sub'), await lstat(sub, { bigint: true }));
    expect(dirNode).toMatchObject({ type: 'dir', size: 0 });
    const linkNode = nodeFromStats(Buffer.from('link'), await lstat(link, { bigint: true }));
    expect(linkNode).toMatchObject({ type: 'symlink', size: 0 });
  });

  it('keeps the permission and special bits only', async () => {
    const path = join(dir, 'setgid-dir');
    await mkdir(path);
    await chmod(path, 0o2750);
    const node = nodeFromStats(Buffer.from('setgid-dir'), await lstat(path, { bigint: true }));
    expect(node.mode).toBe(0o2750);
  });

  it('records a non-UTF-8 name with its raw bytes', async () => {
    const name = Buffer.from([0x6e, 0xe4, 0x6d, 0x65]); // "näme" in latin-1
    const stats = await lstat(dir, { bigint: true });
    const node = nodeFromStats(name, stats);
    expect(node.nameRaw).toBe(name.toString('base64'));
    expect(Buffer.from(node.nameRaw!, 'base64').equals(name)).toBe(true);
  });
});
