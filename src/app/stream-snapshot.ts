import { execFile } from 'node:child_process';
import { closeSync, constants, openSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { IntegrityError, NotFoundError } from '../domain/errors.js';
import type { Progress } from '../ports/progress.js';
import type { BlobPool, ChunkedContent, ChunkSink } from '../repository/blob-pool.js';
import type { BlobWriter } from '../repository/blob-writer.js';
import type { Repository } from '../repository/repository.js';
import { assertSafeName, encodeTree, type TreeNode } from '../repository/tree.js';
import type { PipeSink, StreamFiles } from '../sources/stream-files.js';
import { virtualFileNode } from '../sources/virtual-file.js';

const run = promisify(execFile);
/** Sizes the worker's buffers for a pipe of unknown length: full-size reads and chunks. */
const PIPE_SIZE_HINT = 1024 * 1024 * 1024;

/** Blobs fetched ahead of the one being consumed when a snapshot file is streamed out. */
const READ_AHEAD_BLOBS = 8;

/**
 * Collects the streams of a database source as file nodes and stores them as the snapshot's root tree.
 * Streams added concurrently are chunked concurrently (each in its own worker job).
 */
export class TreeStreamSink implements PipeSink {
  private readonly nodes: TreeNode[] = [];

  constructor(
    private readonly pool: BlobPool,
    private readonly writer: BlobWriter,
    private readonly progress: Progress,
  ) {}

  async add(name: string, stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number> {
    this.checkName(name);
    const progress = this.progress;
    async function* counted(): AsyncGenerator<Uint8Array> {
      for await (const part of stream) {
        progress.advance({ bytes: part.byteLength });
        yield part;
      }
    }
    return this.record(name, await this.pool.chunkStream(counted(), this.writer));
  }

  async addFromPipe(name: string, produce: (path: string) => Promise<void>): Promise<number> {
    this.checkName(name);
    const directory = await mkdtemp(join(tmpdir(), 'chrono-pipe-'));
    const path = join(directory, 'stream');
    try {
      await run('mkfifo', ['-m', '600', path]);
      // Our own write end keeps the pipe open: opening the read end does not block, and the reader sees
      // end-of-file exactly when we close it, after the producer has exited — even if the producer never
      // opened the pipe. The read end is opened here, not in the worker, so a producer that is done
      // before the worker has even started cannot leave the worker waiting for a writer forever.
      let keeper: number | undefined = openSync(path, constants.O_RDWR | constants.O_NONBLOCK);
      const releaseKeeper = () => {
        if (keeper !== undefined) closeSync(keeper);
        keeper = undefined;
      };
      let content: ChunkedContent;
      let failed: unknown;
      try {
        const reader = openSync(path, constants.O_RDONLY);
        const progress = this.progress;
        const writer = this.writer;
        const counting: ChunkSink = {
          reserve: (id, size) => {
            progress.advance({ bytes: size });
            return writer.reserve(id);
          },
          store: (id, sealed, rawLength) => writer.store(id, sealed, rawLength),
        };
        const chunking = this.pool.chunkDescriptor(reader, PIPE_SIZE_HINT, counting).finally(() => closeSync(reader));
        failed = await produce(path).then(
          () => undefined,
          (error: unknown) => error,
        );
        releaseKeeper();
        // Read to the end either way, so nothing of this pipe is still arriving when the caller goes on.
        content = await chunking;
      } finally {
        releaseKeeper();
      }
      if (failed !== undefined) throw failed;
      return this.record(name, content);
    } finally {
      await rm(directory, { recursive: true, force: true });
    }
  }

  private record(name: string, content: ChunkedContent): number {
    this.nodes.push(virtualFileNode(name, content));
    return content.bytes;
  }

  private checkName(name: string): void {
    assertSafeName(Buffer.from(name), 'a source stream');
    if (this.nodes.some((node) => node.name === name)) throw new IntegrityError('duplicate_stream', `a source wrote "${name}" twice`);
  }

  /** Stores the collected files as one tree blob; the sink's totals are what the snapshot reports. */
  storeTree(): { tree: string; items: number; totalBytes: number } {
    const nodes = [...this.nodes].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return { tree: this.writer.addInline('tree', encodeTree({ nodes })), items: nodes.length, totalBytes: nodes.reduce((sum, node) => sum + node.size, 0) };
  }
}

/**
 * The root files of a snapshot as streams, for a source's restore. With a pool, blobs are opened
 * (decrypted, decompressed, checked) in worker threads while the next ones are fetched.
 */
export async function snapshotFiles(repository: Repository, tree: string, pool?: BlobPool): Promise<StreamFiles> {
  const nodes = new Map((await repository.loadTree(tree)).nodes.filter((node) => node.type === 'file').map((node) => [node.name, node]));
  const open = async (id: string): Promise<Buffer> => {
    const sealed = await repository.readSealed(id);
    return pool ? pool.openBlob(Buffer.from(id, 'hex'), sealed) : repository.openBlob(id, sealed);
  };
  return {
    names: () => [...nodes.keys()].sort(),
    size: (name) => nodes.get(name)?.size,
    open: (name) => {
      const node = nodes.get(name);
      if (!node) throw new NotFoundError('file in snapshot', name);
      return readAhead(node.content ?? [], open);
    },
  };
}

async function* readAhead(ids: readonly string[], open: (id: string) => Promise<Buffer>): AsyncGenerator<Buffer> {
  const pending: Promise<Buffer>[] = [];
  let next = 0;
  const fill = () => {
    while (pending.length < READ_AHEAD_BLOBS && next < ids.length) {
      const reading = open(ids[next++]!);
      // Rejections are observed when the blob's turn comes; until then they must not be "unhandled".
      reading.catch(() => undefined);
      pending.push(reading);
    }
  };
  fill();
  while (pending.length > 0) {
    const data = await pending.shift()!;
    fill();
    yield data;
  }
}
