import { access, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { AppDeps } from '../app/deps.js';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { recoveryWindowStoreOf } from '../catalog/sqlite-recovery-window-store.js';
import { KeyFileKeyProvider, PassphraseKeyProvider } from '../keys/local-key-provider.js';
import { systemClock } from '../ports/clock.js';
import type { Catalog } from '../ports/catalog.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { Logger } from '../ports/logger.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { Progress } from '../ports/progress.js';
import { Repository } from '../repository/repository.js';
import { ThrottledObjectStorage } from '../storage/throttled-object-storage.js';
import { jsonLogger } from '../util/json-logger.js';
import type { KeySetting, LocalSettings } from './local-settings.js';
import { openLocation } from './open-location.js';

/**
 * One storage call that has not finished after this long is a stall: it is abandoned and retried. Long
 * enough for a 16 MiB pack over a 0.5 Mbit/s uplink; a healthy call takes milliseconds to seconds.
 */
export const STORAGE_ATTEMPT_TIMEOUT_MS = 5 * 60_000;

export interface LocalRuntimeOptions {
  progress: Progress;
  /** The command may create a repository (backup, init): a missing default key file is then created. */
  mayCreate: boolean;
  /** Where a remote repository's credentials come from. Default: the process environment. */
  env?: NodeJS.ProcessEnv;
  /**
   * An open catalog to use instead of opening `settings.catalogPath` (the local server shares one
   * connection across its jobs). The caller keeps ownership: the returned deps' catalog must then not be
   * closed by the job.
   */
  catalog?: Catalog;
}

/**
 * The composition root of the embedded mode: a local folder repository (or a remote one named by URL),
 * a SQLite catalog and a local key, all under one home directory. A new user needs no configuration at all.
 */
export async function localRuntime(settings: LocalSettings, options: LocalRuntimeOptions): Promise<AppDeps> {
  await mkdir(settings.home, { recursive: true, mode: 0o700 });
  const logger = jsonLogger(settings.logLevel);
  // The catalog first: `--repo @name` names a storage backend recorded in it.
  const catalog = options.catalog ?? SqliteCatalog.open(settings.catalogPath);
  let storage: ObjectStorage;
  let keys: KeyProvider;
  try {
    ({ storage } = await openLocalStorage(settings.repository, settings, logger, options.env ?? process.env, catalog));
    keys = await keyProvider(settings.key, options.mayCreate && !(await Repository.exists(storage)));
  } catch (error) {
    if (options.catalog === undefined) await catalog.close();
    throw error;
  }
  return {
    storage,
    keys,
    catalog,
    clock: systemClock,
    progress: options.progress,
    hostname: hostname(),
    logger,
    ...(settings.maxParallelUploads !== undefined ? { maxParallelUploads: settings.maxParallelUploads } : {}),
    ...withRecoveryWindowStore(catalog),
  };
}

/** The catalog's recoverability-window store, when it has one (a SQLite catalog does). */
function withRecoveryWindowStore(catalog: Catalog): Pick<AppDeps, 'recoveryWindowStore'> {
  const store = recoveryWindowStoreOf(catalog);
  return store ? { recoveryWindowStore: store } : {};
}

/**
 * Opens a storage location the way every command uses it: the backend's adapter (a folder or a URL)
 * behind the retry decorator with a per-attempt timeout, behind the bandwidth limit when one is set.
 * The limit sits outside the retries so that waiting for bandwidth never counts as a stalled attempt.
 * `close` releases the backend's connections.
 */
export async function openLocalStorage(
  location: string,
  settings: Pick<LocalSettings, 'bandwidthLimitMbps'>,
  logger: Logger,
  env: NodeJS.ProcessEnv,
  catalog?: Catalog,
): Promise<{ storage: ObjectStorage; close: () => Promise<void> }> {
  const opened = await openLocation(location, {
    ...(catalog ? { catalog } : {}),
    env,
    retry: { attemptTimeoutMs: STORAGE_ATTEMPT_TIMEOUT_MS, onRetry: (retry) => logger.warn('storage call failed, retrying', { ...retry }) },
  });
  const storage = settings.bandwidthLimitMbps !== undefined ? new ThrottledObjectStorage(opened, { mbps: settings.bandwidthLimitMbps }) : opened;
  return { storage, close: () => opened.close() };
}

export async function keyProvider(setting: KeySetting, mayCreateKeyFile: boolean): Promise<KeyProvider> {
  if (setting.kind === 'passphrase') return new PassphraseKeyProvider(setting.passphrase);
  const exists = await access(setting.path).then(() => true, () => false);
  // Only the default key of a brand-new repository is generated; any other missing key is an error.
  if (!exists && setting.isDefault && mayCreateKeyFile) return KeyFileKeyProvider.create(setting.path);
  return new KeyFileKeyProvider(setting.path);
}
