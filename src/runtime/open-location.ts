import { NotFoundError, ValidationError } from '../domain/errors.js';
import type { Catalog } from '../ports/catalog.js';
import { openStorage, openStorageLocation, type OpenedStorage } from '../storage/open-storage.js';
import type { RetryOptions } from '../storage/retrying-object-storage.js';
import { locationFromBackend } from '../storage/storage-backend-config.js';

/** `@name`: a named storage backend of the catalog instead of a path or URL. */
export function backendReference(location: string): string | undefined {
  const text = location.trim();
  return text.startsWith('@') ? text.slice(1) : undefined;
}

/**
 * Opens a repository location as the CLI takes it (`--repo`, `--to`, `--replica`): a folder path, a
 * storage URL, or `@name` for a storage backend recorded in the catalog, whose `env:NAME` secrets are
 * read from `env` now.
 *
 * @throws NotFoundError when no backend has that name.
 */
export async function openLocation(location: string, options: { catalog?: Catalog; env: Record<string, string | undefined>; retry?: RetryOptions }): Promise<OpenedStorage> {
  const name = backendReference(location);
  if (name === undefined) return openStorage(location, { env: options.env, ...(options.retry ? { retry: options.retry } : {}) });
  if (options.catalog === undefined) throw new ValidationError(`storage backend @${name} cannot be used here: no catalog`, 'repository');
  const backend = await options.catalog.getStorageBackend(name);
  if (backend === undefined) throw new NotFoundError('storage backend', `${name} (see \`chrono-backup storage list\`)`);
  const resolved = locationFromBackend(backend, options.env);
  return openStorageLocation(resolved.location, { env: resolved.env, ...(options.retry ? { retry: options.retry } : {}) }, resolved.secrets);
}
