import { isAbsolute } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { STORAGE_BACKEND_TYPES, type NewStorageBackend, type StorageBackendType } from '../ports/catalog.js';
import { NAME_RULES, type LocationSecrets, type StorageLocation } from './open-storage.js';
import { AZURE_ACCESS_TIERS, GCS_STORAGE_CLASSES, normalizeRootPrefix, S3_STORAGE_CLASSES } from './remote-storage-support.js';

/**
 * Named storage backends: the (name, type, config) objects the API refers to by `storage_backend_id`,
 * validated here before the catalog stores them, and turned into a StorageLocation when opened.
 *
 * Config keys follow the API's snake_case (`config_data.bucket_name`), and every error names the bad key
 * that way. Secrets (keys, passwords, connection strings) are never stored: a secret setting only takes a
 * reference `env:NAME` to an environment variable of the process that opens the backend, resolved at
 * open time. Unknown keys are refused, so a typo (or a secret under a name we do not know) is not kept.
 */

/** A secret reference: `env:NAME`. */
const ENV_REFERENCE = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;
const BACKEND_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

type Kind = 'text' | 'boolean' | 'port' | 'absolute-path' | 'server-path' | 'prefix' | 'endpoint' | 'secret' | 'fingerprints' | readonly string[];

interface Setting {
  kind: Kind;
  required?: boolean;
  /** For `secret`: the variable suggested in the message that refuses a plain value. */
  example?: string;
}

const S3_SETTINGS: Record<string, Setting> = {
  bucket_name: { kind: 'text', required: true },
  prefix: { kind: 'prefix' },
  region: { kind: 'text' },
  endpoint_url: { kind: 'endpoint' },
  force_path_style: { kind: 'boolean' },
  storage_class: { kind: S3_STORAGE_CLASSES },
  server_side_encryption: { kind: ['AES256', 'aws:kms'] },
  kms_key_id: { kind: 'text' },
  access_key_id: { kind: 'secret', example: 'AWS_ACCESS_KEY_ID' },
  secret_access_key: { kind: 'secret', example: 'AWS_SECRET_ACCESS_KEY' },
  session_token: { kind: 'secret', example: 'AWS_SESSION_TOKEN' },
};

const SETTINGS: Record<StorageBackendType, Record<string, Setting>> = {
  local: { base_path: { kind: 'absolute-path', required: true } },
  aws_s3: S3_SETTINGS,
  s3_compatible: { ...S3_SETTINGS, endpoint_url: { kind: 'endpoint', required: true } },
  gcs: {
    bucket_name: { kind: 'text', required: true },
    prefix: { kind: 'prefix' },
    project_id: { kind: 'text' },
    endpoint_url: { kind: 'endpoint' },
    storage_class: { kind: GCS_STORAGE_CLASSES },
    kms_key_name: { kind: 'text' },
    // A path to a service-account key file: the file is the secret, its path is not.
    credentials_file: { kind: 'absolute-path' },
  },
  azure: {
    container_name: { kind: 'text', required: true },
    prefix: { kind: 'prefix' },
    access_tier: { kind: AZURE_ACCESS_TIERS },
    account_name: { kind: 'text' },
    connection_string: { kind: 'secret', example: 'AZURE_STORAGE_CONNECTION_STRING' },
    account_key: { kind: 'secret', example: 'AZURE_STORAGE_KEY' },
    sas_token: { kind: 'secret', example: 'AZURE_STORAGE_SAS_TOKEN' },
  },
  sftp: {
    host: { kind: 'text', required: true },
    port: { kind: 'port' },
    username: { kind: 'text' },
    path: { kind: 'server-path', required: true },
    host_key_fingerprints: { kind: 'fingerprints' },
    private_key_file: { kind: 'absolute-path' },
    private_key_passphrase: { kind: 'secret', example: 'CHRONO_BACKUP_SFTP_KEY_PASSPHRASE' },
    password: { kind: 'secret', example: 'CHRONO_BACKUP_SFTP_PASSWORD' },
  },
  ftp: {
    host: { kind: 'text', required: true },
    port: { kind: 'port' },
    username: { kind: 'text' },
    path: { kind: 'server-path', required: true },
    tls: { kind: 'boolean' },
    ca_file: { kind: 'absolute-path' },
    password: { kind: 'secret', example: 'CHRONO_BACKUP_FTP_PASSWORD' },
  },
};

