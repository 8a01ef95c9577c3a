import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type PutObjectCommandInput,
  type S3ClientConfig,
  type StorageClass,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { unlink } from 'node:fs/promises';
import { BackupError, NotFoundError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT } from '../repository/layout.js';
import { asBuffer, assertRange, isObjectKey, isTransientNetworkError, normalizeRootPrefix, redact, S3_STORAGE_CLASSES, storageFailure, type S3StorageClass } from './remote-storage-support.js';

export { S3_STORAGE_CLASSES, type S3StorageClass };

/** Server-side encryption asked of S3 on every write (on top of the repository's own encryption). */
export type S3ServerSideEncryption =
  /** SSE-S3: keys managed by S3. */
  | { kind: 's3' }
  /** SSE-KMS with the given key (id, alias or ARN), or the account's `aws/s3` key when omitted. */
  | { kind: 'kms'; keyId?: string; bucketKey?: boolean };

export interface S3ObjectStorageOptions {
  bucket: string;
  /** Key prefix inside the bucket (`backups/prod`); objects live below `<prefix>/`. */
  prefix?: string;
  /**
   * A ready client. When omitted one is built from `region`, `endpoint`, `forcePathStyle` and
   * `credentials`; anything not given comes from the AWS default chain (environment, shared config and
   * credentials files, SSO, container and instance metadata), `AWS_ENDPOINT_URL_S3` included.
   */
  client?: S3Client;
  region?: string;
  /** An S3-compatible endpoint (MinIO, Ceph, an emulator), e.g. `https://minio.internal:9000`. */
  endpoint?: string;
  /** Address buckets as `<endpoint>/<bucket>` rather than `<bucket>.<endpoint>`; most S3-compatible servers need it. */
  forcePathStyle?: boolean;
  credentials?: S3ClientConfig['credentials'];
  /** `WHEN_REQUIRED` for servers that mishandle the SDK's default request checksums. Default `WHEN_SUPPORTED`. */
  requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
  /**
   * The storage class of packs (keys under `data/`), which hold nearly all bytes. Locks, indexes and
   * snapshots stay in STANDARD: they are small and often rewritten, and the infrequent-access classes
   * bill at least 128 KiB and 30 days per object.
   */
  storageClass?: S3StorageClass;
  serverSideEncryption?: S3ServerSideEncryption;
  /** Objects larger than this go up as multipart uploads. Default 8 MiB (one part). */
  multipartThreshold?: number;
  /** Part size of multipart uploads, at least 5 MiB. Default 8 MiB. */
  partSize?: number;
  /** Parts of one upload in flight at once (memory is partSize × this). Default 4. */
  partConcurrency?: number;
  /** SDK-level attempts per request (its own retry handles throttling and clock skew). Default 3. */
  maxAttempts?: number;
}

const MIB = 1024 * 1024;

/**
 * ObjectStorage on Amazon S3 or an S3-compatible server.
 *
 * - Keys map to `<prefix>/<key>`. S3 makes an object visible only once its upload completed, so every
 *   put is atomic; a failed multipart upload is aborted so no parts linger.
 * - Large objects and `putFile` go up as multipart uploads streamed from memory or from the file, with
 *   at most `partSize × partConcurrency` bytes buffered.
 * - Ranged reads are ranged GETs; a range starting past the end reads as empty.
 * - Throttling, 5xx answers and network failures become retryable StorageErrors; credentials never
 *   appear in `location`, messages or causes.
 */
export class S3ObjectStorage implements ObjectStorage {
  readonly location: string;
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly storageClass: S3StorageClass | undefined;
  private readonly encryption: S3ServerSideEncryption | undefined;
  private readonly multipartThreshold: number;
  private readonly partSize: number;
  private readonly partConcurrency: number;
  /** Secrets to blank out of vendor messages (a static secret key, when one was given). */
  private readonly secrets: string[];

