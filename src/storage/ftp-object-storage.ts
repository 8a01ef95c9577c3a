import { Client, FileType, FTPError, type FileInfo } from 'basic-ftp';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { BackupError, NotFoundError, StorageError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { assertRange, isObjectKey, isTransientNetworkError, storageFailure, temporaryName } from './remote-storage-support.js';

/** Whether and how the connection is encrypted. */
export type FtpSecurity =
  /** Plain FTP: credentials and data cross the network in clear text. */
  | { kind: 'none' }
  /**
   * Explicit FTPS (`AUTH TLS` on the normal port, then `PROT P`, so data connections are encrypted too).
   * The server certificate is checked against the system CAs, or `ca` when given.
   */
  | { kind: 'explicit-tls'; ca?: string | Buffer; servername?: string };

export interface FtpObjectStorageOptions {
  host: string;
  /** Default 21. */
  port?: number;
  username: string;
  password: string;
  security: FtpSecurity;
  /** The directory holding the objects: absolute, or relative to the login directory. Created on first write. */
  root: string;
  /** Control connections kept open at once (FTP runs one transfer per connection). Default 4. */
  maxConnections?: number;
  /** Idle time after which a control or data connection counts as dead. Default 30 000. */
  timeoutMs?: number;
}

/**
 * A ranged read stops reading at its end; when the rest of the file is short it is read and dropped,
 * when it is longer than this the connection is closed instead (FTP cannot stop a transfer and keep
 * the connection) and a new one is opened for the next request.
 */
const DISCARD_LIMIT = 256 * 1024;

/** Thrown into a download to stop it once the range is complete. */
class RangeComplete extends Error {}

interface Connection {
  client: Client;
}

/**
 * ObjectStorage on a directory of an FTP or FTPS server, through a small pool of control connections.
 *
 * - `put` uploads to a temporary name (`.~tmp-…`) in the target directory and renames it over the key
 *   (RNFR/RNTO). Servers that refuse to rename over an existing file get delete-then-rename: a reader
 *   may then briefly see no object, never a partial one. A failed upload deletes its temporary file.
 * - FTP's reply 550 means both "no such file" and "not allowed"; reads that get it look the name up in
 *   its directory listing to tell a missing object from one that cannot be read.
 * - Listing parses LIST output (modification times are as precise as the server prints them).
 */
export class FtpObjectStorage implements ObjectStorage {
  readonly location: string;
  private readonly root: string;
  private readonly options: FtpObjectStorageOptions;
  private readonly port: number;
  private readonly maxConnections: number;
  private readonly idle: Connection[] = [];
  private readonly waiting: ((connection: Connection | undefined) => void)[] = [];
  private open = 0;
  private readonly readyDirs = new Map<string, Promise<void>>();
  /**
   * The root as an absolute path, learnt from the login directory on first connect: basic-ftp changes
   * the working directory (ensureDir), so relative paths would drift.
   */
  private absoluteRoot: string | undefined;

  constructor(options: FtpObjectStorageOptions) {
    if (typeof options.host !== 'string' || !/^[A-Za-z0-9.:_-]+$/.test(options.host)) throw new ValidationError('FTP host must be a host name or IP address', 'host');
    if (typeof options.username !== 'string' || options.username.length === 0 || /[\r\n]/.test(options.username)) throw new ValidationError('FTP user name must be non-empty', 'username');
    if (typeof options.password !== 'string' || /[\r\n]/.test(options.password)) throw new ValidationError('FTP password must be a string without line breaks', 'password');
    if (options.security?.kind !== 'none' && options.security?.kind !== 'explicit-tls') throw new ValidationError("FTP security must be 'none' or 'explicit-tls'", 'security');
    this.port = options.port ?? 21;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) throw new ValidationError('FTP port must be between 1 and 65535', 'port');
    this.maxConnections = options.maxConnections ?? 4;
    if (!Number.isInteger(this.maxConnections) || this.maxConnections < 1) throw new ValidationError('maxConnections must be a positive integer', 'maxConnections');
    this.root = normalizeRemoteRoot(options.root);
    this.options = options;
    const scheme = options.security.kind === 'explicit-tls' ? 'ftps' : 'ftp';
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    // The same form a location URL takes: `/~/dir` for a directory below the login directory.
    this.location = `${scheme}://${encodeURIComponent(options.username)}@${host}:${this.port}${this.root.startsWith('/') ? this.root : `/~/${this.root}`}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    // An array of one Buffer: Readable.from(buffer) would emit it byte by byte.
    await this.writeAtomically(key, () => Readable.from([bytes]));
  }

  /** Uploads the file through a temporary name, then deletes the local file; a failure keeps it. */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    await this.writeAtomically(key, () => createReadStream(path));
    await unlink(path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    if (range !== undefined && range.length === 0) {
      if ((await this.head(key)) === undefined) throw new NotFoundError('object', key);
      return Buffer.alloc(0);
    }
    return this.withConnection('get', key, async ({ client }) => {
      const path = this.pathOf(key);
      const sink = new Collector(range?.length);
      try {
        await client.downloadTo(sink, path, range?.offset ?? 0);
      } catch (error) {
        // The range is complete and the rest was too long to drain: the connection is closed, the bytes are ours.
        if (sink.complete) return sink.bytes();
        // Servers refuse a missing file with 550, 551 or 450 alike, and the same codes mean "not allowed":
        // the directory listing tells which it is.
        if (error instanceof FTPError && typeof error.code === 'number' && !client.closed) {
          const found = await this.probe(client, path);
          if (found?.kind !== 'file') throw new NotFoundError('object', key);
          // A REST past the end of the file may be refused: that range is simply empty.
          if (range !== undefined && range.offset >= found.size) return Buffer.alloc(0);
        }
        throw error;
      }
      const bytes = sink.bytes();
      if (range === undefined || bytes.length < range.length) await this.assertWhole(client, path, key, range?.offset ?? 0, bytes.length, range?.length);
      return bytes;
    });
  }

  /**
   * In FTP's stream mode the end of a file is the data connection closing, so a connection cut short
   * looks like a short file. A transfer that brought fewer bytes than the file holds (seen under load)
   * is a retryable failure, never data.
   */
  private async assertWhole(client: Client, path: string, key: string, offset: number, received: number, length: number | undefined): Promise<void> {
    const found = await this.probe(client, path);
    if (found?.kind !== 'file') return;
    const expected = Math.min(length ?? Number.POSITIVE_INFINITY, Math.max(0, found.size - offset));
    if (received < expected) throw new StorageError('network', `the transfer of ${key} ended after ${received} of ${expected} bytes`, { retryable: true });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    return this.withConnection('head', key, async ({ client }) => {
      const path = this.pathOf(key);
      const found = await this.probe(client, path);
      if (found?.kind !== 'file') return undefined;
      // MDTM gives seconds in UTC; without it, the listing's coarser date.
      const modified = await client.lastMod(path).catch(async () => {
        const entry = await this.entryOf(client, path);
        return entry === undefined ? new Date(0) : listDate(entry);
      });
      return { key, size: found.size, modified: new Date(modified.getTime()) };
    });
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    return this.walk(slash === -1 ? '' : prefix.slice(0, slash), prefix);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    await this.withConnection('delete', key, async ({ client }) => {
      const path = this.pathOf(key);
      try {
        await client.remove(path);
      } catch (error) {
        if (!(error instanceof FTPError && error.code === 550)) throw error;
        // 550 for a missing file (or a directory, which is a prefix): nothing to delete. A file that is
        // still there was not allowed to go.
        if ((await this.probe(client, path))?.kind === 'file') throw error;
      }
    });
  }

  /** Closes the pooled connections; call it once no operation is running. A later call opens new ones. */
  async close(): Promise<void> {
    for (const connection of this.idle.splice(0)) {
      connection.client.close();
      this.open--;
    }
  }

  private async *walk(relDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const entries = await this.withConnection('list', prefix, async ({ client }) => {
      const dir = relDir === '' ? this.rootPath() : this.pathOf(relDir);
      try {
        return await client.list(dir);
      } catch (error) {
        // Servers answer a missing directory with 550, 450 or 451; only a directory that exists is a failure.
        if (error instanceof FTPError && typeof error.code === 'number' && dir !== '.' && dir !== '/' && (await this.probe(client, dir))?.kind !== 'directory') return [];
        throw error;
      }
    });
    for (const entry of entries) {
      if (!isObjectKey(entry.name)) continue;
      const key = relDir === '' ? entry.name : `${relDir}/${entry.name}`;
      if (entry.type === FileType.Directory) {
        const asPrefix = `${key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(key, prefix);
      } else if (entry.type === FileType.File && key.startsWith(prefix)) {
        yield { key, size: entry.size, modified: listDate(entry) };
      }
    }
  }

  private async writeAtomically(key: string, source: () => Readable): Promise<void> {
    await this.withConnection('put', key, async ({ client }) => {
      const target = this.pathOf(key);
      const dir = posix.dirname(target);
      await this.ensureDir(client, dir);
      const temp = posix.join(dir, temporaryName());
      try {
        try {
          await client.uploadFrom(source(), temp);
        } catch (error) {
          if (!(error instanceof FTPError && (error.code === 550 || error.code === 553))) throw error;
          // The directory may have been removed behind our back (prune, an operator): create it again.
          this.readyDirs.delete(dir);
          await this.ensureDir(client, dir);
          await client.uploadFrom(source(), temp);
        }
        await this.renameOver(client, temp, target);
      } catch (error) {
        if (!client.closed) await client.remove(temp, true).catch(() => undefined);
        throw error;
      }
    });
  }

  private async renameOver(client: Client, temp: string, target: string): Promise<void> {
    try {
      await client.rename(temp, target);
    } catch (error) {
      if (!(error instanceof FTPError) || typeof error.code !== 'number' || (await this.probe(client, target))?.kind !== 'file') throw error;
      // This server will not rename over an existing file: remove it, then move the complete file in.
      await client.remove(target);
      await client.rename(temp, target);
    }
  }

  private ensureDir(client: Client, dir: string): Promise<void> {
    if (dir === '/' || dir === '.' || dir === '') return Promise.resolve();
    let ready = this.readyDirs.get(dir);
    if (ready === undefined) {
      // MKD for each level, ignoring "exists"; basic-ftp changes into the directory, and every other
      // command uses absolute paths, so the working directory does not matter.
      ready = client.ensureDir(dir);
      this.readyDirs.set(dir, ready);
      ready.catch(() => this.readyDirs.delete(dir));
    }
    return ready;
  }

  /**
   * What `path` is, asked over the control connection alone (no data transfer): a directory when CWD
   * into it works, else a file when SIZE answers (SIZE is unreliable on directories, hence CWD first),
   * else nothing. Servers without SIZE are asked through a listing of the parent directory.
   */
  private async probe(client: Client, path: string): Promise<{ kind: 'file'; size: number } | { kind: 'directory' } | undefined> {
    try {
      await client.cd(path);
      return { kind: 'directory' };
    } catch (error) {
      if (!(error instanceof FTPError && typeof error.code === 'number')) throw error;
    }
    try {
      return { kind: 'file', size: await client.size(path) };
    } catch (error) {
      if (error instanceof FTPError && typeof error.code === 'number') {
        if (error.code !== 500 && error.code !== 502 && error.code !== 504) return undefined;
      } else if (client.closed) {
        throw error;
      }
      // SIZE is not implemented, or its answer is not a number (some servers say "213" alone for 0 bytes).
    }
    const entry = await this.entryOf(client, path);
    if (entry === undefined) return undefined;
    return entry.type === FileType.Directory ? { kind: 'directory' } : entry.type === FileType.File ? { kind: 'file', size: entry.size } : undefined;
  }

  /** The directory entry for `path`, from a listing of its parent; undefined when there is none. */
  private async entryOf(client: Client, path: string): Promise<FileInfo | undefined> {
    const name = posix.basename(path);
    const parent = posix.dirname(path);
    try {
      const entries = await client.list(parent);
      return entries.find((entry) => entry.name === name && entry.type !== FileType.Unknown);
    } catch (error) {
      // A parent that cannot be listed holds no entry: missing (550, or 450/451 on some servers) or not a directory.
      if (error instanceof FTPError && (error.code === 550 || error.code === 450 || error.code === 451)) return undefined;
      throw error;
    }
  }

  private pathOf(key: string): string {
    return posix.join(this.rootPath(), key);
  }

  /** The absolute root; only called inside withConnection, after a connect has learnt it. */
  private rootPath(): string {
    if (this.absoluteRoot === undefined) throw new Error('FTP root used before connecting');
    return this.absoluteRoot;
  }

  /** Runs one operation on a pooled connection (opening one if needed) and translates what it throws. */
  private async withConnection<T>(operation: string, key: string, work: (connection: Connection) => Promise<T>): Promise<T> {
    let connection: Connection | undefined;
    try {
      connection = await this.acquire();
      return await work(connection);
    } catch (error) {
      throw this.translate(error, operation, key);
    } finally {
      if (connection !== undefined) this.release(connection);
    }
  }

  private async acquire(): Promise<Connection> {
    while (true) {
      const idle = this.idle.pop();
      if (idle !== undefined && !idle.client.closed) {
        idle.client.ftp.socket.ref();
        return idle;
      }
      if (idle !== undefined) {
        this.open--;
        continue;
      }
      if (this.open < this.maxConnections) {
        this.open++;
        try {
          return await this.connect();
        } catch (error) {
          this.open--;
          this.wakeOne();
          throw error;
        }
      }
      const handed = await new Promise<Connection | undefined>((resolve) => this.waiting.push(resolve));
      if (handed !== undefined) return handed;
    }
  }

  private release(connection: Connection): void {
    if (connection.client.closed) {
      this.open--;
      this.wakeOne();
      return;
    }
    const waiter = this.waiting.shift();
    if (waiter !== undefined) {
      waiter(connection);
      return;
    }
    // An idle connection must not keep a finished command from exiting.
    connection.client.ftp.socket.unref();
    this.idle.push(connection);
  }

  /** Lets one waiter try again after a connection slot was freed. */
  private wakeOne(): void {
    this.waiting.shift()?.(undefined);
  }

  private async connect(): Promise<Connection> {
    const client = new Client(this.options.timeoutMs ?? 30_000);
    const security = this.options.security;
    try {
      await client.access({
        host: this.options.host,
        port: this.port,
        user: this.options.username,
        password: this.options.password,
        secure: security.kind === 'explicit-tls',
        ...(security.kind === 'explicit-tls' ? { secureOptions: { ...(security.ca !== undefined ? { ca: security.ca } : {}), ...(security.servername !== undefined ? { servername: security.servername } : {}) } } : {}),
      });
      if (this.absoluteRoot === undefined) this.absoluteRoot = this.root.startsWith('/') ? this.root : posix.join(await client.pwd(), this.root);
    } catch (error) {
      client.close();
      throw error;
    }
    return { client };
  }

  /** Maps FTP replies and socket failures to the domain's errors. Messages never carry the password. */
  private translate(error: unknown, operation: string, key: string): BackupError {
    if (error instanceof BackupError) return error;
    const where = `${this.options.host}:${this.port}`;
    // basic-ftp reports socket failures as FTPError too, with Node's string code instead of a reply number.
    const reply = error instanceof FTPError && typeof error.code === 'number' ? error.code : undefined;
    const code = (error as { code?: unknown } | null)?.code;
    const fail = (kind: string, message: string, retryable: boolean) => storageFailure(kind, message, { cause: error, retryable, details: { operation, key, reply, code: typeof code === 'string' ? code : undefined }, secrets: [this.options.password] });
    if (reply === 530) return fail('access_denied', `FTP server ${where} refused the login of ${this.options.username}`, false);
    if (typeof code === 'string' && TLS_TRUST_CODES.has(code)) return fail('tls_untrusted', `the TLS certificate of FTP server ${where} is not trusted (${code})`, false);
    if (reply === 552) return fail('no_space', `no space left on FTP server ${where} for object ${key}`, false);
    if (reply !== undefined && reply >= 400 && reply < 500) return fail('unavailable', `FTP server ${where} could not ${operation} object ${key} right now (reply ${reply})`, true);
    if (reply === 550) return fail('access_denied', `FTP server ${where} refused ${operation} of object ${key} (reply 550)`, false);
    if (reply !== undefined) return fail('io', `FTP ${operation} of object ${key} failed on ${where} (reply ${reply})`, false);
    if (code === 'ENOTFOUND') return fail('host_not_found', `FTP host ${this.options.host} does not resolve`, false);
    // A TLS protocol failure after the login (the control connection's TLS already worked) is on one
    // transfer's own data connection, opened anew per transfer: seen under load, and another attempt on
    // a fresh data connection succeeds. Trust failures were classified above and stay permanent.
    const dataTlsFailure = typeof code === 'string' && code.startsWith('ERR_SSL_');
    if (dataTlsFailure || isTransientNetworkError(error) || /client is closed|timeout|socket|closed/i.test(String((error as { message?: unknown } | null)?.message))) {
      return fail('network', `network failure reaching FTP server ${where} during ${operation} of ${key}`, true);
    }
    return fail('io', `FTP ${operation} of object ${key} failed on ${where}`, false);
  }
}