/**
 * Checks a backend before it is stored: its name, its type (`backend_type`) and every key of its config
 * (`config_data.<key>`). Returns the backend with a normalized config (prefixes without outer slashes).
 *
 * @throws ValidationError naming the bad field; a secret given as a plain value is refused with a message
 *   that says how to pass it (never repeating the value).
 */
export function validateStorageBackend(input: { name: unknown; type: unknown; config: unknown }): NewStorageBackend {
  if (typeof input.name !== 'string' || !BACKEND_NAME.test(input.name)) {
    throw new ValidationError('name must be 1-64 letters, digits, dots, dashes or underscores, starting with a letter or digit', 'name');
  }
  if (typeof input.type !== 'string' || !(STORAGE_BACKEND_TYPES as readonly string[]).includes(input.type)) {
    throw new ValidationError(`backend_type must be one of ${STORAGE_BACKEND_TYPES.join(', ')} (got ${JSON.stringify(String(input.type).slice(0, 40))})`, 'backend_type');
  }
  const type = input.type as StorageBackendType;
  if (typeof input.config !== 'object' || input.config === null || Array.isArray(input.config)) throw new ValidationError('config_data must be an object', 'config_data');
  const settings = SETTINGS[type];
  const given = input.config as Record<string, unknown>;
  const config: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(given)) {
    const setting = settings[key];
    if (setting === undefined) {
      throw new ValidationError(`config_data.${key.slice(0, 50)}: unknown setting for ${type} backends (known: ${Object.keys(settings).join(', ')})`, `config_data.${key.slice(0, 50)}`);
    }
    if (value === undefined || value === null) continue;
    config[key] = checkSetting(type, key, setting, value);
  }
  for (const [key, setting] of Object.entries(settings)) {
    if (setting.required && config[key] === undefined) throw new ValidationError(`config_data.${key} is required for ${type} backends`, `config_data.${key}`);
  }
  if (type === 'aws_s3' || type === 's3_compatible') {
    const [pattern, rule] = NAME_RULES.s3;
    if (!pattern.test(config.bucket_name as string)) throw new ValidationError(`config_data.bucket_name is invalid: ${rule}`, 'config_data.bucket_name');
    if (config.kms_key_id !== undefined && config.server_side_encryption !== 'aws:kms') throw new ValidationError('config_data.kms_key_id needs server_side_encryption "aws:kms"', 'config_data.kms_key_id');
    if ((config.access_key_id === undefined) !== (config.secret_access_key === undefined)) {
      throw new ValidationError('config_data.access_key_id and config_data.secret_access_key go together', config.access_key_id === undefined ? 'config_data.access_key_id' : 'config_data.secret_access_key');
    }
  }
  if (type === 'gcs') {
    const [pattern, rule] = NAME_RULES.gcs;
    if (!pattern.test(config.bucket_name as string)) throw new ValidationError(`config_data.bucket_name is invalid: ${rule}`, 'config_data.bucket_name');
  }
  if (type === 'azure') {
    const [pattern, rule] = NAME_RULES.azure;
    if (!pattern.test(config.container_name as string)) throw new ValidationError(`config_data.container_name is invalid: ${rule}`, 'config_data.container_name');
    if ((config.account_key !== undefined || config.sas_token !== undefined) && config.account_name === undefined) {
      throw new ValidationError('config_data.account_name is required with account_key or sas_token', 'config_data.account_name');
    }
  }
  return { name: input.name, type, config };
}

