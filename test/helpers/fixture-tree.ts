/**
 * Deterministic fixture trees for the backup engine's integration tests. The tree built by
 * {@link makeEdgeCaseTree} collects the file-system cases a restore most often gets wrong (odd and
 * non-UTF-8 names, special permission bits, ownership, symlinks, hard links, pre-epoch and sub-second
 * mtimes, data that dedups or does not compress) so one `assertTreesEqual(source, restored)` proves a
 * restore is byte- and metadata-identical.
 *
 * Everything is reproducible: contents come from a seeded PRNG and every entry gets a fixed mtime, so
 * building the tree twice yields two trees that compare equal, mtimes included.
 */
import { randomBytes } from 'node:crypto';
import type { PathLike } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { endianness } from 'node:os';

/** Owner given to the fixture's "foreign-owned" entries; neither id exists on a typical test box, on purpose. */
export const FIXTURE_OWNER = Object.freeze({ uid: 1234, gid: 5678 });

const MiB = 1024 * 1024;
/** Default size of the compressible and incompressible data files. */
const DATA_FILE_BYTES = 3 * MiB;
/** Streaming chunk; a multiple of 4 so chunked PRNG output equals one-shot output (see SeededRandom.fill). */
const STREAM_CHUNK_BYTES = MiB;

// ---------------------------------------------------------------------------------------------------
// PRNG
// ---------------------------------------------------------------------------------------------------

const LITTLE_ENDIAN = endianness() === 'LE';

