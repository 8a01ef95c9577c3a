// Tree manifests and restore checks for the benchmark: walk a tree, summarise it, and compare a
// restored tree against the corpus (paths, types, sizes, symlink targets, sha256 of a sample).

import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';

/**
 * @typedef {object} Entry
 * @property {'file'|'dir'|'symlink'|'other'} type
 * @property {number} size
 * @property {number} mode      permission bits
 * @property {number} mtimeMs
 * @property {string} inode     "dev:ino"
 * @property {number} nlink
 * @property {string} [target]  symlink target
 */

/**
 * Walk `root` without following symlinks. Keys are paths relative to root with '/' separators.
 * @param {string} root
 * @returns {Map<string, Entry>}
 */
export function walkTree(root) {
  /** @type {Map<string, Entry>} */
  const out = new Map();
  const stack = [''];
  while (stack.length) {
    const relDir = stack.pop();
    for (const name of fs.readdirSync(path.join(root, relDir))) {
      const rel = relDir ? `${relDir}/${name}` : name;
      const abs = path.join(root, rel);
      const st = fs.lstatSync(abs);
      /** @type {Entry} */
      const e = {
        type: st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other',
        size: st.isFile() ? st.size : 0,
        mode: st.mode & 0o7777,
        mtimeMs: st.mtimeMs,
        inode: `${st.dev}:${st.ino}`,
        nlink: st.nlink,
      };
      if (e.type === 'symlink') e.target = fs.readlinkSync(abs);
      if (e.type === 'dir') stack.push(rel);
      out.set(rel, e);
    }
  }
  return out;
}

/**
 * Counts and sizes. `bytes` counts each inode once (hard links), `apparentBytes` every name.
 * @param {Map<string, Entry>} m
 */
export function summarize(m) {
  let files = 0, dirs = 0, symlinks = 0, other = 0, bytes = 0, apparentBytes = 0;
  const inodes = new Set();
  for (const e of m.values()) {
    if (e.type === 'file') {
      files++;
      apparentBytes += e.size;
      if (!inodes.has(e.inode)) {
        inodes.add(e.inode);
        bytes += e.size;
      }
    } else if (e.type === 'dir') dirs++;
    else if (e.type === 'symlink') symlinks++;
    else other++;
  }
  return { files, dirs, symlinks, other, bytes, apparentBytes };
}

