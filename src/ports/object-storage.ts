import { ValidationError } from '../domain/errors.js';

/**
 * ObjectStorage: the flat key → bytes store a backup repository lives in (a folder, a bucket, a
 * container, an SFTP/FTP directory).
 *
 * Contract (checked by test/contract/object-storage.contract.ts on every adapter):
 * - Keys are relative, `/`-separated, made of `[A-Za-z0-9._-]` segments; `..`, empty segments, leading
 *   `/` and backslashes are rejected with a ValidationError before any I/O.
 * - `put` is atomic: a reader sees either no object or the whole new one, never a partial object under
 *   the final key, even if the writer dies mid-way. `put` overwrites an existing object.
 * - `get` of a missing key throws NotFoundError. A range past the end is clipped to the object's end.
 * - `list` yields every object whose key starts with `prefix`, each exactly once, in no particular order;
 *   objects being written (temporary names) are never listed.
 * - `delete` is idempotent: deleting a missing key succeeds.
 * - Failures are StorageError; transient ones (timeouts, throttling, connection resets) have
 *   `retryable: true`, permanent ones (access denied, missing bucket) `retryable: false`.
 * - Nothing an adapter throws or logs contains credentials.
 */
export interface ObjectStorage {
  /** Where the objects live, fit to show a person: never contains credentials. */
  readonly location: string;

  put(key: string, data: Uint8Array): Promise<void>;

  /** The whole object, or `length` bytes from `offset` when a range is given. */
  get(key: string, range?: ByteRange): Promise<Buffer>;

  /** Size and modification time, or undefined when the key does not exist. */
  head(key: string): Promise<ObjectInfo | undefined>;

  list(prefix: string): AsyncIterable<ObjectInfo>;

  delete(key: string): Promise<void>;

  /**
   * Optional: stores the local file at `path` under `key` and takes the file over (it is gone
   * afterwards, moved or deleted). Same atomicity as `put`. Adapters implement it when they can do
   * better than reading the file into memory: a rename on the same file system, a streamed upload.
   * Callers use {@link putFromFile}, which falls back to `put`.
   */
  putFile?(key: string, path: string): Promise<void>;

  /**
   * Optional: a local directory where callers may stage files for `putFile` (on the same file system,
   * so that the move is a rename). Files staged there must start with {@link STAGING_PREFIX} so `list` never shows them.
   */
  readonly scratchDirectory?: string;
}

/** Stores a local file under `key` through `putFile` when the adapter has it, else through `put`. */
export async function putFromFile(storage: ObjectStorage, key: string, path: string): Promise<void> {
  if (storage.putFile) return storage.putFile(key, path);
  const { readFile, unlink } = await import('node:fs/promises');
  await storage.put(key, await readFile(path));
  await unlink(path);
}

export interface ByteRange {
  offset: number;
  length: number;
}

export interface ObjectInfo {
  key: string;
  size: number;
  /** Last modification time as the backend reports it. */
  modified: Date;
}

const SEGMENT = /^[A-Za-z0-9._-]+$/;

/**
 * Names of files being written (temporary objects, staged packs) start with this. `~` is outside the
 * key alphabet, so such a name can never be a key, and `list` never shows it.
 */
export const STAGING_PREFIX = '.~tmp-';

/**
 * Throws unless `key` is a safe relative object key. Every adapter calls this first, so a key can never
 * name a file outside the storage root.
 */
export function assertSafeKey(key: string): void {
  const segments = key.split('/');
  const bad = key.length === 0 || segments.some((segment) => segment === '' || segment === '.' || segment === '..' || !SEGMENT.test(segment));
  if (bad) throw new StorageKeyError(key);
}

/** A prefix may be empty or end with `/`; its segments obey the key rules. */
export function assertSafePrefix(prefix: string): void {
  if (prefix === '') return;
  assertSafeKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix);
}

export class StorageKeyError extends ValidationError {
  constructor(key: string) {
    super(`invalid object key ${JSON.stringify(key.slice(0, 200))}: keys are relative, '/'-separated names without '..'`, 'key');
  }
}
