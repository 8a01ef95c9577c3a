/**
 * How database sources meet the repository. A source (pg_dump, a Redis RDB) produces named byte
 * streams; each becomes one file of the snapshot's tree, so verify, prune, replication and plain file
 * restores treat database snapshots like any other. Restores read the same files back as streams.
 */

/** Where a source writes its output while a backup runs. */
export interface StreamSink {
  /**
   * Stores `stream` as the file `name` of the snapshot (a plain name, no `/`), chunked, deduplicated,
   * compressed and encrypted on the way. Resolves with the byte count once every chunk is handed to the
   * repository writer; rejects (and the snapshot is not written) when the stream throws. Reading is
   * paced by the repository: a fast producer waits rather than filling memory.
   */
  add(name: string, stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<number>;
}

/** A sink that can also take a child process's output from a named pipe (the fast path for dumps). */
export interface PipeSink extends StreamSink {
  /**
   * Stores, as the file `name`, what a child process writes into a named pipe: `produce(path)` starts
   * the writer with `path` as its output file and settles when the writer has exited — resolving only
   * when it succeeded. The bytes go from the pipe straight to a worker thread (no copies through the
   * main thread), which is the fast path for large dumps. Rejects with `produce`'s error, and then the
   * snapshot is not written.
   */
  addFromPipe(name: string, produce: (path: string) => Promise<void>): Promise<number>;
}

/** The files of one snapshot, for a source's restore. */
export interface StreamFiles {
  /** File names at the snapshot's root, sorted. */
  names(): string[];
  /** Size in bytes of a file, or undefined when the snapshot has no such file. */
  size(name: string): number | undefined;
  /**
   * The file's content, authenticated blob by blob as it is read: a damaged blob throws an
   * IntegrityError before any of its bytes are yielded. Throws NotFoundError for an unknown name.
   */
  open(name: string): AsyncIterable<Buffer>;
}

/** Reads a whole (small) file, such as a manifest, into memory. */
export async function readWhole(files: StreamFiles, name: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of files.open(name)) parts.push(part);
  return Buffer.concat(parts);
}