/** sha256 of a file, streamed in 1 MiB reads. */
export function sha256File(file) {
  const h = crypto.createHash('sha256');
  const buf = Buffer.allocUnsafe(1 << 20);
  const fd = fs.openSync(file, 'r');
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n <= 0) break;
      h.update(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/**
 * Find where a tool put the corpus inside a restore target. Tools differ: restic restores a relative
 * backup path as TARGET/corpus, others may use the absolute path or restore the contents directly.
 * @param {string} target   restore target dir
 * @param {string} corpusAbs absolute path of the corpus that was backed up
 * @param {string} probeRel  a path that exists in the corpus (relative to its root)
 * @returns {string|null}
 */
export function findRestoredRoot(target, corpusAbs, probeRel) {
  const candidates = [path.join(target, path.basename(corpusAbs)), path.join(target, corpusAbs), target];
  for (const c of candidates) if (fs.existsSync(path.join(c, probeRel))) return c;
  // breadth-first search, limited depth
  let level = [target];
  for (let depth = 0; depth < 16 && level.length; depth++) {
    const next = [];
    for (const d of level) {
      if (fs.existsSync(path.join(d, probeRel))) return d;
      for (const ent of fs.readdirSync(d, { withFileTypes: true })) if (ent.isDirectory()) next.push(path.join(d, ent.name));
    }
    level = next.slice(0, 2000);
  }
  return null;
}

/**
 * Choose files to hash: everything the mutation touched, the largest files, the edge cases and every
 * n-th remaining file (about `sampleFiles` in total).
 * @param {Map<string, Entry>} expected
 * @param {{mustInclude?: string[], sampleFiles?: number}} opts
 */
export function chooseSample(expected, { mustInclude = [], sampleFiles = 500 } = {}) {
  const files = [...expected.entries()].filter(([, e]) => e.type === 'file').map(([rel, e]) => ({ rel, size: e.size }));
  files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
  const pick = new Set(mustInclude.filter((rel) => expected.get(rel)?.type === 'file'));
  for (const f of [...files].sort((a, b) => b.size - a.size).slice(0, 5)) pick.add(f.rel);
  for (const f of files) if (f.rel.startsWith('edge/')) pick.add(f.rel);
  const step = Math.max(1, Math.floor(files.length / sampleFiles));
  for (let i = 0; i < files.length; i += step) pick.add(files[i].rel);
  return [...pick].sort();
}

/**
 * Compare a restored tree with the source tree.
 * Mismatches (fatal): missing/extra paths, type, size, symlink target, sha256 of sampled files,
 * file count or total size. Warnings: permission bits, file mtimes, hard links not preserved.
 * @param {string} expectedRoot
 * @param {string} actualRoot
 * @param {{mustInclude?: string[], sampleFiles?: number, expected?: Map<string, Entry>, expectedHashes?: Map<string,string>}} [opts]
 */
export function compareTrees(expectedRoot, actualRoot, opts = {}) {
  const expected = opts.expected ?? walkTree(expectedRoot);
  const actual = walkTree(actualRoot);
  const mismatches = [];
  const warnings = [];
  let modeDiffs = 0, mtimeDiffs = 0;
  for (const [rel, e] of expected) {
    const a = actual.get(rel);
    if (!a) {
      mismatches.push(`missing: ${rel} (${e.type})`);
      continue;
    }
    if (a.type !== e.type) {
      mismatches.push(`type differs: ${rel} expected ${e.type}, got ${a.type}`);
      continue;
    }
    if (e.type === 'file') {
      if (a.size !== e.size) mismatches.push(`size differs: ${rel} expected ${e.size}, got ${a.size}`);
      if (a.mode !== e.mode) modeDiffs++;
      if (Math.floor(a.mtimeMs / 1000) !== Math.floor(e.mtimeMs / 1000)) mtimeDiffs++;
    }
    if (e.type === 'symlink' && a.target !== e.target) mismatches.push(`symlink target differs: ${rel} expected ${e.target}, got ${a.target}`);
  }
  for (const [rel, a] of actual) if (!expected.has(rel)) mismatches.push(`extra: ${rel} (${a.type})`);
  if (modeDiffs) warnings.push(`${modeDiffs} files with different permission bits`);
  if (mtimeDiffs) warnings.push(`${mtimeDiffs} files with a different mtime (seconds)`);

  // hard links: names sharing an inode in the source should share one in the restore
  const groups = new Map();
  for (const [rel, e] of expected) {
    if (e.type === 'file' && e.nlink > 1) groups.set(e.inode, [...(groups.get(e.inode) ?? []), rel]);
  }
  for (const names of groups.values()) {
    if (names.length < 2) continue;
    const inodes = new Set(names.map((n) => actual.get(n)?.inode));
    if (inodes.size !== 1) warnings.push(`hard link not preserved: ${names.join(' = ')}`);
  }

  const es = summarize(expected);
  const as = summarize(actual);
  if (es.files !== as.files) mismatches.push(`file count differs: expected ${es.files}, got ${as.files}`);
  if (es.apparentBytes !== as.apparentBytes) mismatches.push(`total size differs: expected ${es.apparentBytes}, got ${as.apparentBytes}`);

  const sample = chooseSample(expected, opts);
  let sampledBytes = 0;
  for (const rel of sample) {
    const a = actual.get(rel);
    if (!a || a.type !== 'file') continue; // already reported
    const want = opts.expectedHashes?.get(rel) ?? sha256File(path.join(expectedRoot, rel));
    opts.expectedHashes?.set(rel, want);
    const got = sha256File(path.join(actualRoot, rel));
    sampledBytes += expected.get(rel).size;
    if (want !== got) mismatches.push(`content differs (sha256): ${rel}`);
  }
  return {
    ok: mismatches.length === 0,
    expected: es,
    actual: as,
    sampledFiles: sample.length,
    sampledBytes,
    mismatches,
    warnings,
  };
}
