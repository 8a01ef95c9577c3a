import { Storage, type Bucket, type StorageOptions } from '@google-cloud/storage';
import { stat, unlink } from 'node:fs/promises';
import { BackupError, NotFoundError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT } from '../repository/layout.js';
import { assertRange, GCS_STORAGE_CLASSES, isObjectKey, isTransientNetworkError, normalizeRootPrefix, redact, storageFailure, type GcsStorageClass } from './remote-storage-support.js';

export { GCS_STORAGE_CLASSES, type GcsStorageClass };

export interface GcsObjectStorageOptions {
  bucket: string;
  /** Name prefix inside the bucket (`backups/prod`). */
  prefix?: string;
  /**
   * A ready client. When omitted one is built from `projectId`, `keyFilename` and `apiEndpoint`;
   * credentials not given come from Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`,
   * gcloud's user credentials, or the metadata server), and `STORAGE_EMULATOR_HOST` is honoured.
   */
  client?: Storage;
  projectId?: string;
  /** A service account key file; ADC is used when omitted. */
  keyFilename?: string;
  /** Another JSON API endpoint (a test server); the client sends no credentials to custom endpoints. */
  apiEndpoint?: string;
  /** The storage class of packs (keys under `data/`); other objects take the bucket's default. */
  storageClass?: GcsStorageClass;
  /** A Cloud KMS key (`projects/…/cryptoKeys/…`) to encrypt objects with (CMEK). */
  kmsKeyName?: string;
  /** Objects larger than this go up as resumable uploads (restartable, streamed); smaller in one request. Default 8 MiB. */
  resumableThreshold?: number;
  /** Library-level retries per request. Default 2. */
  maxRetries?: number;
}

const MIB = 1024 * 1024;

/**
 * ObjectStorage on a Google Cloud Storage bucket, through the JSON API.
 *
 * - Keys map to object names `<prefix>/<key>`. GCS creates an object only when its upload completes,
 *   so every put is atomic; uploads and whole-object downloads are checked end to end with MD5.
 * - `putFile` streams the file, as a resumable upload when it is large; ranged reads are ranged GETs.
 * - 429, 5xx and network failures become retryable StorageErrors; key files and tokens never appear in
 *   `location`, messages or causes.
 */
export class GcsObjectStorage implements ObjectStorage {
  readonly location: string;
  readonly prefix: string;
  private readonly bucket: Bucket;
  private readonly storageClass: GcsStorageClass | undefined;
  private readonly kmsKeyName: string | undefined;
  private readonly resumableThreshold: number;

