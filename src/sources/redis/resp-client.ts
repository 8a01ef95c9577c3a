import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions } from 'node:tls';

/**
 * A minimal, binary-safe RESP2 client: just what the Redis source needs (AUTH, SELECT, pipelined
 * commands, and handing the socket over after SYNC). No npm dependency: the protocol is small, and the
 * replication stream is something general-purpose clients do not expose.
 */

/** One reply. Bulk strings stay Buffers (keys and values are bytes); simple strings are text. */
export type RespReply = Buffer | string | number | null | RespError | RespReply[];

/** An argument of a command; numbers are sent as their decimal text. */
export type RespArg = string | Buffer | number;

/** The server answered a command with an error reply (`-ERR …`, `-NOPERM …`). */
export class RespError extends Error {
  override readonly name = 'RespError';
  /** The first word of the reply: `ERR`, `NOPERM`, `WRONGPASS`, `BUSYKEY`, … */
  readonly prefix: string;
  constructor(message: string) {
    super(message);
    this.prefix = /^[A-Z]+/.exec(message)?.[0] ?? 'ERR';
  }
}

/** The connection failed, closed or timed out; `code` is the socket's errno or `TIMEOUT`/`CLOSED`. */
export class RespConnectionError extends Error {
  override readonly name = 'RespConnectionError';
  constructor(
    message: string,
    readonly code: string,
    readonly tls = false,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RespConnectOptions {
  /** TCP host and port, or `path` for a unix socket (scratch servers). */
  host?: string;
  port?: number;
  path?: string;
  /** TLS settings; absent for plain TCP. */
  tls?: TlsConnectionOptions;
  /** Limit for connecting (10 s by default). */
  timeoutMs?: number;
  /**
   * Limit for the server to send anything while replies are awaited (60 s by default): generous, as one
   * DUMP of a huge key may keep the server busy for seconds.
   */
  replyTimeoutMs?: number;
}

/** Thrown by the parser on bytes that are not RESP2: the connection is unusable afterwards. */
class RespProtocolError extends Error {}

const CRLF = Buffer.from('\r\n');

/**
 * An incremental RESP2 parser that resumes where it stopped: an array whose elements arrive over many
 * reads is not parsed again from its start, and a large bulk string is assembled once when all of it
 * has arrived (not re-copied on every read), so a reply of any size parses in linear time.
 */
export class RespParser {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private buffer = Buffer.alloc(0);
  private offset = 0;
  /** Bytes (from `offset`) needed before parsing can make progress. */
  private need = 1;
  private readonly stack: { items: RespReply[]; remaining: number }[] = [];

  /** Feeds bytes; returns the top-level replies completed by them, in order. */
  push(chunk: Buffer): RespReply[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.buffer.length - this.offset + this.pendingBytes < this.need) return [];
    this.buffer = Buffer.concat([this.buffer.subarray(this.offset), ...this.pending]);
    this.offset = 0;
    this.pending = [];
    this.pendingBytes = 0;
    const replies: RespReply[] = [];
    while (true) {
      const step = this.parseOne();
      if (step.kind === 'need') {
        this.need = step.bytes;
        return replies;
      }
      if (step.kind === 'frame') continue;
      let value: RespReply = step.value;
      while (true) {
        const top = this.stack.at(-1);
        if (top === undefined) {
          replies.push(value);
          break;
        }
        top.items.push(value);
        if (--top.remaining > 0) break;
        this.stack.pop();
        value = top.items;
      }
    }
  }

  /** True when no reply is partly parsed (the socket may then change hands). */
  get idle(): boolean {
    return this.stack.length === 0 && this.buffer.length - this.offset + this.pendingBytes === 0;
  }

  /** Everything received and not parsed, for whoever takes the socket over. */
  drain(): Buffer {
    const rest = Buffer.concat([this.buffer.subarray(this.offset), ...this.pending]);
    this.buffer = Buffer.alloc(0);
    this.offset = 0;
    this.pending = [];
    this.pendingBytes = 0;
    this.need = 1;
    return rest;
  }

  private parseOne(): { kind: 'need'; bytes: number } | { kind: 'frame' } | { kind: 'value'; value: RespReply } {
    const available = this.buffer.length - this.offset;
    if (available === 0) return { kind: 'need', bytes: 1 };
    const lineEnd = this.buffer.indexOf(CRLF, this.offset + 1);
    if (lineEnd < 0) return { kind: 'need', bytes: available + 1 };
    const type = this.buffer[this.offset]!;
    const line = this.buffer.toString('latin1', this.offset + 1, lineEnd);
    const headerBytes = lineEnd + 2 - this.offset;
    switch (type) {
      case 0x2b: // '+'
        this.offset += headerBytes;
        return { kind: 'value', value: line };
      case 0x2d: // '-'
        this.offset += headerBytes;
        return { kind: 'value', value: new RespError(this.buffer.toString('utf8', this.offset - headerBytes + 1, lineEnd)) };
      case 0x3a: // ':'
        this.offset += headerBytes;
        return { kind: 'value', value: integer(line) };
      case 0x24: {
        // '$'
        const length = integer(line);
        if (length < 0) {
          this.offset += headerBytes;
          return { kind: 'value', value: null };
        }
        if (available < headerBytes + length + 2) return { kind: 'need', bytes: headerBytes + length + 2 };
        const start = this.offset + headerBytes;
        // A copy, so a small value does not pin the whole read buffer in memory.
        const value = Buffer.from(this.buffer.subarray(start, start + length));
        this.offset = start + length + 2;
        return { kind: 'value', value };
      }
      case 0x2a: {
        // '*'
        const count = integer(line);
        this.offset += headerBytes;
        if (count < 0) return { kind: 'value', value: null };
        if (count === 0) return { kind: 'value', value: [] };
        this.stack.push({ items: [], remaining: count });
        return { kind: 'frame' };
      }
      default:
        throw new RespProtocolError(`unexpected RESP type byte 0x${type.toString(16)}`);
    }
  }
}

function integer(text: string): number {
  if (!/^-?\d+$/.test(text)) throw new RespProtocolError(`bad RESP integer ${JSON.stringify(text.slice(0, 30))}`);
  return Number(text);
}

/**
 * Encodes commands as RESP arrays of bulk strings into one buffer: sizes first, then a single
 * allocation (a pipeline of thousands of small commands would otherwise make many small buffers).
 */
export function encodeCommands(commands: readonly (readonly RespArg[])[]): Buffer {
  let size = 0;
  for (const args of commands) {
    size += 3 + String(args.length).length;
    for (const arg of args) {
      const length = Buffer.isBuffer(arg) ? arg.length : Buffer.byteLength(String(arg));
      size += 5 + String(length).length + length;
    }
  }
  const out = Buffer.allocUnsafe(size);
  let at = 0;
  for (const args of commands) {
    at += out.write(`*${args.length}\r\n`, at, 'latin1');
    for (const arg of args) {
      if (Buffer.isBuffer(arg)) {
        at += out.write(`$${arg.length}\r\n`, at, 'latin1');
        at += arg.copy(out, at);
      } else {
        const text = String(arg);
        at += out.write(`$${Buffer.byteLength(text)}\r\n`, at, 'latin1');
        at += out.write(text, at, 'utf8');
      }
      at += out.write('\r\n', at, 'latin1');
    }
  }
  return out;
}

export class RespClient {
  private readonly parser = new RespParser();
  private readonly waiting: { resolve: (reply: RespReply) => void; reject: (error: Error) => void }[] = [];
  private failure: RespConnectionError | undefined;
  private takenOver = false;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);

