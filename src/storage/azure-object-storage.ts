import { BlobServiceClient, ContainerClient, StorageSharedKeyCredential, type StoragePipelineOptions } from '@azure/storage-blob';
import { unlink } from 'node:fs/promises';
import { BackupError, NotFoundError, ValidationError } from '../domain/errors.js';
import { assertSafeKey, assertSafePrefix, type ByteRange, type ObjectInfo, type ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT } from '../repository/layout.js';
import { assertRange, AZURE_ACCESS_TIERS, collectStream, isObjectKey, isTransientNetworkError, normalizeRootPrefix, redact, storageFailure, type AzureAccessTier } from './remote-storage-support.js';

/** How the adapter authenticates to the storage account. */
export type AzureAuth =
  /** A connection string, as `AZURE_STORAGE_CONNECTION_STRING` holds it (account key or SAS). */
  | { kind: 'connection-string'; connectionString: string }
  /** Account name and key (`AZURE_STORAGE_ACCOUNT` / `AZURE_STORAGE_KEY`); `endpoint` defaults to the public cloud. */
  | { kind: 'shared-key'; accountName: string; accountKey: string; endpoint?: string }
  /** A SAS token scoped to the container or account (`AZURE_STORAGE_SAS_TOKEN`). */
  | { kind: 'sas'; accountName: string; sasToken: string; endpoint?: string };

export { AZURE_ACCESS_TIERS, type AzureAccessTier };

export interface AzureObjectStorageOptions {
  container: string;
  /** Name prefix inside the container (`backups/prod`). */
  prefix?: string;
  auth: AzureAuth;
  /** The tier of packs (keys under `data/`); small, often rewritten objects stay in the account default. */
  accessTier?: AzureAccessTier;
  /** Block size of staged uploads for large objects. Default 8 MiB. */
  blockSize?: number;
  /** Blocks of one upload in flight at once. Default 4. */
  blockConcurrency?: number;
  /** Objects up to this size go up in one Put Blob; larger ones as staged blocks and one commit. Default 32 MiB. */
  singleUploadLimit?: number;
  /** SDK-level tries per request. Default 3. */
  maxTries?: number;
}

const MIB = 1024 * 1024;

/**
 * ObjectStorage on an Azure Blob Storage container (block blobs).
 *
 * - Keys map to blob names `<prefix>/<key>`. A block blob becomes visible only when its single upload
 *   or its block list commit completes, so puts are atomic and a failed upload leaves no blob.
 * - `putFile` streams the file in blocks; ranged reads are ranged GETs.
 * - Throttling (429/503), 5xx and network failures become retryable StorageErrors; the account key and
 *   SAS tokens never appear in `location`, messages or causes.
 */
export class AzureObjectStorage implements ObjectStorage {
  readonly location: string;
  readonly prefix: string;
  private readonly container: ContainerClient;
  private readonly accessTier: AzureAccessTier | undefined;
  private readonly blockSize: number;
  private readonly blockConcurrency: number;
  private readonly singleUploadLimit: number;
  private readonly secrets: string[];

