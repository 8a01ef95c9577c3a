import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, scrypt } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';

import { ConflictError, KeyAccessError, ValidationError } from '../domain/errors.js';
import type { KeyContext, KeyProvider, WrappedKey } from '../ports/key-provider.js';

/*
 * Local key providers: the repository master key wrapped with AES-256-GCM under a key-encryption key
 * that comes from a passphrase (scrypt) or from a key file. The key context is the GCM associated data,
 * so a slot copied to another repository does not open there.
 */

const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const KEK_BYTES = 32;
const SALT_BYTES = 16;

/** scrypt cost parameters. Memory use is 128 · N · r bytes (32 MiB for the defaults). */
export interface ScryptParams {
  /** CPU/memory cost, a power of two. */
  N: number;
  r: number;
  p: number;
}

/** The defaults: N = 2^15, r = 8, p = 1 — about 0.1 s and 32 MiB per unwrap. */
export const DEFAULT_SCRYPT_PARAMS: Readonly<ScryptParams> = Object.freeze({ N: 2 ** 15, r: 8, p: 1 });

/*
 * Bounds on the parameters accepted, both when configured and when read back from a WrappedKey: a slot
 * is data from storage, and a forged N of 2^30 must not make unwrap allocate gigabytes.
 */
const MIN_LOG2_N = 10;
const MAX_LOG2_N = 20;
const MAX_R = 32;
const MAX_P = 16;
const MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024;

/** WrappedKey produced by {@link PassphraseKeyProvider}. All binary fields are base64. */
export interface PassphraseWrappedKey extends WrappedKey {
  kind: 'passphrase';
  version: 1;
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: string };
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** WrappedKey produced by {@link KeyFileKeyProvider}. All binary fields are base64 except the hex fingerprint. */
export interface KeyFileWrappedKey extends WrappedKey {
  kind: 'key-file';
  version: 1;
  /** Identifies the key file that wrapped this key, without revealing it. */
  fingerprint: string;
  cipher: 'aes-256-gcm';
  nonce: string;
  ciphertext: string;
  tag: string;
}

/** Options of {@link PassphraseKeyProvider}. */
export interface PassphraseKeyProviderOptions {
  /** scrypt cost for new wraps; unwrapping always uses the parameters stored in the WrappedKey. */
  scrypt?: Partial<ScryptParams>;
}

/**
 * Wraps keys under a key derived from a passphrase with scrypt (random 16-byte salt per wrap, stored in
 * the WrappedKey with the cost parameters). An empty or unset passphrase is reported as
 * `key.unavailable` when the key is first needed.
 */
export class PassphraseKeyProvider implements KeyProvider {
  readonly kind = 'passphrase';
  readonly description = 'passphrase';
  private readonly passphrase: string | undefined;
  private readonly params: ScryptParams;

  /**
   * @param passphrase the secret; `undefined` or empty (for example an unset environment variable)
   *   makes every call fail with `key.unavailable`.
   */
  constructor(passphrase: string | undefined, options: PassphraseKeyProviderOptions = {}) {
    this.passphrase = passphrase;
    const params = { ...DEFAULT_SCRYPT_PARAMS, ...options.scrypt };
    const problem = scryptParamsProblem(params);
    if (problem) throw new ValidationError(`scrypt parameters: ${problem}`, 'scrypt');
    this.params = params;
  }

  /** Seals `key` under a fresh salt and nonce; the context becomes associated data. */
  async wrap(key: Buffer, context: KeyContext): Promise<PassphraseWrappedKey> {
    const passphrase = this.requirePassphrase();
    requireKey(key);
    const salt = randomBytes(SALT_BYTES);
    const kdf = { name: 'scrypt' as const, ...this.params, salt: salt.toString('base64') };
    const kek = await deriveScrypt(passphrase, salt, this.params);
    const sealed = seal(kek, key, associatedData('passphrase', context));
    return { kind: 'passphrase', version: 1, kdf, cipher: 'aes-256-gcm', ...sealed };
  }

