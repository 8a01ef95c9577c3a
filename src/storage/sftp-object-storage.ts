import { createHash, createHmac } from 'node:crypto';
import { open as openLocal, unlink as unlinkLocal, type FileHandle } from 'node:fs/promises';
import { connect as connectTcp, type Socket } from 'node:net';
import { posix } from 'node:path';
import type { SFTPWrapper, Stats } from 'ssh2';
import SftpClient from 'ssh2-sftp-client';
import { BackupError, NotFoundError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { assertRange, errorCodeOf, isObjectKey, isTransientNetworkError, storageFailure, temporaryName } from './remote-storage-support.js';

/**
 * How to log in. Every method given is offered, in ssh2's order (agent, key, password), so an agent can
 * be tried before a key file. At least one is required.
 */
export interface SftpCredentials {
  /** An SSH agent socket (`SSH_AUTH_SOCK`). */
  agent?: string;
  /** A private key (OpenSSH or PEM text) and its passphrase, if it has one. */
  privateKey?: Buffer | string;
  passphrase?: string;
  password?: string;
}

/**
 * Which host keys are trusted. A server whose key does not match is refused before any credential is
 * sent, so a man in the middle learns nothing.
 */
export type SftpHostKey =
  /** Pinned fingerprints as `ssh-keygen -lf` prints them (`SHA256:…`). */
  | { kind: 'fingerprint'; sha256: string | readonly string[] }
  /** The text of a known_hosts file (plain or hashed host names, `[host]:port`, `@revoked`). */
  | { kind: 'known-hosts'; text: string };

export interface SftpObjectStorageOptions {
  host: string;
  /** Default 22. */
  port?: number;
  username: string;
  credentials: SftpCredentials;
  hostKey: SftpHostKey;
  /** The directory holding the objects: absolute, or relative to the login directory. Created on first write. */
  root: string;
  /** Handshake and login must finish within this. Default 20 000. */
  readyTimeoutMs?: number;
  /** SFTP requests in flight at once on the one connection. Default 32. */
  maxRequests?: number;
  /**
   * An operation that makes no progress for this long fails as retryable and the connection is
   * dropped: a server that vanished without closing the connection cannot stall a backup. Default 120 000.
   */
  operationTimeoutMs?: number;
}

/** SFTP status codes (draft-ietf-secsh-filexfer-02), as ssh2 reports them in `code`. */
const SFTP = { noSuchFile: 2, permissionDenied: 3, failure: 4, noConnection: 6, connectionLost: 7, unsupported: 8 } as const;

/** Bytes per read or write request; OpenSSH accepts up to 255 KiB, smaller keeps latency fair between requests. */
const CHUNK = 64 * 1024;
/** Requests of one transfer in flight at once: hides round-trip time on distant servers. */
const WINDOW = 16;

interface Session {
  client: SftpClient;
  sftp: SFTPWrapper;
  socket: Socket;
}

/**
 * ObjectStorage on a directory of an SFTP server (OpenSSH or any SFTPv3 server), over one SSH
 * connection that is opened on first use and again after it drops.
 *
 * - The server's host key must match a pinned fingerprint or known_hosts entry; otherwise the
 *   connection is refused before logging in.
 * - `put` writes a temporary file (`.~tmp-…`, mode 0600) next to the target, fsyncs it where the server
 *   offers `fsync@openssh.com`, and renames it over the key with `posix-rename@openssh.com` (atomic
 *   replace). Servers without it get rename, or delete-then-rename when the target exists: a reader
 *   may then briefly see no object, never a partial one. A failed write removes its temporary file.
 * - Reads open the file once and fetch it (or the range) in pipelined requests; an open handle keeps
 *   reading the version it opened even if a put replaces it meanwhile.
 * - Directories are created with mode 0700 as keys need them.
 */
export class SftpObjectStorage implements ObjectStorage {
  readonly location: string;
  private readonly root: string;
  private readonly options: SftpObjectStorageOptions;
  private readonly port: number;
  private readonly secrets: string[];
  private session: Promise<Session> | undefined;
  private readonly readyDirs = new Map<string, Promise<void>>();
  private readonly limit: Limiter;
  private readonly operationTimeoutMs: number;
  /** Operations running now: while there are none the connection does not keep the process alive. */
  private active = 0;

  constructor(options: SftpObjectStorageOptions) {
    if (typeof options.host !== 'string' || !/^[A-Za-z0-9.:_-]+$/.test(options.host)) throw new ValidationError('SFTP host must be a host name or IP address', 'host');
    if (typeof options.username !== 'string' || options.username.length === 0 || /[\s@:/]/.test(options.username)) throw new ValidationError('SFTP user name must be non-empty and free of spaces, @, : and /', 'username');
    const { agent, privateKey, password } = options.credentials;
    if (agent === undefined && privateKey === undefined && password === undefined) throw new ValidationError('SFTP needs a way to log in: an SSH agent, a private key or a password', 'credentials');
    this.port = options.port ?? 22;
    if (!Number.isInteger(this.port) || this.port < 1 || this.port > 65535) throw new ValidationError('SFTP port must be between 1 and 65535', 'port');
    assertHostKeySetting(options.hostKey);
    this.root = normalizeRemoteRoot(options.root);
    this.options = options;
    this.secrets = [options.credentials.password, options.credentials.passphrase].filter((s): s is string => typeof s === 'string');
    this.limit = new Limiter(options.maxRequests ?? 32);
    this.operationTimeoutMs = options.operationTimeoutMs ?? 120_000;
    if (!Number.isInteger(this.operationTimeoutMs) || this.operationTimeoutMs < 1) throw new ValidationError('operationTimeoutMs must be a positive integer', 'operationTimeoutMs');
    const host = options.host.includes(':') ? `[${options.host}]` : options.host;
    // The same form a location URL takes: `/~/dir` for a directory below the login directory.
    this.location = `sftp://${options.username}@${host}:${this.port}${this.root.startsWith('/') ? this.root : `/~/${this.root}`}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return this.writeAtomically(key, bytes.length, async (offset, length) => bytes.subarray(offset, offset + length));
  }

  /** Uploads the file in pipelined chunks through a temporary file, then deletes the local file. */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    const local = await openLocal(path, 'r');
    try {
      const size = (await local.stat()).size;
      await this.writeAtomically(key, size, (offset, length) => readExactly(local, offset, length));
    } finally {
      await local.close();
    }
    await unlinkLocal(path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    return this.run('get', key, async ({ sftp }) => {
      let handle: Buffer;
      try {
        handle = await call<Buffer>((done) => sftp.open(this.pathOf(key), 'r', done));
      } catch (error) {
        if (isMissing(error)) throw new NotFoundError('object', key);
        throw error;
      }
      try {
        const attributes = await call<Stats>((done) => sftp.fstat(handle, done));
        // A directory opens for reading on POSIX servers; it is a prefix, not an object.
        if (!attributes.isFile()) throw new NotFoundError('object', key);
        const start = Math.min(range?.offset ?? 0, attributes.size);
        const end = range === undefined ? attributes.size : Math.min(attributes.size, range.offset + range.length);
        return await readRange(sftp, handle, start, Math.max(0, end - start));
      } finally {
        await call((done) => sftp.close(handle, done)).catch(() => undefined);
      }
    });
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    return this.run('head', key, async ({ sftp }) => {
      try {
        const attributes = await call<Stats>((done) => sftp.stat(this.pathOf(key), done));
        return attributes.isFile() ? { key, size: attributes.size, modified: new Date(attributes.mtime * 1000) } : undefined;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    });
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    const slash = prefix.lastIndexOf('/');
    // Start at the deepest directory the prefix names in full; the rest of the prefix filters names.
    return this.walk(slash === -1 ? '' : prefix.slice(0, slash), prefix);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    return this.run('delete', key, async ({ sftp }) => {
      const path = this.pathOf(key);
      try {
        await call((done) => sftp.unlink(path, done));
      } catch (error) {
        if (isMissing(error)) return;
        // A directory cannot be unlinked; it is a prefix, so there is nothing to delete.
        const attributes = await call<Stats>((done) => sftp.stat(path, done)).catch(() => undefined);
        if (attributes === undefined || attributes.isDirectory()) return;
        throw error;
      }
    });
  }

  /** Closes the SSH connection. A later call opens a new one. */
  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (session === undefined) return;
    const opened = await session.catch(() => undefined);
    await opened?.client.end().catch(() => undefined);
  }

  private async *walk(relDir: string, prefix: string): AsyncGenerator<ObjectInfo> {
    const dir = relDir === '' ? this.root : this.pathOf(relDir);
    const entries = await this.run('list', prefix, async ({ sftp }) => {
      try {
        return await call<{ filename: string; attrs: Stats }[]>((done) => sftp.readdir(dir, done));
      } catch (error) {
        if (isMissing(error)) return [];
        throw error;
      }
    });
    for (const entry of entries) {
      // Temporary files and anything else no put could have written are not objects.
      if (!isObjectKey(entry.filename)) continue;
      const key = relDir === '' ? entry.filename : `${relDir}/${entry.filename}`;
      if (entry.attrs.isDirectory()) {
        const asPrefix = `${key}/`;
        if (asPrefix.startsWith(prefix) || prefix.startsWith(asPrefix)) yield* this.walk(key, prefix);
      } else if (entry.attrs.isFile() && key.startsWith(prefix)) {
        yield { key, size: entry.attrs.size, modified: new Date(entry.attrs.mtime * 1000) };
      }
    }
  }

  private writeAtomically(key: string, size: number, chunkAt: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
    const target = this.pathOf(key);
    const dir = posix.dirname(target);
    return this.run('put', key, async ({ sftp }) => {
      await this.ensureDir(sftp, dir);
      const temp = posix.join(dir, temporaryName());
      let handle: Buffer;
      try {
        handle = await openForWrite(sftp, temp);
      } catch (error) {
        if (!isMissing(error)) throw error;
        // The directory was removed behind our back (prune, an operator): create it again.
        this.readyDirs.delete(dir);
        await this.ensureDir(sftp, dir);
        handle = await openForWrite(sftp, temp);
      }
      try {
        try {
          await writeAll(sftp, handle, size, chunkAt);
          // Durable before it gets its name, so a crash never leaves a renamed but empty object.
          await fsyncIfSupported(sftp, handle);
        } finally {
          await call((done) => sftp.close(handle, done));
        }
        await renameOver(sftp, temp, target);
      } catch (error) {
        await call((done) => sftp.unlink(temp, done)).catch(() => undefined);
        throw error;
      }
    });
  }

  private ensureDir(sftp: SFTPWrapper, dir: string): Promise<void> {
    let ready = this.readyDirs.get(dir);
    if (ready === undefined) {
      ready = createDir(sftp, dir);
      this.readyDirs.set(dir, ready);
      ready.catch(() => this.readyDirs.delete(dir));
    }
    return ready;
  }

  private pathOf(key: string): string {
    return this.root === '' ? key : posix.join(this.root, key);
  }

  /**
   * Runs one operation on the connection (opening it if needed), bounded by the operation timeout, and
   * translates what it throws. The connection's socket is referenced only while operations run, so an
   * idle connection never keeps a finished command from exiting.
   */
  private async run<T>(operation: string, key: string, work: (session: Session) => Promise<T>): Promise<T> {
    await this.limit.acquire();
    this.active++;
    let session: Session | undefined;
    let timer: NodeJS.Timeout | undefined;
    try {
      session = await this.connect();
      session.socket.ref();
      const opened = session;
      const timedOut = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => {
          // Dropping the connection fails every request still waiting on it.
          this.drop(opened);
          reject(new OperationTimeout());
        }, this.operationTimeoutMs);
      });
      return await Promise.race([work(opened), timedOut]);
    } catch (error) {
      const translated = this.translate(error, operation, key);
      // A connection that failed this way is not used again; the next operation opens a new one.
      if (session !== undefined && (translated.code === 'storage.network' || translated.code === 'storage.timeout')) this.drop(session);
      throw translated;
    } finally {
      clearTimeout(timer);
      this.active--;
      if (this.active === 0) session?.socket.unref();
      this.limit.release();
    }
  }

  private drop(session: Session): void {
    void this.session?.then((current) => {
      if (current === session) this.session = undefined;
    }, () => undefined);
    session.socket.destroy();
  }

  private connect(): Promise<Session> {
    if (this.session !== undefined) return this.session;
    let mismatch: string | undefined;
    const lost = () => {
      if (this.session === attempt) this.session = undefined;
    };
    // Own callbacks: the library's defaults print to the console on every disconnect.
    const client = new SftpClient('chrono-backup', { error: lost, end: lost, close: lost });
    const { agent, privateKey, passphrase, password } = this.options.credentials;
    // Our own socket, so it can be unreferenced while idle (ssh2 keeps its socket to itself).
    const socket = connectTcp({ host: this.options.host, port: this.port });
    const attempt: Promise<Session> = client
      .connect({
        sock: socket,
        host: this.options.host,
        port: this.port,
        username: this.options.username,
        ...(agent !== undefined ? { agent } : {}),
        ...(privateKey !== undefined ? { privateKey } : {}),
        ...(passphrase !== undefined ? { passphrase } : {}),
        ...(password !== undefined ? { password } : {}),
        hostVerifier: (key: Buffer) => {
          const verdict = verifyHostKey(this.options.hostKey, key, this.options.host, this.port);
          if (!verdict) mismatch = fingerprintOf(key);
          return verdict;
        },
        readyTimeout: this.options.readyTimeoutMs ?? 20_000,
        // No SSH keepalive: its timer would keep an idle process alive. The operation timeout notices a
        // dead server instead, and TCP keepalive covers idle connections.
        keepaliveInterval: 0,
        // The library retries connecting on its own; the retry decorator already does that.
        retries: 0,
      })
      .then((sftp) => {
        // Every request adds short-lived listeners to the client; many run at once by design.
        (client as unknown as { client: { setMaxListeners(n: number): void } }).client.setMaxListeners(0);
        socket.setKeepAlive(true, 30_000);
        return { client, sftp, socket };
      })
      .catch((error: unknown) => {
        lost();
        socket.destroy();
        throw mismatch !== undefined ? new HostKeyMismatch(mismatch) : error;
      });
    this.session = attempt;
    return attempt;
  }

  /** Maps ssh2 and SFTP failures to the domain's errors. Messages name the key, never the server path. */
  private translate(error: unknown, operation: string, key: string): BackupError {
    if (error instanceof BackupError) return error;
    const where = `${this.options.host}:${this.port}`;
    const fail = (kind: string, message: string, retryable: boolean) => storageFailure(kind, message, { cause: error, retryable, details: { operation, key, code: errorCodeOf(error) ?? (error as { code?: unknown } | null)?.code }, secrets: this.secrets });
    if (error instanceof OperationTimeout) return fail('timeout', `SFTP server ${where} did not answer ${operation} of ${key} in time`, true);
    if (error instanceof HostKeyMismatch) {
      return fail('host_key_mismatch', `host key of SFTP server ${where} (${error.fingerprint}) is not trusted: pin it or add it to known_hosts after checking it`, false);
    }
    const code = (error as { code?: unknown } | null)?.code;
    const message = String((error as { message?: unknown } | null)?.message ?? '');
    if (/authentication methods failed|authentication failed/i.test(message)) return fail('access_denied', `SFTP server ${where} refused the login of ${this.options.username}`, false);
    if (/encrypted private key|passphrase|cannot parse privatekey|unsupported key format/i.test(message)) return fail('credentials_invalid', 'the SFTP private key cannot be read (wrong passphrase or format)', false);
    if (code === SFTP.permissionDenied || code === 'EACCES') return fail('access_denied', `access denied to object ${key} on SFTP server ${where}`, false);
    if (code === SFTP.noSuchFile || code === 'ENOENT') return fail('missing_directory', `a directory for object ${key} is missing on SFTP server ${where}`, false);
    if (code === SFTP.noConnection || code === SFTP.connectionLost || code === 'ERR_NOT_CONNECTED' || /no sftp connection|unexpected (end|close)|no response from server|not connected|timed out while waiting for handshake|keepalive timeout/i.test(message)) {
      return fail('network', `connection to SFTP server ${where} was lost during ${operation} of ${key}`, true);
    }
    if (code === 'ENOTFOUND') return fail('host_not_found', `SFTP host ${this.options.host} does not resolve`, false);
    if (isTransientNetworkError(error)) return fail('network', `network failure reaching SFTP server ${where} during ${operation} of ${key}`, true);
    if (code === SFTP.unsupported) return fail('unsupported', `SFTP server ${where} does not support an operation ${operation} needs`, false);
    return fail('io', `SFTP ${operation} of object ${key} failed on ${where}`, false);
  }
}

class OperationTimeout extends Error {}

class HostKeyMismatch extends Error {
  constructor(readonly fingerprint: string) {
    super(`host key ${fingerprint} not trusted`);
  }
}

/** `SHA256:<base64 without padding>`, as `ssh-keygen -lf` prints it. */
export function fingerprintOf(keyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '')}`;
}

function verifyHostKey(setting: SftpHostKey, keyBlob: Buffer, host: string, port: number): boolean {
  if (setting.kind === 'fingerprint') {
    const seen = fingerprintOf(keyBlob);
    const pinned = typeof setting.sha256 === 'string' ? [setting.sha256] : setting.sha256;
    return pinned.some((fingerprint) => normalizeFingerprint(fingerprint) === seen);
  }
  const { trusted, revoked } = knownHostKeys(setting.text, host, port);
  const blob = keyBlob.toString('base64');
  return !revoked.includes(blob) && trusted.includes(blob);
}

function normalizeFingerprint(fingerprint: string): string {
  const bare = fingerprint.trim().replace(/^SHA256:/i, '').replace(/=+$/, '');
  return `SHA256:${bare}`;
}

function assertHostKeySetting(setting: SftpHostKey | undefined): void {
  if (setting?.kind === 'fingerprint') {
    const pinned = typeof setting.sha256 === 'string' ? [setting.sha256] : setting.sha256;
    if (pinned.length === 0 || pinned.some((f) => !/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/.test(f.trim()))) {
      throw new ValidationError('SFTP host key fingerprint must look like SHA256:<43 base64 characters> (see ssh-keygen -lf)', 'hostKey');
    }
    return;
  }
  if (setting?.kind === 'known-hosts' && typeof setting.text === 'string') return;
  throw new ValidationError('SFTP needs a trusted host key: a SHA256 fingerprint or known_hosts entries', 'hostKey');
}

/**
 * The base64 key blobs known_hosts `text` lists for `host` on `port`: trusted ones and `@revoked` ones.
 * Supports plain patterns (with `*`, `?` and `!` negation), `[host]:port` and hashed names (`|1|salt|hash`).
 * `@cert-authority` lines are skipped: certificates are not supported.
 */
export function knownHostKeys(text: string, host: string, port: number): { trusted: string[]; revoked: string[] } {
  const name = port === 22 ? host : `[${host}]:${port}`;
  const trusted: string[] = [];
  const revoked: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    let marker: string | undefined;
    if (fields[0]!.startsWith('@')) marker = fields.shift();
    if (marker === '@cert-authority' || fields.length < 3) continue;
    const [patterns, , blob] = fields as [string, string, string];
    if (!hostMatches(patterns, name)) continue;
    (marker === '@revoked' ? revoked : trusted).push(blob);
  }
  return { trusted, revoked };
}

function hostMatches(patterns: string, name: string): boolean {
  if (patterns.startsWith('|1|')) {
    const [, , salt, hash] = patterns.split('|');
    if (salt === undefined || hash === undefined) return false;
    return createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest('base64') === hash;
  }
  let matched = false;
  for (const pattern of patterns.split(',')) {
    const negated = pattern.startsWith('!');
    const glob = negated ? pattern.slice(1) : pattern;
    const regex = new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
    if (regex.test(name)) {
      if (negated) return false;
      matched = true;
    }
  }
  return matched;
}

/** `/srv/backup` or `backups` (relative to the login directory); `''` is the login directory itself. */
function normalizeRemoteRoot(root: string): string {
  if (typeof root !== 'string') throw new ValidationError('SFTP root must be a path', 'root');
  const absolute = root.startsWith('/');
  const segments = root.split('/').filter((segment) => segment !== '' && segment !== '.');
  // eslint-disable-next-line no-control-regex
  if (segments.some((segment) => segment === '..' || /[\u0000-\u001f\\]/.test(segment))) {
    throw new ValidationError(`SFTP root must not contain '..', backslashes or control characters (got ${JSON.stringify(root.slice(0, 200))})`, 'root');
  }
  return `${absolute ? '/' : ''}${segments.join('/')}`;
}

/** Creates `dir` and missing parents with mode 0700; an existing directory is fine. */
async function createDir(sftp: SFTPWrapper, dir: string): Promise<void> {
  if (dir === '/' || dir === '.' || dir === '') return;
  try {
    await call((done) => sftp.mkdir(dir, { mode: 0o700 }, done));
  } catch (error) {
    if (isMissing(error)) {
      await createDir(sftp, posix.dirname(dir));
      await createDir(sftp, dir);
      return;
    }
    // Servers report an existing directory as a generic failure; only a directory there will do.
    const attributes = await call<Stats>((done) => sftp.stat(dir, done)).catch(() => undefined);
    if (attributes?.isDirectory() !== true) throw error;
  }
}

function openForWrite(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  // 'wx': the random name must be new; never write through an existing file or symlink.
  return call<Buffer>((done) => sftp.open(path, 'wx', { mode: 0o600 }, done));
}

/** Writes `size` bytes with up to WINDOW requests in flight; the server places each at its offset. */
async function writeAll(sftp: SFTPWrapper, handle: Buffer, size: number, chunkAt: (offset: number, length: number) => Promise<Buffer>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < size) {
      const offset = next;
      const length = Math.min(CHUNK, size - offset);
      next += length;
      const chunk = await chunkAt(offset, length);
      await call((done) => sftp.write(handle, chunk, 0, chunk.length, offset, done));
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, Math.ceil(size / CHUNK)) }, worker));
}

