import { isAbsolute } from 'node:path';
import { z } from 'zod';

import { recoveryWindows } from '../../app/pitr.js';
import type { SourceKind } from '../../domain/snapshot.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, route, type Route } from '../route.js';
import { backupIdSchema, queryInt, storageBackendIdSchema } from '../schemas.js';
import { jobBody, runItem } from './backup-presenters.js';

/** Recovery types: everything in the backup, or one kind of source (the plan run types' names). */
const RECOVERY_SOURCES: Record<string, SourceKind[] | undefined> = {
  full_restore: undefined,
  database_only: ['postgres'],
  redis_only: ['redis'],
  files_only: ['files'],
  config_only: ['config'],
};

const serverUrl = (schemes: string) =>
  z
    .string()
    .max(500)
    .regex(new RegExp(`^(${schemes})://`), `must be a ${schemes.split('|').join(' or ')} URL`)
    .refine((url) => !/^[a-z]+:\/\/[^/@]*:[^/@]*@/i.test(url), 'must not contain a password: the server takes it from its environment');

const recoveryBody = z
  .strictObject({
    recovery_type: z.enum(Object.keys(RECOVERY_SOURCES) as [string, ...string[]]),
    backup_id: backupIdSchema,
    storage_backend_id: storageBackendIdSchema.optional(),
    target_directory: z.string().min(1).max(4096).refine(isAbsolute, 'must be an absolute path').optional(),
    target_postgres: serverUrl('postgres|postgresql').optional(),
    target_redis: serverUrl('redis|rediss').optional(),
    include: z.array(z.string().min(1).max(4096)).max(1000).optional(),
    overwrite: z.boolean().default(false),
    validate_after_restore: z.boolean().default(false),
  })
  .refine((body) => body.target_directory !== undefined || body.target_postgres !== undefined || body.target_redis !== undefined, {
    message: 'give at least one target: target_directory, target_postgres or target_redis',
    path: ['target_directory'],
  });

const windowQuery = z.strictObject({ storage_backend_id: queryInt(1, 2_147_483_647).optional() });

const recoveryHistoryQuery = z.strictObject({ limit: queryInt(1, 200).default(50) });

export function recoveryRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/backup/recovery',
      summary: 'Restore a backup (or one kind of its sources) into targets; returns the job',
      tag: 'recovery',
      access: needs('recovery.new_target'),
      body: recoveryBody,
      // Replacing what is in a target is for admins; operators restore into new targets only.
      requires: ({ body }) => (body.overwrite ? 'recovery.overwrite' : undefined),
      audit: 'recovery.start',
      responses: { 202: 'the restore was started', 400: 'invalid request', 403: 'overwrite needs the admin role' },
      async handle({ body, principal, audit }) {
        audit.target = body.backup_id;
        const only = RECOVERY_SOURCES[body.recovery_type];
        const job = await services.jobs.startRestore({
          backupId: body.backup_id,
          overwrite: body.overwrite,
          validate: body.validate_after_restore,
          requestedBy: principal?.email ?? 'unknown',
          ...(only ? { only } : {}),
          ...(body.storage_backend_id !== undefined ? { storageBackendId: body.storage_backend_id } : {}),
          ...(body.target_directory ? { targetDirectory: body.target_directory } : {}),
          ...(body.target_postgres ? { targetPostgres: body.target_postgres } : {}),
          ...(body.target_redis ? { targetRedis: body.target_redis } : {}),
          ...(body.include ? { include: body.include } : {}),
        });
        audit.details = { job: job.id, recovery_type: body.recovery_type, overwrite: body.overwrite };
        return json(202, jobBody(job), { location: `/api/v1/backup/jobs/${job.id}` });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/recovery/window',
      summary: 'Per PostgreSQL cluster archiving WAL: the earliest and latest restorable moment, and any gap',
      tag: 'recovery',
      access: needs('recovery.read'),
      query: windowQuery,
      responses: { 200: 'the recoverability windows and named restore points' },
      async handle({ query }) {
        const { windows, restorePoints } = await services.withRepository(query.storage_backend_id, (deps) => recoveryWindows(deps));
        return json(200, {
          clusters: windows.map((window) => ({
            system_identifier: window.systemIdentifier,
            earliest: window.earliest ?? null,
            latest: window.latest ?? null,
            latest_lsn: window.latestLsn ?? null,
            timeline: window.timeline,
            gaps: window.gaps,
            timeline_switches: window.timelineSwitches,
            base_backups: window.baseBackups,
            segments: window.segments,
            archived_bytes: window.archivedBytes,
            restore_points: restorePoints[window.systemIdentifier] ?? [],
          })),
        });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/recovery/history',
      summary: 'Restores, newest first',
      tag: 'recovery',
      access: needs('recovery.read'),
      query: recoveryHistoryQuery,
      responses: { 200: 'the restores' },
      async handle({ query }) {
        const runs = await services.catalog.listRuns({ kind: 'restore', limit: query.limit });
        return json(200, { items: runs.map(runItem) });
      },
    }),
  ];
}
