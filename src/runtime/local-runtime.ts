import { access, mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { AppDeps } from '../app/deps.js';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { KeyFileKeyProvider, PassphraseKeyProvider } from '../keys/local-key-provider.js';
import { systemClock } from '../ports/clock.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { Progress } from '../ports/progress.js';
import { Repository } from '../repository/repository.js';
import { openStorage } from '../storage/open-storage.js';
import { jsonLogger } from '../util/json-logger.js';
import type { KeySetting, LocalSettings } from './local-settings.js';

export interface LocalRuntimeOptions {
  progress: Progress;
  /** The command may create a repository (backup, init): a missing default key file is then created. */
  mayCreate: boolean;
  /** Where a remote repository's credentials come from. Default: the process environment. */
  env?: NodeJS.ProcessEnv;
}

/**
 * The composition root of the embedded mode: a local folder repository (or a remote one named by URL),
 * a SQLite catalog and a local key, all under one home directory. A new user needs no configuration at all.
 */
export async function localRuntime(settings: LocalSettings, options: LocalRuntimeOptions): Promise<AppDeps> {
  await mkdir(settings.home, { recursive: true, mode: 0o700 });
  // A folder opens as a LocalObjectStorage, a URL as its backend's adapter; both behind the retry decorator.
  const logger = jsonLogger(settings.logLevel);
  const storage = await openStorage(settings.repository, {
    env: options.env ?? process.env,
    retry: { onRetry: (retry) => logger.warn('storage call failed, retrying', { ...retry }) },
  });
  const keys = await keyProvider(settings.key, options.mayCreate && !(await Repository.exists(storage)));
  return {
    storage,
    keys,
    catalog: SqliteCatalog.open(settings.catalogPath),
    clock: systemClock,
    progress: options.progress,
    hostname: hostname(),
    logger,
  };
}

export async function keyProvider(setting: KeySetting, mayCreateKeyFile: boolean): Promise<KeyProvider> {
  if (setting.kind === 'passphrase') return new PassphraseKeyProvider(setting.passphrase);
  const exists = await access(setting.path).then(() => true, () => false);
  // Only the default key of a brand-new repository is generated; any other missing key is an error.
  if (!exists && setting.isDefault && mayCreateKeyFile) return KeyFileKeyProvider.create(setting.path);
  return new KeyFileKeyProvider(setting.path);
}