/** Reads `length` bytes from `start` with up to WINDOW requests in flight. */
async function readRange(sftp: SFTPWrapper, handle: Buffer, start: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let next = 0;
  let short = length;
  const worker = async () => {
    while (next < length) {
      const at = next;
      const size = Math.min(CHUNK, length - at);
      next += size;
      let filled = 0;
      while (filled < size) {
        const read = await call<number>((done) => sftp.read(handle, buffer, at + filled, size - filled, start + at + filled, (error, bytesRead) => done(error, bytesRead))).catch((error: unknown) => {
          // EOF: the file is shorter than it was when opened (another writer truncated it in place).
          if ((error as { code?: unknown }).code === 1) return 0;
          throw error;
        });
        if (read === 0) {
          short = Math.min(short, at + filled);
          return;
        }
        filled += read;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, Math.ceil(length / CHUNK)) }, worker));
  return short === length ? buffer : buffer.subarray(0, short);
}

async function fsyncIfSupported(sftp: SFTPWrapper, handle: Buffer): Promise<void> {
  try {
    await call((done) => sftp.ext_openssh_fsync(handle, done));
  } catch (error) {
    // Servers without the extension (non-OpenSSH) cannot be asked; their own write-back applies.
    if (/does not support/i.test(String((error as Error).message))) return;
    throw error;
  }
}

