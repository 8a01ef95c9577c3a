import { copyFile, lstat, mkdir, open, opendir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { BackupError, NotFoundError, StorageError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { temporaryName } from './remote-storage-support.js';


/** Errors that mean "no object here" when reading: the path, a parent, or the path itself is not a file. */
const ABSENT = new Set(['ENOENT', 'ENOTDIR', 'EISDIR']);

/** Codes a platform uses to refuse fsync on a directory (Windows, some network file systems). */
const DIR_FSYNC_REFUSED = new Set(['EISDIR', 'EINVAL', 'EPERM', 'EBADF', 'ENOTSUP', 'EACCES']);

/**
 * ObjectStorage on a local directory (or any mounted file system). Keys map to paths below `root`; `/`
 * in a key becomes a sub-directory.
 *
 * - The root and its sub-directories are created on first write with mode 0700; objects get mode 0600.
 *   An existing root keeps its mode.
 * - `put` writes a temporary file (`.~tmp-<random>`) in the target directory, fsyncs it, renames it over
 *   the final name and fsyncs the directory, so a crash leaves either the old object, the new one, or
 *   an unlisted temporary file — never a partial object under the key.
 * - Reads, `head`, `list` and `delete` never create the root.
 */
export class LocalObjectStorage implements ObjectStorage {
  /** The absolute path of the root directory. */
  readonly location: string;

  /**
   * Directories this instance has created or found, with their entries made durable. Shared promises
   * let concurrent puts into a new directory wait for the one that creates it, so none of them returns
   * before the directory entry itself is on disk.
   */
  private readonly readyDirs = new Map<string, Promise<void>>();

  /** Packs are staged in the root itself, so moving one into place is a rename. */
  get scratchDirectory(): string {
    return this.location;
  }

  /** @param root the directory holding the objects; relative paths resolve against the working directory. */
  constructor(root: string) {
    if (typeof root !== 'string' || root.length === 0) throw new ValidationError('local storage root must be a non-empty path', 'root');
    this.location = resolve(root);
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    const target = this.pathOf(key);
    const dir = dirname(target);
    try {
      await this.ensureDir(dir);
      const temp = join(dir, temporaryName());
      try {
        await writeDurably(temp, data);
      } catch (error) {
        if (errnoCode(error) !== 'ENOENT') throw error;
        // The directory was removed behind our back (prune, an operator): forget it and create it again.
        this.readyDirs.delete(dir);
        await this.ensureDir(dir);
        await writeDurably(temp, data);
      }
      try {
        await rename(temp, target);
      } catch (error) {
        await unlink(temp).catch(() => undefined);
        throw error;
      }
      // The rename is only durable once the directory entry is; without this a crash could lose the object.
      await fsyncDir(dir);
    } catch (error) {
      throw translate(error, key);
    }
  }

  /**
   * Moves a local file into place: a rename when it is on the same file system (no copy at all),
   * otherwise a durable copy through a temporary file. The source is fsynced first, so the object is
   * durable once this resolves.
   */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    const target = this.pathOf(key);
    const dir = dirname(target);
    try {
      await fsyncFile(path);
      await this.ensureDir(dir);
      try {
        await rename(path, target);
      } catch (error) {
        if (errnoCode(error) !== 'EXDEV') throw error;
        const temp = join(dir, temporaryName());
        await copyFile(path, temp);
        await fsyncFile(temp);
        await rename(temp, target);
        await unlink(path);
      }
      await fsyncDir(dir);
    } catch (error) {
      throw translate(error, key);
    }
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    let handle: FileHandle;
    try {
      handle = await open(this.pathOf(key), 'r');
    } catch (error) {
      throw translateRead(error, key);
    }
    try {
      const info = await handle.stat();
      // On POSIX a directory opens for reading; it is a prefix, not an object.
      if (!info.isFile()) throw new NotFoundError('object', key);
      if (range === undefined) return await handle.readFile();
      return await readRange(handle, range, info.size);
    } catch (error) {
      throw translateRead(error, key);
    } finally {
      await handle.close().catch(() => undefined);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const info = await stat(this.pathOf(key));
      // A Date built here rather than fs.Stats.mtime, which Node creates in its own realm (breaks instanceof under VMs).
      return info.isFile() ? { key, size: info.size, modified: new Date(info.mtimeMs) } : undefined;
    } catch (error) {
      if (ABSENT.has(errnoCode(error) ?? '')) return undefined;
      throw translate(error, key);
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    // Validate eagerly so a bad prefix fails at the call, before any directory is opened.
    assertSafePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    // Start at the deepest directory the prefix names in full; the rest of the prefix filters names.
    return this.walk(slash === -1 ? '' : prefix.slice(0, slash), prefix);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    const path = this.pathOf(key);
    try {
      await unlink(path);
    } catch (error) {
      const code = errnoCode(error);
      if (code !== undefined && ABSENT.has(code)) return;
      // macOS reports unlink of a directory as EPERM; a directory is a prefix, so there is nothing to delete.
      if (code === 'EPERM' && (await isDirectory(path))) return;
      throw translate(error, key);
    }
    // No directory fsync: a delete lost in a crash only leaves garbage that prune removes again.
  }

  /** Yields the files below `relDir` whose keys start with `prefix`, depth first, one directory open per level. */
  private async *walk(relDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    let dir;
    try {
      dir = await opendir(relDir === '' ? this.location : this.pathOf(relDir));
    } catch (error) {
      if (ABSENT.has(errnoCode(error) ?? '')) return;
      throw translate(error, relDir === '' ? prefix : relDir);
    }
    try {
      // for-await closes the directory handle on completion, on error and when the consumer stops early.
      for await (const entry of dir) {
        // Temporary files and anything else no put could have written are not objects.
        if (!isKey(entry.name)) continue;
        const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
        if (entry.isDirectory()) {
          const asPrefix = `${key}/`;
          if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(key, prefix);
        } else if (entry.isFile() && key.startsWith(prefix)) {
          const info = await statIfPresent(join(this.location, ...key.split('/')));
          // Deleted between readdir and stat: it is gone, so it is not listed.
          if (info !== undefined) yield { key, size: info.size, modified: new Date(info.mtimeMs) };
        }
      }
    } catch (error) {
      throw error instanceof BackupError ? error : translate(error, relDir === '' ? prefix : relDir);
    }
  }

  private pathOf(key: string): string {
    const path = join(this.location, ...key.split('/'));
    // assertSafeKey already rules out escapes; this guards against a future change to the key rules.
    if (!path.startsWith(this.location + sep)) throw new ValidationError(`object key escapes the storage root: ${key}`, 'key');
    return path;
  }

  private ensureDir(dir: string): Promise<void> {
    let ready = this.readyDirs.get(dir);
    if (ready === undefined) {
      ready = createDir(dir);
      this.readyDirs.set(dir, ready);
      // A failure is not remembered: the next put tries again.
      ready.catch(() => this.readyDirs.delete(dir));
    }
    return ready;
  }
}

/** Creates `dir` (and missing parents) with mode 0700 and makes every new directory entry durable. */
async function createDir(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o700 });
  if (first === undefined) return;
  // Each created directory is an entry in its parent; fsync the parents from the top one down.
  const parents: string[] = [];
  for (let current = dir; ; current = dirname(current)) {
    parents.push(dirname(current));
    if (current === first || dirname(current) === current) break;
  }
  for (const parent of parents.reverse()) await fsyncDir(parent);
}

