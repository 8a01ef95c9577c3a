import { IntegrityError } from '../domain/errors.js';

/**
 * Trees: one blob per directory listing its entries with their metadata, files pointing to their
 * content blobs and directories to their subtree blobs. Identical directories produce identical tree
 * blobs and deduplicate like data.
 */
export type NodeType = 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'chardev' | 'blockdev';

export interface TreeNode {
  /** The name as text; when the bytes are not valid UTF-8, a lossy rendering and `nameRaw` holds them. */
  name: string;
  nameRaw?: string;
  type: NodeType;
  /** Permission and special bits (st_mode & 0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** Nanoseconds since the epoch, as decimal text (beyond Number's exact range). */
  mtimeNs: string;
  atimeNs: string;
  /** Recorded to detect changes on incremental runs; not restored. */
  ctimeNs: string;
  size: number;
  dev: string;
  ino: string;
  nlink: number;
  /** Content blob ids in order (files). */
  content?: string[];
  /** Tree blob id (directories). */
  subtree?: string;
  /** Link target (symlinks); `targetRaw` when not valid UTF-8. */
  target?: string;
  targetRaw?: string;
}

export interface Tree {
  nodes: TreeNode[];
}

export function encodeTree(tree: Tree): Buffer {
  return Buffer.from(JSON.stringify(tree));
}

export function decodeTree(bytes: Buffer, id: string): Tree {
  try {
    const tree = JSON.parse(bytes.toString('utf8')) as Tree;
    if (!Array.isArray(tree.nodes)) throw new Error('no nodes');
    return tree;
  } catch (error) {
    throw new IntegrityError('tree_malformed', `tree ${id} is malformed`, { cause: error });
  }
}

/** Text and, when the bytes are not UTF-8, the raw bytes in base64. */
export function textFields(bytes: Buffer): { text: string; raw?: string } {
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? { text } : { text, raw: bytes.toString('base64') };
}

export function nodeNameBytes(node: TreeNode): Buffer {
  return node.nameRaw !== undefined ? Buffer.from(node.nameRaw, 'base64') : Buffer.from(node.name, 'utf8');
}

export function nodeTargetBytes(node: TreeNode): Buffer {
  return node.targetRaw !== undefined ? Buffer.from(node.targetRaw, 'base64') : Buffer.from(node.target ?? '', 'utf8');
}

/**
 * A name from a snapshot is only ever joined to a directory we created: it must be one path segment.
 * A crafted snapshot with `..`, `/` or NUL in a name could otherwise write outside the restore target.
 */
export function assertSafeName(name: Buffer, where: string): void {
  const bad = name.length === 0 || name.includes(0x2f) || name.includes(0) || (name.length <= 2 && /^\.\.?$/.test(name.toString('latin1')));
  if (bad) throw new IntegrityError('unsafe_name', `snapshot entry ${JSON.stringify(name.toString('utf8'))} in ${where} is not a plain name; refusing to restore it`);
}