  constructor(options: S3ObjectStorageOptions) {
    if (typeof options.bucket !== 'string' || !/^[A-Za-z0-9._-]{1,255}$/.test(options.bucket)) {
      throw new ValidationError(`S3 bucket name ${JSON.stringify(String(options.bucket).slice(0, 100))} is invalid: use letters, digits, '.', '-' and '_'`, 'bucket');
    }
    if (options.storageClass !== undefined && !(S3_STORAGE_CLASSES as readonly string[]).includes(options.storageClass)) {
      throw new ValidationError(`S3 storage class must be one of ${S3_STORAGE_CLASSES.join(', ')} (archive classes cannot be read without a restore)`, 'storageClass');
    }
    this.bucket = options.bucket;
    this.prefix = normalizeRootPrefix(options.prefix, 'prefix');
    this.storageClass = options.storageClass;
    this.encryption = options.serverSideEncryption;
    this.partSize = positiveInteger(options.partSize ?? 8 * MIB, 'partSize');
    if (this.partSize < 5 * MIB) throw new ValidationError('S3 multipart partSize must be at least 5 MiB', 'partSize');
    this.multipartThreshold = positiveInteger(options.multipartThreshold ?? 8 * MIB, 'multipartThreshold');
    this.partConcurrency = positiveInteger(options.partConcurrency ?? 4, 'partConcurrency');
    const credentials = options.credentials;
    this.secrets = credentials !== undefined && typeof credentials === 'object' && 'secretAccessKey' in credentials ? [credentials.secretAccessKey, credentials.sessionToken].filter((s): s is string => typeof s === 'string') : [];
    this.client =
      options.client ??
      new S3Client({
        ...(options.region !== undefined ? { region: options.region } : {}),
        ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
        ...(credentials !== undefined ? { credentials } : {}),
        forcePathStyle: options.forcePathStyle ?? false,
        // A bucket in another region answers with a redirect; follow it rather than fail.
        followRegionRedirects: true,
        maxAttempts: positiveInteger(options.maxAttempts ?? 3, 'maxAttempts'),
        requestChecksumCalculation: options.requestChecksumCalculation ?? 'WHEN_SUPPORTED',
        // Bounded waits: a silent server must surface as a retryable timeout, not hang a backup.
        requestHandler: { connectionTimeout: 10_000, requestTimeout: 120_000, httpAgent: { keepAlive: true, maxSockets: 64 }, httpsAgent: { keepAlive: true, maxSockets: 64 } },
      });
    const endpoint = options.endpoint === undefined ? '' : ` at ${redact(options.endpoint).replace(/\/+$/, '')}`;
    this.location = `s3://${this.bucket}/${this.prefix}${endpoint}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    try {
      if (data.byteLength > this.multipartThreshold) {
        await this.upload(key, asBuffer(data));
      } else {
        await this.client.send(new PutObjectCommand({ ...this.writeParams(key), Body: asBuffer(data), ContentLength: data.byteLength }));
      }
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
  }

  /**
   * Streams the file up (one PUT when it fits in a part, else a multipart upload) and deletes it once
   * the object is complete. A failed upload keeps the file, so a retry can send it again.
   */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    try {
      await this.upload(key, createReadStream(path));
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
    await unlink(path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    if (range !== undefined && range.length === 0) {
      // S3 has no empty range; the object must still exist for the read to succeed.
      if ((await this.head(key)) === undefined) throw new NotFoundError('object', key);
      return Buffer.alloc(0);
    }
    try {
      const response = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          ...(range !== undefined ? { Range: `bytes=${range.offset}-${range.offset + range.length - 1}` } : {}),
        }),
      );
      if (response.Body === undefined) return Buffer.alloc(0);
      const bytes = asBuffer(await response.Body.transformToByteArray());
      // A server that ignores Range answers 200 with the whole object; cut the range out here.
      if (range !== undefined && response.ContentRange === undefined) return bytes.subarray(Math.min(range.offset, bytes.length), Math.min(range.offset + range.length, bytes.length));
      return bytes;
    } catch (error) {
      // 416: the range starts at or past the end of an object that exists.
      if (range !== undefined && (httpStatus(error) === 416 || vendorCode(error) === 'InvalidRange')) return Buffer.alloc(0);
      throw this.translate(error, 'get', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const response = await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
      return { key, size: response.ContentLength ?? 0, modified: new Date(response.LastModified?.getTime() ?? 0) };
    } catch (error) {
      const translated = this.translate(error, 'head', key);
      if (translated instanceof NotFoundError) return undefined;
      throw translated;
    }
  }

  list(prefix: string): AsyncIterable<ObjectInfo> {
    // Validated here, not in the generator, so a bad prefix fails at the call.
    assertSafePrefix(prefix);
    return this.listPages(prefix);
  }

  async delete(key: string): Promise<void> {
    assertSafeKey(key);
    try {
      // S3 answers 204 for a missing key too, which makes delete idempotent by itself.
      await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }));
    } catch (error) {
      const translated = this.translate(error, 'delete', key);
      if (!(translated instanceof NotFoundError)) throw translated;
    }
  }

  /** Releases the client's sockets. The storage must not be used afterwards. */
  async close(): Promise<void> {
    this.client.destroy();
  }

  private async *listPages(prefix: string): AsyncGenerator<ObjectInfo> {
    let token: string | undefined;
    do {
      let page;
      try {
        page = await this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.prefix + prefix, ContinuationToken: token }));
      } catch (error) {
        throw this.translate(error, 'list', prefix);
      }
      for (const item of page.Contents ?? []) {
        if (item.Key === undefined || !item.Key.startsWith(this.prefix)) continue;
        const key = item.Key.slice(this.prefix.length);
        // Objects no put could have written (other tools' files, odd names) are not part of the repository.
        if (!isObjectKey(key)) continue;
        yield { key, size: item.Size ?? 0, modified: new Date(item.LastModified?.getTime() ?? 0) };
      }
      token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
  }

  private async upload(key: string, body: Buffer | NodeJS.ReadableStream): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { ...this.writeParams(key), Body: body as PutObjectCommandInput['Body'] },
      partSize: this.partSize,
      queueSize: this.partConcurrency,
      // On failure the multipart upload is aborted, so no invisible parts are left to pay for.
      leavePartsOnError: false,
    });
    await upload.done();
  }

  private writeParams(key: string): { Bucket: string; Key: string } & Pick<PutObjectCommandInput, 'StorageClass' | 'ServerSideEncryption' | 'SSEKMSKeyId' | 'BucketKeyEnabled'> {
    const params: { Bucket: string; Key: string } & Pick<PutObjectCommandInput, 'StorageClass' | 'ServerSideEncryption' | 'SSEKMSKeyId' | 'BucketKeyEnabled'> = { Bucket: this.bucket, Key: this.prefix + key };
    if (this.storageClass !== undefined && key.startsWith(LAYOUT.packs)) params.StorageClass = this.storageClass as StorageClass;
    if (this.encryption?.kind === 's3') params.ServerSideEncryption = 'AES256';
    if (this.encryption?.kind === 'kms') {
      params.ServerSideEncryption = 'aws:kms';
      if (this.encryption.keyId !== undefined) params.SSEKMSKeyId = this.encryption.keyId;
      if (this.encryption.bucketKey !== undefined) params.BucketKeyEnabled = this.encryption.bucketKey;
    }
    return params;
  }

  /** Maps an SDK failure to the domain's errors. Messages carry the vendor's error code, never its text. */
  private translate(error: unknown, operation: string, key: string): BackupError {
    if (error instanceof BackupError) return error;
    const status = httpStatus(error);
    const code = vendorCode(error);
    const details = { operation, key, bucket: this.bucket, status, vendorCode: code };
    const fail = (kind: string, message: string, retryable: boolean) => storageFailure(kind, message, { cause: error, retryable, details, secrets: this.secrets });
    if (code === 'NoSuchKey' || code === 'NotFound' || (status === 404 && code !== 'NoSuchBucket')) {
      return new NotFoundError('object', key, { cause: storageFailure('not_found', 'not found', { cause: error, retryable: false, secrets: this.secrets }) });
    }
    if (code === 'NoSuchBucket') return fail('bucket_not_found', `S3 bucket ${this.bucket} does not exist`, false);
    if (code === 'CredentialsProviderError' || (error as { name?: unknown } | null)?.name === 'CredentialsProviderError') {
      return fail('credentials_missing', `no AWS credentials found for S3 ${operation} of ${key} (set them in the environment, a profile or an instance role)`, false);
    }
    if (status === 403 || ACCESS_DENIED.has(code ?? '')) return fail('access_denied', `access denied by S3 for ${operation} of ${key} (${code ?? `HTTP ${status}`})`, false);
    if (status === 429 || status === 503 || THROTTLED.has(code ?? '')) return fail('throttled', `S3 is throttling ${operation} of ${key} (${code ?? `HTTP ${status}`})`, true);
    if ((status !== undefined && status >= 500) || (error as { $retryable?: unknown } | null)?.$retryable !== undefined) {
      return fail('unavailable', `S3 failed ${operation} of ${key} (${code ?? `HTTP ${status}`})`, true);
    }
    if (status === undefined && isTransientNetworkError(error)) return fail('network', `network failure during S3 ${operation} of ${key} (${code ?? 'connection'})`, true);
    if (/region is missing/i.test(String((error as { message?: unknown } | null)?.message))) return fail('misconfigured', 'no AWS region configured for S3 (set AWS_REGION or region=)', false);
    return fail('request_failed', `S3 ${operation} of ${key} failed (${code ?? (status !== undefined ? `HTTP ${status}` : 'unknown error')})`, false);
  }
}

const ACCESS_DENIED = new Set(['AccessDenied', 'InvalidAccessKeyId', 'SignatureDoesNotMatch', 'ExpiredToken', 'InvalidToken', 'TokenRefreshRequired', 'AllAccessDisabled', 'AccountProblem', 'KMS.AccessDeniedException', 'KMS.DisabledException', 'KMS.NotFoundException']);
const THROTTLED = new Set(['SlowDown', 'Throttling', 'ThrottlingException', 'TooManyRequests', 'TooManyRequestsException', 'RequestLimitExceeded', 'ServiceUnavailable', 'RequestTimeout', 'InternalError']);

function httpStatus(error: unknown): number | undefined {
  const status = (error as { $metadata?: { httpStatusCode?: unknown } } | null)?.$metadata?.httpStatusCode;
  return typeof status === 'number' ? status : undefined;
}

/** The S3 error code (`NoSuchKey`), from the SDK's error name or the parsed `Code`. */
function vendorCode(error: unknown): string | undefined {
  const source = error as { Code?: unknown; name?: unknown; code?: unknown } | null;
  if (typeof source?.Code === 'string') return source.Code;
  if (typeof source?.name === 'string' && source.name !== 'Error' && source.name !== 'S3ServiceException') return source.name;
  return typeof source?.code === 'string' ? source.code : undefined;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(`${field} must be a positive integer`, field);
  return value;
}
