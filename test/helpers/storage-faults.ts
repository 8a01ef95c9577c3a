/**
 * ObjectStorage wrappers that misbehave on purpose, for fault-injection tests: random retryable failures
 * and stalls ({@link FaultyObjectStorage}), a backend that goes away ({@link DisappearingObjectStorage}),
 * and a slow backend that records how many calls overlap ({@link DelayedObjectStorage}). They sit where an
 * adapter would, below the RetryingObjectStorage, and are real code paths, not mocks: every call that is
 * let through reaches the wrapped storage.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { StorageError } from '../../src/domain/errors.js';
import { putFromFile, type ByteRange, type ObjectInfo, type ObjectStorage } from '../../src/ports/object-storage.js';
import type { StorageOperation } from '../../src/storage/retrying-object-storage.js';
import { SeededRandom } from './fixture-tree.js';

/** Forwards every call to `inner` through one hook, so a wrapper only says what happens around a call. */
export abstract class InterceptingObjectStorage implements ObjectStorage {
  readonly location: string;

  constructor(protected readonly inner: ObjectStorage) {
    this.location = inner.location;
  }

  protected abstract around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T>;

  get scratchDirectory(): string | undefined {
    return this.inner.scratchDirectory;
  }

  put(key: string, data: Uint8Array): Promise<void> {
    return this.around('put', key, () => this.inner.put(key, data));
  }

  putFile(key: string, path: string): Promise<void> {
    return this.around('put', key, () => putFromFile(this.inner, key, path));
  }

  get(key: string, range?: ByteRange): Promise<Buffer> {
    return this.around('get', key, () => this.inner.get(key, range));
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.around('head', key, () => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.around('delete', key, () => this.inner.delete(key));
  }

  /** The listing is read whole inside the hook: test repositories are small, and a fault then hits it as one call. */
  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    const items = await this.around('list', prefix, async () => {
      const all: ObjectInfo[] = [];
      for await (const item of this.inner.list(prefix)) all.push(item);
      return all;
    });
    yield* items;
  }
}

export interface FaultOptions {
  seed: number;
  /** Share of calls that misbehave, in [0, 1]. Default 0.1. */
  faultRate?: number;
  /** Of those, the share that stall instead of failing. Default 0.3. */
  stallShare?: number;
  /** How long a stalled call hangs before it goes through (late). Must exceed the retry's attempt timeout. */
  stallMs: number;
}

/** What a {@link FaultyObjectStorage} did, so a test can show the faults really happened. */
export interface FaultCounts {
  calls: number;
  /** Failed before reaching the storage. */
  failedBefore: number;
  /** Reached the storage, then failed anyway: the response was "lost", the effect happened. */
  failedAfter: number;
  /** Hung for `stallMs`, then went through. */
  stalls: number;
}

/**
 * Makes a seeded random share of calls misbehave: half of the failing ones fail before the call with a
 * retryable StorageError, half after it (the effect happened but the caller hears of a failure, as when
 * a connection drops before the response), and the stalled ones hang for `stallMs` and then complete late,
 * as an abandoned request that was merely slow would. `settled()` waits for the late ones.
 */
export class FaultyObjectStorage extends InterceptingObjectStorage {
  readonly counts: FaultCounts = { calls: 0, failedBefore: 0, failedAfter: 0, stalls: 0 };
  /** Off while a test sets up or checks the repository through the same wrapper. */
  enabled = true;
  private readonly random: SeededRandom;
  private readonly faultRate: number;
  private readonly stallShare: number;
  private readonly stallMs: number;
  private readonly late = new Set<Promise<unknown>>();

  constructor(inner: ObjectStorage, options: FaultOptions) {
    super(inner);
    this.random = new SeededRandom(options.seed);
    this.faultRate = options.faultRate ?? 0.1;
    this.stallShare = options.stallShare ?? 0.3;
    this.stallMs = options.stallMs;
  }

  /** Resolves once every stalled call has finished (successfully or not). */
  async settled(): Promise<void> {
    while (this.late.size > 0) await Promise.allSettled([...this.late]);
  }

  protected async around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    if (!this.enabled) return call();
    this.counts.calls++;
    const draw = this.random.below(1_000_000) / 1_000_000;
    const stallBelow = this.faultRate * this.stallShare;
    if (draw < stallBelow) {
      this.counts.stalls++;
      const late = sleep(this.stallMs).then(call);
      this.late.add(late);
      void late.catch(() => undefined).finally(() => this.late.delete(late));
      return late;
    }
    if (draw < this.faultRate) {
      const after = draw < (this.faultRate + stallBelow) / 2;
      if (after) {
        await call();
        this.counts.failedAfter++;
      } else {
        this.counts.failedBefore++;
      }
      throw new StorageError('busy', `injected fault: ${operation} of ${key} ${after ? 'lost its response' : 'failed'}`, { retryable: true, details: { operation, key } });
    }
    return call();
  }
}

/**
 * A backend that answers `afterCalls` counted calls and then disappears: every call from then on fails
 * with a retryable network StorageError, as a dropped link or a stopped server would, until `reappear()`
 * brings it back for good.
 * `counts` chooses which calls count (default: all).
 */
export class DisappearingObjectStorage extends InterceptingObjectStorage {
  private counted = 0;
  private gone = false;

  constructor(
    inner: ObjectStorage,
    private afterCalls: number,
    private readonly counts: (operation: StorageOperation, key: string) => boolean = () => true,
  ) {
    super(inner);
  }

  get disappeared(): boolean {
    return this.gone;
  }

  reappear(): void {
    this.gone = false;
    this.afterCalls = Infinity;
  }

  protected async around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    if (this.gone) throw new StorageError('network', `injected outage: the backend is unreachable (${operation} of ${key})`, { retryable: true, details: { operation, key } });
    if (this.counts(operation, key) && ++this.counted >= this.afterCalls) this.gone = true;
    return call();
  }
}

/**
 * A high-latency backend: calls matching `track` (default: all) wait `delayMs` first and are counted while
 * in flight; the largest overlap seen is kept in `maxInFlight`.
 */
export class DelayedObjectStorage extends InterceptingObjectStorage {
  inFlight = 0;
  maxInFlight = 0;
  tracked = 0;

  constructor(
    inner: ObjectStorage,
    private readonly delayMs: number,
    private readonly track: (operation: StorageOperation, key: string) => boolean = () => true,
  ) {
    super(inner);
  }

  protected async around<T>(operation: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
    const tracked = this.track(operation, key);
    if (tracked) {
      this.tracked++;
      this.inFlight++;
      this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    }
    try {
      if (tracked) await sleep(this.delayMs);
      return await call();
    } finally {
      if (tracked) this.inFlight--;
    }
  }
}
