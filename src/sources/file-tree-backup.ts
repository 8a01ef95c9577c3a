import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { lstat } from 'node:fs/promises';
import type { Compression } from '../domain/backup-types.js';
import { basename, resolve } from 'node:path';
import { SourceError, ValidationError } from '../domain/errors.js';
import type { Progress } from '../ports/progress.js';
import type { BlobPool, ChunkedContent } from '../repository/blob-pool.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import type { Repository } from '../repository/repository.js';
import { encodeTree, nodeNameBytes, textFields, type Tree, type TreeNode } from '../repository/tree.js';
import { Semaphore } from '../util/concurrency.js';
import type { ExcludeMatcher } from './exclude-matcher.js';
import { nodeFromStats, unchangedSince } from './file-metadata.js';

export interface FileTreeBackupDeps {
  repository: Repository;
  writer: BlobWriter;
  pool: BlobPool;
  progress: Progress;
  exclude: ExcludeMatcher;
  compression: Compression;
  /** Small files read at once: enough to hide per-file latency. Large files go one per worker. */
  smallFilesInFlight?: number;
}

export interface FileTreeResult {
  tree: string;
  items: number;
  totalBytes: number;
  bytesRead: number;
  /** Entries skipped because they vanished or could not be read; the run is not a full success. */
  warnings: string[];
}

const SLASH = Buffer.from('/');
const LARGE_FILE_BYTES = 1024 * 1024;
const INLINE_FILE_BYTES = 64 * 1024;

/**
 * Walks file trees and stores them: content through the blob pool, one tree blob per directory.
 * With a parent tree (incremental, differential), unchanged files reuse their previous content ids
 * without being read.
 */
export class FileTreeBackup {
  private readonly smallSlots: Semaphore;
  private readonly largeSlots: Semaphore;
  private readonly hardLinks = new Map<string, Promise<ChunkedContent>>();
  private readonly result: Omit<FileTreeResult, 'tree'> = { items: 0, totalBytes: 0, bytesRead: 0, warnings: [] };

  constructor(private readonly deps: FileTreeBackupDeps) {
    this.smallSlots = new Semaphore(deps.smallFilesInFlight ?? 4);
    // Each large file holds a chunker buffer of up to the maximum chunk size: one per worker keeps
    // every core busy and memory flat.
    this.largeSlots = new Semaphore(deps.pool.size);
  }

  /** Backs up `paths` as the entries of one root tree, named by their base names. */
  async run(paths: readonly string[], parentRoot?: string, extraNodes: readonly TreeNode[] = []): Promise<FileTreeResult> {
    const absolute = paths.map((path) => resolve(path));
    // The file system root has no base name; its entry is called `root`.
    const names = absolute.map((path) => basename(path) || 'root');
    const duplicate = names.find((name, i) => names.indexOf(name) !== i);
    if (duplicate) throw new ValidationError(`two paths share the name "${duplicate}"; back them up in separate snapshots`, 'paths');
    const parent = byName(parentRoot ? await this.deps.repository.loadTree(parentRoot) : undefined);
    const nodes: Promise<TreeNode | undefined>[] = absolute.map(async (path, i) => {
      const stats = await lstat(path, { bigint: true }).catch((error: NodeJS.ErrnoException) => {
        throw new SourceError('path_unreadable', `cannot read ${path}: ${error.code ?? error.message}`, { details: { path } });
      });
      const node = nodeFromStats(Buffer.from(names[i]!), stats);
      // Exclusion patterns match paths relative to the backed-up path itself, so the root is ''.
      return this.complete(Buffer.from(path), path, '', node, parent.get(Buffer.from(names[i]!).toString('base64')));
    });
    const tree = await this.storeTree([...nodes, ...extraNodes.map(async (node) => node)]);
    return { tree, ...this.result };
  }