  constructor(options: AzureObjectStorageOptions) {
    if (typeof options.container !== 'string' || !/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/.test(options.container)) {
      throw new ValidationError(`Azure container name ${JSON.stringify(String(options.container).slice(0, 100))} is invalid: 3-63 lowercase letters, digits and single dashes`, 'container');
    }
    if (options.accessTier !== undefined && !(AZURE_ACCESS_TIERS as readonly string[]).includes(options.accessTier)) {
      throw new ValidationError(`Azure access tier must be one of ${AZURE_ACCESS_TIERS.join(', ')} (Archive cannot be read without rehydration)`, 'accessTier');
    }
    this.prefix = normalizeRootPrefix(options.prefix, 'prefix');
    this.accessTier = options.accessTier;
    this.blockSize = positiveInteger(options.blockSize ?? 8 * MIB, 'blockSize');
    this.blockConcurrency = positiveInteger(options.blockConcurrency ?? 4, 'blockConcurrency');
    this.singleUploadLimit = positiveInteger(options.singleUploadLimit ?? 32 * MIB, 'singleUploadLimit');
    const pipeline: StoragePipelineOptions = {
      // The SDK's defaults wait up to two minutes between tries; the repository's retry decorator
      // already backs off, so this level only smooths over a blip.
      retryOptions: { maxTries: positiveInteger(options.maxTries ?? 3, 'maxTries'), retryDelayInMs: 200, maxRetryDelayInMs: 2_000, tryTimeoutInMs: 10 * 60_000 },
      userAgentOptions: { userAgentPrefix: 'chrono-backup' },
    };
    const { service, secrets } = serviceClient(options.auth, pipeline);
    this.secrets = secrets;
    this.container = service.getContainerClient(options.container);
    // The container URL may carry a SAS token in its query: show only scheme, host and path.
    const url = new URL(this.container.url);
    this.location = `azure://${options.container}/${this.prefix} at ${url.protocol}//${url.host}${url.pathname.replace(/\/[^/]*$/, '')}`;
  }

