import type { TreeNode } from '../repository/tree.js';

/**
 * A file node for content that never was a file on disk (a database dump, captured environment
 * variables): owned by the backing-up user, stamped with the capture time, private by default.
 */
export function virtualFileNode(name: string, content: { ids: string[]; bytes: number }, mode = 0o600, now = new Date()): TreeNode {
  const time = `${BigInt(now.getTime()) * 1_000_000n}`;
  return {
    name,
    type: 'file',
    mode,
    uid: process.getuid?.() ?? 0,
    gid: process.getgid?.() ?? 0,
    mtimeNs: time,
    atimeNs: time,
    ctimeNs: time,
    size: content.bytes,
    dev: '0',
    ino: '0',
    nlink: 1,
    content: content.ids,
  };
}
