import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Compression } from '../domain/backup-types.js';
import { BackupError, IntegrityError, SourceError } from '../domain/errors.js';
import type { WorkerReply, WorkerRequest } from './blob-protocol.js';
import type { BlobWorkerConfig } from './blob-worker.js';
import type { ChunkerParams } from './chunker.js';
import type { Keyring } from './keyring.js';
import { compiledSiblingUrl } from './worker-url.js';

/**
 * Where chunks go. The pool asks `reserve` for each chunk, in order; `true` means "new: seal it", and
 * the sealed blob then arrives at `store`. `reserve` may wait, which is how slow uploads push back on
 * reading.
 */
export interface ChunkSink {
  reserve(id: string, size: number): Promise<boolean>;
  store(id: Buffer, sealed: Buffer[], rawLength: number): void;
}

export interface PackCheck {
  blobs: number;
  problems: { code: string; message: string; blob?: string }[];
}

export interface ChunkedContent {
  /** Blob ids of the content, in order. */
  ids: string[];
  bytes: number;
}

interface Job {
  worker: WorkerHandle;
  sink: ChunkSink;
  ids: string[];
  /** Chunks whose seal or drop is not yet complete. */
  outstanding: number;
  doneBytes?: number;
  failed?: boolean;
  resolve: (content: ChunkedContent) => void;
  reject: (error: Error) => void;
}

interface WorkerHandle {
  worker: Worker;
  jobs: number;
  /** Chunks this worker is sealing, by its own sequence numbers. */
  sealing: Map<number, { job: number; id: Buffer }>;
}

export interface BlobPoolOptions {
  compression: Compression;
  chunker: ChunkerParams;
  workers?: number;
  zstdLevel?: number;
}

/** Stream bytes posted to a worker but not yet chunked, before the reader waits. */
const STREAM_WINDOW_BYTES = 4 * 1024 * 1024;
/** Stream bytes gathered before one message to the worker. */
const STREAM_BATCH_BYTES = 1024 * 1024;

/** A pool of blob worker threads shared by one backup or restore. */
export class BlobPool {
  /** Started on demand: a run that never has two jobs at once (one database stream) needs one thread. */
  private readonly workers: WorkerHandle[] = [];
  private readonly maxWorkers: number;
  private readonly workerConfig: BlobWorkerConfig;

  /** Number of worker threads the pool may use. */
  get size(): number {
    return this.maxWorkers;
  }
  private readonly jobs = new Map<number, Job>();
  private readonly opening = new Map<number, { resolve: (data: Buffer) => void; reject: (error: Error) => void; worker: WorkerHandle }>();
  private readonly checking = new Map<number, { resolve: (result: PackCheck) => void; worker: WorkerHandle }>();
  /** Stream batch buffers the workers handed back, ready for reuse. */
  private readonly freeBatches: Uint8Array<ArrayBuffer>[] = [];
  private readonly streamFlow = new Map<number, { unacknowledged: number; resume: (() => void) | undefined }>();
  private nextJob = 0;
  private nextRequest = 0;
  private closed = false;

  constructor(keyring: Keyring, options: BlobPoolOptions) {
    this.workerConfig = {
      dataKeys: keyring.allDataKeys(),
      writeKeyId: keyring.writeKey.id,
      idKey: keyring.idKey,
      chunkerSecret: keyring.chunkerSecret,
      chunker: options.chunker,
      compression: options.compression,
      zstdLevel: options.zstdLevel ?? 3,
    };
    this.maxWorkers = Math.max(1, options.workers ?? availableParallelism());
  }

  /** Chunks a file in a worker thread; `size` (from stat) sizes its buffers. */
  chunkFile(path: Buffer, size: number, sink: ChunkSink): Promise<ChunkedContent> {
    const { job, handle, promise } = this.startJob(sink);
    this.post(handle, { op: 'file', job, path: exclusive(path), size });
    return promise;
  }

  /**
   * Chunks everything readable from `fd` (the read end of a pipe) in a worker thread, which reads it
   * synchronously to end-of-file. The descriptor is shared by every thread of the process, so it is
   * handed over as a number; the caller closes it once the promise has settled.
   */
  chunkDescriptor(fd: number, sizeHint: number, sink: ChunkSink): Promise<ChunkedContent> {
    const { job, handle, promise } = this.startJob(sink);
    this.post(handle, { op: 'descriptor', job, fd, size: sizeHint });
    return promise;
  }

