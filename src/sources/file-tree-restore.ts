import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, lchownSync, linkSync, lutimesSync, mkdirSync, renameSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { lstat, open, rename, rm, unlink } from 'node:fs/promises';
import { BackupError, IntegrityError } from '../domain/errors.js';
import type { Progress } from '../ports/progress.js';
import type { BlobPool } from '../repository/blob-pool.js';
import type { Repository } from '../repository/repository.js';
import { assertSafeName, nodeNameBytes, nodeTargetBytes, type TreeNode } from '../repository/tree.js';
import { ByteBudget, Semaphore } from '../util/concurrency.js';
import { utimesArgument } from './file-metadata.js';

/**
 * Chooses what to restore by path relative to the snapshot root (`data/sub/file`): `all` restores the
 * entry and everything below it, `descend` restores a directory only as the way to selected entries.
 */
export type RestoreSelector = (relativePath: string) => 'all' | 'descend' | 'skip';

export interface FileTreeRestoreDeps {
  repository: Repository;
  select?: RestoreSelector;
  pool: BlobPool;
  progress: Progress;
  filesInFlight?: number;
  /** Blobs fetched ahead of the one being written, per file. */
  readAhead?: number;
}

export interface RestoreFailure {
  path: string;
  code: string;
  message: string;
}

export interface FileTreeRestoreResult {
  files: number;
  directories: number;
  bytes: number;
  failures: RestoreFailure[];
  /** Entries that cannot be recreated here (devices, sockets). */
  skipped: string[];
}

/** Blobs smaller than this are opened on the main thread: a worker round trip would cost more. */
const INLINE_OPEN_BYTES = 128 * 1024;
const SLASH = Buffer.from('/');
const isRoot = process.getuid?.() === 0;

/**
 * Recreates a tree from a snapshot under a target directory: contents, modes, owners (as root), times,
 * symlinks and hard links. Every file is written under a temporary name and renamed into place only
 * after all of its blobs were authenticated, so a damaged blob never leaves a corrupt file behind.
 * Names come from the snapshot and are checked to be single path segments; existing entries in the
 * way are replaced, never followed, so a crafted snapshot or target cannot redirect writes elsewhere.
 */
export class FileTreeRestore {
  private readonly slots: Semaphore;
  /** Single-blob files in flight: enough to hide storage latency, few enough for file descriptors. */
  private readonly smallSlots = new Semaphore(32);
  /** Data fetched ahead of writing, across all files: keeps memory flat whatever the chunk sizes. */
  private readonly fetched = new ByteBudget(32 * 1024 * 1024);
  private readonly hardLinks = new Map<string, Promise<Buffer | undefined>>();
  private readonly result: FileTreeRestoreResult = { files: 0, directories: 0, bytes: 0, failures: [], skipped: [] };

  constructor(private readonly deps: FileTreeRestoreDeps) {
    this.slots = new Semaphore(deps.filesInFlight ?? 8);
  }

  /** Restores `nodes` into the existing directory `target`. */
  async restore(nodes: readonly TreeNode[], target: Buffer): Promise<FileTreeRestoreResult> {
    await this.restoreEntries(nodes, target, '', this.deps.select !== undefined, false);
    return this.result;
  }

  /**
   * @param fresh the directory was created by this restore, so nothing can stand in the way of its
   * entries: no checks for existing entries, and verified small files are written under their names
   */
  private async restoreEntries(nodes: readonly TreeNode[], directory: Buffer, where: string, filtering: boolean, fresh: boolean): Promise<void> {
    const seen = new Set<string>();
    const pending: Promise<void>[] = [];
    for (const node of nodes) {
      const name = nodeNameBytes(node);
      assertSafeName(name, where || '/');
      const key = name.toString('base64');
      if (seen.has(key)) throw new IntegrityError('duplicate_name', `snapshot lists ${JSON.stringify(node.name)} twice in ${where || '/'}`);
      seen.add(key);
      const path = Buffer.concat([directory, SLASH, name]);
      const display = where === '' ? node.name : `${where}/${node.name}`;
      const choice = filtering ? this.deps.select!(display) : 'all';
      if (choice === 'skip' || (choice === 'descend' && node.type !== 'dir')) continue;
      const work = this.restoreNode(node, path, display, choice === 'descend', fresh);
      // Directories one at a time keeps memory bounded; files overlap through the semaphore.
      if (node.type === 'dir') await work;
      pending.push(work);
    }
    await Promise.all(pending);
  }

