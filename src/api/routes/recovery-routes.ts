import { isAbsolute } from 'node:path';
import { z } from 'zod';

import { refreshRecoveryWindows } from '../../app/pitr.js';
import { ValidationError } from '../../domain/errors.js';
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

/** The managed restore's fields: the API's name → the restore workflow's (src/workflows/rds-restore-job.ts). */
const MANAGED_FIELDS = {
  source_instance: 'sourceInstance',
  source_cluster: 'sourceCluster',
  target_identifier: 'target',
  target_time: 'targetTime',
  latest: 'latest',
  instance_class: 'instanceClass',
  subnet_group: 'subnetGroup',
  security_group_ids: 'securityGroupIds',
  multi_az: 'multiAz',
  deletion_protection: 'deletionProtection',
  poll_seconds: 'pollSeconds',
} as const;

const rdsName = z.string().min(1).max(63);
const managedRecoveryBody = z.strictObject({
  source_instance: rdsName.optional(),
  source_cluster: rdsName.optional(),
  target_identifier: rdsName,
  target_time: z.string().max(40).optional(),
  latest: z.boolean().optional(),
  instance_class: z.string().max(40).optional(),
  subnet_group: z.string().max(255).optional(),
  security_group_ids: z.array(z.string().max(40)).max(5).optional(),
  multi_az: z.boolean().optional(),
  deletion_protection: z.boolean().optional(),
  poll_seconds: z.number().int().min(0).max(3600).optional(),
});

/** The workflow's checks name `rds.<field>`; the caller sent `<api field>`. */
function managedRequest(body: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(body).filter(([, value]) => value !== undefined).map(([key, value]) => [MANAGED_FIELDS[key as keyof typeof MANAGED_FIELDS], value]));
}

function inApiNames(error: unknown): unknown {
  if (!(error instanceof ValidationError)) return error;
  const field = typeof error.details?.field === 'string' ? error.details.field : '';
  const match = /^rds\.([A-Za-z]+)(.*)$/.exec(field);
  const apiName = match && Object.entries(MANAGED_FIELDS).find(([, name]) => name === match[1])?.[0];
  if (!match || !apiName) return error;
  return new ValidationError(error.message.replace(`rds.${match[1]}`, apiName), `body.${apiName}${match[2]}`);
}

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
      method: 'POST',
      path: '/api/v1/backup/recovery/managed',
      summary: 'Have RDS restore a managed instance or Aurora cluster to a point in time, into a new one; returns the job',
      tag: 'recovery',
      access: needs('recovery.new_target'),
      body: managedRecoveryBody,
      audit: 'recovery.start',
      responses: { 202: 'the managed restore was started', 400: 'invalid request' },
      async handle({ body, principal, audit }) {
        audit.target = body.source_instance ?? body.source_cluster ?? body.target_identifier;
        const job = await services.jobs.startManagedRestore({ rds: managedRequest(body), requestedBy: principal?.email ?? 'unknown' }).catch((error: unknown) => {
          throw inApiNames(error);
        });
        audit.details = { job: job.id, target_identifier: body.target_identifier, target_time: body.target_time ?? 'latest' };
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
        const { windows, restorePoints } = await services.withRepository(query.storage_backend_id, (deps) => refreshRecoveryWindows(deps));
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
