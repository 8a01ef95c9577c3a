import { closeSync, openSync, readSync } from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import type { Compression } from '../domain/backup-types.js';
import { BackupError } from '../domain/errors.js';
import { BlobCodec } from './codec.js';
import { readPackHeader } from './pack.js';
import { Chunker, gearTable, type ChunkerParams } from './chunker.js';
import { blobId, open, sealParts, type DataKey } from './crypto.js';
import { BufferPool } from '../util/buffer-pool.js';
import { collectEvery, fullCollector } from '../util/gc.js';
import type { WorkerReply, WorkerRequest } from './blob-protocol.js';

/**
 * A worker thread of the blob pipeline: reads and chunks files, hashes chunks, and — once the main
 * thread has decided a chunk is new — compresses and seals it; for restores it opens and checks blobs.
 * The CPU-heavy work runs here so that several cores share it; dedup decisions stay on the main thread,
 * which owns the index.
 */
export interface BlobWorkerConfig {
  dataKeys: DataKey[];
  writeKeyId: number;
  idKey: Uint8Array;
  chunkerSecret: Uint8Array;
  chunker: ChunkerParams;
  compression: Compression;
  zstdLevel: number;
}

const READ_SIZE = 1024 * 1024;
/** Bytes of chunks waiting for the main thread's seal/drop decision before this worker stops reading. */
const MAX_PENDING_BYTES = 4 * 1024 * 1024;

const config = workerData as BlobWorkerConfig;
const port = parentPort!;
const dataKeys = new Map(config.dataKeys.map((k) => [k.id, { id: k.id, key: Buffer.from(k.key) }]));
const writeKey = dataKeys.get(config.writeKeyId)!;
const idKey = Buffer.from(config.idKey);
const gear = gearTable(Buffer.from(config.chunkerSecret));
const codec = new BlobCodec(config.zstdLevel);
const chunkBuffers = new BufferPool(8 * 1024 * 1024);
// Compressed and encrypted outputs die young but in bulk; collecting on a byte budget keeps memory flat.
const allocated = collectEvery(16 * 1024 * 1024, fullCollector());
const allocateChunk = (size: number) => chunkBuffers.take(size);

const pending = new Map<number, Buffer>();
let pendingBytes = 0;
let nextSeq = 0;
/** Every read loop waiting for room: several files are chunked at once in one worker, so one slot is not enough. */
let drained: (() => void)[] = [];
const streams = new Map<number, { chunker: Chunker; bytes: number }>();

function reply(message: WorkerReply, transfer?: ArrayBuffer[]): void {
  port.postMessage(message, transfer);
}

function emitChunk(job: number, chunk: Buffer): void {
  const seq = nextSeq++;
  pending.set(seq, chunk);
  pendingBytes += chunk.length;
  reply({ op: 'chunk', job, seq, id: blobId(idKey, chunk), size: chunk.length });
}

async function waitForRoom(): Promise<void> {
  while (pendingBytes >= MAX_PENDING_BYTES) await new Promise<void>((resolve) => drained.push(resolve));
}