  /** Opens a {@link PassphraseWrappedKey}; any mismatch (passphrase, context, tampering) is `key.mismatch`. */
  async unwrap(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    const passphrase = this.requirePassphrase();
    requireKind(wrapped, this.kind);
    if (wrapped.version !== 1 || wrapped.cipher !== 'aes-256-gcm') throw malformed(this.kind);
    const kdf = wrapped.kdf as Record<string, unknown> | null | undefined;
    if (typeof kdf !== 'object' || kdf === null || kdf.name !== 'scrypt') throw malformed(this.kind);
    const params = { N: kdf.N, r: kdf.r, p: kdf.p };
    if (scryptParamsProblem(params)) throw malformed(this.kind);
    const salt = decodeBase64(kdf.salt);
    if (salt === undefined || salt.length !== SALT_BYTES) throw malformed(this.kind);
    const sealed = readSealed(wrapped, this.kind);

    const kek = await deriveScrypt(passphrase, salt, params as ScryptParams);
    const key = unseal(kek, sealed, associatedData('passphrase', context));
    if (key === undefined) {
      throw new KeyAccessError(
        'mismatch',
        'the passphrase does not open this key slot (wrong passphrase, another repository, or a damaged slot)',
      );
    }
    return key;
  }

  private requirePassphrase(): string {
    if (this.passphrase === undefined || this.passphrase === '') {
      throw new KeyAccessError('unavailable', 'no passphrase was given (it is empty or unset)');
    }
    return this.passphrase;
  }
}

/**
 * Wraps keys under a key file: 32 random bytes, hex-encoded with a trailing newline, readable by its
 * owner only. The file is read on first use and then kept in memory; a file that is missing, unreadable,
 * malformed (`key.unavailable`) or readable by group or others (`key.insecure`) is refused.
 */
export class KeyFileKeyProvider implements KeyProvider {
  readonly kind = 'key-file';
  /** The absolute path of the key file (never its contents). */
  readonly description: string;
  private readonly path: string;
  private loaded: Promise<LoadedKeyFile> | undefined;

  /** Does not touch the file; it is read when a key is first wrapped or unwrapped. */
  constructor(path: string) {
    if (typeof path !== 'string' || path.trim() === '') {
      throw new ValidationError('key file path must not be empty', 'keyFile');
    }
    this.path = resolve(path);
    this.description = this.path;
  }

  /**
   * Writes a new key file at `path` (mode 0600, parent directories created 0700) and returns a provider
   * for it. The file appears complete or not at all, and an existing file is never replaced.
   *
   * @throws ConflictError `conflict.key_file_exists` when `path` already exists.
   * @throws KeyAccessError `key.unavailable` when the file cannot be written.
   */
  static async create(path: string): Promise<KeyFileKeyProvider> {
    const provider = new KeyFileKeyProvider(path);
    const target = provider.path;
    const directory = dirname(target);
    const temp = join(directory, `.${randomBytes(8).toString('hex')}.key-file.tmp`);
    try {
      await mkdir(directory, { recursive: true, mode: 0o700 });
      if (await exists(target)) throw keyFileExists(target);
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.chmod(0o600); // independent of the umask and of how the platform applied the mode
        await handle.writeFile(`${randomBytes(KEK_BYTES).toString('hex')}\n`);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await publishWithoutReplacing(temp, target);
      await syncDirectory(directory);
    } catch (error) {
      await unlink(temp).catch(() => undefined);
      if (error instanceof ConflictError) throw error;
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw keyFileExists(target);
      throw new KeyAccessError('unavailable', `cannot create key file ${target}: ${errnoReason(error)}`, {
        details: { path: target },
      });
    }
    return provider;
  }

