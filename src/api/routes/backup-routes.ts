import { z } from 'zod';

import { NotFoundError } from '../../domain/errors.js';
import { VERIFY_LEVELS } from '../../app/verify-repository.js';
import type { Catalog, RunRecord } from '../../ports/catalog.js';
import type { ApiServices } from '../api-services.js';
import { HttpError } from '../error-response.js';
import { json, needs, route, type Route } from '../route.js';
import { backupIdSchema, isoDateTimeSchema, planNameSchema, planRunTypeSchema, queryInt, storageBackendIdSchema } from '../schemas.js';
import { decodeCursor, encodeCursor, historyItem, jobBody, runItem } from './backup-presenters.js';

const manualBody = z.strictObject({
  backup_type: planRunTypeSchema.default('full'),
  storage_backend_id: storageBackendIdSchema.optional(),
  // Every backup is encrypted: the field is accepted for the spec's clients, and `false` is refused.
  encrypt_backup: z.literal(true, 'backups are always encrypted; omit encrypt_backup or send true').optional(),
  verify_integrity: z.boolean().default(false),
  plan: planNameSchema.optional(),
});

const historyQuery = z.strictObject({
  limit: queryInt(1, 200).default(50),
  cursor: z.string().max(200).optional(),
  status: z.enum(['running', 'succeeded', 'failed', 'interrupted']).optional(),
  type: planRunTypeSchema.optional(),
  plan: planNameSchema.optional(),
  since: isoDateTimeSchema.optional(),
  until: isoDateTimeSchema.optional(),
});

const backupParams = z.strictObject({ backup_id: backupIdSchema });
// Local jobs are `job-<hex>`, Step Functions jobs `api-<workflow>-<hex>` (their execution names).
const jobParams = z.strictObject({ job_id: z.string().regex(/^[a-z]+(-[a-z]+)?-[0-9a-f]{16}$/, 'must be a job id') });
const verifyBody = z.strictObject({
  level: z.enum(VERIFY_LEVELS).default('read'),
  storage_backend_id: storageBackendIdSchema.optional(),
});