async function chunkFile(job: number, source: Uint8Array | number, sizeHint: number): Promise<void> {
  const chunker = new Chunker(gear, config.chunker, sizeHint, allocateChunk);
  let bytes = 0;
  // Synchronous reads: this thread exists to do this work, and a libuv round trip per read (shared
  // by all threads of the process) costs more than the read itself from the page cache.
  let fd: number | undefined;
  try {
    fd = typeof source === 'number' ? source : openSync(Buffer.from(source), 'r');
    // One byte more than expected, so a file read whole ends with a zero-length read, not a second buffer.
    const buffer = Buffer.allocUnsafe(Math.min(READ_SIZE, sizeHint + 1));
    while (true) {
      await waitForRoom();
      const bytesRead = readSync(fd, buffer, 0, buffer.length, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      chunker.push(buffer.subarray(0, bytesRead), (chunk) => emitChunk(job, chunk));
    }
    chunker.finish((chunk) => emitChunk(job, chunk));
    reply({ op: 'done', job, bytes });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
    reply({ op: 'failed', job, code, message: (error as Error).message });
  } finally {
    // A descriptor handed over by the pool is the pool's to close (it was opened on its thread).
    if (fd !== undefined && typeof source !== 'number') closeSync(fd);
  }
}

function handle(message: WorkerRequest): void {
  switch (message.op) {
    case 'file':
      void chunkFile(message.job, message.path, message.size);
      return;
    case 'descriptor':
      void chunkFile(message.job, message.fd, message.size);
      return;
    case 'stream-start':
      streams.set(message.job, { chunker: new Chunker(gear, config.chunker, undefined, allocateChunk), bytes: 0 });
      return;
    case 'stream-data': {
      const stream = streams.get(message.job)!;
      stream.bytes += message.data.byteLength;
      stream.chunker.push(message.data, (chunk) => emitChunk(message.job, chunk));
      // Acknowledge once the chunks wait for no more than the usual room: that is the stream's pace.
      // The chunker copied the bytes, so the buffer goes back to the pool for its next batch.
      void waitForRoom().then(() => reply({ op: 'stream-ack', job: message.job, bytes: message.data.byteLength, data: message.data }, [message.data.buffer as ArrayBuffer]));
      return;
    }
    case 'stream-end': {
      const stream = streams.get(message.job)!;
      streams.delete(message.job);
      stream.chunker.finish((chunk) => emitChunk(message.job, chunk));
      reply({ op: 'done', job: message.job, bytes: stream.bytes });
      return;
    }
    case 'seal': {
      const chunk = take(message.seq);
      const parts = sealParts(writeKey, codec.encodeParts(chunk, config.compression), message.id);
      chunkBuffers.release(chunk);
      allocated(chunk.length);
      reply({ op: 'sealed', seq: message.seq, parts, rawLength: chunk.length }, parts.filter(ownsItsMemory).map((part) => part.buffer as ArrayBuffer));
      return;
    }
    case 'drop':
      chunkBuffers.release(take(message.seq));
      return;
    case 'open':
      openBlob(message.req, message.id, message.sealed);
      return;
    case 'check-pack':
      checkPack(message.req, message.packId, Buffer.from(message.pack.buffer, message.pack.byteOffset, message.pack.byteLength));
      return;
  }
}

function take(seq: number): Buffer {
  const chunk = pending.get(seq)!;
  pending.delete(seq);
  pendingBytes -= chunk.length;
  if (drained.length > 0 && pendingBytes < MAX_PENDING_BYTES) {
    const waiting = drained;
    drained = [];
    for (const wake of waiting) wake();
  }
  return chunk;
}

/** Authenticates a whole pack: its header and every blob, each checked against its id. */
function checkPack(req: number, packId: string, pack: Buffer): void {
  const problems: { code: string; message: string; blob?: string }[] = [];
  let blobs = 0;
  let entries;
  try {
    entries = readPackHeader((keyId) => dataKeys.get(keyId), packId, pack);
  } catch (error) {
    reply({ op: 'checked', req, blobs, problems: [{ code: errorCode(error), message: (error as Error).message }] });
    return;
  }
  for (const entry of entries) {
    const hex = entry.id.toString('hex');
    const what = `blob ${hex.slice(0, 16)} in pack ${packId.slice(0, 16)}`;
    try {
      const plain = codec.decode(open((keyId) => dataKeys.get(keyId), pack.subarray(entry.offset, entry.offset + entry.length), entry.id, what), what);
      allocated(plain.length);
      if (!blobId(idKey, plain).equals(entry.id)) problems.push({ code: 'integrity.blob_id_mismatch', message: `${what}: content does not match its id`, blob: hex });
      else blobs++;
    } catch (error) {
      problems.push({ code: errorCode(error), message: (error as Error).message, blob: hex });
    }
  }
  reply({ op: 'checked', req, blobs, problems });
}

function errorCode(error: unknown): string {
  return error instanceof BackupError ? error.code : 'integrity.unreadable';
}

function openBlob(req: number, id: Uint8Array, sealed: Uint8Array): void {
  try {
    const idBuffer = Buffer.from(id);
    const what = `blob ${idBuffer.toString('hex').slice(0, 16)}`;
    const plain = codec.decode(open((keyId) => dataKeys.get(keyId), sealed, idBuffer, what), what);
    if (!blobId(idKey, plain).equals(idBuffer)) {
      reply({ op: 'open-failed', req, code: 'integrity.blob_id_mismatch', message: `${what} content does not match its id` });
      return;
    }
    // Copy into an exclusively owned buffer so it can be transferred rather than cloned.
    const out = Buffer.allocUnsafeSlow(plain.length);
    plain.copy(out);
    allocated(plain.length * 2);
    reply({ op: 'opened', req, data: out }, [out.buffer as ArrayBuffer]);
  } catch (error) {
    const code = error instanceof BackupError ? error.code : 'integrity.unreadable';
    reply({ op: 'open-failed', req, code, message: (error as Error).message });
  }
}

/** Large buffers that own their memory move to the main thread without a copy. */
function ownsItsMemory(part: Buffer): boolean {
  return part.length >= 64 * 1024 && part.byteOffset === 0 && part.byteLength === part.buffer.byteLength;
}

port.on('message', handle);