function rotl32(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

/**
 * A small, fast, deterministic PRNG (xoshiro128** seeded through a splitmix32-style mixer). Not
 * cryptographic: it only has to make fixture bytes reproducible and look incompressible.
 *
 * The byte stream is defined as the sequence of 32-bit outputs in little-endian order, independent of
 * the host's endianness, so fixtures hash the same everywhere.
 */
export class SeededRandom {
  private s0: number;
  private s1: number;
  private s2: number;
  private s3: number;

  /** @param seed any safe integer; both 32-bit halves feed the state, so 1 and 2^32 + 1 differ. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 0x1_0000_0000) >>> 0;
    let x = lo;
    const mix = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    // Fold the high half in after one round so seeds that differ only above bit 31 still diverge.
    x = (mix() ^ hi) >>> 0;
    this.s0 = mix();
    this.s1 = mix();
    this.s2 = mix();
    this.s3 = mix();
    // xoshiro's all-zero state is a fixed point; the mixer makes it practically impossible, but be safe.
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1;
  }

  /** Next 32-bit unsigned output. */
  nextUint32(): number {
    const s0 = this.s0;
    const s1 = this.s1;
    const result = Math.imul(rotl32(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl32(this.s3, 11);
    return result;
  }

  /** Integer in [0, n) (tiny modulo bias is irrelevant for fixtures). */
  below(n: number): number {
    return Math.floor((this.nextUint32() / 0x1_0000_0000) * n);
  }

  /** Picks one element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    const item = items[this.below(items.length)];
    if (item === undefined) throw new RangeError('pick() needs a non-empty array');
    return item;
  }

  /**
   * Fills `target` with the next bytes of the stream. Whole 32-bit words are consumed; a trailing
   * 1-3 bytes consume one more word and drop its unused bytes. Filling in chunks whose sizes are
   * multiples of 4 therefore yields exactly the same bytes as one big fill.
   */
  fill(target: Buffer): Buffer {
    const words = target.length >>> 2;
    let s0 = this.s0;
    let s1 = this.s1;
    let s2 = this.s2;
    let s3 = this.s3;
    // A Uint32Array view is ~10x faster than writeUInt32LE, but needs 4-byte alignment.
    const aligned = LITTLE_ENDIAN && target.byteOffset % 4 === 0;
    const view = aligned ? new Uint32Array(target.buffer, target.byteOffset, words) : null;
    for (let i = 0; i < words; i++) {
      const result = Math.imul(rotl32(Math.imul(s1, 5), 7), 9) >>> 0;
      const t = s1 << 9;
      s2 ^= s0;
      s3 ^= s1;
      s1 ^= s2;
      s0 ^= s3;
      s2 ^= t;
      s3 = rotl32(s3, 11);
      if (view) view[i] = result;
      else target.writeUInt32LE(result, i * 4);
    }
    this.s0 = s0;
    this.s1 = s1;
    this.s2 = s2;
    this.s3 = s3;
    const rest = target.length - words * 4;
    if (rest > 0) {
      const last = this.nextUint32();
      for (let j = 0; j < rest; j++) target[words * 4 + j] = (last >>> (8 * j)) & 0xff;
    }
    return target;
  }

  /** Returns `n` fresh bytes of the stream. */
  bytes(n: number): Buffer {
    return this.fill(Buffer.alloc(n));
  }
}

/**
 * Returns `n` deterministic pseudo-random bytes for `seed`. Same seed, same bytes; a prefix of a longer
 * request equals a shorter one (so `seededRandomBytes(s, 10)` is the first 10 bytes of `seededRandomBytes(s, 100)`).
 */
export function seededRandomBytes(seed: number, n: number): Buffer {
  assertByteCount(n, 'n');
  return new SeededRandom(seed).bytes(n);
}

function assertByteCount(n: number, name: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
}

// FileHandle.write may write less than asked; loop so callers never end up with a short file.
async function writeAll(handle: FileHandle, data: Buffer): Promise<void> {
  let offset = 0;
  while (offset < data.length) {
    const { bytesWritten } = await handle.write(data, offset, data.length - offset);
    offset += bytesWritten;
  }
}

/**
 * Streams `bytes` pseudo-random bytes for `seed` into a new file at `path` (truncating an existing one),
 * 1 MiB at a time so arbitrarily large files never sit in memory. The content equals
 * `seededRandomBytes(seed, bytes)`.
 */
export async function writeRandomFile(path: PathLike, bytes: number, seed: number): Promise<void> {
  assertByteCount(bytes, 'bytes');
  const rng = new SeededRandom(seed);
  const chunk = Buffer.alloc(Math.min(bytes, STREAM_CHUNK_BYTES));
  const handle = await fs.open(path, 'w');
  try {
    for (let done = 0; done < bytes; ) {
      const n = Math.min(chunk.length, bytes - done);
      const piece = chunk.subarray(0, n);
      rng.fill(piece);
      await writeAll(handle, piece);
      done += n;
    }
  } finally {
    await handle.close();
  }
}

/**
 * A random token (`leak-marker-` + 32 hex digits) for tests to embed in file contents and names; if it
 * ever shows up when grepping the repository's stored objects, plaintext leaked. ASCII only, so it is
 * safe in a file name and greps the same in any encoding-agnostic tool.
 */
export function uniqueMarker(): string {
  return `leak-marker-${randomBytes(16).toString('hex')}`;
}

// ---------------------------------------------------------------------------------------------------
// Time helpers
// ---------------------------------------------------------------------------------------------------

/**
 * Converts nanoseconds since the epoch into the `atime`/`mtime` argument for `fs.utimes` /
 * `fs.lutimes` that lands exactly on the same microsecond (sub-microsecond digits are truncated).
 *
 * Why this is not simply `Number(ns) / 1e9`: libuv truncates the double to whole microseconds, and
 * the double nearest to e.g. `1000000000.123456` can lie just *below* it, losing a microsecond; Node also
 * silently replaces any negative *number* with "now". So we aim at the middle of the target
 * microsecond (half a microsecond away from both truncation edges, far more than a double's ~0.24 us
 * error at current epochs) and pass it as a numeric string, which Node accepts for negative times too.
 */
export function utimesArg(ns: bigint): string {
  // Floor division, so pre-epoch times round toward -infinity like the kernel's timespec does.
  let us = ns / 1000n;
  if (ns < 0n && us * 1000n !== ns) us -= 1n;
  // libuv truncates toward zero, so the nudge must point away from zero on both sides of the epoch.
  const seconds = us >= 0n ? (Number(us) + 0.5) / 1e6 : (Number(us) - 0.5) / 1e6;
  return String(seconds);
}

// ---------------------------------------------------------------------------------------------------
// Tree builder
// ---------------------------------------------------------------------------------------------------

type RelPath = string | Buffer;

interface Planned {
  rel: Buffer;
  kind: 'file' | 'dir' | 'symlink';
  mode?: number;
  owner?: { uid: number; gid: number };
  mtimeNs?: bigint;
}

const SLASH = Buffer.from('/');

function toBytes(part: RelPath): Buffer {
  // No Unicode normalisation anywhere: the tree deliberately holds both NFC and NFD spellings.
  return typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}

/** Joins path segments as raw bytes so non-UTF-8 names survive. */
function joinBytes(...parts: RelPath[]): Buffer {
  const pieces: Buffer[] = [];
  for (const part of parts) {
    const bytes = toBytes(part);
    if (bytes.length === 0) continue;
    if (pieces.length > 0) pieces.push(SLASH);
    pieces.push(bytes);
  }
  return Buffer.concat(pieces);
}

/**
 * Records what to create and applies ownership, modes and mtimes only after everything exists: creating
 * a child bumps the parent's mtime, read-only directories would block their own population for
 * non-root users, and chown clears setuid/setgid bits, so the order must be create -> chown -> chmod -> utimes.
 */
class TreeBuilder {
  private readonly planned: Planned[] = [];
  private readonly byRel = new Map<string, Planned>();

  constructor(private readonly root: Buffer) {}

  abs(rel: RelPath): Buffer {
    return joinBytes(this.root, rel);
  }

  private record(entry: Planned): void {
    const key = entry.rel.toString('hex');
    if (this.byRel.has(key)) throw new Error(`fixture bug: ${entry.rel.toString()} planned twice`);
    this.planned.push(entry);
    this.byRel.set(key, entry);
  }

  private entry(rel: RelPath): Planned {
    const entry = this.byRel.get(toBytes(rel).toString('hex'));
    if (!entry) throw new Error(`fixture bug: ${toBytes(rel).toString()} was never created`);
    return entry;
  }

  /** Registers the root itself so its mode and mtime are fixed too (two builds must compare equal). */
  markRoot(): void {
    this.record({ rel: Buffer.alloc(0), kind: 'dir', mode: 0o755 });
  }

  async dir(rel: RelPath, mode = 0o755): Promise<void> {
    // Created private and chmodded at the end, so the umask never leaks into the fixture.
    await fs.mkdir(this.abs(rel), { mode: 0o700 });
    this.record({ rel: toBytes(rel), kind: 'dir', mode });
  }

  async file(rel: RelPath, content: string | Buffer, mode = 0o644): Promise<void> {
    await fs.writeFile(this.abs(rel), content, { flag: 'wx', mode: 0o600 });
    this.record({ rel: toBytes(rel), kind: 'file', mode });
  }

  /** Registers a file that a helper wrote itself (streamed data files). */
  adopt(rel: RelPath, mode = 0o644): void {
    this.record({ rel: toBytes(rel), kind: 'file', mode });
  }

  async symlink(rel: RelPath, target: RelPath): Promise<void> {
    await fs.symlink(toBytes(target), this.abs(rel));
    this.record({ rel: toBytes(rel), kind: 'symlink' });
  }

  /** Extra name for an existing file; not recorded, since mode/owner/mtime belong to the shared inode. */
  async hardLink(existing: RelPath, rel: RelPath): Promise<void> {
    await fs.link(this.abs(existing), this.abs(rel));
  }

  own(rel: RelPath, owner: { uid: number; gid: number }): void {
    this.entry(rel).owner = owner;
  }

  mtime(rel: RelPath, ns: bigint): void {
    this.entry(rel).mtimeNs = ns;
  }

  /** Applies ownership, then modes, then mtimes (see the class comment for why the order matters). */
  async finish(): Promise<void> {
    const isRoot = process.getuid?.() === 0;
    if (isRoot) {
      for (const entry of this.planned) {
        if (entry.owner) await fs.lchown(this.abs(entry.rel), entry.owner.uid, entry.owner.gid);
      }
    }
    for (const entry of this.planned) {
      // Linux has no lchmod and symlink modes are always 0777, so symlinks are skipped.
      if (entry.kind !== 'symlink' && entry.mode !== undefined) await fs.chmod(this.abs(entry.rel), entry.mode);
    }
    const seen = new Set<bigint>();
    this.planned.forEach((entry, index) => {
      entry.mtimeNs ??= defaultMtimeNs(index);
      if (seen.has(entry.mtimeNs)) throw new Error(`fixture bug: mtime ${entry.mtimeNs} used twice`);
      seen.add(entry.mtimeNs);
    });
    for (const entry of this.planned) {
      const time = utimesArg(entry.mtimeNs as bigint);
      // lutimes never follows the link, so a symlink (even a dangling one) gets its own mtime.
      if (entry.kind === 'symlink') await fs.lutimes(this.abs(entry.rel), time, time);
      else await fs.utimes(this.abs(entry.rel), time, time);
    }
  }
}

/** 2001-09-09T01:46:40Z plus a ~1 day stride and a microsecond fraction that varies per entry. */
function defaultMtimeNs(index: number): bigint {
  const seconds = 1_000_000_000n + BigInt(index) * 86_413n;
  const micros = BigInt((index * 104_729 + 123_457) % 1_000_000);
  return seconds * 1_000_000_000n + micros * 1000n;
}

// ---------------------------------------------------------------------------------------------------
// Fixture layout
// ---------------------------------------------------------------------------------------------------

/** A file name that is not valid UTF-8 ("f", 0xff, 0xfe, ".bin"): must round-trip as raw bytes. */
const NON_UTF8_FILE_NAME = Buffer.from([0x66, 0xff, 0xfe, 0x2e, 0x62, 0x69, 0x6e]);
/** A Latin-1 directory name ("dér-latin1"), also not valid UTF-8. */
const NON_UTF8_DIR_NAME = Buffer.from('d\xe9r-latin1', 'latin1');
const LONG_ASCII_NAME = `${'L'.repeat(251)}.txt`;
const LONG_TWO_BYTE_NAME = `${'é'.repeat(126)}abc`;
const LONG_THREE_BYTE_NAME = '語'.repeat(85);
const LONG_DIR_NAME = 'd'.repeat(255);

const RANDOM_SEED = 0x5eed_0001;
const LOG_SEED = 0x5eed_0002;
const SPLICE_PREFIX_SEED = 0x5eed_0003;
const SPLICE_SUFFIX_SEED = 0x5eed_0004;
const BIG_FILE_SEED = 0x5eed_1000;
const SPLICE_PREFIX_BYTES = 65_537;
const SPLICE_SUFFIX_BYTES = 4_099;

/**
 * Relative paths of the fixture's notable entries, for tests that mutate or inspect one of them.
 * Buffers are used where the name is not valid UTF-8.
 */
export const edgeCasePaths = Object.freeze({
  textFile: 'plain.txt',
  emptyFile: 'empty.txt',
  deepFile: 'nested/level-1/level-2/level-3/deep.txt',
  executable: 'perms/run.sh',
  privateFile: 'perms/private.key',
  readOnlyFile: 'perms/read-only.txt',
  privateDir: 'perms/private-dir',
  setuidFile: 'perms/setuid.sh',
  stickyDir: 'perms/sticky-dir',
  setgidDir: 'perms/setgid-dir',
  emptyDir: 'empty-dirs/alone',
  nestedEmptyDir: 'empty-dirs/nested/inner/innermost',
  unicodeFile: 'unicode/ñandú.txt',
  nfdFile: 'unicode/e\u0301.txt',
  nfcFile: 'unicode/\u00e9.txt',
  newlineName: 'odd/new\nline.txt',
  longName: `long-names/${LONG_ASCII_NAME}`,
  nonUtf8File: joinBytes('odd', NON_UTF8_FILE_NAME),
  nonUtf8Dir: joinBytes('odd', NON_UTF8_DIR_NAME),
  symlinkRelative: 'links/relative',
  symlinkAbsolute: 'links/absolute',
  symlinkDangling: 'links/dangling',
  symlinkToDir: 'links/to-dir',
  symlinkUnicodeTarget: 'links/unicode-target',
  symlinkNonUtf8Target: 'links/non-utf8-target',
  hardLinks: Object.freeze([
    'hardlinks/original.txt',
    'nested/level-1/level-2/hard-link-2.txt',
    'unicode/日本語/hard-link-3.txt',
  ] as const),
  ownedFile: 'owner/owned.txt',
  ownedSymlink: 'owner/owned-link',
  ownedDir: 'owner/owned-dir',
  preEpochFile: 'times/pre-epoch.txt',
  compressibleFile: 'data/compressible.log',
  randomFile: 'data/random.bin',
  splicedFile: 'data/spliced.bin',
  sparseFile: 'data/sparse.bin',
  bigFile: 'data/big.bin',
});

/** Options for {@link makeEdgeCaseTree}. */
export interface EdgeCaseTreeOptions {
  /** When set, also writes `data/big.bin` of exactly this many bytes, streamed in 1 MiB blocks. */
  bigFileBytes?: number;
}

/**
 * Builds the edge-case tree under `root` (created if missing; must be empty). Deterministic: two calls
 * on two empty directories produce trees that `assertTreesEqual` accepts, mtimes of files, symlinks,
 * directories and `root` itself included. `root` gets mode 0755 and a fixed mtime.
 *
 * Ownership (1234:5678, see {@link FIXTURE_OWNER}) is only applied when running as root; otherwise those
 * entries keep the caller's ids, which still reproduces across builds.
 */
export async function makeEdgeCaseTree(root: string, options: EdgeCaseTreeOptions = {}): Promise<void> {
  if (options.bigFileBytes !== undefined) assertByteCount(options.bigFileBytes, 'bigFileBytes');
  await fs.mkdir(root, { recursive: true });
  const existing = await fs.readdir(root);
  if (existing.length > 0) throw new Error(`makeEdgeCaseTree: ${root} is not empty`);

  const b = new TreeBuilder(Buffer.from(root));
  b.markRoot();
  const text = (name: string): string => `Chrono Backup fixture: ${name}\n`;

  // Plain and empty files at the top.
  await b.file(edgeCasePaths.textFile, 'The quick brown fox jumps over the lazy dog.\n'.repeat(20));
  await b.file(edgeCasePaths.emptyFile, '');
  await b.file('one-byte', 'x');

  // Nesting (4 levels), with an empty file deep down.
  await b.dir('nested');
  await b.dir('nested/level-1');
  await b.dir('nested/level-1/level-2');
  await b.dir('nested/level-1/level-2/level-3');
  await b.file(edgeCasePaths.deepFile, text('deep'));
  await b.file('nested/level-1/level-2/level-3/empty-deep', '');
  await b.file('nested/level-1/sibling.txt', text('sibling'));

  // Unicode names, including both normalisation forms of "é" side by side (macOS-style NFD vs NFC).
  await b.dir('unicode');
  await b.file(edgeCasePaths.unicodeFile, text('ñandú'));
  await b.dir('unicode/日本語');
  await b.file('unicode/日本語/ファイル.txt', text('日本語のファイル'));
  await b.file('unicode/🦀 crab.txt', text('crab'));
  await b.file('unicode/👨‍👩‍👧 family.txt', text('zwj sequence'));
  await b.file(edgeCasePaths.nfdFile, text('NFD e + combining acute'));
  await b.file(edgeCasePaths.nfcFile, text('NFC precomposed e-acute'));
  await b.file('unicode/עברית.txt', text('right-to-left'));
  await b.file('unicode/zero\u200bwidth.txt', text('zero-width space'));
  await b.file('unicode/空.txt', '');

  // Names that break shells, globbing, line-oriented tools and case-insensitive file systems.
  await b.dir('odd');
  const oddNames = [
    'with space.txt',
    ' leading-space',
    'trailing-space ',
    '-leading-dash.txt',
    '--',
    '*?[]',
    'new\nline.txt',
    'tab\tname',
    'carriage\rreturn',
    '..txt',
    '...',
    '.hidden',
    'back\\slash',
    `quote's "double"`,
    '$(echo pwned)',
    '#hash%41~',
    'UPPER.txt',
    'upper.txt',
  ];
  for (const name of oddNames) await b.file(`odd/${name}`, text(`odd name ${JSON.stringify(name)}`));
  await b.file(edgeCasePaths.nonUtf8File, seededRandomBytes(0xbad, 333));
  await b.dir(edgeCasePaths.nonUtf8Dir);
  await b.file(joinBytes(edgeCasePaths.nonUtf8Dir, 'inside.txt'), text('inside a latin-1 directory'));

  // 255 bytes is the usual NAME_MAX; the multi-byte variants end exactly on a character boundary.
  await b.dir('long-names');
  await b.file(edgeCasePaths.longName, text('255-byte ascii name'));
  await b.file(`long-names/${LONG_TWO_BYTE_NAME}`, text('255-byte two-byte-char name'));
  await b.file(`long-names/${LONG_THREE_BYTE_NAME}`, text('255-byte three-byte-char name'));
  await b.dir('long-names/deep');
  let deep = 'long-names/deep';
  for (let i = 0; i < 3; i++) {
    deep = `${deep}/${LONG_DIR_NAME}`;
    await b.dir(deep);
  }
  await b.file(`${deep}/${LONG_ASCII_NAME}`, text('path longer than 1000 bytes'));

  // Empty directories, alone and nested (a dir whose only child is an empty dir).
  await b.dir('empty-dirs');
  await b.dir(edgeCasePaths.emptyDir);
  await b.dir('empty-dirs/nested');
  await b.dir('empty-dirs/nested/inner');
  await b.dir(edgeCasePaths.nestedEmptyDir);

  // Permissions, including special bits. setuid.sh is also foreign-owned: chown after chmod would clear S_ISUID.
  await b.dir('perms');
  await b.file(edgeCasePaths.executable, '#!/bin/sh\necho "chrono fixture"\n', 0o755);
  await b.file(edgeCasePaths.privateFile, seededRandomBytes(0x600, 64), 0o600);
  await b.file(edgeCasePaths.readOnlyFile, text('read only'), 0o444);
  await b.file('perms/no-access', text('mode 0000'), 0o000);
  await b.file('perms/group-write', text('mode 0664'), 0o664);
  await b.file(edgeCasePaths.setuidFile, '#!/bin/sh\nexit 0\n', 0o4755);
  b.own(edgeCasePaths.setuidFile, FIXTURE_OWNER);
  await b.dir(edgeCasePaths.privateDir, 0o700);
  await b.file(`${edgeCasePaths.privateDir}/inside.txt`, text('inside a 0700 dir'), 0o600);
  await b.dir('perms/read-only-dir', 0o555);
  await b.file('perms/read-only-dir/inside.txt', text('inside a 0555 dir'));
  await b.dir(edgeCasePaths.stickyDir, 0o1777);
  await b.file(`${edgeCasePaths.stickyDir}/inside.txt`, text('inside a sticky dir'));
  await b.dir(edgeCasePaths.setgidDir, 0o2775);
  b.own(edgeCasePaths.setgidDir, { uid: 0, gid: FIXTURE_OWNER.gid });
  // A subdirectory of a setgid dir inherits S_ISGID at mkdir time; this one must end up without it.
  await b.dir(`${edgeCasePaths.setgidDir}/plain-sub`, 0o755);
  await b.file(`${edgeCasePaths.setgidDir}/inside.txt`, text('inside a setgid dir'));

  // Symlinks. The absolute one points at /dev/null so a restore that wrongly follows links stays harmless.
  await b.dir('links');
  await b.symlink(edgeCasePaths.symlinkRelative, '../plain.txt');
  await b.symlink(edgeCasePaths.symlinkAbsolute, '/dev/null');
  await b.symlink(edgeCasePaths.symlinkDangling, 'does-not-exist/nowhere.txt');
  await b.symlink(edgeCasePaths.symlinkToDir, '../nested/level-1');
  await b.symlink(edgeCasePaths.symlinkUnicodeTarget, '../unicode/ñandú.txt');
  await b.symlink(edgeCasePaths.symlinkNonUtf8Target, joinBytes('..', edgeCasePaths.nonUtf8File));
  await b.symlink('links/loop-a', 'loop-b');
  await b.symlink('links/loop-b', 'loop-a');
  await b.symlink('links/dot', '.');

  // Hard links: one inode with three names in three directories, plus a pair in one directory.
  const [hard1, hard2, hard3] = edgeCasePaths.hardLinks;
  await b.dir('hardlinks');
  await b.file(hard1, text('one inode, three names'));
  await b.hardLink(hard1, hard2);
  await b.hardLink(hard1, hard3);
  await b.file('hardlinks/pair-a', text('one inode, two names'), 0o640);
  await b.hardLink('hardlinks/pair-a', 'hardlinks/pair-b');

  // Foreign ownership on a file, a symlink (lchown) and a directory.
  await b.dir('owner');
  await b.file(edgeCasePaths.ownedFile, text('owned by 1234:5678'));
  b.own(edgeCasePaths.ownedFile, FIXTURE_OWNER);
  await b.symlink(edgeCasePaths.ownedSymlink, 'owned.txt');
  b.own(edgeCasePaths.ownedSymlink, FIXTURE_OWNER);
  await b.dir(edgeCasePaths.ownedDir, 0o750);
  b.own(edgeCasePaths.ownedDir, FIXTURE_OWNER);
  await b.file(`${edgeCasePaths.ownedDir}/root-owned.txt`, text('root-owned inside a foreign-owned dir'));

  // Timestamps that trip up conversions: pre-epoch, the epoch itself, whole seconds, the last microsecond.
  await b.dir('times');
  await b.file(edgeCasePaths.preEpochFile, text('1969-07-20T20:17:40.123456Z'));
  b.mtime(edgeCasePaths.preEpochFile, -14_182_939_876_544_000n);
  await b.file('times/epoch.txt', text('1970-01-01T00:00:00Z'));
  b.mtime('times/epoch.txt', 0n);
  await b.file('times/whole-second.txt', text('2009-02-13T23:31:30Z'));
  b.mtime('times/whole-second.txt', 1_234_567_890_000_000_000n);
  await b.file('times/last-microsecond.txt', text('2017-07-14T02:40:00.999999Z'));
  b.mtime('times/last-microsecond.txt', 1_500_000_000_999_999_000n);
  await b.symlink('times/old-link', 'pre-epoch.txt');
  b.mtime('times/old-link', 946_684_799_999_999_000n);

  // Bulk data: compressible, incompressible, a splice of one into the middle of new data (dedup must
  // find it at an unaligned offset), a sparse file, and optionally a big file.
  await b.dir('data');
  await writeLogFile(b.abs(edgeCasePaths.compressibleFile), DATA_FILE_BYTES, LOG_SEED);
  b.adopt(edgeCasePaths.compressibleFile);
  await writeRandomFile(b.abs(edgeCasePaths.randomFile), DATA_FILE_BYTES, RANDOM_SEED);
  b.adopt(edgeCasePaths.randomFile);
  await writeSplicedFile(b.abs(edgeCasePaths.splicedFile), b.abs(edgeCasePaths.randomFile));
  b.adopt(edgeCasePaths.splicedFile);
  await writeSparseFile(b.abs(edgeCasePaths.sparseFile));
  b.adopt(edgeCasePaths.sparseFile);
  if (options.bigFileBytes !== undefined) {
    await writeBigFile(b.abs(edgeCasePaths.bigFile), options.bigFileBytes);
    b.adopt(edgeCasePaths.bigFile);
  }

  await b.finish();
}

/** Roughly `targetBytes` of log-like lines (whole lines, so slightly more): compresses very well. */
async function writeLogFile(path: Buffer, targetBytes: number, seed: number): Promise<void> {
  const rng = new SeededRandom(seed);
  const levels = ['INFO ', 'INFO ', 'INFO ', 'DEBUG', 'WARN ', 'ERROR'];
  const methods = ['GET', 'GET', 'POST', 'PUT', 'DELETE'];
  const routes = ['/api/v1/orders', '/api/v1/customers', '/api/v1/items', '/healthz', '/api/v2/reports'];
  const statuses = [200, 200, 200, 201, 204, 304, 400, 404, 500];
  let ms = Date.UTC(2023, 0, 15, 8, 30, 0);
  const handle = await fs.open(path, 'w');
  try {
    let written = 0;
    while (written < targetBytes) {
      let block = '';
      while (block.length < 64 * 1024) {
        ms += rng.below(2000);
        const route = rng.pick(routes);
        const id = route === '/healthz' ? '' : `/${rng.below(100_000)}`;
        block +=
          `${new Date(ms).toISOString()} ${rng.pick(levels)} [worker-${String(rng.below(16)).padStart(2, '0')}] ` +
          `${rng.pick(methods)} ${route}${id} status=${rng.pick(statuses)} bytes=${rng.below(65_536)} ` +
          `duration_ms=${rng.below(900)} request_id=${rng.nextUint32().toString(16).padStart(8, '0')}\n`;
      }
      const bytes = Buffer.from(block, 'utf8');
      await writeAll(handle, bytes);
      written += bytes.length;
    }
  } finally {
    await handle.close();
  }
}

/** New random prefix + a full copy of `source` + new random suffix, streamed. */
async function writeSplicedFile(path: Buffer, source: Buffer): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    await writeAll(handle, seededRandomBytes(SPLICE_PREFIX_SEED, SPLICE_PREFIX_BYTES));
    const input = await fs.open(source, 'r');
    try {
      const chunk = Buffer.alloc(STREAM_CHUNK_BYTES);
      for (;;) {
        const { bytesRead } = await input.read(chunk, 0, chunk.length, null);
        if (bytesRead === 0) break;
        await writeAll(handle, chunk.subarray(0, bytesRead));
      }
    } finally {
      await input.close();
    }
    await writeAll(handle, seededRandomBytes(SPLICE_SUFFIX_SEED, SPLICE_SUFFIX_BYTES));
  } finally {
    await handle.close();
  }
}

/** 4 KiB of data, a 2 MiB hole, 4 KiB of data: content equality must hold whether or not the hole is kept. */
async function writeSparseFile(path: Buffer): Promise<void> {
  const handle = await fs.open(path, 'w');
  try {
    await handle.write(seededRandomBytes(0x5a55e, 4096), 0, 4096, 0);
    await handle.write(seededRandomBytes(0x5a55f, 4096), 0, 4096, 2 * MiB + 4096);
  } finally {
    await handle.close();
  }
}

/**
 * The seed of 1 MiB block `index` of the big file. Every fourth block repeats the block two before it,
 * so deduplication has something to find; all other blocks are unique.
 */
export function bigFileBlockSeed(index: number): number {
  const source = index % 4 === 3 ? index - 2 : index;
  return BIG_FILE_SEED + source;
}

/** Streams the big file block by block; only one 1 MiB buffer is ever allocated. */
async function writeBigFile(path: Buffer, bytes: number): Promise<void> {
  const block = Buffer.alloc(Math.min(bytes, MiB));
  const handle = await fs.open(path, 'w');
  try {
    for (let index = 0, done = 0; done < bytes; index++) {
      const n = Math.min(MiB, bytes - done);
      const piece = block.subarray(0, n);
      new SeededRandom(bigFileBlockSeed(index)).fill(piece);
      await writeAll(handle, piece);
      done += n;
    }
  } finally {
    await handle.close();
  }
}