/** Node's codes for a certificate that does not verify or does not name the host. */
const TLS_TRUST_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * A download destination that keeps the first `limit` bytes (all when unlimited), drops up to
 * DISCARD_LIMIT more, and then fails the transfer on purpose to stop it.
 */
class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  private kept = 0;
  private dropped = 0;

  constructor(private readonly limit: number | undefined) {
    super();
  }

  get complete(): boolean {
    return this.limit !== undefined && this.kept >= this.limit;
  }

  bytes(): Buffer {
    return Buffer.concat(this.chunks, this.kept);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    const room = this.limit === undefined ? chunk.length : Math.max(0, this.limit - this.kept);
    if (room > 0) {
      const kept = room >= chunk.length ? chunk : chunk.subarray(0, room);
      this.chunks.push(kept);
      this.kept += kept.length;
    }
    this.dropped += chunk.length - Math.min(room, chunk.length);
    done(this.dropped > DISCARD_LIMIT ? new RangeComplete('range complete') : null);
  }
}

/** A LIST date: exact when the server sent MLSD facts, else parsed from `ls -l` style text. */
function listDate(entry: FileInfo): Date {
  if (entry.modifiedAt !== undefined) return new Date(entry.modifiedAt.getTime());
  return parseLsDate(entry.rawModifiedAt, new Date());
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * Parses `Nov 28 08:12` (within the last six months, year implied) or `Nov 28  2024` as UTC. Anything
 * else (DOS listings, locales) becomes the epoch: a valid date that sorts as old, which is the safe side
 * for age-based decisions like prune's grace period.
 */
export function parseLsDate(raw: string, now: Date): Date {
  const match = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec(raw.trim());
  const month = match ? MONTHS.indexOf(match[1]!.toLowerCase()) : -1;
  if (match === null || month === -1) return new Date(0);
  const day = Number(match[2]);
  if (match[5] !== undefined) return new Date(Date.UTC(Number(match[5]), month, day));
  let year = now.getUTCFullYear();
  let date = new Date(Date.UTC(year, month, day, Number(match[3]), Number(match[4])));
  // ls omits the year for recent dates; a date "in the future" belongs to last year.
  if (date.getTime() > now.getTime() + 86_400_000) date = new Date(Date.UTC(--year, month, day, Number(match[3]), Number(match[4])));
  return date;
}

/** `/srv/backup` or `backups` (relative to the login directory); `''` is the login directory itself. */
function normalizeRemoteRoot(root: string): string {
  if (typeof root !== 'string') throw new ValidationError('FTP root must be a path', 'root');
  const absolute = root.startsWith('/');
  const segments = root.split('/').filter((segment) => segment !== '' && segment !== '.');
  // eslint-disable-next-line no-control-regex
  if (segments.some((segment) => segment === '..' || /[\u0000-\u001f\\]/.test(segment) || /^\s|\s$/.test(segment))) {
    throw new ValidationError(`FTP root must not contain '..', backslashes, control characters or names with outer spaces (got ${JSON.stringify(root.slice(0, 200))})`, 'root');
  }
  return `${absolute ? '/' : ''}${segments.join('/')}`;
}
