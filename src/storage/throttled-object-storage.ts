import { stat } from 'node:fs/promises';
import { setTimeout as delay } from 'node:timers/promises';
import { ValidationError } from '../domain/errors.js';
import { putFromFile, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';

export interface ThrottleOptions {
  /** The limit in megabits per second (10^6 bits): `bandwidth_limit_mbps`. Positive; fractions allowed. */
  mbps: number;
  /**
   * Bytes that may pass at once after an idle spell. Default: 100 ms worth of the rate, at least 64 KiB,
   * so a pause does not turn into a long burst but small objects (locks, snapshots) never wait.
   */
  burstBytes?: number;
  /** Milliseconds on a monotonic clock; injectable so tests see exact waits. Default performance.now. */
  now?: () => number;
  /** Waits `ms` milliseconds; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
}

/**
 * A token bucket that lets a call take more tokens than it holds and pay the debt by waiting: `take`
 * returns how long the caller must wait before its bytes may go. Every caller's wait includes the debt of
 * the callers before it, so concurrent calls share the rate and are served in arrival order.
 */
export class TokenBucket {
  private tokens: number;
  private updated: number;

  constructor(
    private readonly bytesPerMs: number,
    private readonly capacity: number,
    private readonly now: () => number,
  ) {
    this.tokens = capacity;
    this.updated = now();
  }

  /** Takes `bytes` tokens and returns the wait in milliseconds (0 when the bucket held enough). */
  take(bytes: number): number {
    const now = this.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.updated) * this.bytesPerMs);
    this.updated = now;
    this.tokens -= bytes;
    return this.tokens >= 0 ? 0 : -this.tokens / this.bytesPerMs;
  }
}

/**
 * An ObjectStorage decorator that holds the bytes moved by every call together (uploads and downloads
 * alike, through one bucket) to `mbps` megabits per second on average:
 *
 * - `put` and `putFile` pay for the object's size before it is sent;
 * - `get` of a range pays for the range before it is asked; `get` of a whole object, whose size is not
 *   known in advance, pays once the bytes have arrived, before they are handed over;
 * - `head`, `list` and `delete` move a few hundred bytes and are not limited.
 *
 * The limit is an average over time, not a cap on the wire: the port hands objects over whole, so each
 * call waits its turn and then transfers at full speed. Over any span longer than a few objects the
 * average holds (within the burst); `bench/storage.js` measures it. Wrap it around the retry decorator,
 * not inside it: a wait for tokens must never count against a per-attempt timeout.
 */
export class ThrottledObjectStorage implements ObjectStorage {
  readonly location: string;
  private readonly bucket: TokenBucket;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(
    private readonly inner: ObjectStorage,
    options: ThrottleOptions,
  ) {
    if (!Number.isFinite(options.mbps) || options.mbps <= 0) throw new ValidationError('bandwidth limit must be a positive number of megabits per second', 'bandwidth_limit_mbps');
    const bytesPerSecond = (options.mbps * 1_000_000) / 8;
    const burst = options.burstBytes ?? Math.max(64 * 1024, bytesPerSecond / 10);
    if (!Number.isFinite(burst) || burst < 0) throw new ValidationError('throttle burstBytes must be a non-negative number', 'burstBytes');
    this.location = inner.location;
    this.bucket = new TokenBucket(bytesPerSecond / 1000, burst, options.now ?? (() => performance.now()));
    this.sleep = options.sleep ?? ((ms) => delay(ms));
  }

  get scratchDirectory(): string | undefined {
    return this.inner.scratchDirectory;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await this.pay(data.byteLength);
    await this.inner.put(key, data);
  }

  async putFile(key: string, path: string): Promise<void> {
    // A file that cannot be read is the adapter's to report; it costs nothing here.
    const size = await stat(path).then((info) => info.size, () => 0);
    await this.pay(size);
    await putFromFile(this.inner, key, path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    if (range !== undefined) {
      await this.pay(range.length);
      return this.inner.get(key, range);
    }
    const data = await this.inner.get(key);
    await this.pay(data.length);
    return data;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.inner.head(key);
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    return this.inner.list(prefix);
  }

  delete(key: string): Promise<void> {
    return this.inner.delete(key);
  }

  private async pay(bytes: number): Promise<void> {
    const wait = this.bucket.take(bytes);
    if (wait > 0) await this.sleep(wait);
  }
}
