import { mkdir } from 'node:fs/promises';
import type { Command } from 'commander';
import { addStorageBackend, listStorageBackends, removeStorageBackend, type StorageBackendInput } from '../../app/storage-backends.js';
import { SqliteCatalog } from '../../catalog/sqlite-catalog.js';
import { ValidationError } from '../../domain/errors.js';
import type { Catalog } from '../../ports/catalog.js';
import { localSettings } from '../../runtime/local-settings.js';
import { print, type GlobalOptions } from '../command-support.js';
import { formatTable } from '../format.js';

/**
 * `storage add|list|remove`: named storage backends in the catalog, which `--repo @name` (and
 * `--to`, `--replica`) open. Added to the `storage` command that main.ts creates.
 */
export function registerStorageBackendCommands(storage: Command): void {
  storage
    .command('add')
    .description('record a named storage backend (open it with --repo @NAME); secrets only as env:NAME references')
    .argument('<name>', 'backend name')
    .argument('[url]', 'a location URL or folder path (s3://bucket/prefix, sftp://user@host/path, …)')
    .option('--type <type>', 'backend type: local, aws_s3, s3_compatible, gcs, azure, sftp, ftp')
    .option('--config <json>', 'settings as JSON (config_data), e.g. \'{"bucket_name":"b","secret_access_key":"env:AWS_SECRET_ACCESS_KEY"}\'')
    .action(async (name: string, url: string | undefined, opts: { type?: string; config?: string }, command: Command) =>
      withCatalog(command, async (catalog, options) => {
        const config = opts.config === undefined ? undefined : parseConfig(opts.config);
        let input: StorageBackendInput;
        if (url !== undefined) {
          if (opts.type !== undefined) throw new ValidationError('give either a URL or --type, not both', 'type');
          input = { name, url, ...(config !== undefined ? { config } : {}) };
        } else {
          if (opts.type === undefined) throw new ValidationError('give a URL, or --type with --config', 'type');
          input = { name, type: opts.type, config: config ?? {} };
        }
        const backend = await addStorageBackend(catalog, input);
        print(options, backend, () => `storage backend ${backend.name} (id ${backend.id}, ${backend.type}) recorded; use it with --repo @${backend.name}`);
      }),
    );

  storage
    .command('list')
    .description('list the named storage backends')
    .action(async (_opts, command: Command) =>
      withCatalog(command, async (catalog, options) => {
        const backends = await listStorageBackends(catalog);
        print(options, backends, () =>
          backends.length === 0 ? 'no storage backends (add one with `chrono-backup storage add NAME URL`)' : formatTable(['NAME', 'ID', 'TYPE', 'CONFIG'], backends.map((b) => [b.name, String(b.id), b.type, JSON.stringify(b.config)])),
        );
      }),
    );

  storage
    .command('remove')
    .description('remove a named storage backend from the catalog (the repository it points to is untouched)')
    .argument('<name>', 'backend name')
    .action(async (name: string, _opts, command: Command) =>
      withCatalog(command, async (catalog, options) => {
        await removeStorageBackend(catalog, name);
        print(options, { removed: name }, () => `storage backend ${name} removed`);
      }),
    );
}

/** These commands need only the catalog: no repository is opened, so they work while one is unreachable. */
async function withCatalog(command: Command, work: (catalog: Catalog, options: GlobalOptions) => Promise<void>): Promise<void> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const settings = localSettings(process.env);
  await mkdir(settings.home, { recursive: true, mode: 0o700 });
  const catalog = SqliteCatalog.open(settings.catalogPath);
  try {
    await work(catalog, options);
  } finally {
    await catalog.close();
  }
}

function parseConfig(text: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // The text may hold a secret someone pasted: do not repeat it.
    throw new ValidationError('--config must be a JSON object', 'config_data');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ValidationError('--config must be a JSON object', 'config_data');
  return value as Record<string, unknown>;
}