async function writeDurably(path: string, data: Uint8Array): Promise<void> {
  // 'wx': the random name must be new; never write through an existing file or symlink.
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (error) {
    await handle.close().catch(() => undefined);
    await unlink(path).catch(() => undefined);
    throw error;
  }
  await handle.close();
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

async function fsyncDir(dir: string): Promise<void> {
  let handle: FileHandle;
  try {
    handle = await open(dir, 'r');
  } catch (error) {
    if (DIR_FSYNC_REFUSED.has(errnoCode(error) ?? '')) return;
    throw error;
  }
  try {
    await handle.sync();
  } catch (error) {
    if (!DIR_FSYNC_REFUSED.has(errnoCode(error) ?? '')) throw error;
  } finally {
    await handle.close().catch(() => undefined);
  }
}

async function readRange(handle: FileHandle, range: ByteRange, size: number): Promise<Buffer> {
  const length = Math.max(0, Math.min(range.length, size - range.offset));
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, range.offset + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled === length ? buffer : buffer.subarray(0, filled);
}

function assertRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) throw new ValidationError('range offset must be a non-negative integer', 'range.offset');
  if (!Number.isSafeInteger(range.length) || range.length < 0) throw new ValidationError('range length must be a non-negative integer', 'range.length');
}

async function statIfPresent(path: string) {
  try {
    return await stat(path);
  } catch (error) {
    if (ABSENT.has(errnoCode(error) ?? '')) return undefined;
    throw error;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

function isKey(name: string): boolean {
  try {
    assertSafeKey(name);
    return true;
  } catch {
    return false;
  }
}

function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function translateRead(error: unknown, key: string): BackupError {
  if (ABSENT.has(errnoCode(error) ?? '')) return new NotFoundError('object', key, { cause: error });
  return translate(error, key);
}

/** Maps a file-system error to the domain's. Messages name the key only, never the absolute path. */
function translate(error: unknown, key: string): BackupError {
  if (error instanceof BackupError) return error;
  const code = errnoCode(error);
  const options = (retryable: boolean) => ({ cause: error, retryable, details: { key, errno: code } });
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return new StorageError('access_denied', `access denied to object ${key}`, options(false));
    case 'ENOSPC':
    case 'EDQUOT':
      return new StorageError('no_space', `no space left to store object ${key}`, options(false));
    case 'EROFS':
      return new StorageError('read_only', `storage is read-only, cannot write object ${key}`, options(false));
    case 'EMFILE':
    case 'ENFILE':
    case 'EAGAIN':
    case 'EBUSY':
    case 'EINTR':
    case 'ETIMEDOUT':
      return new StorageError('busy', `storage temporarily unavailable for object ${key}`, options(true));
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
    case 'ENOTEMPTY':
      // A key used as a file and as a directory prefix at once cannot both exist on a file system.
      return new StorageError('key_conflict', `object ${key} conflicts with an existing object or prefix`, options(false));
    default:
      return new StorageError('io', `storage I/O failed for object ${key}`, options(false));
  }
}
