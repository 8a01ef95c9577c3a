import pg from 'pg';
import { SourceError } from '../domain/errors.js';
import { connectPg } from '../sources/postgres/pg-client.js';
import { describePgTarget, type PgTarget } from '../sources/postgres/pg-target.js';

/** One step of a BASE_BACKUP reply, in the order the server sends them. */
export type BaseBackupEvent =
  | { kind: 'start'; lsn: string; timeline: number }
  /** A new tar archive begins: `base.tar` (location '') or `<oid>.tar` with the tablespace's location. */
  | { kind: 'archive'; name: string; location: string }
  /** The backup manifest begins (after the last archive). */
  | { kind: 'manifest' }
  /** Bytes of the current archive or of the manifest. */
  | { kind: 'data'; chunk: Buffer }
  | { kind: 'end'; lsn: string; timeline: number };

/** Above this many bytes received and not yet consumed the socket is paused; below the low mark it resumes. */
const HIGH_WATER = 8 * 1024 * 1024;
const LOW_WATER = 2 * 1024 * 1024;

/** What the socket of pg's connection offers for flow control (pg does not type it). */
interface PausableConnection {
  stream: { pause(): void; resume(): void };
  query(text: string): void;
}

/**
 * The replication command `BASE_BACKUP` (PostgreSQL 15 syntax) as a pg Submittable that turns the reply
 * into a pull-based stream of events. The server sends the start position, the tablespace list, then
 * one COPY stream in which every CopyData message starts with a type byte: `n` new archive (name and
 * tablespace location, NUL-terminated), `d` data, `p` progress, `m` manifest follows; then the end
 * position. Backpressure: when the consumer falls behind, the connection's socket is paused, so the
 * server waits rather than this process buffering a whole tablespace.
 */
class BaseBackupCommand {
  private readonly queue: BaseBackupEvent[] = [];
  private queuedBytes = 0;
  private paused = false;
  private connection: PausableConnection | undefined;
  private resultSets = 0;
  private rows: (string | null)[][] = [];
  private finished = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  constructor(readonly text: string) {}

  submit(connection: PausableConnection): void {
    this.connection = connection;
    connection.query(this.text);
  }

  handleRowDescription(): void {
    this.rows = [];
  }

  handleDataRow(message: { fields: (string | null)[] }): void {
    this.rows.push(message.fields);
  }

  handleCommandComplete(): void {
    // Result sets: 0 = start position, 1 = tablespace list (the archives name them again), 2 = end position.
    const index = this.resultSets++;
    const row = this.rows[0];
    if ((index === 0 || index === 2) && row) this.push({ kind: index === 0 ? 'start' : 'end', lsn: String(row[0]), timeline: Number(row[1]) });
    this.rows = [];
  }

  handleCopyData(message: { chunk: Buffer }): void {
    const chunk = message.chunk;
    const type = String.fromCharCode(chunk[0]!);
    // A copy: pg's parser hands out views of its read buffer, which the next socket read reuses.
    if (type === 'd') this.push({ kind: 'data', chunk: Buffer.from(chunk.subarray(1)) });
    else if (type === 'n') {
      const nameEnd = chunk.indexOf(0, 1);
      const locationEnd = chunk.indexOf(0, nameEnd + 1);
      this.push({ kind: 'archive', name: chunk.toString('utf8', 1, nameEnd), location: chunk.toString('utf8', nameEnd + 1, locationEnd) });
    } else if (type === 'm') this.push({ kind: 'manifest' });
    // 'p' (progress) is not asked for; anything else from a newer server is ignored like it.
  }

  handleError(error: Error): void {
    this.failure ??= error;
    this.notify();
  }

  handleReadyForQuery(): void {
    this.finished = true;
    this.notify();
  }

  handleEmptyQuery(): void {}
  handlePortalSuspended(): void {}
  handleCopyInResponse(): void {
    this.handleError(new Error('unexpected COPY IN in a BASE_BACKUP reply'));
  }

  private push(event: BaseBackupEvent): void {
    this.queue.push(event);
    if (event.kind === 'data') this.queuedBytes += event.chunk.length;
    if (!this.paused && this.queuedBytes > HIGH_WATER && this.connection) {
      this.paused = true;
      this.connection.stream.pause();
    }
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  async *events(): AsyncGenerator<BaseBackupEvent> {
    try {
      yield* this.drain();
    } finally {
      // A consumer that stops early: let the socket flow again, so closing the connection completes.
      if (this.paused) this.connection?.stream.resume();
      this.paused = false;
    }
  }

  private async *drain(): AsyncGenerator<BaseBackupEvent> {
    for (;;) {
      const event = this.queue.shift();
      if (event) {
        if (event.kind === 'data') this.queuedBytes -= event.chunk.length;
        if (this.paused && this.queuedBytes < LOW_WATER) {
          this.paused = false;
          this.connection?.stream.resume();
        }
        yield event;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.finished) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}

/** Quotes a string literal for a replication command. */
function literal(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Runs `BASE_BACKUP` on a replication connection and yields its reply as events (see
 * {@link BaseBackupEvent}), with what `pg_basebackup -Ft -X fetch -c fast` asks for: the WAL the backup
 * needs inside base.tar, a fast checkpoint, no waiting for WAL archiving (the WAL is included), the
 * `tablespace_map` file in base.tar and the backup manifest. Every archive arrives whole, tar trailer
 * included (PostgreSQL 15 servers terminate their archives). Requires a PostgreSQL 15+ server and a user
 * with the REPLICATION attribute allowed by pg_hba's `replication` entries, as pg_basebackup does. The
 * connection is closed when the generator ends, however it ends.
 */
export async function* streamBaseBackup(target: PgTarget, env: NodeJS.ProcessEnv, label: string): AsyncGenerator<BaseBackupEvent> {
  const client = await connectPg(target, 'replication', env, { replication: true });
  try {
    const command = new BaseBackupCommand(`BASE_BACKUP (LABEL ${literal(label)}, CHECKPOINT 'fast', WAL true, WAIT false, TABLESPACE_MAP true, MANIFEST 'yes')`);
    void client.query(command as unknown as pg.Submittable);
    try {
      yield* command.events();
    } catch (error) {
      throw new SourceError('postgres.basebackup_failed', `BASE_BACKUP on ${describePgTarget(target)}: ${(error as Error).message}`, { cause: error });
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}
