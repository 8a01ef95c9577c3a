import { KeyFileKeyProvider, PassphraseKeyProvider } from '../keys/local-key-provider.js';
import { localSettings, type KeySetting } from '../runtime/local-settings.js';
import type { KeyProvider } from '../ports/key-provider.js';
import { openLocation } from '../runtime/open-location.js';
import { Keyring } from '../repository/keyring.js';
import { readConfig } from '../repository/repository.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { Catalog } from '../ports/catalog.js';
import { jsonLogger } from '../util/json-logger.js';

/**
 * A storage call of wal-push or wal-fetch that has not finished after this long is abandoned and
 * retried. Shorter than a backup's limit: an archived file is at most one segment (16 MiB by
 * default, less once compressed), and PostgreSQL's archiver and recovery wait on each call.
 */
const WAL_ATTEMPT_TIMEOUT_MS = 2 * 60_000;

export interface OpenedWalRepository {
  storage: ObjectStorage;
  keyring: Keyring;
  close: () => Promise<void>;
}

/**
 * Opens the repository's storage and keys the way every command does (CHRONO_BACKUP_* settings, `--repo`)
 * but without the catalog, the index or worker threads: archive_command and restore_command start a
 * process per file, so what is not loaded is time saved on every segment. The catalog is opened only for
 * an `@name` storage backend, which is recorded there.
 */
export async function openWalRepository(env: NodeJS.ProcessEnv, repository?: string): Promise<OpenedWalRepository> {
  const settings = localSettings(env, repository ? { repository } : {});
  const logger = jsonLogger(settings.logLevel);
  let catalog: Catalog | undefined;
  if (settings.repository.startsWith('@')) {
    const { SqliteCatalog } = await import('../catalog/sqlite-catalog.js');
    catalog = SqliteCatalog.open(settings.catalogPath);
  }
  try {
    const opened = await openLocation(settings.repository, {
      ...(catalog ? { catalog } : {}),
      env,
      retry: { attemptTimeoutMs: WAL_ATTEMPT_TIMEOUT_MS, onRetry: (retry) => logger.warn('storage call failed, retrying', { ...retry }) },
    });
    let storage: ObjectStorage = opened;
    if (settings.bandwidthLimitMbps !== undefined) {
      const { ThrottledObjectStorage } = await import('../storage/throttled-object-storage.js');
      storage = new ThrottledObjectStorage(opened, { mbps: settings.bandwidthLimitMbps });
    }
    try {
      const config = await readConfig(storage);
      const keyring = await Keyring.open(storage, keyOf(settings.key), config.id);
      return { storage, keyring, close: () => opened.close() };
    } catch (error) {
      await opened.close();
      throw error;
    }
  } finally {
    await catalog?.close();
  }
}

/** The key of the settings; never creates a key file (only a first backup may). */
function keyOf(setting: KeySetting): KeyProvider {
  return setting.kind === 'passphrase' ? new PassphraseKeyProvider(setting.passphrase) : new KeyFileKeyProvider(setting.path);
}
