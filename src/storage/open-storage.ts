import { readFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../domain/errors.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { AzureAuth } from './azure-object-storage.js';
import { LocalObjectStorage } from './local-object-storage.js';
import { AZURE_ACCESS_TIERS, GCS_STORAGE_CLASSES, S3_STORAGE_CLASSES, type AzureAccessTier, type GcsStorageClass, type S3StorageClass } from './remote-storage-support.js';
import { RetryingObjectStorage, type RetryOptions } from './retrying-object-storage.js';
import type { S3ServerSideEncryption } from './s3-object-storage.js';
import type { SftpCredentials, SftpHostKey } from './sftp-object-storage.js';

/**
 * Where a repository lives, parsed from a location string (a URL or a path). It carries no credentials:
 * those come from each ecosystem's usual places when the storage is opened, so a location can be shown,
 * logged and stored. A named storage backend (later: a catalog object with a type and a config) maps to
 * the same union and opens through {@link openStorageLocation}.
 */
export type StorageLocation =
  | { kind: 'local'; path: string }
  | {
      kind: 's3';
      bucket: string;
      prefix: string;
      region?: string;
      endpoint?: string;
      forcePathStyle?: boolean;
      storageClass?: S3StorageClass;
      serverSideEncryption?: S3ServerSideEncryption;
      requestChecksumCalculation?: 'WHEN_SUPPORTED' | 'WHEN_REQUIRED';
    }
  | { kind: 'gcs'; bucket: string; prefix: string; endpoint?: string; projectId?: string; storageClass?: GcsStorageClass; kmsKeyName?: string }
  | { kind: 'azure'; container: string; prefix: string; accessTier?: AzureAccessTier }
  | { kind: 'sftp'; host: string; port: number; username?: string; path: string; hostKeyFingerprints?: string[] }
  | { kind: 'ftp'; host: string; port: number; username?: string; path: string; security: 'none' | 'explicit-tls' };

/**
 * Secrets a URL may carry in its user-info (`ftp://user:password@host`). Kept apart from the location
 * so that nothing that displays or stores the location can leak them.
 */
export interface LocationSecrets {
  password?: string;
}

const URL_LIKE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;

/**
 * Bucket and container naming rules (pattern, and the rule in words), shared by URL parsing and by the
 * validation of named storage backends (storage-backend-config.ts).
 */
export const NAME_RULES = {
  s3: [/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'S3 bucket names are 3-63 lowercase letters, digits, dots and dashes'],
  gcs: [/^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/, 'GCS bucket names are lowercase letters, digits, dots, dashes and underscores'],
  azure: [/^[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}$/, 'Azure container names are 3-63 lowercase letters, digits and single dashes'],
} as const satisfies Record<string, readonly [RegExp, string]>;

/** Provider kinds, for replication policies ("copies on at least N providers"). */
export type ProviderKind = 's3' | 'gcs' | 'azure' | 'sftp' | 'ftp' | 'local';

/** The provider kind of an opened storage's `location` (a URL from an adapter, or a folder path). */
export function providerOf(location: string): ProviderKind {
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(location.trim())?.[1]?.toLowerCase();
  switch (scheme) {
    case 's3':
      return 's3';
    case 'gs':
      return 'gcs';
    case 'azure':
      return 'azure';
    case 'sftp':
      return 'sftp';
    case 'ftp':
    case 'ftps':
      return 'ftp';
    default:
      return 'local';
  }
}

/** True when `location` is a URL (`scheme://…`) rather than a local path. */
export function isStorageUrl(location: string): boolean {
  return URL_LIKE.test(location.trim());
}

/**
 * Parses a repository location:
 *
 * - a path, or `file:///path`: a local folder (relative paths resolve against the working directory);
 * - `s3://bucket/prefix?region=…&endpoint=…&path-style=true&storage-class=STANDARD_IA&sse=kms&sse-kms-key-id=…&checksums=when-required`;
 * - `gs://bucket/prefix?storage-class=NEARLINE&kms-key=…&endpoint=…&project=…`;
 * - `azure://container/prefix?tier=Cool`;
 * - `sftp://user@host:port/absolute/path` (`/~/dir` for a path below the login directory; `?host-key=SHA256:…` pins the host key);
 * - `ftp://user@host:port/path` and `ftps://…` (explicit TLS).
 *
 * Throws a ValidationError whose message and `field` name the bad part. A password in the URL is returned
 * apart, never in the location.
 */
export function parseStorageLocation(location: string, field = 'repository'): { location: StorageLocation; secrets: LocationSecrets } {
  if (typeof location !== 'string' || location.trim() === '') throw new ValidationError(`${field} must be a folder path or a storage URL`, field);
  const text = location.trim();
  if (!URL_LIKE.test(text)) return { location: { kind: 'local', path: resolve(text) }, secrets: {} };
  // Checked on the text: URL parsing would silently resolve `..` and refuse big ports without saying why.
  const authorityPort = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/(?:[^@/?#]*@)?(?:\[[^\]]*\]|[^:/?#]*):(\d+)(?:[/?#]|$)/.exec(text)?.[1];
  if (authorityPort !== undefined && Number(authorityPort) > 65535) throw new ValidationError(`${field}: port ${authorityPort} is out of range`, `${field}.port`);
  const rawPath = text.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#]*/, '').split(/[?#]/)[0]!;
  if (rawPath.split('/').some((segment) => /^(\.|%2e){1,2}$/i.test(segment))) throw new ValidationError(`${field}: the path must not contain '.' or '..' segments`, `${field}.path`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    // The text may hold a password: say what is wrong without repeating it.
    throw new ValidationError(`${field} is not a valid URL (${redactUrl(text)})`, field);
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  const at = (part: string) => `${field}.${part}`;
  const query = new QueryReader(url, field);
  switch (scheme) {
    case 'file': {
      if (url.host !== '' && url.host !== 'localhost') throw new ValidationError(`${field}: file URLs must name a local path (file:///path), not host ${JSON.stringify(url.host)}`, at('host'));
      refuseUserInfo(url, field, 'a local folder');
      query.done();
      return { location: { kind: 'local', path: fileURLToPath(url) }, secrets: {} };
    }
    case 's3': {
      refuseUserInfo(url, field, 'S3 (use the AWS environment variables, profile or role)');
      const bucket = requireHost(url, field, 'bucket', ...NAME_RULES.s3);
      const storageClass = query.oneOf('storage-class', S3_STORAGE_CLASSES);
      const sse = query.oneOf('sse', ['s3', 'AES256', 'kms', 'aws:kms'] as const);
      const kmsKeyId = query.text('sse-kms-key-id');
      if (kmsKeyId !== undefined && sse !== undefined && sse !== 'kms' && sse !== 'aws:kms') throw new ValidationError(`${field}: sse-kms-key-id needs sse=kms`, at('sse-kms-key-id'));
      const serverSideEncryption: S3ServerSideEncryption | undefined =
        sse === 'kms' || sse === 'aws:kms' || kmsKeyId !== undefined ? { kind: 'kms', ...(kmsKeyId !== undefined ? { keyId: kmsKeyId } : {}) } : sse !== undefined ? { kind: 's3' } : undefined;
      const checksums = query.oneOf('checksums', ['when-supported', 'when-required'] as const);
      const result: StorageLocation = {
        kind: 's3',
        bucket,
        prefix: pathPrefix(url, field),
        ...optional('region', query.text('region')),
        ...optional('endpoint', query.endpoint('endpoint')),
        ...optional('forcePathStyle', query.boolean('path-style')),
        ...optional('storageClass', storageClass),
        ...optional('serverSideEncryption', serverSideEncryption),
        ...optional('requestChecksumCalculation', checksums === undefined ? undefined : checksums === 'when-required' ? ('WHEN_REQUIRED' as const) : ('WHEN_SUPPORTED' as const)),
      };
      query.done();
      return { location: result, secrets: {} };
    }
    case 'gs': {
      refuseUserInfo(url, field, 'GCS (use GOOGLE_APPLICATION_CREDENTIALS or Application Default Credentials)');
      const bucket = requireHost(url, field, 'bucket', ...NAME_RULES.gcs);
      const result: StorageLocation = {
        kind: 'gcs',
        bucket,
        prefix: pathPrefix(url, field),
        ...optional('endpoint', query.endpoint('endpoint')),
        ...optional('projectId', query.text('project')),
        ...optional('storageClass', query.oneOf('storage-class', GCS_STORAGE_CLASSES)),
        ...optional('kmsKeyName', query.text('kms-key')),
      };
      query.done();
      return { location: result, secrets: {} };
    }
    case 'azure': {
      refuseUserInfo(url, field, 'Azure (use AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN)');
      const container = requireHost(url, field, 'container', ...NAME_RULES.azure);
      const result: StorageLocation = { kind: 'azure', container, prefix: pathPrefix(url, field), ...optional('accessTier', query.oneOf('tier', AZURE_ACCESS_TIERS)) };
      query.done();
      return { location: result, secrets: {} };
    }
    case 'sftp': {
      const host = requireServerHost(url, field);
      const fingerprints = query.text('host-key');
      const result: StorageLocation = {
        kind: 'sftp',
        host,
        port: portOf(url, field, 22),
        ...optional('username', url.username === '' ? undefined : decodeURIComponent(url.username)),
        path: serverPath(url, field),
        // URL decoding turns the '+' of base64 into a space; put it back.
        ...optional('hostKeyFingerprints', fingerprints?.split(',').map((f) => f.trim().replace(/ /g, '+'))),
      };
      query.done();
      return { location: result, secrets: passwordOf(url) };
    }
    case 'ftp':
    case 'ftps': {
      const result: StorageLocation = {
        kind: 'ftp',
        host: requireServerHost(url, field),
        port: portOf(url, field, 21),
        ...optional('username', url.username === '' ? undefined : decodeURIComponent(url.username)),
        path: serverPath(url, field),
        security: scheme === 'ftps' ? 'explicit-tls' : 'none',
      };
      query.done();
      return { location: result, secrets: passwordOf(url) };
    }
    default:
      throw new ValidationError(`${field}: unsupported storage scheme ${JSON.stringify(`${scheme}://`)}; use a folder path, file://, s3://, gs://, azure://, sftp://, ftp:// or ftps://`, at('scheme'));
  }
}

/** A location string fit to show: the URL without any password. Paths come back unchanged. */
export function redactLocation(location: string): string {
  return isStorageUrl(location) ? redactUrl(location.trim()) : location;
}

export interface OpenStorageOptions {
  /** Where credentials and endpoint overrides come from (the process environment in a CLI). */
  env: Record<string, string | undefined>;
  /** Retry settings for the RetryingObjectStorage around the adapter. */
  retry?: RetryOptions;
}

/** Parses `location` and opens it: the adapter for its scheme wrapped in a RetryingObjectStorage. */
export async function openStorage(location: string, options: OpenStorageOptions): Promise<OpenedStorage> {
  const parsed = parseStorageLocation(location);
  return openStorageLocation(parsed.location, options, parsed.secrets);
}

/**
 * Opens a parsed location, taking credentials from the usual places of each ecosystem:
 *
 * - S3: the AWS default chain (`AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`/`AWS_SESSION_TOKEN`, shared
 *   config and credentials files, SSO, container and instance roles); `AWS_REGION`; `AWS_ENDPOINT_URL_S3`
 *   or `AWS_ENDPOINT_URL` choose an S3-compatible endpoint, which then gets path-style addressing unless
 *   `path-style=false`.
 * - GCS: Application Default Credentials (`GOOGLE_APPLICATION_CREDENTIALS`, gcloud, metadata server);
 *   `GOOGLE_CLOUD_PROJECT`; `STORAGE_EMULATOR_HOST` points it at another JSON API endpoint.
 * - Azure: `AZURE_STORAGE_CONNECTION_STRING`, else `AZURE_STORAGE_ACCOUNT` with `AZURE_STORAGE_KEY` or
 *   `AZURE_STORAGE_SAS_TOKEN`.
 * - SFTP: the SSH agent (`SSH_AUTH_SOCK`), a key file (`CHRONO_BACKUP_SFTP_KEY_FILE`, else the first of
 *   ~/.ssh/id_ed25519, id_ecdsa, id_rsa; passphrase in `CHRONO_BACKUP_SFTP_KEY_PASSPHRASE`), and a
 *   password (the URL's, else `CHRONO_BACKUP_SFTP_PASSWORD`). Host keys: `?host-key=`, else
 *   `CHRONO_BACKUP_SFTP_HOST_KEY` (comma-separated SHA256 fingerprints), else known_hosts
 *   (`CHRONO_BACKUP_SFTP_KNOWN_HOSTS`, else ~/.ssh/known_hosts and /etc/ssh/ssh_known_hosts).
 * - FTP/FTPS: the URL's password, else `CHRONO_BACKUP_FTP_PASSWORD`; user `anonymous` when none is
 *   named. FTPS trusts the system CAs, `NODE_EXTRA_CA_CERTS`, and `CHRONO_BACKUP_FTPS_CA_FILE`.
 */
export async function openStorageLocation(location: StorageLocation, options: OpenStorageOptions, secrets: LocationSecrets = {}): Promise<OpenedStorage> {
  return new OpenedStorage(await adapterFor(location, options.env, secrets), options.retry);
}

/**
 * An opened repository storage: the adapter behind the retry decorator, plus `close` to release its
 * connections (SSH, FTP, HTTP keep-alive). Idle connections never keep a process alive, so a command
 * may simply exit; long-lived processes and tests close what they opened.
 */
export class OpenedStorage extends RetryingObjectStorage {
  constructor(
    private readonly adapter: ObjectStorage & { close?: () => Promise<void> | void },
    retry?: RetryOptions,
  ) {
    super(adapter, retry);
  }

  async close(): Promise<void> {
    await this.adapter.close?.();
  }
}

async function adapterFor(location: StorageLocation, env: Record<string, string | undefined>, secrets: LocationSecrets): Promise<ObjectStorage> {
  switch (location.kind) {
    case 'local':
      return new LocalObjectStorage(location.path);
    case 's3': {
      // Each SDK is loaded only when its backend is used: a local repository never pays for them.
      const { S3ObjectStorage } = await import('./s3-object-storage.js');
      const endpoint = location.endpoint ?? nonEmpty(env.AWS_ENDPOINT_URL_S3) ?? nonEmpty(env.AWS_ENDPOINT_URL);
      const region = location.region ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? (endpoint !== undefined ? 'us-east-1' : undefined);
      // Keys in the given environment are used as they are; without them the SDK's default chain looks
      // further (shared files, SSO, container and instance roles).
      const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
      const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
      const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
      return new S3ObjectStorage({
        bucket: location.bucket,
        prefix: location.prefix,
        ...optional('region', region),
        ...optional('endpoint', endpoint),
        ...optional('credentials', accessKeyId !== undefined && secretAccessKey !== undefined ? { accessKeyId, secretAccessKey, ...optional('sessionToken', sessionToken) } : undefined),
        // S3-compatible servers rarely resolve bucket subdomains; AWS itself prefers virtual-host style.
        forcePathStyle: location.forcePathStyle ?? endpoint !== undefined,
        ...optional('storageClass', location.storageClass),
        ...optional('serverSideEncryption', location.serverSideEncryption),
        ...optional('requestChecksumCalculation', location.requestChecksumCalculation),
      });
    }
    case 'gcs': {
      const { GcsObjectStorage } = await import('./gcs-object-storage.js');
      const emulator = nonEmpty(env.STORAGE_EMULATOR_HOST);
      return new GcsObjectStorage({
        bucket: location.bucket,
        prefix: location.prefix,
        ...optional('apiEndpoint', location.endpoint ?? (emulator === undefined ? undefined : /^https?:\/\//.test(emulator) ? emulator : `http://${emulator}`)),
        ...optional('projectId', location.projectId ?? nonEmpty(env.GOOGLE_CLOUD_PROJECT) ?? nonEmpty(env.GCLOUD_PROJECT)),
        ...optional('keyFilename', nonEmpty(env.GOOGLE_APPLICATION_CREDENTIALS)),
        ...optional('storageClass', location.storageClass),
        ...optional('kmsKeyName', location.kmsKeyName),
      });
    }
    case 'azure': {
      const { AzureObjectStorage } = await import('./azure-object-storage.js');
      return new AzureObjectStorage({ container: location.container, prefix: location.prefix, auth: azureAuth(env), ...optional('accessTier', location.accessTier) });
    }
    case 'sftp': {
      const { SftpObjectStorage } = await import('./sftp-object-storage.js');
      return new SftpObjectStorage({
        host: location.host,
        port: location.port,
        username: location.username ?? nonEmpty(env.USER) ?? userInfo().username,
        credentials: await sftpCredentials(env, secrets),
        hostKey: await sftpHostKey(location, env),
        root: location.path,
      });
    }
    case 'ftp': {
      const { FtpObjectStorage } = await import('./ftp-object-storage.js');
      const username = location.username ?? 'anonymous';
      const password = secrets.password ?? nonEmpty(env.CHRONO_BACKUP_FTP_PASSWORD) ?? (username === 'anonymous' ? 'anonymous@' : undefined);
      if (password === undefined) throw new ValidationError(`no FTP password for ${username}: set CHRONO_BACKUP_FTP_PASSWORD`, 'CHRONO_BACKUP_FTP_PASSWORD');
      const caFile = nonEmpty(env.CHRONO_BACKUP_FTPS_CA_FILE);
      return new FtpObjectStorage({
        host: location.host,
        port: location.port,
        username,
        password,
        security: location.security === 'explicit-tls' ? { kind: 'explicit-tls', ...(caFile !== undefined ? { ca: await readSetting(caFile, 'CHRONO_BACKUP_FTPS_CA_FILE') } : {}) } : { kind: 'none' },
        root: location.path,
      });
    }
  }
}

function azureAuth(env: Record<string, string | undefined>): AzureAuth {
  const connectionString = nonEmpty(env.AZURE_STORAGE_CONNECTION_STRING);
  if (connectionString !== undefined) return { kind: 'connection-string', connectionString };
  const accountName = nonEmpty(env.AZURE_STORAGE_ACCOUNT);
  const accountKey = nonEmpty(env.AZURE_STORAGE_KEY);
  const sasToken = nonEmpty(env.AZURE_STORAGE_SAS_TOKEN);
  if (accountName !== undefined && accountKey !== undefined) return { kind: 'shared-key', accountName, accountKey };
  if (accountName !== undefined && sasToken !== undefined) return { kind: 'sas', accountName, sasToken };
  throw new ValidationError('no Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT with AZURE_STORAGE_KEY or AZURE_STORAGE_SAS_TOKEN', 'AZURE_STORAGE_CONNECTION_STRING');
}

async function sftpCredentials(env: Record<string, string | undefined>, secrets: LocationSecrets): Promise<SftpCredentials> {
  const credentials: SftpCredentials = {};
  const agent = nonEmpty(env.SSH_AUTH_SOCK);
  if (agent !== undefined) credentials.agent = agent;
  const keyFile = nonEmpty(env.CHRONO_BACKUP_SFTP_KEY_FILE);
  if (keyFile !== undefined) {
    credentials.privateKey = await readSetting(keyFile, 'CHRONO_BACKUP_SFTP_KEY_FILE');
  } else {
    const home = nonEmpty(env.HOME) ?? homedir();
    for (const name of ['id_ed25519', 'id_ecdsa', 'id_rsa']) {
      const key = await readFile(join(home, '.ssh', name)).catch(() => undefined);
      if (key !== undefined) {
        credentials.privateKey = key;
        break;
      }
    }
  }
  const passphrase = nonEmpty(env.CHRONO_BACKUP_SFTP_KEY_PASSPHRASE);
  if (passphrase !== undefined) credentials.passphrase = passphrase;
  const password = secrets.password ?? nonEmpty(env.CHRONO_BACKUP_SFTP_PASSWORD);
  if (password !== undefined) credentials.password = password;
  if (credentials.agent === undefined && credentials.privateKey === undefined && credentials.password === undefined) {
    throw new ValidationError('no SSH credentials: start an SSH agent (SSH_AUTH_SOCK), set CHRONO_BACKUP_SFTP_KEY_FILE, put a key in ~/.ssh, or set CHRONO_BACKUP_SFTP_PASSWORD', 'CHRONO_BACKUP_SFTP_KEY_FILE');
  }
  return credentials;
}

async function sftpHostKey(location: Extract<StorageLocation, { kind: 'sftp' }>, env: Record<string, string | undefined>): Promise<SftpHostKey> {
  const pinned = location.hostKeyFingerprints ?? nonEmpty(env.CHRONO_BACKUP_SFTP_HOST_KEY)?.split(',').map((f) => f.trim());
  if (pinned !== undefined) return { kind: 'fingerprint', sha256: pinned };
  const explicit = nonEmpty(env.CHRONO_BACKUP_SFTP_KNOWN_HOSTS);
  const files = explicit !== undefined ? [explicit] : [join(nonEmpty(env.HOME) ?? homedir(), '.ssh', 'known_hosts'), '/etc/ssh/ssh_known_hosts'];
  // Missing files simply trust nothing: the connection is then refused with the key's fingerprint, to pin.
  const texts = await Promise.all(files.map((file) => (explicit !== undefined ? readSetting(file, 'CHRONO_BACKUP_SFTP_KNOWN_HOSTS') : readFile(file, 'utf8').catch(() => ''))));
  return { kind: 'known-hosts', text: texts.join('\n') };
}

async function readSetting(path: string, variable: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ValidationError(`${variable} names a file that cannot be read (${(error as { code?: string }).code ?? 'error'})`, variable);
  }
}

/** Reads query parameters, remembering which were used so that unknown ones can be refused. */
class QueryReader {
  private readonly used = new Set<string>();

  constructor(
    private readonly url: URL,
    private readonly field: string,
  ) {}

  text(name: string): string | undefined {
    this.used.add(name);
    const values = this.url.searchParams.getAll(name);
    if (values.length > 1) throw new ValidationError(`${this.field}: option ${name} is given more than once`, `${this.field}.${name}`);
    if (values.length === 0) return undefined;
    if (values[0] === '') throw new ValidationError(`${this.field}: option ${name} is empty`, `${this.field}.${name}`);
    return values[0];
  }

  oneOf<T extends string>(name: string, allowed: readonly T[]): T | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    const match = allowed.find((candidate) => candidate.toLowerCase() === value.toLowerCase());
    if (match === undefined) throw new ValidationError(`${this.field}: option ${name} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value.slice(0, 50))})`, `${this.field}.${name}`);
    return match;
  }

  boolean(name: string): boolean | undefined {
    const value = this.oneOf(name, ['true', 'false'] as const);
    return value === undefined ? undefined : value === 'true';
  }

  endpoint(name: string): string | undefined {
    const value = this.text(name);
    if (value === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(value);
    } catch {
      throw new ValidationError(`${this.field}: option ${name} must be an http(s) URL`, `${this.field}.${name}`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new ValidationError(`${this.field}: option ${name} must be an http(s) URL`, `${this.field}.${name}`);
    if (parsed.username !== '' || parsed.password !== '') throw new ValidationError(`${this.field}: option ${name} must not carry credentials`, `${this.field}.${name}`);
    return value.replace(/\/+$/, '');
  }

  done(): void {
    for (const name of new Set(this.url.searchParams.keys())) {
      if (!this.used.has(name)) throw new ValidationError(`${this.field}: unknown option ${JSON.stringify(name.slice(0, 50))} for ${this.url.protocol}// locations`, `${this.field}.${name.slice(0, 50)}`);
    }
    if (this.url.hash !== '') throw new ValidationError(`${this.field}: a location has no #fragment`, `${this.field}.fragment`);
  }
}

function refuseUserInfo(url: URL, field: string, what: string): void {
  if (url.username !== '' || url.password !== '') {
    throw new ValidationError(`${field}: credentials do not belong in the location for ${what}`, `${field}.credentials`);
  }
}

function requireHost(url: URL, field: string, part: string, pattern: RegExp, rule: string): string {
  // The bucket or container is the URL's host; URL lowercases it, so read it from the original text.
  const raw = decodeURIComponent(url.host);
  if (raw === '') throw new ValidationError(`${field}: the ${part} name is missing (${url.protocol}//${part}/prefix)`, `${field}.${part}`);
  if (url.port !== '' || !pattern.test(raw)) throw new ValidationError(`${field}: ${part} ${JSON.stringify(raw.slice(0, 100))} is invalid: ${rule}`, `${field}.${part}`);
  return raw;
}

function requireServerHost(url: URL, field: string): string {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ValidationError(`${field}: the host is missing (${url.protocol}//user@host:port/path)`, `${field}.host`);
  return host;
}

function portOf(url: URL, field: string, fallback: number): number {
  if (url.port === '') return fallback;
  const port = Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError(`${field}: port ${url.port} is out of range`, `${field}.port`);
  return port;
}

/** The key prefix of a bucket or container URL: its path without the slashes around it. */
function pathPrefix(url: URL, field: string): string {
  const segments = decodeURIComponent(url.pathname).split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '.' || segment === '..')) throw new ValidationError(`${field}: the prefix must not contain '.' or '..'`, `${field}.prefix`);
  return segments.join('/');
}

/** The directory on an SFTP/FTP server: `/abs/path`, or `/~/rel` for a path below the login directory. */
function serverPath(url: URL, field: string): string {
  const path = decodeURIComponent(url.pathname);
  const segments = path.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '.' || segment === '..')) throw new ValidationError(`${field}: the path must not contain '.' or '..'`, `${field}.path`);
  if (segments[0] === '~') return segments.slice(1).join('/');
  if (segments.length === 0) throw new ValidationError(`${field}: the path is missing; give /absolute/path, or /~/dir below the login directory`, `${field}.path`);
  return `/${segments.join('/')}`;
}

function passwordOf(url: URL): LocationSecrets {
  return url.password === '' ? {} : { password: decodeURIComponent(url.password) };
}

function redactUrl(text: string): string {
  return text.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@:]*):[^/@]*@/, '$1:***@');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** `{ name: value }` when the value is defined, else nothing: keeps optional properties absent. */
function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
}
