import { stat } from 'node:fs/promises';
import { putFromFile, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { errorCode, type StorageOperation } from './retrying-object-storage.js';

/** Upper bounds (ms) of the latency histogram buckets; a last, implicit bucket holds everything slower. */
export const LATENCY_BUCKETS_MS = [10, 50, 100, 250, 500, 1000, 2500, 10_000] as const;

const OPERATIONS: readonly StorageOperation[] = ['put', 'get', 'head', 'list', 'delete'];

export interface LatencySummary {
  count: number;
  sumMs: number;
  maxMs: number;
  /** Cumulative, Prometheus-style: calls that took at most `leMs`. The +Inf bucket is `count`. */
  buckets: { leMs: number; count: number }[];
}

export interface OperationMetrics {
  requests: number;
  errors: number;
  /** Failures by error code (`storage.busy`, `not_found`, a Node code, `unknown`): a small, fixed set. */
  errorsByCode: Record<string, number>;
  latency: LatencySummary;
}

/** A point-in-time copy of a backend's counters: plain data, safe to serialise and render. */
export interface StorageMetrics {
  location: string;
  /** Bytes handed to successful `put`/`putFile` calls. */
  bytesUp: number;
  /** Bytes returned by successful `get` calls. */
  bytesDown: number;
  operations: Record<StorageOperation, OperationMetrics>;
}

export interface MeteredOptions {
  /** Milliseconds on a monotonic clock; injectable so tests see exact latencies. Default performance.now. */
  now?: () => number;
}

/**
 * An ObjectStorage decorator that counts what passes through it: bytes up and down, requests and errors
 * per operation, and latency (count, sum, max and a histogram). Each instance keeps its own counters, so
 * one per backend gives per-backend metrics; `metrics()` returns a snapshot for a `/metrics` endpoint.
 *
 * Where it sits decides what it counts: around the retry decorator it sees calls as the application
 * makes them, inside it every attempt. `putFile` counts as a `put`; a listing counts as one request whose
 * latency runs until it is drained (or abandoned), and fails if any page fails.
 */
export class MeteredObjectStorage implements ObjectStorage {
  readonly location: string;
  private readonly now: () => number;
  private bytesUp = 0;
  private bytesDown = 0;
  private readonly operations: Record<StorageOperation, OperationMetrics>;

  constructor(
    private readonly inner: ObjectStorage,
    options: MeteredOptions = {},
  ) {
    this.location = inner.location;
    this.now = options.now ?? (() => performance.now());
    this.operations = Object.fromEntries(OPERATIONS.map((operation) => [operation, emptyOperation()])) as Record<StorageOperation, OperationMetrics>;
  }

  get scratchDirectory(): string | undefined {
    return this.inner.scratchDirectory;
  }

  metrics(): StorageMetrics {
    return { location: this.location, bytesUp: this.bytesUp, bytesDown: this.bytesDown, operations: structuredClone(this.operations) };
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    await this.measure('put', () => this.inner.put(key, data));
    this.bytesUp += data.byteLength;
  }

  async putFile(key: string, path: string): Promise<void> {
    // The file is gone once stored, so its size is read first.
    const size = await stat(path).then((info) => info.size, () => 0);
    await this.measure('put', () => putFromFile(this.inner, key, path));
    this.bytesUp += size;
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    const data = await this.measure('get', () => this.inner.get(key, range));
    this.bytesDown += data.length;
    return data;
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return this.measure('head', () => this.inner.head(key));
  }

  delete(key: string): Promise<void> {
    return this.measure('delete', () => this.inner.delete(key));
  }

  async *list(prefix: string): AsyncGenerator<ObjectInfo> {
    const started = this.now();
    let failed = false;
    try {
      yield* this.inner.list(prefix);
    } catch (error) {
      failed = true;
      this.record('list', started, error);
      throw error;
    } finally {
      if (!failed) this.record('list', started, undefined);
    }
  }

  private async measure<T>(operation: StorageOperation, call: () => Promise<T>): Promise<T> {
    const started = this.now();
    try {
      const result = await call();
      this.record(operation, started, undefined);
      return result;
    } catch (error) {
      this.record(operation, started, error);
      throw error;
    }
  }

  /** `failure` is the error of a failed call, undefined for a call that succeeded. */
  private record(operation: StorageOperation, started: number, failure: unknown): void {
    const metrics = this.operations[operation];
    const elapsed = Math.max(0, this.now() - started);
    metrics.requests++;
    if (failure !== undefined) {
      metrics.errors++;
      const code = errorCode(failure);
      metrics.errorsByCode[code] = (metrics.errorsByCode[code] ?? 0) + 1;
    }
    const latency = metrics.latency;
    latency.count++;
    latency.sumMs += elapsed;
    latency.maxMs = Math.max(latency.maxMs, elapsed);
    for (const bucket of latency.buckets) if (elapsed <= bucket.leMs) bucket.count++;
  }
}

function emptyOperation(): OperationMetrics {
  return { requests: 0, errors: 0, errorsByCode: {}, latency: { count: 0, sumMs: 0, maxMs: 0, buckets: LATENCY_BUCKETS_MS.map((leMs) => ({ leMs, count: 0 })) } };
}