  /** Seals `key` under the key file; the context becomes associated data. */
  async wrap(key: Buffer, context: KeyContext): Promise<KeyFileWrappedKey> {
    const keyFile = await this.load();
    requireKey(key);
    const sealed = seal(keyFile.kek, key, associatedData('key-file', context, keyFile.fingerprint));
    return { kind: 'key-file', version: 1, fingerprint: keyFile.fingerprint, cipher: 'aes-256-gcm', ...sealed };
  }

  /** Opens a {@link KeyFileWrappedKey}; another key file, context or tampering is `key.mismatch`. */
  async unwrap(wrapped: WrappedKey, context: KeyContext): Promise<Buffer> {
    const keyFile = await this.load();
    requireKind(wrapped, this.kind);
    if (wrapped.version !== 1 || wrapped.cipher !== 'aes-256-gcm' || typeof wrapped.fingerprint !== 'string') {
      throw malformed(this.kind);
    }
    if (wrapped.fingerprint !== keyFile.fingerprint) {
      throw new KeyAccessError(
        'mismatch',
        `this key slot was wrapped by a different key file (fingerprint ${wrapped.fingerprint.slice(0, 16)}, ` +
          `${this.path} has ${keyFile.fingerprint})`,
        { details: { expected: wrapped.fingerprint.slice(0, 16), actual: keyFile.fingerprint } },
      );
    }
    const sealed = readSealed(wrapped, this.kind);
    const key = unseal(keyFile.kek, sealed, associatedData('key-file', context, keyFile.fingerprint));
    if (key === undefined) {
      throw new KeyAccessError(
        'mismatch',
        `key file ${this.path} does not open this key slot (another repository, or a damaged slot)`,
      );
    }
    return key;
  }

  /** The file is read once; a failure is not remembered, so fixing the file fixes the next call. */
  private load(): Promise<LoadedKeyFile> {
    if (this.loaded === undefined) {
      const loading = readKeyFile(this.path);
      this.loaded = loading;
      loading.catch(() => {
        if (this.loaded === loading) this.loaded = undefined;
      });
    }
    return this.loaded;
  }
}

interface LoadedKeyFile {
  /** Key-encryption key derived from the file, never the file's bytes themselves. */
  kek: Buffer;
  fingerprint: string;
}

const KEY_FILE_PATTERN = /^([0-9a-fA-F]{64})\r?\n?$/;
/** Far larger than a valid key file; bounds what a wrong path (a log, a disk image) makes us read. */
const KEY_FILE_MAX_BYTES = 1024;

async function readKeyFile(path: string): Promise<LoadedKeyFile> {
  let handle;
  try {
    // O_NONBLOCK so a FIFO at the path cannot hang us (no effect on regular files). O_NOFOLLOW is not
    // used: a symlinked key file (a mounted secret) is legitimate.
    handle = await open(path, fsConstants.O_RDONLY | (fsConstants.O_NONBLOCK ?? 0));
  } catch (error) {
    throw unavailable(path, error);
  }
  try {
    // Check the opened file, not the path, so a swap between check and read cannot slip through.
    const info = await handle.stat();
    if (!info.isFile()) {
      throw new KeyAccessError('unavailable', `key file ${path} is not a regular file`, { details: { path } });
    }
    // Windows has no POSIX permission bits; there the ACLs of the user profile protect the file.
    if (process.platform !== 'win32' && (info.mode & 0o077) !== 0) {
      throw new KeyAccessError(
        'insecure',
        `key file ${path} is accessible by group or others (mode ${(info.mode & 0o777).toString(8).padStart(4, '0')}); ` +
          `restrict it with: chmod 600 ${path}`,
        { details: { path, mode: info.mode & 0o777 } },
      );
    }
    if (info.size > KEY_FILE_MAX_BYTES) throw malformedKeyFile(path);
    const buffer = Buffer.alloc(KEY_FILE_MAX_BYTES + 1);
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    const text = buffer.subarray(0, bytesRead).toString('latin1');
    buffer.fill(0);
    const match = KEY_FILE_PATTERN.exec(text);
    if (!match) throw malformedKeyFile(path);
    const secret = Buffer.from(match[1] as string, 'hex');
    try {
      return {
        fingerprint: keyFingerprint(secret),
        // A derived KEK rather than the file bytes: the same secret also keys the fingerprint HMAC.
        kek: Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), 'chrono-backup key-file wrapping v1', KEK_BYTES)),
      };
    } finally {
      secret.fill(0);
    }
  } catch (error) {
    if (error instanceof KeyAccessError) throw error;
    throw unavailable(path, error);
  } finally {
    await handle.close();
  }
}