/** Replaces `target` with `temp`: atomically where the server can, else as close to it as SFTPv3 allows. */
async function renameOver(sftp: SFTPWrapper, temp: string, target: string): Promise<void> {
  try {
    await call((done) => sftp.ext_openssh_rename(temp, target, done));
    return;
  } catch (error) {
    if (!/does not support/i.test(String((error as Error).message))) throw error;
  }
  try {
    await call((done) => sftp.rename(temp, target, done));
  } catch (error) {
    // SFTPv3 rename refuses an existing target: remove it, then move the complete file in.
    const existing = await call<Stats>((done) => sftp.stat(target, done)).catch(() => undefined);
    if (existing === undefined || !existing.isFile()) throw error;
    await call((done) => sftp.unlink(target, done));
    await call((done) => sftp.rename(temp, target, done));
  }
}

async function readExactly(file: FileHandle, offset: number, length: number): Promise<Buffer> {
  const buffer = Buffer.alloc(length);
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await file.read(buffer, filled, length - filled, offset + filled);
    if (bytesRead === 0) throw new ValidationError('the file to upload shrank while it was being read', 'path');
    filled += bytesRead;
  }
  return buffer;
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === SFTP.noSuchFile || code === 'ENOENT';
}

/** Adapts an ssh2 callback API to a promise. ssh2 throws synchronously for unsupported extensions. */
function call<T = void>(start: (done: (error: Error | null | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    try {
      start((error, value) => (error ? reject(error) : resolve(value as T)));
    } catch (error) {
      reject(error);
    }
  });
}

/** A counting semaphore: bounds the SFTP requests one storage has in flight. */
class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly max: number) {
    if (!Number.isInteger(max) || max < 1) throw new ValidationError('maxRequests must be a positive integer', 'maxRequests');
  }

  async acquire(): Promise<void> {
    if (this.active < this.max) {
      this.active++;
      return;
    }
    await new Promise<void>((resolve) => this.waiting.push(resolve));
  }

  release(): void {
    const next = this.waiting.shift();
    if (next !== undefined) next();
    else this.active--;
  }
}
