/**
 * Describes a directory tree down to the metadata a faithful restore must reproduce, and compares two
 * trees with a readable list of differences. Paths are handled as raw bytes throughout, so names that
 * are not valid UTF-8 (or differ only in Unicode normalisation) are told apart and never mangled.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { BigIntStats } from 'node:fs';
import * as fs from 'node:fs/promises';
import { TextDecoder } from 'node:util';

/** What an entry is; fifos, sockets and devices are all `other` (see {@link TreeEntry.special}). */
export type TreeEntryType = 'file' | 'dir' | 'symlink' | 'other';

/** The kind of an `other` entry. */
export type SpecialKind = 'fifo' | 'socket' | 'char-device' | 'block-device' | 'unknown';

/** One entry of a described tree. Everything here is compared by {@link assertTreesEqual}. */
export interface TreeEntry {
  /** Path relative to the root as lowercase hex of its bytes; `''` is the root itself. */
  pathHex: string;
  /** The same path made printable (see {@link printablePath}); `'.'` for the root. Not unique on its own for NFC/NFD twins, `pathHex` is. */
  path: string;
  type: TreeEntryType;
  /** For `other` entries, which kind; `null` otherwise. */
  special: SpecialKind | null;
  /** Permission and special bits (`st_mode & 0o7777`); always 0o777 for symlinks on Linux. */
  mode: number;
  uid: number;
  gid: number;
  /** Bytes for files, target length for symlinks, 0 for directories (their st_size depends on history) and others. */
  size: number;
  /** Device number for character and block devices, else 0. */
  rdev: number;
  /** Modification time in nanoseconds since the epoch (from a bigint lstat, so nothing is rounded). */
  mtimeNs: bigint;
  /** Lowercase hex SHA-256 of the content for files, else `null`. */
  sha256: string | null;
  /** Symlink target bytes as lowercase hex, else `null`. */
  linkTargetHex: string | null;
  /** Printable symlink target, else `null`. */
  linkTarget: string | null;
  /**
   * For a non-directory whose inode has at least two names inside this tree: 1, 2, ... numbered by the
   * first name of each inode in path order, so equal trees get equal numbers. `null` for everything else
   * (including a file whose other names lie outside the tree, which no restore could reproduce).
   */
  hardLinkGroup: number | null;
}

/** Options for {@link assertTreesEqual} and {@link diffTrees}. */
export interface CompareTreesOptions {
  /** Skip the root directory's mtime (for restores into a pre-existing target directory). */
  ignoreRootMtime?: boolean;
  /** Skip the mtimes of all directories, root included. */
  ignoreDirMtimes?: boolean;
  /**
   * Accept mtimes this far apart (default 0n: exact). Node's `fs.utimes` can only set whole
   * microseconds, so trees written outside the fixture (with nanosecond kernel timestamps) need 999n.
   */
  mtimeToleranceNs?: bigint;
}

const MAX_REPORTED_DIFFERENCES = 50;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Renders path bytes readably and unambiguously: valid UTF-8 stays as is, `\` and `"` are escaped,
 * control characters become `\n`, `\t`, `\r` or `\xNN`/`\u{...}`, and bytes that are not valid UTF-8
 * become `\xNN`. Unicode is not normalised: NFC and NFD spellings stay distinct strings, though they look
 * alike, which is why difference messages add the hex of non-ASCII paths.
 */
export function printablePath(bytes: Buffer): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const byte = bytes[i] as number;
    if (byte < 0x80) {
      out += escapeAscii(byte);
      i += 1;
      continue;
    }
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 0;
    let decoded: string | null = null;
    if (length > 0 && i + length <= bytes.length) {
      try {
        // The fatal decoder rejects overlong forms, surrogates and bad continuation bytes for us.
        decoded = utf8.decode(bytes.subarray(i, i + length));
      } catch {
        decoded = null;
      }
    }
    if (decoded === null) {
      out += `\\x${byte.toString(16).padStart(2, '0')}`;
      i += 1;
      continue;
    }
    const codePoint = decoded.codePointAt(0) as number;
    // C1 controls are valid UTF-8 but as invisible as C0 ones.
    out += codePoint >= 0x80 && codePoint <= 0x9f ? `\\u{${codePoint.toString(16)}}` : decoded;
    i += length;
  }
  return out;
}

function escapeAscii(byte: number): string {
  switch (byte) {
    case 0x0a:
      return '\\n';
    case 0x09:
      return '\\t';
    case 0x0d:
      return '\\r';
    case 0x5c:
      return '\\\\';
    case 0x22:
      return '\\"';
    default:
      return byte < 0x20 || byte === 0x7f ? `\\x${byte.toString(16).padStart(2, '0')}` : String.fromCharCode(byte);
  }
}

function joinRelative(parent: Buffer, name: Buffer): Buffer {
  return parent.length === 0 ? name : Buffer.concat([parent, Buffer.from('/'), name]);
}

function joinAbsolute(root: Buffer, rel: Buffer): Buffer {
  return rel.length === 0 ? root : Buffer.concat([root, Buffer.from('/'), rel]);
}