/** First 8 bytes of HMAC-SHA256(key, "chrono-backup key fingerprint"), hex: names a key file without revealing it. */
export function keyFingerprint(secret: Buffer): string {
  return createHmac('sha256', secret).update('chrono-backup key fingerprint').digest().subarray(0, 8).toString('hex');
}

function unavailable(path: string, error: unknown): KeyAccessError {
  const code = (error as NodeJS.ErrnoException).code;
  const reason = code === 'ENOENT' ? 'does not exist' : `cannot be read (${errnoReason(error)})`;
  return new KeyAccessError('unavailable', `key file ${path} ${reason}`, { details: { path } });
}

function malformedKeyFile(path: string): KeyAccessError {
  return new KeyAccessError(
    'unavailable',
    `key file ${path} is not a valid key file (expected 64 hexadecimal characters and a newline)`,
    { details: { path } },
  );
}

function keyFileExists(path: string): ConflictError {
  return new ConflictError('key_file_exists', `key file ${path} already exists; it is never overwritten`, {
    details: { path },
  });
}

/** The errno code alone: fs messages are harmless, but a code is all a reader needs. */
function errnoReason(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : 'unknown error';
}

async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Moves the finished temp file to `target` atomically without ever replacing an existing file.
 * `rename` would silently overwrite a file created since the existence check, so a hard link (which
 * fails with EEXIST) is used; where links are unsupported it falls back to rename after the check.
 */
async function publishWithoutReplacing(temp: string, target: string): Promise<void> {
  try {
    await link(temp, target);
    await unlink(temp);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw error;
    if (await exists(target)) throw keyFileExists(target);
    await rename(temp, target);
  }
}

