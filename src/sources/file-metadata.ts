import type { BigIntStats } from 'node:fs';
import type { NodeType, TreeNode } from '../repository/tree.js';
import { textFields } from '../repository/tree.js';

/** The node of a tree entry from its lstat, without content (files) or subtree (directories). */
export function nodeFromStats(name: Buffer, stats: BigIntStats): TreeNode {
  const { text, raw } = textFields(name);
  return {
    name: text,
    ...(raw !== undefined ? { nameRaw: raw } : {}),
    type: nodeType(stats),
    mode: Number(stats.mode & 0o7777n),
    uid: Number(stats.uid),
    gid: Number(stats.gid),
    mtimeNs: stats.mtimeNs.toString(),
    atimeNs: stats.atimeNs.toString(),
    ctimeNs: stats.ctimeNs.toString(),
    size: stats.isFile() ? Number(stats.size) : 0,
    dev: stats.dev.toString(),
    ino: stats.ino.toString(),
    nlink: Number(stats.nlink),
  };
}

function nodeType(stats: BigIntStats): NodeType {
  if (stats.isFile()) return 'file';
  if (stats.isDirectory()) return 'dir';
  if (stats.isSymbolicLink()) return 'symlink';
  if (stats.isFIFO()) return 'fifo';
  if (stats.isSocket()) return 'socket';
  if (stats.isCharacterDevice()) return 'chardev';
  return 'blockdev';
}

/**
 * True when an incremental run may reuse the previous content: same size, modification and change
 * time and inode. ctime catches edits that restored the old mtime; the inode catches replaced files.
 */
export function unchangedSince(previous: TreeNode | undefined, current: TreeNode): previous is TreeNode & { content: string[] } {
  return (
    previous !== undefined &&
    previous.type === 'file' &&
    current.type === 'file' &&
    previous.content !== undefined &&
    previous.size === current.size &&
    previous.mtimeNs === current.mtimeNs &&
    previous.ctimeNs === current.ctimeNs &&
    previous.ino === current.ino
  );
}

/**
 * A timestamp argument for fs.utimes/lutimes that lands on the recorded microsecond. Node passes times
 * as a double and libuv truncates toward zero, so we aim at the middle of the microsecond; a string
 * keeps pre-1970 (negative) times from being read as "now". Sub-microsecond digits cannot be set
 * through Node's API and are lost.
 */
export function utimesArgument(ns: string): string {
  const value = BigInt(ns);
  let micros = value / 1000n;
  if (value < 0n && micros * 1000n !== value) micros -= 1n;
  const seconds = micros >= 0n ? (Number(micros) + 0.5) / 1e6 : (Number(micros) - 0.5) / 1e6;
  return String(seconds);
}