function checkSetting(type: StorageBackendType, key: string, setting: Setting, value: unknown): unknown {
  const field = `config_data.${key}`;
  const fail = (rule: string): never => {
    throw new ValidationError(`${field} ${rule}`, field);
  };
  const kind = setting.kind;
  if (kind === 'secret') {
    // Checked before the type: whatever was given, its value must not reach the message or the catalog.
    if (typeof value === 'string' && ENV_REFERENCE.test(value)) return value;
    return fail(
      `is a secret and secrets are never stored in the catalog: set it in an environment variable of the process that opens the backend and give its name here as "env:NAME" (for example "env:${setting.example ?? 'NAME'}")`,
    );
  }
  if (Array.isArray(kind)) {
    const match = typeof value === 'string' ? kind.find((choice) => choice.toLowerCase() === value.toLowerCase()) : undefined;
    return match ?? fail(`must be one of ${kind.join(', ')}`);
  }
  switch (kind) {
    case 'boolean':
      return typeof value === 'boolean' ? value : fail('must be true or false');
    case 'port':
      return Number.isInteger(value) && (value as number) >= 1 && (value as number) <= 65535 ? value : fail('must be an integer from 1 to 65535');
    case 'fingerprints':
      if (!Array.isArray(value) || value.length === 0 || !value.every((f) => typeof f === 'string' && /^SHA256:[A-Za-z0-9+/]{43}=?$/.test(f))) {
        return fail('must be a list of SHA256:… host key fingerprints (as ssh-keygen -l prints them)');
      }
      return value;
  }
  if (typeof value !== 'string' || value.trim() === '') return fail('must be a non-empty string');
  // Any setting may be mistaken for a place for credentials: refuse URLs that carry them.
  if (/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/@]*@/.test(value)) return fail('must not carry credentials (user:password@); secrets go in environment variables, as "env:NAME" references');
  switch (kind) {
    case 'text':
      return value.trim();
    case 'absolute-path':
      return isAbsolute(value) ? value : fail('must be an absolute path');
    case 'prefix':
      return normalizeRootPrefix(value, field).replace(/\/$/, '');
    case 'server-path': {
      // `/abs/dir`, or `dir` below the login directory; `.` and `..` would climb out of what was named.
      if (value.split('/').some((segment) => segment === '.' || segment === '..')) return fail("must not contain '.' or '..'");
      return value;
    }
    case 'endpoint': {
      let url: URL;
      try {
        url = new URL(value);
      } catch {
        return fail(`must be an http(s) URL for ${type} backends`);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') return fail('must be an http(s) URL');
      return value.replace(/\/+$/, '');
    }
  }
}

/** What opening a backend needs: its location, secrets kept apart, and the environment its credentials come from. */
export interface ResolvedBackend {
  location: StorageLocation;
  secrets: LocationSecrets;
  /** `env` with the backend's settings applied (credentials of `env:NAME` references under the names each adapter reads). */
  env: Record<string, string | undefined>;
}

/**
 * Turns a stored backend into the StorageLocation the adapters open (see openStorageLocation), resolving
 * its `env:NAME` references in `env`. The result holds secrets only in `secrets` and `env`, which are
 * handed to the adapter and never shown.
 *
 * @throws ValidationError naming the config key whose environment variable is not set.
 */