/** Makes the new directory entry durable; platforms that cannot open a directory skip this. */
async function syncDirectory(directory: string): Promise<void> {
  let handle;
  try {
    handle = await open(directory, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // Best effort: the file data itself was already synced.
  } finally {
    await handle?.close();
  }
}

// ---- shared by the providers (the KMS provider seals with its data key the same way) ----

interface Sealed {
  nonce: string;
  ciphertext: string;
  tag: string;
}

interface SealedBytes {
  nonce: Buffer;
  ciphertext: Buffer;
  tag: Buffer;
}

export function seal(kek: Buffer, key: Buffer, aad: Buffer): Sealed {
  const nonce = randomBytes(NONCE_BYTES);
  const cipher = createCipheriv('aes-256-gcm', kek, nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const ciphertext = Buffer.concat([cipher.update(key), cipher.final()]);
  return {
    nonce: nonce.toString('base64'),
    ciphertext: ciphertext.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
  };
}

/** Decrypts and authenticates; undefined when authentication fails (never wrong bytes). */
export function unseal(kek: Buffer, sealed: SealedBytes, aad: Buffer): Buffer | undefined {
  const decipher = createDecipheriv('aes-256-gcm', kek, sealed.nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(aad);
  decipher.setAuthTag(sealed.tag);
  try {
    return Buffer.concat([decipher.update(sealed.ciphertext), decipher.final()]);
  } catch {
    return undefined;
  }
}

export function readSealed(wrapped: WrappedKey, kind: string): SealedBytes {
  const nonce = decodeBase64(wrapped.nonce);
  const ciphertext = decodeBase64(wrapped.ciphertext);
  const tag = decodeBase64(wrapped.tag);
  if (nonce?.length !== NONCE_BYTES || tag?.length !== TAG_BYTES || ciphertext === undefined || ciphertext.length === 0) {
    throw malformed(kind);
  }
  return { nonce, ciphertext, tag };
}

/**
 * Strict base64: Node's decoder skips characters it does not know and ignores the unused bits of the
 * last character, so an edited field could decode to the original bytes. Re-encoding must round-trip.
 */
export function decodeBase64(value: unknown): Buffer | undefined {
  if (typeof value !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(value)) return undefined;
  const bytes = Buffer.from(value, 'base64');
  return bytes.toString('base64') === value ? bytes : undefined;
}

/**
 * The associated data: a label naming provider and format, then the context with keys sorted, so the
 * same context in any key order gives the same bytes and another context fails authentication.
 */
export function associatedData(kind: string, context: KeyContext, fingerprint = ''): Buffer {
  if (typeof context !== 'object' || context === null) {
    throw new ValidationError('key context must be an object of strings', 'context');
  }
  const entries = Object.keys(context)
    .sort()
    .map((name) => {
      const value = context[name];
      if (typeof value !== 'string') {
        throw new ValidationError(`key context value "${name}" must be a string`, 'context');
      }
      return [name, value];
    });
  return Buffer.from(JSON.stringify([`chrono-backup/${kind}/v1`, fingerprint, entries]), 'utf8');
}

export function requireKey(key: Buffer): void {
  if (!Buffer.isBuffer(key) || key.length === 0) {
    throw new ValidationError('the key to wrap must be a non-empty Buffer', 'key');
  }
}

export function requireKind(wrapped: WrappedKey, kind: string): void {
  if (typeof wrapped !== 'object' || wrapped === null) throw malformed(kind);
  if (wrapped.kind !== kind) {
    throw new KeyAccessError(
      'mismatch',
      `this key slot was wrapped by a ${JSON.stringify(String(wrapped.kind))} provider, not ${kind}`,
    );
  }
}

export function malformed(kind: string): KeyAccessError {
  return new KeyAccessError('mismatch', `this ${kind} key slot is malformed or damaged and cannot be opened`);
}

function scryptParamsProblem(params: Record<string, unknown>): string | undefined {
  const { N, r, p } = params;
  if (typeof N !== 'number' || !Number.isInteger(N) || N < 2 ** MIN_LOG2_N || N > 2 ** MAX_LOG2_N || (N & (N - 1)) !== 0) {
    return `N must be a power of two from 2^${MIN_LOG2_N} to 2^${MAX_LOG2_N}`;
  }
  if (typeof r !== 'number' || !Number.isInteger(r) || r < 1 || r > MAX_R) return `r must be an integer from 1 to ${MAX_R}`;
  if (typeof p !== 'number' || !Number.isInteger(p) || p < 1 || p > MAX_P) return `p must be an integer from 1 to ${MAX_P}`;
  if (128 * N * r > MAX_SCRYPT_MEMORY) return 'N · r needs more than 1 GiB of memory';
  return undefined;
}

function deriveScrypt(passphrase: string, salt: Buffer, params: ScryptParams): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    // maxmem must exceed 128 · N · r, or Node refuses the defaults (exactly 32 MiB) outright.
    const maxmem = 128 * params.N * params.r + 1024 * 1024;
    // NFC so the same passphrase typed on systems that compose accents differently derives the same key.
    scrypt(passphrase.normalize('NFC'), salt, KEK_BYTES, { N: params.N, r: params.r, p: params.p, maxmem }, (error, derived) => {
      if (error) {
        reject(new KeyAccessError('unavailable', `scrypt key derivation failed (${error.message})`));
      } else {
        resolvePromise(derived);
      }
    });
  });
}