  async put(key: string, data: Uint8Array): Promise<void> {
    assertSafeKey(key);
    try {
      await this.container.getBlockBlobClient(this.prefix + key).uploadData(data, { ...this.uploadOptions(key)});
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
  }

  /** Uploads the file from disk in blocks, then deletes it; a failed upload keeps it for a retry. */
  async putFile(key: string, path: string): Promise<void> {
    assertSafeKey(key);
    try {
      await this.container.getBlockBlobClient(this.prefix + key).uploadFile(path, { ...this.uploadOptions(key)});
    } catch (error) {
      throw this.translate(error, 'put', key);
    }
    await unlink(path);
  }

  async get(key: string, range?: ByteRange): Promise<Buffer> {
    assertSafeKey(key);
    if (range !== undefined) assertRange(range);
    const blob = this.container.getBlobClient(this.prefix + key);
    if (range !== undefined && range.length === 0) {
      if ((await this.head(key)) === undefined) throw new NotFoundError('object', key);
      return Buffer.alloc(0);
    }
    try {
      const response = range === undefined ? await blob.download() : await blob.download(range.offset, range.length);
      if (response.readableStreamBody === undefined) return Buffer.alloc(0);
      return await collectStream(response.readableStreamBody);
    } catch (error) {
      // 416: the range starts at or past the end of a blob that exists.
      if (range !== undefined && (statusOf(error) === 416 || azureCode(error) === 'InvalidRange')) return Buffer.alloc(0);
      throw this.translate(error, 'get', key);
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    assertSafeKey(key);
    try {
      const properties = await this.container.getBlobClient(this.prefix + key).getProperties();
      return { key, size: properties.contentLength ?? 0, modified: new Date(properties.lastModified?.getTime() ?? 0) };
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
      await this.container.getBlobClient(this.prefix + key).deleteIfExists({ deleteSnapshots: 'include' });
    } catch (error) {
      const translated = this.translate(error, 'delete', key);
      if (!(translated instanceof NotFoundError)) throw translated;
    }
  }

  private async *listPages(prefix: string): AsyncGenerator<ObjectInfo> {
    const pages = this.container.listBlobsFlat({ prefix: this.prefix + prefix }).byPage({ maxPageSize: 5000 });
    while (true) {
      let page;
      try {
        page = await pages.next();
      } catch (error) {
        throw this.translate(error, 'list', prefix);
      }
      if (page.done === true) return;
      for (const item of page.value.segment.blobItems) {
        if (!item.name.startsWith(this.prefix)) continue;
        const key = item.name.slice(this.prefix.length);
        if (!isObjectKey(key)) continue;
        yield { key, size: item.properties.contentLength ?? 0, modified: new Date(item.properties.lastModified.getTime()) };
      }
    }
  }

  private uploadOptions(key: string) {
    return {
      blockSize: this.blockSize,
      maxSingleShotSize: this.singleUploadLimit,
      concurrency: this.blockConcurrency,
      blobHTTPHeaders: { blobContentType: 'application/octet-stream' },
      ...(this.accessTier !== undefined && key.startsWith(LAYOUT.packs) ? { tier: this.accessTier } : {}),
    };
  }

  /** Maps an SDK failure to the domain's errors; messages carry Azure's error code, never its text. */
  private translate(error: unknown, operation: string, key: string): BackupError {
    if (error instanceof BackupError) return error;
    const status = statusOf(error);
    const code = azureCode(error);
    const details = { operation, key, status, vendorCode: code };
    const fail = (kind: string, message: string, retryable: boolean) => storageFailure(kind, message, { cause: error, retryable, details, secrets: this.secrets });
    if (code === 'ContainerNotFound') return fail('container_not_found', `Azure container ${this.container.containerName} does not exist`, false);
    if (status === 404 || code === 'BlobNotFound') return new NotFoundError('object', key, { cause: storageFailure('not_found', 'not found', { cause: error, retryable: false, secrets: this.secrets }) });
    if (status === 401 || status === 403) return fail('access_denied', `access denied by Azure for ${operation} of ${key} (${code ?? `HTTP ${status}`})`, false);
    if (status === 429 || status === 503 || code === 'ServerBusy') return fail('throttled', `Azure is throttling ${operation} of ${key} (${code ?? `HTTP ${status}`})`, true);
    if (status !== undefined && (status >= 500 || status === 408)) return fail('unavailable', `Azure failed ${operation} of ${key} (${code ?? `HTTP ${status}`})`, true);
    if (status === undefined && isTransientNetworkError(error)) return fail('network', `network failure during Azure ${operation} of ${key}`, true);
    return fail('request_failed', `Azure ${operation} of ${key} failed (${code ?? (status !== undefined ? `HTTP ${status}` : 'unknown error')})`, false);
  }
}

function serviceClient(auth: AzureAuth, pipeline: StoragePipelineOptions): { service: BlobServiceClient; secrets: string[] } {
  switch (auth.kind) {
    case 'connection-string': {
      const secrets = [...auth.connectionString.matchAll(/(?:AccountKey|SharedAccessSignature)=([^;]+)/gi)].map((match) => match[1]!);
      try {
        return { service: BlobServiceClient.fromConnectionString(auth.connectionString, pipeline), secrets };
      } catch (error) {
        // The SDK's message can quote the connection string; say only which part is wrong.
        throw new ValidationError('Azure storage connection string is malformed (expected AccountName/AccountKey or SharedAccessSignature and endpoints)', 'connectionString', { cause: new Error(redact(String((error as Error).message), secrets)) });
      }
    }
    case 'shared-key': {
      const endpoint = auth.endpoint ?? `https://${auth.accountName}.blob.core.windows.net`;
      return { service: new BlobServiceClient(endpoint, new StorageSharedKeyCredential(auth.accountName, auth.accountKey), pipeline), secrets: [auth.accountKey] };
    }
    case 'sas': {
      const endpoint = auth.endpoint ?? `https://${auth.accountName}.blob.core.windows.net`;
      const token = auth.sasToken.replace(/^\?/, '');
      return { service: new BlobServiceClient(`${endpoint.replace(/\/+$/, '')}?${token}`, undefined, pipeline), secrets: [token, ...token.split('&').filter((part) => part.startsWith('sig=')).map((part) => part.slice(4))] };
    }
  }
}

function statusOf(error: unknown): number | undefined {
  const status = (error as { statusCode?: unknown } | null)?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/** Azure's error code (`BlobNotFound`), from the response header when the body had none (HEAD). */
function azureCode(error: unknown): string | undefined {
  const source = error as { code?: unknown; details?: { errorCode?: unknown } } | null;
  if (typeof source?.details?.errorCode === 'string') return source.details.errorCode;
  return typeof source?.code === 'string' ? source.code : undefined;
}

function positiveInteger(value: number, field: string): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new ValidationError(`${field} must be a positive integer`, field);
  return value;
}
