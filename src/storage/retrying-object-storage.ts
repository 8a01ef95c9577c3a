import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { BackupError, StorageError, ValidationError } from '../domain/errors.js';
import { putFromFile, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';

/** The storage operations the decorator wraps, as reported to `onRetry`. */
export type StorageOperation = 'put' | 'get' | 'head' | 'list' | 'delete';

/** What `onRetry` learns about a failed attempt. Carries codes, never error messages, so no secrets leak. */
export interface RetryInfo {
  operation: StorageOperation;
  /** The object key, or the prefix for `list`. */
  key: string;
  /** The attempt that just failed, starting at 1. */
  attempt: number;
  /** How long the decorator waits before the next attempt. */
  delayMs: number;
  /** The BackupError `code` (`storage.busy`), the Node error code (`ECONNRESET`), or `unknown`. */
  code: string;
}

export interface RetryOptions {
  /** Total attempts including the first; at least 1. Default 5. */
  attempts?: number;
  /** The backoff cap of the first retry; doubles each retry. Default 200. */
  baseDelayMs?: number;
  /** No wait exceeds this. Default 10 000. */
  maxDelayMs?: number;
  /** Waits `ms` milliseconds; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1); injectable so tests see exact delays. Default Math.random. */
  random?: () => number;
  /** Called before each wait, for logs and metrics. */
  onRetry?: (info: RetryInfo) => void;
  /**
   * An attempt that has not settled after this many milliseconds is abandoned and counts as a retryable
   * failure (`storage.timeout`), so a stalled connection costs one timeout instead of the whole run.
   * Default: none (an attempt may take as long as the adapter lets it).
   */
  attemptTimeoutMs?: number;
}

/** Node error codes of a dropped or stalled connection, raised by SDKs that do not wrap them. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

/**
 * True when trying the same call again may succeed: a BackupError marked `retryable`, or a plain network
 * error. A BackupError that is not retryable stays permanent even if its cause was a network error,
 * because the adapter that wrapped it knew better.
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof BackupError) return error.retryable;
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && NETWORK_CODES.has(code);
}

/**
 * An ObjectStorage decorator that retries transient failures with exponential backoff and full jitter:
 * before retry n it waits `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))` milliseconds. Permanent
 * errors pass through at once; after the last attempt the last error is rethrown unchanged.
 *
 * `list` is retried only until its first item arrives: restarting a listing that has already yielded
 * items would yield them twice, so a later failure reaches the caller, who knows what it has consumed.
 *
 * With `attemptTimeoutMs`, a stalled attempt is abandoned, not cancelled: the port has no cancellation,
 * so it may still complete after its retry did. That is safe for what a repository writes: every put
 * is atomic and a retry writes the same bytes under the same key (packs under random ids, index files
 * under the hash of their content, snapshots under their reserved id), so a late completion rewrites
 * identical content; reads and deletes are idempotent. The one object rewritten with new content is a
 * lease: a late renewal can bring back a released lease, which then only lingers until it expires.
 * For `putFile`, a late or ambiguous attempt may already have taken the file over; a retry that finds
 * the file gone therefore checks whether the object arrived whole (same size) before giving up.
 */
export class RetryingObjectStorage implements ObjectStorage {
  readonly location: string;
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;
  private readonly onRetry: ((info: RetryInfo) => void) | undefined;
  private readonly attemptTimeoutMs: number | undefined;

  constructor(
    private readonly inner: ObjectStorage,
    options: RetryOptions = {},
  ) {
    this.location = inner.location;
    this.attempts = options.attempts ?? 5;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 10_000;
    if (!Number.isSafeInteger(this.attempts) || this.attempts < 1) throw new ValidationError('retry attempts must be an integer of at least 1', 'attempts');
    if (!Number.isFinite(this.baseDelayMs) || this.baseDelayMs < 0) throw new ValidationError('retry baseDelayMs must be a non-negative number', 'baseDelayMs');
    if (!Number.isFinite(this.maxDelayMs) || this.maxDelayMs < 0) throw new ValidationError('retry maxDelayMs must be a non-negative number', 'maxDelayMs');
    this.sleep = options.sleep ?? ((ms) => delay(ms));
    this.random = options.random ?? Math.random;
    this.onRetry = options.onRetry;
    this.attemptTimeoutMs = options.attemptTimeoutMs;
    if (this.attemptTimeoutMs !== undefined && (!Number.isFinite(this.attemptTimeoutMs) || this.attemptTimeoutMs <= 0)) {
      throw new ValidationError('retry attemptTimeoutMs must be a positive number', 'attemptTimeoutMs');
    }
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.withRetry('put', key, () => this.inner.put(key, data));
  }

  get scratchDirectory(): string | undefined {
    return this.inner.scratchDirectory;
  }

  async putFile(key: string, path: string): Promise<void> {
    // Known before the first attempt, so a retry can recognise the object an earlier attempt stored.
    const size = await stat(path).then((info) => info.size, () => undefined);
    const fileGone = () => stat(path).then(() => false, () => size !== undefined);
    // Pack keys are random, so an object of the file's size under the key is that file, stored whole.
    const arrived = async () => (await this.inner.head(key))?.size === size;
    return this.withRetry('put', key, async (attempt) => {
      // From the second attempt on, an earlier one may have taken the file over: it failed after storing
      // the object, or was abandoned and finished late (possibly while this attempt runs).
      if (attempt > 1 && (await fileGone())) {
        if (await arrived()) return;
        throw new StorageError('upload_lost', `the upload of object ${key} was interrupted after its staging file was consumed; the object is not in storage`, { details: { key } });
      }
      try {
        await putFromFile(this.inner, key, path);
      } catch (error) {
        if (attempt > 1 && (await fileGone()) && (await arrived())) return;
        throw error;
      }
    });
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.withRetry('get', key, () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.withRetry('head', key, () => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.withRetry('delete', key, () => this.inner.delete(key));
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    let iterator: AsyncIterator<ObjectInfo> | undefined;
    let first: IteratorResult<ObjectInfo> | undefined;
    for (let attempt = 1; first === undefined; attempt++) {
      try {
        iterator = this.inner.list(prefix)[Symbol.asyncIterator]();
        const current = iterator;
        first = await this.bounded('list', prefix, () => current.next());
      } catch (error) {
        await this.afterFailure('list', prefix, attempt, error);
      }
    }
    if (first.done === true || iterator === undefined) return;
    let finished = false;
    try {
      yield first.value;
      while (true) {
        // A stall later in the listing is not retried (see above), but it is still reported, not waited out.
        const current = iterator;
        const next = await this.bounded('list', prefix, () => current.next());
        if (next.done === true) break;
        yield next.value;
      }
      finished = true;
    } finally {
      // The consumer stopped early (or the inner listing failed): let the inner listing release its handles.
      if (!finished) await iterator.return?.().catch(() => undefined);
    }
  }

  private async withRetry<T>(operation: StorageOperation, key: string, call: (attempt: number) => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.bounded(operation, key, () => call(attempt));
      } catch (error) {
        await this.afterFailure(operation, key, attempt, error);
      }
    }
  }

  /** Runs one attempt, abandoning it with a retryable `storage.timeout` once `attemptTimeoutMs` passes. */
  private bounded<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    const limit = this.attemptTimeoutMs;
    if (limit === undefined) return call();
    const pending = call();
    // An abandoned attempt may still fail later; nobody awaits it any more, so its failure is dropped here.
    pending.catch(() => undefined);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(() => {
        reject(new StorageError('timeout', `storage ${operation} of ${key === '' ? 'everything' : key} did not finish within ${limit} ms and was abandoned`, { retryable: true, details: { operation, key } }));
      }, limit);
    });
    return Promise.race([pending, timeout]).finally(() => clearTimeout(timer));
  }

  /** Rethrows `error` when it is permanent or attempts are used up; otherwise reports and waits. */
  private async afterFailure(operation: StorageOperation, key: string, attempt: number, error: unknown): Promise<void> {
    if (attempt >= this.attempts || !isRetryableError(error)) throw error;
    const cap = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    const delayMs = Math.floor(this.random() * cap);
    this.onRetry?.({ operation, key, attempt, delayMs, code: errorCode(error) });
    await this.sleep(delayMs);
  }
}

/** The BackupError or Node error code of `error`, or `unknown`: a label that never carries a message. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : 'unknown';
}