  /**
   * Chunks a stream (a database dump, a config bundle) in a worker thread. Reading the stream pauses
   * while more than a few MiB sit unprocessed in the worker, so a fast source cannot fill memory.
   */
  async chunkStream(stream: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, sink: ChunkSink): Promise<ChunkedContent> {
    const { job, handle, promise } = this.startJob(sink);
    const flow = { unacknowledged: 0, resume: undefined as (() => void) | undefined };
    this.streamFlow.set(job, flow);
    this.post(handle, { op: 'stream-start', job });
    // Pieces are copied into batches of STREAM_BATCH_BYTES: a post per 64 KiB pipe read cost more than
    // the copy, and the copy is needed anyway (a stream may reuse its buffer after yielding it).
    let batch = this.freeBatches.pop() ?? new Uint8Array(STREAM_BATCH_BYTES);
    let filled = 0;
    const send = async () => {
      const own = batch.subarray(0, filled);
      flow.unacknowledged += filled;
      this.post(handle, { op: 'stream-data', job, data: own }, [batch.buffer]);
      batch = this.freeBatches.pop() ?? new Uint8Array(STREAM_BATCH_BYTES);
      filled = 0;
      while (flow.unacknowledged > STREAM_WINDOW_BYTES && this.jobs.has(job)) await new Promise<void>((resume) => (flow.resume = resume));
    };
    try {
      for await (const data of stream) {
        if (!this.jobs.has(job)) break; // failed: the error surfaces through the promise
        let at = 0;
        while (at < data.byteLength) {
          const take = Math.min(data.byteLength - at, STREAM_BATCH_BYTES - filled);
          batch.set(data.subarray(at, at + take), filled);
          filled += take;
          at += take;
          if (filled === STREAM_BATCH_BYTES) await send();
        }
      }
      if (filled > 0 && this.jobs.has(job)) await send();
    } catch (error) {
      this.post(handle, { op: 'stream-end', job });
      this.failJob(job, error as Error);
      await promise.catch(() => undefined);
      throw error;
    } finally {
      this.streamFlow.delete(job);
    }
    this.post(handle, { op: 'stream-end', job });
    return promise;
  }

  /**
   * Decrypts, decompresses and checks a blob against its id in a worker thread. The pool takes
   * `sealed` over: its memory may move to the worker, so the caller must not use it afterwards.
   */
  openBlob(id: Buffer, sealed: Buffer): Promise<Buffer> {
    const req = this.nextRequest++;
    const handle = this.leastBusy();
    handle.jobs++;
    return new Promise<Buffer>((resolve, reject) => {
      this.opening.set(req, { resolve, reject, worker: handle });
      const own = exclusive(sealed);
      this.post(handle, { op: 'open', req, id: exclusive(id), sealed: own }, [own.buffer]);
    });
  }

