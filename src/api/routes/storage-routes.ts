import { z } from 'zod';

import { addStorageBackend, listStorageBackends } from '../../app/storage-backends.js';
import { testStorage, unopenedStorageResult } from '../../app/test-storage.js';
import { NotFoundError } from '../../domain/errors.js';
import { STORAGE_BACKEND_TYPES, type StorageBackendRecord } from '../../ports/catalog.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';
import { numericIdParams } from '../schemas.js';

const backendBody = z.strictObject({
  name: z.string().min(1).max(100),
  backend_type: z.enum(STORAGE_BACKEND_TYPES),
  config_data: z.record(z.string(), z.unknown()),
});

/** The canary of an API test: big enough to exercise a multi-request upload path, quick on any link. */
const API_CANARY_BYTES = 1024 * 1024;

/**
 * A backend as the API shows it. Stored configs hold no secrets (validation refuses them; they are
 * `env:NAME` references), but anything named like a credential is masked anyway, as a second line.
 */
export function backendBodyOf(backend: StorageBackendRecord) {
  const config = Object.fromEntries(
    Object.entries(backend.config).map(([key, value]) => [key, /secret|password|token|credential|private_key|account_key|sas/i.test(key) && !String(value).startsWith('env:') ? '***' : value]),
  );
  return { id: backend.id, name: backend.name, backend_type: backend.type, config_data: config, created_at: backend.created };
}

export function storageRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/backup/storage-backends',
      summary: 'Storage backends (secrets are never returned)',
      tag: 'storage',
      access: needs('backends.read'),
      responses: { 200: 'the backends' },
      async handle() {
        return json(200, { items: (await listStorageBackends(services.catalog)).map(backendBodyOf) });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/backup/storage-backends',
      summary: 'Add a storage backend; secrets only as env:NAME references',
      tag: 'storage',
      access: needs('backends.write'),
      body: backendBody,
      audit: 'storage_backend.create',
      responses: { 201: 'the backend', 400: 'invalid config (the field is named)', 409: 'the name is taken' },
      async handle({ body, audit }) {
        audit.target = body.name;
        const backend = await addStorageBackend(services.catalog, { name: body.name, type: body.backend_type, config: body.config_data });
        audit.details = { id: backend.id, backend_type: backend.type };
        return json(201, backendBodyOf(backend), { location: `/api/v1/backup/storage-backends/${backend.id}` });
      },
    }),
    route({
      method: 'DELETE',
      path: '/api/v1/backup/storage-backends/{id}',
      summary: 'Forget a storage backend (its data stays where it is)',
      tag: 'storage',
      access: needs('backends.write'),
      params: numericIdParams,
      audit: 'storage_backend.delete',
      responses: { 204: 'forgotten', 404: 'no such backend' },
      async handle({ params, audit }) {
        const backend = await backendById(services, params.id);
        audit.target = backend.name;
        await services.catalog.deleteStorageBackend(backend.name);
        return { status: 204 };
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/backup/storage-backends/{id}/test',
      summary: 'Write, read, list and delete a canary object on the backend, timing each step',
      tag: 'storage',
      access: needs('backends.write'),
      params: numericIdParams,
      audit: 'storage_backend.test',
      responses: { 200: 'the steps and their latency (ok false when one failed)', 404: 'no such backend' },
      async handle({ params, audit }) {
        const backend = await backendById(services, params.id);
        audit.target = backend.name;
        // A backend that cannot even be opened (unknown host, missing credentials) is a failed test, not an error.
        const result = await services
          .withRepository(params.id, (deps) => testStorage(deps, { sizeBytes: API_CANARY_BYTES }))
          .catch((error: unknown) => unopenedStorageResult(`@${backend.name}`, error, API_CANARY_BYTES));
        audit.details = { ok: result.ok };
        return json(200, result);
      },
    }),
  ];
}

async function backendById(services: ApiServices, id: number): Promise<StorageBackendRecord> {
  const backend = await services.catalog.getStorageBackend(id);
  if (backend === undefined) throw new NotFoundError('storage backend', String(id));
  return backend;
}