  /** Fills in content, subtree or link target; undefined when the entry vanished or is unreadable. */
  private async complete(path: Buffer, absolute: string, relative: string, node: TreeNode, previous: TreeNode | undefined): Promise<TreeNode | undefined> {
    this.result.items++;
    this.deps.progress.advance({ items: 1 });
    try {
      switch (node.type) {
        case 'dir':
          return { ...node, subtree: await this.walkDirectory(path, absolute, relative, previous?.type === 'dir' ? previous.subtree : undefined) };
        case 'symlink': {
          const { text, raw } = textFields(readlinkSync(path, { encoding: 'buffer' }));
          return { ...node, target: text, ...(raw !== undefined ? { targetRaw: raw } : {}) };
        }
        case 'file':
          return await this.completeFile(path, node, previous);
        default:
          return node;
      }
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? (error as SourceError).details?.errno;
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EPERM' || code === 'EIO') {
        this.warn(`skipped ${absolute}: ${code}`);
        return undefined;
      }
      throw error;
    }
  }

  private async completeFile(path: Buffer, node: TreeNode, previous: TreeNode | undefined): Promise<TreeNode> {
    this.result.totalBytes += node.size;
    if (unchangedSince(previous, node)) {
      this.deps.progress.advance({ bytes: node.size });
      return { ...node, content: previous.content };
    }
    if (node.size === 0) return { ...node, content: [] };
    const content = await this.readContent(path, node);
    return { ...node, size: content.bytes, content: content.ids };
  }

  private readContent(path: Buffer, node: TreeNode): Promise<ChunkedContent> {
    // Several names of one inode are read once per run.
    const linkKey = node.nlink > 1 ? `${node.dev}:${node.ino}` : undefined;
    const known = linkKey ? this.hardLinks.get(linkKey) : undefined;
    if (known) return known;
    if (node.size < INLINE_FILE_BYTES) return this.readSmallFile(path);
    const slots = node.size >= LARGE_FILE_BYTES ? this.largeSlots : this.smallSlots;
    const reading = slots.run(async () => {
      const content = await this.deps.pool.chunkFile(path, node.size, this.deps.writer);
      this.result.bytesRead += content.bytes;
      this.deps.progress.advance({ bytes: content.bytes });
      return content;
    });
    if (linkKey) this.hardLinks.set(linkKey, reading);
    return reading;
  }

  /**
   * A file smaller than one chunk is one blob: read, hashed and (if new) sealed right here. For such
   * files the round trips to a worker cost more than the work itself.
   */
  private async readSmallFile(path: Buffer): Promise<ChunkedContent> {
    await this.deps.writer.room();
    const data = readFileSync(path);
    this.result.bytesRead += data.length;
    this.deps.progress.advance({ bytes: data.length });
    if (data.length === 0) return { ids: [], bytes: 0 };
    return { ids: [this.deps.writer.addInline('data', data, this.deps.compression)], bytes: data.length };
  }

  private async walkDirectory(path: Buffer, absolute: string, relative: string, previousTree: string | undefined): Promise<string> {
    // Metadata calls are synchronous: from the page cache they take microseconds, far less than a
    // round trip through libuv's thread pool, and a backup walks tens of thousands of entries.
    const names = readdirSync(path, { encoding: 'buffer' }).sort(Buffer.compare);
    const previous = byName(previousTree ? await this.deps.repository.loadTree(previousTree) : undefined);
    const nodes: Promise<TreeNode | undefined>[] = [];
    for (const name of names) {
      const childPath = Buffer.concat([path, SLASH, name]);
      const childText = name.toString('utf8');
      const childAbsolute = `${absolute === '/' ? '' : absolute}/${childText}`;
      const childRelative = relative === '' ? childText : `${relative}/${childText}`;
      if (this.deps.exclude(childAbsolute, childRelative)) continue;
      let stats;
      try {
        stats = lstatSync(childPath, { bigint: true });
      } catch (error) {
        this.warn(`skipped ${childAbsolute}: ${(error as NodeJS.ErrnoException).code ?? 'unreadable'}`);
        continue;
      }
      const node = nodeFromStats(name, stats);
      const completion = this.complete(childPath, childAbsolute, childRelative, node, previous.get(name.toString('base64')));
      // Directories are walked one after another (bounded memory); files proceed concurrently.
      if (node.type === 'dir') await completion;
      nodes.push(completion);
    }
    return this.storeTree(nodes);
  }

  private async storeTree(pending: Promise<TreeNode | undefined>[]): Promise<string> {
    const nodes = (await Promise.all(pending)).filter((node): node is TreeNode => node !== undefined);
    const tree: Tree = { nodes };
    return this.deps.writer.addInline('tree', encodeTree(tree));
  }

  private warn(message: string): void {
    this.result.warnings.push(message);
    this.deps.progress.note(message);
  }
}

/** The nodes of a previous tree by their name bytes (base64), for matching during the walk. */
function byName(tree: Tree | undefined): Map<string, TreeNode> {
  return new Map((tree?.nodes ?? []).map((node) => [nodeNameBytes(node).toString('base64'), node]));
}
