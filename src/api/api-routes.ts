import type { ApiServices } from './api-services.js';
import { openApiDocument } from './openapi.js';
import { json, PUBLIC, route, type Route } from './route.js';
import { auditRoutes } from './routes/audit-routes.js';
import { authRoutes } from './routes/auth-routes.js';
import { backupRoutes } from './routes/backup-routes.js';
import { recoveryRoutes } from './routes/recovery-routes.js';
import { retentionRoutes } from './routes/retention-routes.js';
import { statusRoutes } from './routes/status-routes.js';
import { storageRoutes } from './routes/storage-routes.js';
import { userRoutes } from './routes/user-routes.js';

/** Route groups a composition root adds to the standard ones (schedules, audit) when it has their stores. */
export type RouteGroup = (services: ApiServices) => Route[];

/** Every route of the API, including `GET /api/v1/openapi.json` describing all of them. */
export function apiRoutes(services: ApiServices, extra: readonly RouteGroup[] = [], version = '0.1.0'): Route[] {
  const routes = [authRoutes, backupRoutes, recoveryRoutes, storageRoutes, retentionRoutes, statusRoutes, auditRoutes, ...(services.users ? [userRoutes] : []), ...extra].flatMap((group) => group(services));
  let document: Record<string, unknown> | undefined;
  const openapi = route({
    method: 'GET',
    path: '/api/v1/openapi.json',
    summary: 'This API, as an OpenAPI 3.1 document',
    tag: 'system',
    access: PUBLIC,
    responses: { 200: 'the document' },
    async handle() {
      document ??= openApiDocument(all, { version });
      return json(200, document);
    },
  });
  const all = [...routes, openapi];
  return all;
}