export function backupRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'POST',
      path: '/api/v1/backup/manual',
      summary: "Start a backup of a plan's sources; returns the job to poll",
      tag: 'backups',
      access: needs('backups.run'),
      body: manualBody,
      audit: 'backup.manual',
      responses: { 202: 'the job was started', 400: 'invalid request', 404: 'no such plan or storage backend' },
      async handle({ body, principal, audit }) {
        const plan = body.plan ?? (await onlyPlan(services.catalog));
        audit.target = `plan:${plan}`;
        const job = await services.jobs.startBackup({
          plan,
          type: body.backup_type,
          verify: body.verify_integrity,
          requestedBy: principal?.email ?? 'unknown',
          ...(body.storage_backend_id !== undefined ? { storageBackendId: body.storage_backend_id } : {}),
        });
        audit.details = { job: job.id, type: body.backup_type };
        return json(202, jobBody(job), { location: `/api/v1/backup/jobs/${job.id}` });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/history',
      summary: 'Backups, newest first, filtered and paged by cursor',
      tag: 'backups',
      access: needs('backups.read'),
      query: historyQuery,
      responses: { 200: 'a page of backups and the cursor of the next one' },
      async handle({ query }) {
        const runs = await services.catalog.listRuns({
          kind: 'backup',
          limit: query.limit + 1,
          ...(query.cursor ? { after: decodeCursor(query.cursor) } : {}),
          ...(query.status ? { status: query.status } : {}),
          ...(query.type ? { backupType: query.type } : {}),
          ...(query.plan ? { plan: query.plan } : {}),
          ...(query.since ? { since: query.since } : {}),
          ...(query.until ? { until: query.until } : {}),
        });
        const page = runs.slice(0, query.limit);
        const next = runs.length > query.limit ? encodeCursor(page[page.length - 1] as RunRecord) : null;
        return json(200, { items: page.map(historyItem), next_cursor: next });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/history/{backup_id}',
      summary: 'One backup: its snapshots with sizes, verifications, replicas',
      tag: 'backups',
      access: needs('backups.read'),
      params: backupParams,
      responses: { 200: 'the backup', 404: 'no such backup' },
      async handle({ params }) {
        const run = await findBackupRun(services.catalog, params.backup_id);
        const item = historyItem(run);
        const snapshots = await Promise.all(item.snapshots.map((id: unknown) => services.catalog.getSnapshot(run.repository, String(id))));
        const verifications = run.snapshotId ? await services.catalog.listRuns({ kind: 'verify', snapshotId: run.snapshotId, limit: 20 }) : [];
        const replicas = await Promise.all(item.snapshots.map((id: unknown) => services.catalog.listReplications({ snapshotId: String(id), limit: 20 })));
        return json(200, {
          ...item,
          snapshot_details: snapshots.filter((snapshot) => snapshot !== undefined).map((snapshot) => ({
            id: snapshot.id,
            source: snapshot.source,
            type: snapshot.type,
            paths: snapshot.paths,
            time: snapshot.time,
            stats: snapshot.stats,
            details: snapshot.details ?? null,
          })),
          failures: run.summary?.failures ?? [],
          verifications: verifications.map(runItem),
          replicas: replicas.flat().map((receipt) => ({ snapshot_id: receipt.snapshotId, destination: receipt.destination.location, time: receipt.time, verified: receipt.verified })),
        });
      },
    }),
    route({
      method: 'POST',
      path: '/api/v1/backup/history/{backup_id}/verify',
      summary: "Verify a backup's data (structure, a sampled read, or a full read); returns the job",
      tag: 'backups',
      access: needs('backups.verify'),
      params: backupParams,
      body: verifyBody,
      audit: 'backup.verify',
      responses: { 202: 'the verification was started', 404: 'no such backup' },
      async handle({ params, body, principal, audit }) {
        audit.target = params.backup_id;
        const run = await findBackupRun(services.catalog, params.backup_id);
        if (!run.snapshotId) throw new HttpError(409, 'conflict.backup_incomplete', `backup ${params.backup_id} saved no snapshot (status ${run.status}): there is nothing to verify`);
        const job = await services.jobs.startVerify({
          backupId: run.snapshotId,
          level: body.level,
          requestedBy: principal?.email ?? 'unknown',
          ...(body.storage_backend_id !== undefined ? { storageBackendId: body.storage_backend_id } : {}),
        });
        audit.details = { job: job.id, level: body.level };
        return json(202, jobBody(job), { location: `/api/v1/backup/jobs/${job.id}` });
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/jobs/{job_id}',
      summary: 'The state and progress of a backup, restore or verification job',
      tag: 'jobs',
      access: needs('backups.read'),
      params: jobParams,
      responses: { 200: 'the job', 404: 'no such job (or forgotten after a restart: see the history)' },
      async handle({ params }) {
        const job = await services.jobs.getJob(params.job_id);
        if (job === undefined) throw new NotFoundError('job', params.job_id);
        return json(200, jobBody(job));
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/jobs',
      summary: 'Jobs of this server, newest first',
      tag: 'jobs',
      access: needs('backups.read'),
      responses: { 200: 'the jobs' },
      async handle() {
        return json(200, { items: (await services.jobs.listJobs()).map(jobBody) });
      },
    }),
  ];
}

/** A backup id (or the run id of a backup that saved nothing) → its run. */
export async function findBackupRun(catalog: Catalog, id: string): Promise<RunRecord> {
  const [bySnapshot] = await catalog.listRuns({ kind: 'backup', snapshotId: id, limit: 1 });
  if (bySnapshot) return bySnapshot;
  const byRun = await catalog.getRun(id);
  if (byRun?.kind === 'backup') return byRun;
  throw new NotFoundError('backup', id);
}

/** Without `plan`, the one plan there is; with several, the caller must choose. */
async function onlyPlan(catalog: Catalog): Promise<string> {
  const plans = await catalog.listPlans();
  if (plans.length === 1) return (plans[0] as { name: string }).name;
  const message = plans.length === 0 ? 'no backup plan exists yet: create one with `chrono-backup plan import`' : `there are ${plans.length} plans: name one in "plan" (${plans.map((plan) => plan.name).join(', ')})`;
  throw new HttpError(400, 'validation.invalid', message, { fields: [{ field: 'body.plan', message }] });
}
