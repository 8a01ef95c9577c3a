import type { RunRecord } from '../../ports/catalog.js';
import type { Job } from '../job-service.js';
import { HttpError } from '../error-response.js';

/** One backup run as the history lists it (snake_case, as the API's examples). */
export function historyItem(run: RunRecord) {
  const summary = run.summary ?? {};
  const stats = (summary.stats ?? {}) as { totalBytes?: number; bytesRead?: number; bytesAdded?: number; bytesStored?: number };
  const durationMs = run.finishedAt ? Date.parse(run.finishedAt) - Date.parse(run.startedAt) : null;
  return {
    backup_id: run.snapshotId ?? run.id,
    run_id: run.id,
    status: run.status,
    backup_type: typeof summary.type === 'string' ? summary.type : null,
    plan: typeof summary.plan === 'string' ? summary.plan : null,
    repository: run.repository,
    started_at: run.startedAt,
    finished_at: run.finishedAt ?? null,
    duration_ms: durationMs,
    snapshots: Array.isArray(summary.snapshots) ? summary.snapshots : [],
    total_bytes: stats.totalBytes ?? null,
    bytes_read: stats.bytesRead ?? null,
    bytes_added: stats.bytesAdded ?? null,
    bytes_stored: stats.bytesStored ?? null,
    // How many bytes of source each stored byte stands for: deduplication and compression together.
    dedup_ratio: stats.totalBytes && stats.bytesStored ? round(stats.totalBytes / stats.bytesStored) : null,
    error: run.error ?? null,
  };
}

/** A verification, restore or other run, briefly. */
export function runItem(run: RunRecord) {
  return {
    run_id: run.id,
    kind: run.kind,
    status: run.status,
    snapshot_id: run.snapshotId ?? null,
    started_at: run.startedAt,
    finished_at: run.finishedAt ?? null,
    summary: run.summary ?? {},
    error: run.error ?? null,
  };
}

export function jobBody(job: Job) {
  return {
    job_id: job.id,
    kind: job.kind,
    status: job.status,
    created_at: job.createdAt,
    started_at: job.startedAt ?? null,
    finished_at: job.finishedAt ?? null,
    requested_by: job.requestedBy,
    run_id: job.runId ?? null,
    progress: job.progress
      ? {
          phase: job.progress.phase,
          bytes_done: job.progress.bytesDone,
          bytes_total: job.progress.bytesTotal ?? null,
          items_done: job.progress.itemsDone,
          items_total: job.progress.itemsTotal ?? null,
          notes: job.progress.notes,
        }
      : null,
    result: job.result ?? null,
    error: job.error ?? null,
    poll_url: `/api/v1/backup/jobs/${job.id}`,
  };
}

/** Keyset cursors are opaque to clients: base64url of the last item's start time and run id. */
export function encodeCursor(run: RunRecord): string {
  return Buffer.from(JSON.stringify([run.startedAt, run.id])).toString('base64url');
}

export function decodeCursor(cursor: string): { startedAt: string; id: string } {
  try {
    const [startedAt, id] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof startedAt === 'string' && typeof id === 'string' && !Number.isNaN(Date.parse(startedAt))) return { startedAt, id };
  } catch {
    // fall through to the error below
  }
  throw new HttpError(400, 'validation.invalid', 'cursor is not one this API gave out', { fields: [{ field: 'query.cursor', message: 'not a valid cursor' }] });
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}
