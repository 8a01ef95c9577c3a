import { z } from 'zod';

import type { RunRecord } from '../../ports/catalog.js';
import type { ApiServices } from '../api-services.js';
import { json, needs, PUBLIC, route, type Route } from '../route.js';
import { queryInt } from '../schemas.js';

const statisticsQuery = z.strictObject({ days: queryInt(1, 3660).default(30) });

/** At most this many runs feed one statistics answer; beyond it the figures say they are partial. */
const STATISTICS_RUN_LIMIT = 20_000;

export function statusRoutes(services: ApiServices): Route[] {
  return [
    route({
      method: 'GET',
      path: '/api/v1/backup/health',
      summary: 'Every health check with the numbers behind it (ok, warn or fail)',
      tag: 'health',
      access: needs('health.read'),
      responses: { 200: 'the report (status ok, warn or fail)' },
      async handle() {
        return json(200, await services.health());
      },
    }),
    route({
      method: 'GET',
      path: '/api/v1/backup/statistics',
      summary: 'Backup counts, success rate, sizes and deduplication over a window, and the last backup per plan',
      tag: 'health',
      access: needs('statistics.read'),
      query: statisticsQuery,
      responses: { 200: 'the statistics' },
      async handle({ query }) {
        const since = new Date(services.clock.now().getTime() - query.days * 86_400_000).toISOString();
        const runs = await services.catalog.listRuns({ kind: 'backup', since, limit: STATISTICS_RUN_LIMIT });
        return json(200, { window_days: query.days, since, partial: runs.length === STATISTICS_RUN_LIMIT, ...statistics(runs) });
      },
    }),
    route({
      method: 'GET',
      path: '/metrics',
      summary: 'Prometheus metrics',
      tag: 'system',
      access: needs('metrics.read'),
      responses: { 200: 'Prometheus text exposition' },
      async handle() {
        const { contentType, body } = await services.metrics();
        return { status: 200, headers: { 'content-type': contentType }, body };
      },
    }),
    route({
      method: 'GET',
      path: '/healthz',
      summary: 'Liveness: the server answers (no data, no authentication)',
      tag: 'system',
      access: PUBLIC,
      responses: { 200: 'alive' },
      async handle() {
        return json(200, { status: 'ok' });
      },
    }),
  ];
}

function statistics(runs: readonly RunRecord[]) {
  const finished = runs.filter((run) => run.status !== 'running');
  const succeeded = finished.filter((run) => run.status === 'succeeded');
  const stats = succeeded.map((run) => (run.summary?.stats ?? {}) as { totalBytes?: number; bytesAdded?: number; bytesStored?: number });
  const sum = (pick: (value: { totalBytes?: number; bytesAdded?: number; bytesStored?: number }) => number | undefined) => stats.reduce((total, value) => total + (pick(value) ?? 0), 0);
  const totalBytes = sum((value) => value.totalBytes);
  const storedBytes = sum((value) => value.bytesStored);
  const durations = succeeded.filter((run) => run.finishedAt).map((run) => Date.parse(run.finishedAt as string) - Date.parse(run.startedAt));
  const lastByPlan = new Map<string, RunRecord>();
  for (const run of runs) {
    const plan = typeof run.summary?.plan === 'string' ? run.summary.plan : '(no plan)';
    if (!lastByPlan.has(plan)) lastByPlan.set(plan, run); // runs come newest first
  }
  return {
    backups: { total: runs.length, running: runs.length - finished.length, succeeded: succeeded.length, failed: finished.filter((run) => run.status === 'failed').length, interrupted: finished.filter((run) => run.status === 'interrupted').length },
    success_rate: finished.length === 0 ? null : Math.round((succeeded.length / finished.length) * 10_000) / 10_000,
    bytes: { total: totalBytes, added: sum((value) => value.bytesAdded), stored: storedBytes },
    dedup_ratio: storedBytes > 0 ? Math.round((totalBytes / storedBytes) * 100) / 100 : null,
    duration_ms: { average: durations.length ? Math.round(durations.reduce((a, b) => a + b, 0) / durations.length) : null, max: durations.length ? Math.max(...durations) : null },
    last_backup_per_plan: [...lastByPlan.entries()].map(([plan, run]) => ({ plan, backup_id: run.snapshotId ?? run.id, status: run.status, started_at: run.startedAt, finished_at: run.finishedAt ?? null })),
  };
}