  private constructor(
    private readonly socket: Socket,
    private readonly timeoutMs: number,
  ) {
    socket.on('data', this.onData);
    socket.on('error', (error: NodeJS.ErrnoException) => this.fail(new RespConnectionError(`connection failed: ${error.code ?? error.message}`, error.code ?? 'ERROR', false, { cause: error })));
    socket.on('close', () => this.fail(new RespConnectionError('connection closed by the server', 'CLOSED')));
    socket.setTimeout(timeoutMs, () => {
      // Idle with nothing awaited is fine (a pooled connection); idle while a reply is due is not.
      if (this.waiting.length > 0) this.fail(new RespConnectionError(`no reply within ${timeoutMs} ms`, 'TIMEOUT'));
    });
  }

  /** Opens a connection (TCP, TLS or unix socket). Rejects with a RespConnectionError. */
  static connect(options: RespConnectOptions): Promise<RespClient> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    return new Promise((resolve, reject) => {
      const isTls = options.tls !== undefined;
      const socket: Socket =
        options.path !== undefined
          ? netConnect({ path: options.path })
          : isTls
            ? tlsConnect({ ...options.tls, host: options.host, port: options.port })
            : netConnect({ host: options.host ?? '127.0.0.1', port: options.port ?? 6379 });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new RespConnectionError(`connection timed out after ${timeoutMs} ms`, 'TIMEOUT', isTls));
      }, timeoutMs);
      const onError = (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        socket.destroy();
        // Errors raised by the TLS layer (certificate checks, handshake) carry ERR_TLS_* or SSL codes.
        const tlsFailure = isTls && (error.code === undefined || /TLS|SSL|CERT|SELF_SIGNED|UNABLE_TO|HOSTNAME|ALTNAME|EPROTO/i.test(error.code));
        reject(new RespConnectionError(`cannot connect: ${error.code ?? error.message}`, error.code ?? 'ERROR', tlsFailure, { cause: error }));
      };
      socket.once('error', onError);
      socket.once(isTls ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.off('error', onError);
        socket.setNoDelay(true);
        resolve(new RespClient(socket, options.replyTimeoutMs ?? 60_000));
      });
    });
  }

  /** Sends one command; resolves with its reply, rejects with RespError on an error reply. */
  async call(...args: RespArg[]): Promise<RespReply> {
    const [reply] = await this.pipeline([args]);
    if (reply instanceof RespError) throw reply;
    return reply!;
  }

  /**
   * Sends commands in one write and resolves with their replies in order. Error replies are returned in
   * place (as RespError values), so one failing command does not hide the others' results.
   */
  pipeline(commands: readonly (readonly RespArg[])[]): Promise<RespReply[]> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.takenOver) return Promise.reject(new RespConnectionError('the socket was handed over', 'CLOSED'));
    const replies = commands.map(
      () =>
        new Promise<RespReply>((resolve, reject) => {
          this.waiting.push({ resolve, reject });
        }),
    );
    this.socket.write(encodeCommands(commands));
    return Promise.all(replies);
  }

  /**
   * Sends a command whose answer is not RESP (SYNC: newlines, a bulk header, then raw RDB bytes) and
   * hands the socket over: this client stops reading, and the caller gets the socket (paused) and any
   * bytes already received. Only allowed when no reply is outstanding.
   */
  sendAndTakeOver(args: readonly RespArg[]): { socket: Socket; pending: Buffer } {
    if (this.failure) throw this.failure;
    if (this.waiting.length > 0 || !this.parser.idle) throw new Error('cannot hand over a socket with replies outstanding');
    this.takenOver = true;
    this.socket.off('data', this.onData);
    this.socket.pause();
    this.socket.setTimeout(0);
    this.socket.write(encodeCommands([args]));
    return { socket: this.socket, pending: this.parser.drain() };
  }

  /** Sends QUIT politely when possible and closes the socket. Never throws. */
  async close(): Promise<void> {
    if (this.takenOver) return;
    if (!this.failure && !this.socket.destroyed) {
      this.socket.end();
      await new Promise<void>((done) => {
        const timer = setTimeout(() => {
          this.socket.destroy();
          done();
        }, 1000);
        this.socket.once('close', () => {
          clearTimeout(timer);
          done();
        });
      });
    }
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    let replies: RespReply[];
    try {
      replies = this.parser.push(chunk);
    } catch (error) {
      this.fail(new RespConnectionError(`protocol error: ${(error as Error).message}`, 'PROTOCOL'));
      return;
    }
    for (const reply of replies) {
      const waiter = this.waiting.shift();
      if (waiter === undefined) {
        this.fail(new RespConnectionError('the server sent a reply nobody asked for', 'PROTOCOL'));
        return;
      }
      waiter.resolve(reply);
    }
  }

  private fail(error: RespConnectionError): void {
    if (this.takenOver) return;
    this.failure ??= error;
    for (const waiter of this.waiting.splice(0)) waiter.reject(this.failure);
    this.socket.destroy();
  }
}