  private async restoreNode(node: TreeNode, path: Buffer, display: string, filtering: boolean, fresh: boolean): Promise<void> {
    switch (node.type) {
      case 'dir':
        return this.restoreDirectory(node, path, display, filtering, fresh);
      case 'file':
        return this.restoreFileOrLink(node, path, display, fresh);
      case 'symlink':
        if (!fresh) await clearWay(path, false);
        symlinkSync(nodeTargetBytes(node), path);
        if (isRoot) lchownSync(path, node.uid, node.gid);
        lutimesSync(path, utimesArgument(node.atimeNs), utimesArgument(node.mtimeNs));
        return;
      default:
        this.result.skipped.push(display);
        this.deps.progress.note(`skipped ${display}: ${node.type} entries are not recreated`);
    }
  }

  private async restoreDirectory(node: TreeNode, path: Buffer, display: string, filtering: boolean, parentFresh: boolean): Promise<void> {
    if (!parentFresh) await clearWay(path, true);
    let created = true;
    try {
      mkdirSync(path, { mode: 0o700 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      created = false;
    }
    this.result.directories++;
    if (node.subtree) {
      const tree = await this.deps.repository.loadTree(node.subtree);
      await this.restoreEntries(tree.nodes, path, display, filtering, created);
    }
    // Metadata last: creating children changes a directory's mtime, and a read-only mode would block them.
    applyMetadata(path, node);
  }

  private async restoreFileOrLink(node: TreeNode, path: Buffer, display: string, fresh: boolean): Promise<void> {
    const linkKey = node.nlink > 1 ? `${node.dev}:${node.ino}` : undefined;
    const first = linkKey ? this.hardLinks.get(linkKey) : undefined;
    if (first) {
      const firstPath = await first;
      if (firstPath) {
        if (!fresh) await clearWay(path, false);
        linkSync(firstPath, path);
        return;
      }
    }
    const restoring = (node.content ?? []).length <= 1 ? this.restoreSmallFile(node, path, display, fresh) : this.restoreFile(node, path, display);
    if (linkKey && !first) this.hardLinks.set(linkKey, restoring);
    await restoring;
  }

  /**
   * A file of at most one blob: the blob is fetched and authenticated in memory first, so the file can
   * be written in one go — under its own name when nothing can be in the way — and never half-done
   * because of damaged data. Synchronous calls: microseconds each, against a thread-pool round trip.
   */
  private restoreSmallFile(node: TreeNode, path: Buffer, display: string, fresh: boolean): Promise<Buffer | undefined> {
    return this.smallSlots.run(() => this.writeSmallFile(node, path, display, fresh));
  }

  private async writeSmallFile(node: TreeNode, path: Buffer, display: string, fresh: boolean): Promise<Buffer | undefined> {
    const id = node.content?.[0];
    let fetched: { data: Buffer; reserved: number } = { data: Buffer.alloc(0), reserved: 0 };
    try {
      if (id) fetched = await this.fetch(id);
    } catch (error) {
      if (!(error instanceof BackupError)) throw error;
      this.recordFailure(display, error);
      return undefined;
    }
    try {
      const destination = fresh ? path : temporaryBeside(path);
      writeFileSync(destination, fetched.data, { flag: 'wx', mode: 0o600 });
      applyMetadata(destination, node);
      if (!fresh) {
        await clearWay(path, false);
        renameSync(destination, path);
      }
    } finally {
      this.fetched.release(fetched.reserved);
    }
    this.result.files++;
    this.result.bytes += fetched.data.length;
    this.deps.progress.advance({ bytes: fetched.data.length });
    return path;
  }

  private recordFailure(display: string, error: BackupError): void {
    this.result.failures.push({ path: display, code: error.code, message: error.message });
    this.deps.progress.note(`failed ${display}: ${error.message}`);
  }

  /** The restored path, or undefined when the file failed (the failure is recorded). */
  private async restoreFile(node: TreeNode, path: Buffer, display: string): Promise<Buffer | undefined> {
    return this.slots.run(async () => {
      const temporary = temporaryBeside(path);
      try {
        await this.writeContent(node.content ?? [], temporary);
        applyMetadata(temporary, node);
        await clearWay(path, false);
        await rename(temporary, path);
        this.result.files++;
        return path;
      } catch (error) {
        await unlink(temporary).catch(() => undefined);
        if (!(error instanceof BackupError)) throw error;
        this.recordFailure(display, error);
        return undefined;
      }
    });
  }

  private async writeContent(ids: readonly string[], path: Buffer): Promise<void> {
    const handle = await open(path, 'wx', 0o600);
    try {
      const readAhead = this.deps.readAhead ?? 4;
      const inFlight: Promise<{ data: Buffer; reserved: number }>[] = [];
      let next = 0;
      const fill = () => {
        while (next < ids.length && inFlight.length < readAhead) {
          const fetching = this.fetch(ids[next++]!);
          // A read-ahead blob may fail while an earlier one is being written, or after an earlier failure
          // ended this file: mark it handled so it cannot crash the process; awaiting it still throws.
          fetching.catch(() => undefined);
          inFlight.push(fetching);
        }
      };
      fill();
      try {
        while (inFlight.length > 0) {
          const { data, reserved } = await inFlight.shift()!;
          fill();
          await handle.write(data);
          this.fetched.release(reserved);
          this.result.bytes += data.length;
          this.deps.progress.advance({ bytes: data.length });
        }
      } catch (error) {
        // Release what the remaining fetches hold, once they settle, so other files can go on.
        for (const pending of inFlight) void pending.then(({ reserved }) => this.fetched.release(reserved), () => undefined);
        throw error;
      }
    } finally {
      await handle.close();
    }
  }

  private async fetch(id: string): Promise<{ data: Buffer; reserved: number }> {
    const reserved = this.deps.repository.locate(id).rawLength;
    await this.fetched.acquire(reserved);
    try {
      const sealed = await this.deps.repository.readSealed(id);
      const data = sealed.length < INLINE_OPEN_BYTES ? this.deps.repository.openBlob(id, sealed) : await this.deps.pool.openBlob(Buffer.from(id, 'hex'), sealed);
      return { data, reserved };
    } catch (error) {
      this.fetched.release(reserved);
      throw error;
    }
  }
}

function applyMetadata(path: Buffer, node: TreeNode): void {
  // Owner before mode: chown clears setuid/setgid bits.
  if (isRoot) chownSync(path, node.uid, node.gid);
  chmodSync(path, node.mode);
  utimesSync(path, utimesArgument(node.atimeNs), utimesArgument(node.mtimeNs));
}

/** A temporary name in the same directory: short, since appending to a 255-byte name would not fit. */
function temporaryBeside(path: Buffer): Buffer {
  return Buffer.concat([path.subarray(0, path.lastIndexOf(0x2f) + 1), Buffer.from(`.chrono-restore-${randomBytes(8).toString('hex')}`)]);
}

/**
 * Removes whatever stands at `path` unless it is a real directory we may reuse, so that nothing is
 * written through an existing symlink.
 */
async function clearWay(path: Buffer, reuseDirectory: boolean): Promise<void> {
  const existing = await lstat(path).catch(() => undefined);
  if (!existing) return;
  if (reuseDirectory && existing.isDirectory()) return;
  await rm(path, { recursive: true, force: true });
}