export function locationFromBackend(backend: NewStorageBackend, env: Record<string, string | undefined>): ResolvedBackend {
  const config = backend.config;
  const text = (key: string): string | undefined => (typeof config[key] === 'string' ? (config[key] as string) : undefined);
  const overlay: Record<string, string | undefined> = { ...env };
  const secrets: LocationSecrets = {};
  const resolveSecret = (key: string): string | undefined => {
    const reference = text(key);
    if (reference === undefined) return undefined;
    const name = ENV_REFERENCE.exec(reference)?.[1];
    const value = name === undefined ? undefined : env[name];
    if (name === undefined || value === undefined || value === '') {
      throw new ValidationError(`storage backend "${backend.name}": config_data.${key} refers to environment variable ${name ?? '(invalid reference)'}, which is not set`, `config_data.${key}`);
    }
    return value;
  };
  const setEnv = (variable: string, value: string | undefined): void => {
    if (value !== undefined) overlay[variable] = value;
  };
  const optional = <K extends string, V>(name: K, value: V | undefined) => (value === undefined ? {} : { [name]: value }) as { [P in K]?: V };
  let location: StorageLocation;
  switch (backend.type) {
    case 'local':
      location = { kind: 'local', path: text('base_path')! };
      break;
    case 'aws_s3':
    case 's3_compatible': {
      setEnv('AWS_ACCESS_KEY_ID', resolveSecret('access_key_id'));
      setEnv('AWS_SECRET_ACCESS_KEY', resolveSecret('secret_access_key'));
      setEnv('AWS_SESSION_TOKEN', resolveSecret('session_token'));
      const sse = text('server_side_encryption');
      location = {
        kind: 's3',
        bucket: text('bucket_name')!,
        prefix: text('prefix') ?? '',
        ...optional('region', text('region')),
        ...optional('endpoint', text('endpoint_url')),
        ...optional('forcePathStyle', typeof config.force_path_style === 'boolean' ? config.force_path_style : undefined),
        ...optional('storageClass', text('storage_class') as Extract<StorageLocation, { kind: 's3' }>['storageClass']),
        ...optional('serverSideEncryption', sse === 'aws:kms' ? { kind: 'kms' as const, ...optional('keyId', text('kms_key_id')) } : sse === 'AES256' ? { kind: 's3' as const } : undefined),
      };
      break;
    }
    case 'gcs':
      setEnv('GOOGLE_APPLICATION_CREDENTIALS', text('credentials_file'));
      location = {
        kind: 'gcs',
        bucket: text('bucket_name')!,
        prefix: text('prefix') ?? '',
        ...optional('endpoint', text('endpoint_url')),
        ...optional('projectId', text('project_id')),
        ...optional('storageClass', text('storage_class') as Extract<StorageLocation, { kind: 'gcs' }>['storageClass']),
        ...optional('kmsKeyName', text('kms_key_name')),
      };
      break;
    case 'azure':
      setEnv('AZURE_STORAGE_CONNECTION_STRING', resolveSecret('connection_string'));
      setEnv('AZURE_STORAGE_ACCOUNT', text('account_name'));
      setEnv('AZURE_STORAGE_KEY', resolveSecret('account_key'));
      setEnv('AZURE_STORAGE_SAS_TOKEN', resolveSecret('sas_token'));
      location = {
        kind: 'azure',
        container: text('container_name')!,
        prefix: text('prefix') ?? '',
        ...optional('accessTier', text('access_tier') as Extract<StorageLocation, { kind: 'azure' }>['accessTier']),
      };
      break;
    case 'sftp': {
      setEnv('CHRONO_BACKUP_SFTP_KEY_FILE', text('private_key_file'));
      setEnv('CHRONO_BACKUP_SFTP_KEY_PASSPHRASE', resolveSecret('private_key_passphrase'));
      const password = resolveSecret('password');
      if (password !== undefined) secrets.password = password;
      location = {
        kind: 'sftp',
        host: text('host')!,
        port: typeof config.port === 'number' ? config.port : 22,
        ...optional('username', text('username')),
        path: text('path')!,
        ...optional('hostKeyFingerprints', Array.isArray(config.host_key_fingerprints) ? (config.host_key_fingerprints as string[]) : undefined),
      };
      break;
    }
    case 'ftp': {
      setEnv('CHRONO_BACKUP_FTPS_CA_FILE', text('ca_file'));
      const password = resolveSecret('password');
      if (password !== undefined) secrets.password = password;
      location = {
        kind: 'ftp',
        host: text('host')!,
        port: typeof config.port === 'number' ? config.port : 21,
        ...optional('username', text('username')),
        path: text('path')!,
        security: config.tls === true ? 'explicit-tls' : 'none',
      };
      break;
    }
  }
  return { location, secrets, env: overlay };
}

/**
 * The backend type and config for a parsed location URL (`storage add NAME URL`). A URL's password is
 * a secret: the caller refuses it (see LocationSecrets) before calling this.
 */
export function backendFromLocation(location: StorageLocation): { type: StorageBackendType; config: Record<string, unknown> } {
  const defined = (config: Record<string, unknown>) => Object.fromEntries(Object.entries(config).filter(([, value]) => value !== undefined && value !== ''));
  switch (location.kind) {
    case 'local':
      return { type: 'local', config: { base_path: location.path } };
    case 's3':
      return {
        type: location.endpoint !== undefined ? 's3_compatible' : 'aws_s3',
        config: defined({
          bucket_name: location.bucket,
          prefix: location.prefix,
          region: location.region,
          endpoint_url: location.endpoint,
          force_path_style: location.forcePathStyle,
          storage_class: location.storageClass,
          server_side_encryption: location.serverSideEncryption === undefined ? undefined : location.serverSideEncryption.kind === 'kms' ? 'aws:kms' : 'AES256',
          kms_key_id: location.serverSideEncryption?.kind === 'kms' ? location.serverSideEncryption.keyId : undefined,
        }),
      };
    case 'gcs':
      return { type: 'gcs', config: defined({ bucket_name: location.bucket, prefix: location.prefix, endpoint_url: location.endpoint, project_id: location.projectId, storage_class: location.storageClass, kms_key_name: location.kmsKeyName }) };
    case 'azure':
      return { type: 'azure', config: defined({ container_name: location.container, prefix: location.prefix, access_tier: location.accessTier }) };
    case 'sftp':
      return { type: 'sftp', config: defined({ host: location.host, port: location.port, username: location.username, path: location.path, host_key_fingerprints: location.hostKeyFingerprints }) };
    case 'ftp':
      return { type: 'ftp', config: defined({ host: location.host, port: location.port, username: location.username, path: location.path, tls: location.security === 'explicit-tls' ? true : undefined }) };
  }
}
