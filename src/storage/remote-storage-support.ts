import { StorageError, ValidationError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import { assertSafeKey, STAGING_PREFIX, type ByteRange } from '../ports/object-storage.js';

/**
 * Helpers shared by the remote ObjectStorage adapters (S3, GCS, Azure, SFTP, FTP): where objects live
 * below a root, what counts as an object when listing, and how vendor failures become StorageErrors
 * without leaking credentials.
 */

/**
 * S3 storage classes an object can be read from at once. Archive classes (GLACIER, DEEP_ARCHIVE) need a
 * restore request before every read, which a backup repository cannot wait for, so they are refused.
 * (The choices live here, free of SDK imports, so locations can be parsed without loading any SDK.)
 */
export const S3_STORAGE_CLASSES = ['STANDARD', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR', 'REDUCED_REDUNDANCY', 'EXPRESS_ONEZONE'] as const;
export type S3StorageClass = (typeof S3_STORAGE_CLASSES)[number];

/** GCS storage classes; all of them are read without a restore step, unlike S3's archive classes. */
export const GCS_STORAGE_CLASSES = ['STANDARD', 'NEARLINE', 'COLDLINE', 'ARCHIVE'] as const;
export type GcsStorageClass = (typeof GCS_STORAGE_CLASSES)[number];

/** Azure access tiers that are read at once; Archive needs hours of rehydration and is refused. */
export const AZURE_ACCESS_TIERS = ['Hot', 'Cool', 'Cold'] as const;
export type AzureAccessTier = (typeof AZURE_ACCESS_TIERS)[number];

/**
 * A fresh temporary name for the directory of a key being written (local, SFTP and FTP write under it,
 * then rename). It starts with the port's STAGING_PREFIX, so listings never show it.
 */
export function temporaryName(): string {
  return `${STAGING_PREFIX}${randomId(12)}`;
}

/** True when `name` is a valid object key (or key segment): anything else is not listed. */
export function isObjectKey(name: string): boolean {
  try {
    assertSafeKey(name);
    return true;
  } catch {
    return false;
  }
}

/**
 * Normalizes the root below which an adapter keeps its objects (`prefix` inside a bucket, or a path on
 * a server) to `''` or `a/b/` form. Empty segments from doubled or trailing slashes are dropped; `.`,
 * `..` and control characters are refused so a root cannot climb out of what the operator named.
 */
export function normalizeRootPrefix(prefix: string | undefined, field: string): string {
  if (prefix === undefined) return '';
  const segments = prefix.split('/').filter((segment) => segment !== '');
  for (const segment of segments) {
    // eslint-disable-next-line no-control-regex
    if (segment === '.' || segment === '..' || /[\u0000-\u001f\u007f\\]/.test(segment)) {
      throw new ValidationError(`${field} must not contain '.', '..', backslashes or control characters (got ${JSON.stringify(prefix.slice(0, 200))})`, field);
    }
  }
  return segments.length === 0 ? '' : `${segments.join('/')}/`;
}

/** Refuses negative or fractional ranges, as the local adapter does, before any request is sent. */
export function assertRange(range: ByteRange): void {
  if (!Number.isSafeInteger(range.offset) || range.offset < 0) throw new ValidationError('range offset must be a non-negative integer', 'range.offset');
  if (!Number.isSafeInteger(range.length) || range.length < 0) throw new ValidationError('range length must be a non-negative integer', 'range.length');
}

/** Node and HTTP-client error codes of a network that failed or stalled: worth another attempt. */
const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EHOSTDOWN',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'REQUEST_SEND_ERROR',
]);

const TRANSIENT_IN_TEXT = new RegExp(`\\b(${[...TRANSIENT_NETWORK_CODES].filter((code) => code.startsWith('E')).join('|')})\\b`);

/** The string `code` of an error (Node errno codes, SDK codes), if it has one. */
export function errorCodeOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** True for a dropped, refused or timed-out connection, looking through `cause` chains SDKs build. */
export function isTransientNetworkError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current !== null && current !== undefined && depth < 5; depth++) {
    const code = errorCodeOf(current);
    if (code !== undefined && TRANSIENT_NETWORK_CODES.has(code)) return true;
    const name = (current as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'AbortError') return true;
    // Some SDKs rewrap errors they do not recognise (another realm's Error, a string) keeping only the text.
    const message = (current as { message?: unknown }).message;
    if (typeof message === 'string' && TRANSIENT_IN_TEXT.test(message)) return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * A stand-in for a vendor error, safe to keep as `cause`: its name, code and message with every known
 * secret and any `user:password@` in URLs blanked. Vendor error objects can carry request options,
 * headers or connection settings, so they are never attached as they are.
 */
export function sanitizedCause(error: unknown, secrets: readonly (string | undefined)[] = []): Error {
  const source = error as { name?: unknown; message?: unknown; code?: unknown } | null;
  const message = redact(typeof source?.message === 'string' ? source.message : String(error), secrets);
  const cause = new Error(message);
  cause.name = typeof source?.name === 'string' ? source.name : 'Error';
  const code = errorCodeOf(error);
  if (code !== undefined) (cause as Error & { code?: string }).code = code;
  return cause;
}

/** Blanks each secret (of 4 characters or more) and URL passwords in `text`. */
export function redact(text: string, secrets: readonly (string | undefined)[] = []): string {
  let out = text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]*@/gi, '$1:***@');
  for (const secret of secrets) {
    if (secret !== undefined && secret.length >= 4) out = out.split(secret).join('***');
  }
  return out;
}

/** A StorageError for a failure whose class is known, with a message that names the operation and key. */
export function storageFailure(
  code: string,
  what: string,
  options: { cause: unknown; retryable: boolean; details?: Record<string, unknown>; secrets?: readonly (string | undefined)[] },
): StorageError {
  return new StorageError(code, what, { cause: sanitizedCause(options.cause, options.secrets), retryable: options.retryable, ...(options.details ? { details: options.details } : {}) });
}

/** Concatenates the chunks of a stream into one Buffer. */
export async function collectStream(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as Uint8Array));
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
}

/** Wraps bytes in a Buffer without copying them. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}
