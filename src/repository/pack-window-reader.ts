import { IntegrityError, NotFoundError } from '../domain/errors.js';
import { packKey } from './layout.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { BlobLocation } from './master-index.js';

/**
 * Reads small blobs through aligned windows of packs. Small files backed up together sit next to each
 * other in one pack, so restoring them with one ranged read per blob would cost tens of thousands of
 * requests (and four syscalls each on a local repository); one read of the surrounding window serves
 * all of them. Windows are aligned so that concurrent readers of neighbouring blobs share one, and the
 * most recently used few are kept. Blobs that are large or cross a window edge are read directly.
 */
export class PackWindowReader {
  private readonly windows = new Map<string, Promise<Buffer>>();

  constructor(
    private readonly storage: ObjectStorage,
    private readonly windowBytes = 1024 * 1024,
    private readonly maxWindows = 16,
  ) {}

  /** True for blobs this reader serves: small ones inside one window. */
  serves(location: BlobLocation): boolean {
    const index = Math.floor(location.offset / this.windowBytes);
    return location.length * 4 <= this.windowBytes && location.offset + location.length <= (index + 1) * this.windowBytes;
  }

  /** The sealed bytes of a blob that `serves` accepts, in a buffer the caller owns. */
  async read(location: BlobLocation, id: string): Promise<Buffer> {
    const index = Math.floor(location.offset / this.windowBytes);
    const key = `${location.pack}:${index}`;
    let window = this.windows.get(key);
    if (window) this.windows.delete(key); // re-inserted below: the map's order is the use order
    else window = this.readWindow(location.pack, index * this.windowBytes);
    this.windows.set(key, window);
    if (this.windows.size > this.maxWindows) this.windows.delete(this.windows.keys().next().value!);
    const bytes = await window;
    const start = location.offset - index * this.windowBytes;
    if (start + location.length <= bytes.length) return Buffer.from(bytes.subarray(start, start + location.length));
    // Shorter than the blob needs: a truncated pack, or a transfer cut short (seen with FTPS under load).
    // Forget the window and ask for exactly this blob once more before calling the pack damaged.
    if (this.windows.get(key) === window) this.windows.delete(key);
    const exact = await this.readRange(location.pack, location.offset, location.length);
    if (exact.length !== location.length) throw new IntegrityError('pack_truncated', `pack ${location.pack} is truncated`, { details: { pack: location.pack, blob: id } });
    return exact;
  }

  private readWindow(pack: string, offset: number): Promise<Buffer> {
    return this.readRange(pack, offset, this.windowBytes);
  }

  private async readRange(pack: string, offset: number, length: number): Promise<Buffer> {
    try {
      return await this.storage.get(packKey(pack), { offset, length });
    } catch (error) {
      if (error instanceof NotFoundError) throw new IntegrityError('pack_missing', `pack ${pack} is missing`, { cause: error, details: { pack } });
      throw error;
    }
  }
}