  /** Authenticates every blob of a whole pack in a worker thread. Takes `pack` over, as `openBlob` does. */
  checkPack(packId: string, pack: Buffer): Promise<PackCheck> {
    const req = this.nextRequest++;
    const handle = this.leastBusy();
    handle.jobs++;
    return new Promise<PackCheck>((resolve) => {
      this.checking.set(req, { resolve, worker: handle });
      const own = exclusive(pack);
      this.post(handle, { op: 'check-pack', req, packId, pack: own }, [own.buffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.workers.map((handle) => handle.worker.terminate()));
  }

  private startJob(sink: ChunkSink): { job: number; handle: WorkerHandle; promise: Promise<ChunkedContent> } {
    if (this.closed) throw new BackupError('internal', 'blob pool is closed');
    const job = this.nextJob++;
    const handle = this.leastBusy();
    handle.jobs++;
    const promise = new Promise<ChunkedContent>((resolve, reject) => {
      this.jobs.set(job, { worker: handle, sink, ids: [], outstanding: 0, resolve, reject });
    });
    return { job, handle, promise };
  }

  private leastBusy(): WorkerHandle {
    const best = this.workers.reduce<WorkerHandle | undefined>((chosen, handle) => (!chosen || handle.jobs < chosen.jobs ? handle : chosen), undefined);
    if (best && (best.jobs === 0 || this.workers.length >= this.maxWorkers)) return best;
    return this.startWorker();
  }

  private startWorker(): WorkerHandle {
    const handle: WorkerHandle = { worker: new Worker(compiledSiblingUrl(import.meta.url, 'blob-worker.js'), { workerData: this.workerConfig }), jobs: 0, sealing: new Map() };
    handle.worker.on('message', (message: WorkerReply) => this.onReply(handle, message));
    handle.worker.on('error', (error) => this.failWorker(handle, error));
    this.workers.push(handle);
    return handle;
  }

  private post(handle: WorkerHandle, message: WorkerRequest, transfer?: ArrayBuffer[]): void {
    handle.worker.postMessage(message, transfer);
  }

  private onReply(handle: WorkerHandle, message: WorkerReply): void {
    switch (message.op) {
      case 'chunk':
        return this.onChunk(handle, message.job, message.seq, Buffer.from(message.id), message.size);
      case 'sealed': {
        const entry = handle.sealing.get(message.seq)!;
        handle.sealing.delete(message.seq);
        const job = this.jobs.get(entry.job);
        if (!job || job.failed) return;
        try {
          job.sink.store(entry.id, message.parts.map((part) => Buffer.from(part.buffer, part.byteOffset, part.byteLength)), message.rawLength);
        } catch (error) {
          return this.failJob(entry.job, error as Error);
        }
        job.outstanding--;
        return this.maybeFinish(entry.job);
      }
      case 'stream-ack': {
        const flow = this.streamFlow.get(message.job);
        if (!flow) return;
        flow.unacknowledged -= message.bytes;
        // Batch buffers travel back and forth instead of being allocated per batch: with allocations on
        // one thread and frees on another, the C heap kept growing (tens of MiB of RSS on a large dump).
        if (message.data.buffer.byteLength === STREAM_BATCH_BYTES && this.freeBatches.length < STREAM_WINDOW_BYTES / STREAM_BATCH_BYTES + 1) {
          this.freeBatches.push(new Uint8Array(message.data.buffer as ArrayBuffer));
        }
        const resume = flow.resume;
        flow.resume = undefined;
        resume?.();
        return;
      }
      case 'done': {
        const job = this.jobs.get(message.job);
        if (!job) return;
        job.doneBytes = message.bytes;
        return this.maybeFinish(message.job);
      }
      case 'failed':
        return this.failJob(message.job, new SourceError('read_failed', `cannot read file: ${message.code}`, { details: { errno: message.code } }));
      case 'checked': {
        const request = this.checking.get(message.req)!;
        this.checking.delete(message.req);
        request.worker.jobs--;
        request.resolve({ blobs: message.blobs, problems: message.problems });
        return;
      }
      case 'opened':
      case 'open-failed': {
        const request = this.opening.get(message.req)!;
        this.opening.delete(message.req);
        request.worker.jobs--;
        if (message.op === 'opened') request.resolve(Buffer.from(message.data.buffer, message.data.byteOffset, message.data.byteLength));
        else request.reject(new IntegrityError(message.code.replace(/^integrity\./, ''), message.message));
        return;
      }
    }
  }

  private onChunk(handle: WorkerHandle, jobId: number, seq: number, id: Buffer, size: number): void {
    const job = this.jobs.get(jobId);
    if (!job || job.failed) {
      this.post(handle, { op: 'drop', seq });
      return;
    }
    const hex = id.toString('hex');
    job.ids.push(hex);
    job.outstanding++;
    job.sink.reserve(hex, size).then(
      (isNew) => {
        if (isNew && !job.failed) {
          handle.sealing.set(seq, { job: jobId, id });
          this.post(handle, { op: 'seal', seq, id: exclusive(id) });
        } else {
          this.post(handle, { op: 'drop', seq });
          job.outstanding--;
          this.maybeFinish(jobId);
        }
      },
      (error: Error) => {
        this.post(handle, { op: 'drop', seq });
        this.failJob(jobId, error);
      },
    );
  }

  private maybeFinish(jobId: number): void {
    const job = this.jobs.get(jobId);
    if (!job || job.doneBytes === undefined || job.outstanding > 0) return;
    this.jobs.delete(jobId);
    job.worker.jobs--;
    job.resolve({ ids: job.ids, bytes: job.doneBytes });
  }

  private failJob(jobId: number, error: Error): void {
    const job = this.jobs.get(jobId);
    if (!job || job.failed) return;
    job.failed = true;
    this.jobs.delete(jobId);
    const flow = this.streamFlow.get(jobId);
    flow?.resume?.();
    job.worker.jobs--;
    job.reject(error);
  }

  private failWorker(handle: WorkerHandle, error: Error): void {
    const failure = new BackupError('internal.worker_failed', `blob worker failed: ${error.message}`, { cause: error });
    for (const [id, job] of this.jobs) if (job.worker === handle) this.failJob(id, failure);
    for (const [req, request] of this.opening) {
      if (request.worker !== handle) continue;
      this.opening.delete(req);
      request.reject(failure);
    }
    for (const [req, request] of this.checking) {
      if (request.worker !== handle) continue;
      this.checking.delete(req);
      request.resolve({ blobs: 0, problems: [{ code: failure.code, message: failure.message }] });
    }
  }
}

/**
 * The bytes in a Uint8Array that owns its whole ArrayBuffer. Posting a view clones its entire backing
 * buffer — for a blob inside a 16 MiB pack, or a name in Node's 8 KiB pool, far more than the view —
 * and only an owned buffer can be transferred without copying.
 */
function exclusive(data: Uint8Array): Uint8Array<ArrayBuffer> {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data as Uint8Array<ArrayBuffer>;
  const copy = new Uint8Array(data.byteLength);
  copy.set(data);
  return copy;
}
