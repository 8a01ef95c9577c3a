/** Messages between the main thread and blob worker threads (see blob-worker.ts). */
export type WorkerRequest =
  | { op: 'file'; job: number; path: Uint8Array; size: number }
  /** Like `file`, from a descriptor the pool's caller opened (a pipe) and closes; the worker reads it to its end. */
  | { op: 'descriptor'; job: number; fd: number; size: number }
  | { op: 'stream-start'; job: number }
  | { op: 'stream-data'; job: number; data: Uint8Array }
  | { op: 'stream-end'; job: number }
  | { op: 'seal'; seq: number; id: Uint8Array }
  | { op: 'drop'; seq: number }
  | { op: 'open'; req: number; id: Uint8Array; sealed: Uint8Array }
  | { op: 'check-pack'; req: number; packId: string; pack: Uint8Array };

export type WorkerReply =
  | { op: 'chunk'; job: number; seq: number; id: Uint8Array; size: number }
  | { op: 'done'; job: number; bytes: number }
  /** `data`: the stream-data buffer, handed back for reuse once its bytes are in the chunker. */
  | { op: 'stream-ack'; job: number; bytes: number; data: Uint8Array }
  | { op: 'failed'; job: number; code: string; message: string }
  | { op: 'sealed'; seq: number; parts: Uint8Array[]; rawLength: number }
  | { op: 'opened'; req: number; data: Uint8Array }
  | { op: 'open-failed'; req: number; code: string; message: string }
  | { op: 'checked'; req: number; blobs: number; problems: { code: string; message: string; blob?: string }[] };
