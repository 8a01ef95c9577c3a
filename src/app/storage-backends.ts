import { ValidationError } from '../domain/errors.js';
import type { Catalog, StorageBackendRecord } from '../ports/catalog.js';
import { backendFromLocation, validateStorageBackend } from '../storage/storage-backend-config.js';
import { parseStorageLocation } from '../storage/open-storage.js';

/** A backend as given: a type and config (`config_data`), or a location URL to derive them from. */
export type StorageBackendInput = { name: string; type: string; config: unknown } | { name: string; url: string; config?: Record<string, unknown> };

/**
 * Records a named storage backend after validating it (see storage-backend-config.ts). A URL is parsed
 * the way `--repo` is; a password in it is refused, like any secret, with the way to pass it instead.
 *
 * @throws ValidationError naming the bad field; ConflictError when the name is taken.
 */
export async function addStorageBackend(catalog: Catalog, input: StorageBackendInput): Promise<StorageBackendRecord> {
  let type: unknown;
  let config: unknown;
  if ('url' in input) {
    const parsed = parseStorageLocation(input.url, 'url');
    if (parsed.secrets.password !== undefined) {
      throw new ValidationError('url: a password does not belong in a stored backend; remove it from the URL and set it in an environment variable, referenced with --config \'{"password":"env:NAME"}\'', 'url.password');
    }
    const derived = backendFromLocation(parsed.location);
    // Settings a URL cannot carry (secret references, key files) come as config on top of it.
    ({ type, config } = { type: derived.type, config: { ...derived.config, ...(input.config ?? {}) } });
  } else {
    ({ type, config } = input);
  }
  return catalog.createStorageBackend(validateStorageBackend({ name: input.name, type, config }));
}

export function listStorageBackends(catalog: Catalog): Promise<StorageBackendRecord[]> {
  return catalog.listStorageBackends();
}

/** @throws NotFoundError when no backend has this name. */
export function removeStorageBackend(catalog: Catalog, name: string): Promise<void> {
  return catalog.deleteStorageBackend(name);
}
