import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppDeps } from '../../src/app/deps.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { PassphraseKeyProvider } from '../../src/keys/local-key-provider.js';
import { systemClock } from '../../src/ports/clock.js';
import { silentProgress } from '../../src/ports/progress.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';

export interface AppHarness {
  deps: AppDeps;
  dir: string;
  repositoryDir: string;
  catalogPath: string;
  cleanup: () => Promise<void>;
}

/** Use-case dependencies on a temporary local repository, SQLite catalog and a fast passphrase key. */
export async function createAppHarness(passphrase = 'test passphrase'): Promise<AppHarness> {
  const dir = await mkdtemp(join(tmpdir(), 'chrono-app-'));
  const repositoryDir = join(dir, 'repo');
  const catalogPath = join(dir, 'catalog.sqlite');
  const deps: AppDeps = {
    storage: new LocalObjectStorage(repositoryDir),
    keys: new PassphraseKeyProvider(passphrase, { scrypt: { N: 1024 } }),
    catalog: SqliteCatalog.open(catalogPath),
    clock: systemClock,
    progress: silentProgress,
    hostname: 'test-host',
  };
  return {
    deps,
    dir,
    repositoryDir,
    catalogPath,
    cleanup: async () => {
      await deps.catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
