/**
 * Reusable buffers in power-of-two size classes. The chunk path allocates a buffer per chunk; reusing
 * them instead keeps the allocator from fragmenting per-thread heaps, which otherwise hold on to tens
 * of MiB that a garbage-collected language never gives back.
 */
export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();
  private retained = 0;

  /**
   * @param maxRetainedBytes free buffers kept for reuse, over all size classes; beyond that released
   * buffers are left to the garbage collector
   */
  constructor(
    private readonly maxRetainedBytes = 16 * 1024 * 1024,
    private readonly minimum = 64 * 1024,
  ) {}

  /** A buffer of exactly `size` bytes (a view of a pooled one). Return it with `release`. */
  take(size: number): Buffer {
    const capacity = this.classOf(size);
    const reused = this.free.get(capacity)?.pop();
    if (reused) this.retained -= capacity;
    return (reused ?? Buffer.allocUnsafeSlow(capacity)).subarray(0, size);
  }

  release(buffer: Buffer): void {
    const whole = Buffer.from(buffer.buffer, 0, buffer.buffer.byteLength);
    const capacity = whole.length;
    if (capacity !== this.classOf(capacity)) return; // not one of ours
    if (this.retained + capacity > this.maxRetainedBytes) return;
    const list = this.free.get(capacity) ?? [];
    list.push(whole);
    this.free.set(capacity, list);
    this.retained += capacity;
  }

  private classOf(size: number): number {
    let capacity = this.minimum;
    while (capacity < size) capacity *= 2;
    return capacity;
  }
}