  constructor(options: GcsObjectStorageOptions) {
    if (typeof options.bucket !== 'string' || !/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/.test(options.bucket)) {
      throw new ValidationError(`GCS bucket name ${JSON.stringify(String(options.bucket).slice(0, 100))} is invalid: lowercase letters, digits, '.', '-' and '_'`, 'bucket');
    }
    if (options.storageClass !== undefined && !(GCS_STORAGE_CLASSES as readonly string[]).includes(options.storageClass)) {
      throw new ValidationError(`GCS storage class must be one of ${GCS_STORAGE_CLASSES.join(', ')}`, 'storageClass');
    }
    this.prefix = normalizeRootPrefix(options.prefix, 'prefix');
    this.storageClass = options.storageClass;
    this.kmsKeyName = options.kmsKeyName;
    this.resumableThreshold = positiveInteger(options.resumableThreshold ?? 8 * MIB, 'resumableThreshold');
    const client =
      options.client ??
      new Storage({
        ...(options.projectId !== undefined ? { projectId: options.projectId } : {}),
        ...(options.keyFilename !== undefined ? { keyFilename: options.keyFilename } : {}),
        ...(options.apiEndpoint !== undefined ? { apiEndpoint: options.apiEndpoint.replace(/\/+$/, '') } : {}),
        retryOptions: retryOptions(nonNegativeInteger(options.maxRetries ?? 2, 'maxRetries')),
      } satisfies StorageOptions);
    this.bucket = client.bucket(options.bucket);
    const endpoint = options.apiEndpoint === undefined ? '' : ` at ${redact(options.apiEndpoint).replace(/\/+$/, '')}`;
    this.location = `gs://${options.bucket}/${this.prefix}${endpoint}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    try {
      await this.bucket.file(this.prefix + key, this.fileOptions()).save(Buffer.from(data.buffer, data.byteOffset, data.byteLength), this.writeOptions(key, data.byteLength));
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
  }

  /** Streams the file up (resumable when large) and deletes it once the object exists; a failure keeps it. */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    try {
      const size = (await stat(path)).size;
      await this.bucket.upload(path, { destination: this.bucket.file(this.prefix + key, this.fileOptions()), ...this.writeOptions(key, size) });
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
    await unlink(path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    if (range !== undefined && range.length === 0) {
      if ((await this.head(key)) === undefined) throw new NotFoundError('object', key);
      return Buffer.alloc(0);
    }
    try {
      const file = this.bucket.file(this.prefix + key);
      const [bytes] = range === undefined ? await file.download({ validation: 'md5' }) : await file.download({ start: range.offset, end: range.offset + range.length - 1 });
      return bytes;
    } catch (error) {
      // 416: the range starts at or past the end of an object that exists.
      if (range !== undefined && statusOf(error) === 416) return Buffer.alloc(0);
      throw this.translate(error, 'get', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const [metadata] = await this.bucket.file(this.prefix + key).getMetadata();
      return { key, size: Number(metadata.size ?? 0), modified: new Date(String(metadata.updated ?? 0)) };
    } catch (error) {
      const translated = this.translate(error, 'head', key);
      if (translated instanceof NotFoundError) return undefined;
      throw translated;
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    assertSafePrefix(prefix);
    return this.listPages(prefix);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    try {
      await this.bucket.file(this.prefix + key).delete({ ignoreNotFound: true });
    } catch (error) {
      const translated = this.translate(error, 'delete', key);
      if (!(translated instanceof NotFoundError)) throw translated;
    }
  }

  private async *listPages(prefix: string): AsyncGenerator<ObjectInfo> {
    let pageToken: string | undefined;
    do {
      let files;
      let next;
      try {
        [files, next] = await this.bucket.getFiles({ prefix: this.prefix + prefix, autoPaginate: false, maxResults: 1000, ...(pageToken !== undefined ? { pageToken } : {}) });
      } catch (error) {
        throw this.translate(error, 'list', prefix);
      }
      for (const file of files) {
        if (!file.name.startsWith(this.prefix)) continue;
        const key = file.name.slice(this.prefix.length);
        if (!isObjectKey(key)) continue;
        yield { key, size: Number(file.metadata.size ?? 0), modified: new Date(String(file.metadata.updated ?? 0)) };
      }
      pageToken = (next as { pageToken?: string } | null | undefined)?.pageToken;
    } while (pageToken !== undefined);
  }

  private fileOptions(): { kmsKeyName?: string } {
    return this.kmsKeyName !== undefined ? { kmsKeyName: this.kmsKeyName } : {};
  }

  private writeOptions(key: string, size: number) {
    return {
      resumable: size > this.resumableThreshold,
      // MD5 runs natively in Node; the library's CRC32C is JavaScript and several times slower.
      validation: 'md5' as const,
      metadata: { contentType: 'application/octet-stream', ...(this.storageClass !== undefined && key.startsWith(LAYOUT.packs) ? { storageClass: this.storageClass } : {}) },
    };
  }

  /** Maps a library failure to the domain's errors; messages carry GCS's reason, never its text. */
  private translate(error: unknown, operation: string, key: string): BackupError {
    if (error instanceof BackupError) return error;
    const status = statusOf(error);
    const reason = reasonOf(error);
    const details = { operation, key, bucket: this.bucket.name, status, vendorCode: reason };
    const fail = (kind: string, message: string, retryable: boolean) => storageFailure(kind, message, { cause: error, retryable, details });
    if (status === 404 && /bucket/i.test(messageOf(error))) return fail('bucket_not_found', `GCS bucket ${this.bucket.name} does not exist`, false);
    if (status === 404) return new NotFoundError('object', key, { cause: storageFailure('not_found', 'not found', { cause: error, retryable: false }) });
    if (status === 401 || status === 403) return fail('access_denied', `access denied by GCS for ${operation} of ${key} (${reason ?? `HTTP ${status}`})`, false);
    if (status === 429) return fail('throttled', `GCS is throttling ${operation} of ${key}`, true);
    if (status !== undefined && (status >= 500 || status === 408)) return fail('unavailable', `GCS failed ${operation} of ${key} (${reason ?? `HTTP ${status}`})`, true);
    if (isTransientNetworkError(error)) return fail('network', `network failure during GCS ${operation} of ${key}`, true);
    if (/could not load the default credentials|invalid_grant|unable to detect a project id/i.test(messageOf(error))) {
      return fail('credentials_missing', `no usable Google credentials for GCS ${operation} of ${key} (set GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth application-default login)`, false);
    }
    return fail('request_failed', `GCS ${operation} of ${key} failed (${reason ?? (status !== undefined ? `HTTP ${status}` : 'unknown error')})`, false);
  }
}

/**
 * The library's retry settings. It treats `maxRetries: 0` as "use the default of 3", so no retries must
 * be asked for by turning automatic retry off.
 */
function retryOptions(maxRetries: number): NonNullable<StorageOptions['retryOptions']> {
  return maxRetries === 0 ? { autoRetry: false } : { autoRetry: true, maxRetries, retryDelayMultiplier: 2, maxRetryDelay: 4, totalTimeout: 600 };
}

function statusOf(error: unknown): number | undefined {
  const source = error as { code?: unknown; status?: unknown; response?: { status?: unknown } } | null;
  for (const value of [source?.code, source?.status, source?.response?.status]) if (typeof value === 'number') return value;
  return undefined;
}

function reasonOf(error: unknown): string | undefined {
  const reason = (error as { errors?: { reason?: unknown }[] } | null)?.errors?.[0]?.reason;
  return typeof reason === 'string' ? reason : undefined;
}

function messageOf(error: unknown): string {
  const message = (error as { message?: unknown } | null)?.message;
  return typeof message === 'string' ? message : '';
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(`${field} must be a positive integer`, field);
  return value;
}

function nonNegativeInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 0) throw new ValidationError(`${field} must be a non-negative integer`, field);
  return value;
}
