import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { ValidationError } from '../domain/errors.js';
import { isStorageUrl, parseStorageLocation } from '../storage/open-storage.js';

/** How the local runtime finds its repository, catalog and key. Derived from the environment only. */
export interface LocalSettings {
  home: string;
  /**
   * The repository: an absolute folder path, a storage URL (`s3://bucket/prefix`, `gs://…`,
   * `azure://…`, `sftp://…`, `ftp://…`, `ftps://…`, `file://…`) kept as given (see storage/open-storage.ts),
   * or `@name` for a named storage backend of the catalog (see runtime/open-location.ts).
   */
  repository: string;
  catalogPath: string;
  key: KeySetting;
  logLevel: LogLevel;
  /** Packs uploading at once (`max_parallel_uploads`); absent: the writer's default. */
  maxParallelUploads?: number;
  /** Megabits per second shared by uploads and downloads (`bandwidth_limit_mbps`); absent: unlimited. */
  bandwidthLimitMbps?: number;
}

export type KeySetting =
  | { kind: 'passphrase'; passphrase: string; source: string }
  | { kind: 'key-file'; path: string; /** True when it is the default path, which a first backup may create. */ isDefault: boolean };

/** More parallel uploads than this buys nothing but open connections and staging files. */
export const MAX_PARALLEL_UPLOADS_LIMIT = 64;

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * Embedded defaults: everything under CHRONO_BACKUP_HOME (default ~/.chrono-backup). CHRONO_BACKUP_REPO,
 * then the spec's BACKUP_LOCAL_PATH, choose another repository folder or a storage URL. CHRONO_BACKUP_PASSPHRASE, then
 * the spec's BACKUP_ENCRYPTION_KEY (used as a passphrase), then CHRONO_BACKUP_KEY_FILE, then the key
 * file `<home>/key` choose the key. CHRONO_BACKUP_MAX_PARALLEL_UPLOADS (1–64) and
 * CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS (megabits per second) tune the transfer to the storage.
 */
export function localSettings(env: NodeJS.ProcessEnv, overrides: { repository?: string } = {}): LocalSettings {
  const home = resolve(env.CHRONO_BACKUP_HOME || join(homedir(), '.chrono-backup'));
  const repository = repositorySetting(env, home, overrides.repository);
  const level = (env.BACKUP_LOG_LEVEL || env.CHRONO_BACKUP_LOG_LEVEL || 'warn').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(level)) {
    const variable = env.BACKUP_LOG_LEVEL ? 'BACKUP_LOG_LEVEL' : 'CHRONO_BACKUP_LOG_LEVEL';
    throw new ValidationError(`${variable} must be one of ${LOG_LEVELS.join(', ')} (got "${level}")`, variable);
  }
  const maxParallelUploads = parallelUploadsSetting(env.CHRONO_BACKUP_MAX_PARALLEL_UPLOADS);
  const bandwidthLimitMbps = bandwidthSetting(env.CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS);
  return {
    home,
    repository,
    catalogPath: join(home, 'catalog.sqlite'),
    key: keySetting(env, home),
    logLevel: level as LogLevel,
    // Absent rather than undefined when unset, so the settings read the same as before these existed.
    ...(maxParallelUploads !== undefined ? { maxParallelUploads } : {}),
    ...(bandwidthLimitMbps !== undefined ? { bandwidthLimitMbps } : {}),
  };
}

function parallelUploadsSetting(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value.trim());
  if (!Number.isInteger(number) || number < 1 || number > MAX_PARALLEL_UPLOADS_LIMIT) {
    throw new ValidationError(`CHRONO_BACKUP_MAX_PARALLEL_UPLOADS must be a whole number from 1 to ${MAX_PARALLEL_UPLOADS_LIMIT} (got ${JSON.stringify(value.slice(0, 20))})`, 'CHRONO_BACKUP_MAX_PARALLEL_UPLOADS');
  }
  return number;
}

function bandwidthSetting(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const number = Number(value.trim());
  if (!Number.isFinite(number) || number <= 0) {
    throw new ValidationError(`CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS must be a positive number of megabits per second, e.g. 40 or 0.5 (got ${JSON.stringify(value.slice(0, 20))})`, 'CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS');
  }
  return number;
}

/**
 * `--repo`, then CHRONO_BACKUP_REPO, then BACKUP_LOCAL_PATH, then `<home>/repo`. Paths resolve against the
 * working directory; URLs are checked here (a ValidationError names the setting and the bad part) and
 * kept as given, so their credentials are still read from the environment only when the storage opens.
 */
function repositorySetting(env: NodeJS.ProcessEnv, home: string, override: string | undefined): string {
  const [value, source] = override ? [override, '--repo'] : env.CHRONO_BACKUP_REPO ? [env.CHRONO_BACKUP_REPO, 'CHRONO_BACKUP_REPO'] : env.BACKUP_LOCAL_PATH ? [env.BACKUP_LOCAL_PATH, 'BACKUP_LOCAL_PATH'] : [join(home, 'repo'), 'repository'];
  // `@name`: a storage backend recorded in the catalog, looked up when the runtime opens the storage.
  if (value.trim().startsWith('@')) {
    if (!/^@[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value.trim())) throw new ValidationError(`${source}: "@" must be followed by a storage backend name`, source);
    return value.trim();
  }
  if (!isStorageUrl(value)) return resolve(value);
  parseStorageLocation(value, source);
  return value.trim();
}

function keySetting(env: NodeJS.ProcessEnv, home: string): KeySetting {
  if (env.CHRONO_BACKUP_PASSPHRASE) return { kind: 'passphrase', passphrase: env.CHRONO_BACKUP_PASSPHRASE, source: 'CHRONO_BACKUP_PASSPHRASE' };
  if (env.BACKUP_ENCRYPTION_KEY) return { kind: 'passphrase', passphrase: env.BACKUP_ENCRYPTION_KEY, source: 'BACKUP_ENCRYPTION_KEY' };
  if (env.CHRONO_BACKUP_KEY_FILE) return { kind: 'key-file', path: resolve(env.CHRONO_BACKUP_KEY_FILE), isDefault: false };
  return { kind: 'key-file', path: join(home, 'key'), isDefault: true };
}