function typeOf(stats: BigIntStats): { type: TreeEntryType; special: SpecialKind | null } {
  if (stats.isFile()) return { type: 'file', special: null };
  if (stats.isDirectory()) return { type: 'dir', special: null };
  if (stats.isSymbolicLink()) return { type: 'symlink', special: null };
  if (stats.isFIFO()) return { type: 'other', special: 'fifo' };
  if (stats.isSocket()) return { type: 'other', special: 'socket' };
  if (stats.isCharacterDevice()) return { type: 'other', special: 'char-device' };
  if (stats.isBlockDevice()) return { type: 'other', special: 'block-device' };
  return { type: 'other', special: 'unknown' };
}

async function sha256File(path: Buffer): Promise<string> {
  const hash = createHash('sha256');
  // Streamed: fixture files can be far larger than memory.
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

interface RawEntry {
  rel: Buffer;
  entry: TreeEntry;
  inodeKey: string | null;
}

/**
 * Walks `root` without following symlinks and returns one entry per path (the root first, as `''`),
 * sorted by relative path bytes. File contents are hashed in a streaming fashion.
 */
export async function describeTree(root: string): Promise<TreeEntry[]> {
  const rootBytes = Buffer.from(root);
  const raw: RawEntry[] = [];
  const visit = async (rel: Buffer): Promise<void> => {
    const abs = joinAbsolute(rootBytes, rel);
    const stats = await fs.lstat(abs, { bigint: true });
    const { type, special } = typeOf(stats);
    if (rel.length === 0 && type !== 'dir') throw new Error(`describeTree: ${root} is not a directory`);
    let linkTargetBytes: Buffer | null = null;
    if (type === 'symlink') linkTargetBytes = await fs.readlink(abs, { encoding: 'buffer' });
    const entry: TreeEntry = {
      pathHex: rel.toString('hex'),
      path: rel.length === 0 ? '.' : printablePath(rel),
      type,
      special,
      mode: Number(stats.mode & 0o7777n),
      uid: Number(stats.uid),
      gid: Number(stats.gid),
      size: type === 'file' || type === 'symlink' ? Number(stats.size) : 0,
      rdev: special === 'char-device' || special === 'block-device' ? Number(stats.rdev) : 0,
      mtimeNs: stats.mtimeNs,
      sha256: type === 'file' ? await sha256File(abs) : null,
      linkTargetHex: linkTargetBytes ? linkTargetBytes.toString('hex') : null,
      linkTarget: linkTargetBytes ? printablePath(linkTargetBytes) : null,
      hardLinkGroup: null,
    };
    // Directories always have nlink >= 2 without being "hard links" in the sense a restore cares about.
    const inodeKey = type !== 'dir' && stats.nlink > 1n ? `${stats.dev}:${stats.ino}` : null;
    raw.push({ rel, entry, inodeKey });
    if (type === 'dir') {
      const names = await fs.readdir(abs, { encoding: 'buffer' });
      for (const name of names) await visit(joinRelative(rel, name));
    }
  };
  await visit(Buffer.alloc(0));

  raw.sort((a, b) => Buffer.compare(a.rel, b.rel));

  const namesPerInode = new Map<string, number>();
  for (const { inodeKey } of raw) if (inodeKey) namesPerInode.set(inodeKey, (namesPerInode.get(inodeKey) ?? 0) + 1);
  const groupOfInode = new Map<string, number>();
  for (const item of raw) {
    if (!item.inodeKey || (namesPerInode.get(item.inodeKey) ?? 0) < 2) continue;
    let group = groupOfInode.get(item.inodeKey);
    if (group === undefined) {
      group = groupOfInode.size + 1;
      groupOfInode.set(item.inodeKey, group);
    }
    item.entry.hardLinkGroup = group;
  }
  return raw.map((item) => item.entry);
}

function formatMode(mode: number): string {
  return mode.toString(8).padStart(4, '0');
}

function formatNs(ns: bigint): string {
  let seconds = ns / 1_000_000_000n;
  if (ns < 0n && seconds * 1_000_000_000n !== ns) seconds -= 1n;
  const fraction = (ns - seconds * 1_000_000_000n).toString().padStart(9, '0');
  const date = new Date(Number(seconds) * 1000);
  if (Number.isNaN(date.getTime())) return `${ns}ns`;
  return `${date.toISOString().replace(/\.\d{3}Z$/, `.${fraction}Z`)} (${ns}ns)`;
}

/**
 * True when a printable path could be misread: escaped bytes, text that is not in NFC (so it looks like
 * its NFC twin), or characters that render as nothing or like a plain space (combining marks outside
 * NFC, zero-width and other format characters, exotic spaces, unassigned code points).
 */
function looksAmbiguous(printable: string): boolean {
  return /\\(x|u\{)/.test(printable) || printable !== printable.normalize('NFC') || /[^\p{L}\p{N}\p{P}\p{S} ]/u.test(printable);
}

function displayPath(entry: TreeEntry): string {
  if (entry.pathHex === '') return '"." (root)';
  // The hex settles what the eye cannot, e.g. "e\u0301" vs "\u00e9" or a zero-width space.
  return looksAmbiguous(entry.path) ? `"${entry.path}" [hex ${entry.pathHex}]` : `"${entry.path}"`;
}

function quote(value: string | null): string {
  return value === null ? 'none' : `"${value}"`;
}

/** Map from pathHex to the printable paths of the entry's other names, in path order. */
function hardLinkPeers(entries: TreeEntry[]): Map<string, string[]> {
  const members = new Map<number, TreeEntry[]>();
  for (const entry of entries) {
    if (entry.hardLinkGroup === null) continue;
    const list = members.get(entry.hardLinkGroup) ?? [];
    list.push(entry);
    members.set(entry.hardLinkGroup, list);
  }
  const peers = new Map<string, string[]>();
  for (const list of members.values()) {
    for (const entry of list) peers.set(entry.pathHex, list.filter((other) => other !== entry).map((other) => other.path));
  }
  return peers;
}

function describePeers(peers: string[] | undefined): string {
  return peers && peers.length > 0 ? `linked with ${peers.map((p) => `"${p}"`).join(', ')}` : 'not hard-linked';
}

/**
 * Lists the differences between two described trees, one readable line each (`path: field expected X got Y`),
 * in path order. Hard links are compared by which paths share an inode, not by group number, so breaking
 * one link only reports the paths involved.
 */
export function diffTrees(expected: TreeEntry[], actual: TreeEntry[], options: CompareTreesOptions = {}): string[] {
  const tolerance = options.mtimeToleranceNs ?? 0n;
  const expectedPeers = hardLinkPeers(expected);
  const actualPeers = hardLinkPeers(actual);
  const differences: string[] = [];
  let i = 0;
  let j = 0;
  while (i < expected.length || j < actual.length) {
    const want = expected[i];
    const got = actual[j];
    // Lowercase hex of equal-width bytes sorts exactly like the bytes themselves.
    if (want && (!got || want.pathHex < got.pathHex)) {
      differences.push(`${displayPath(want)}: missing in actual (expected ${want.type})`);
      i++;
      continue;
    }
    if (got && (!want || got.pathHex < want.pathHex)) {
      differences.push(`${displayPath(got)}: unexpected ${got.type} in actual`);
      j++;
      continue;
    }
    if (!want || !got) break;
    i++;
    j++;
    const at = displayPath(want);
    if (want.type !== got.type || want.special !== got.special) {
      const kind = (e: TreeEntry): string => (e.special ? `${e.type} (${e.special})` : e.type);
      differences.push(`${at}: type expected ${kind(want)} got ${kind(got)}`);
      continue;
    }
    const field = (name: string, a: string, b: string): void => {
      if (a !== b) differences.push(`${at}: ${name} expected ${a} got ${b}`);
    };
    field('mode', formatMode(want.mode), formatMode(got.mode));
    field('uid', String(want.uid), String(got.uid));
    field('gid', String(want.gid), String(got.gid));
    field('size', String(want.size), String(got.size));
    field('sha256', quote(want.sha256), quote(got.sha256));
    if (want.linkTargetHex !== got.linkTargetHex) {
      differences.push(`${at}: linkTarget expected ${quote(want.linkTarget)} got ${quote(got.linkTarget)}`);
    }
    field('rdev', String(want.rdev), String(got.rdev));
    field('hardLink', describePeers(expectedPeers.get(want.pathHex)), describePeers(actualPeers.get(got.pathHex)));
    const skipMtime = (want.type === 'dir' && options.ignoreDirMtimes) || (want.pathHex === '' && options.ignoreRootMtime);
    if (!skipMtime) {
      const delta = want.mtimeNs > got.mtimeNs ? want.mtimeNs - got.mtimeNs : got.mtimeNs - want.mtimeNs;
      if (delta > tolerance) differences.push(`${at}: mtime expected ${formatNs(want.mtimeNs)} got ${formatNs(got.mtimeNs)}`);
    }
  }
  return differences;
}

/**
 * Throws an Error listing every difference between the trees at `expected` and `actual` (the first 50,
 * then a count of the rest) unless they are identical in structure, names (as bytes), types, modes,
 * owners, sizes, content hashes, symlink targets, hard-link structure and mtimes. Directory mtimes,
 * the root's included, are compared unless the options say otherwise; atime and ctime never are.
 */
export async function assertTreesEqual(expected: string, actual: string, options: CompareTreesOptions = {}): Promise<void> {
  const [expectedEntries, actualEntries] = await Promise.all([describeTree(expected), describeTree(actual)]);
  const differences = diffTrees(expectedEntries, actualEntries, options);
  if (differences.length === 0) return;
  const shown = differences.slice(0, MAX_REPORTED_DIFFERENCES);
  const more = differences.length - shown.length;
  const lines = [
    `Trees differ: expected ${expected}, actual ${actual}: ${differences.length} difference(s)`,
    ...shown.map((line) => `  ${line}`),
    ...(more > 0 ? [`  ... and ${more} more`] : []),
  ];
  throw new Error(lines.join('\n'));
}
