/**
 * Run records shaped as runBackup, verifyRepository and restoreTest write them (labels at the start,
 * figures at the finish), recorded through the real catalog calls.
 */
import type { Catalog, RunRecord, RunStatus } from '../../../src/ports/catalog.js';
import type { Snapshot } from '../../../src/domain/snapshot.js';

export const REPOSITORY = 'repo-metrics-test';

export interface BackupSpec {
  id: string;
  plan?: string;
  type?: string;
  status: Exclude<RunStatus, 'running'> | 'running';
  startedAt: string;
  seconds: number;
  bytes?: { totalBytes: number; bytesRead: number; bytesAdded: number; bytesStored: number };
}

export interface VerifySpec {
  id: string;
  level: string;
  status: Exclude<RunStatus, 'running'>;
  ok?: boolean;
  startedAt: string;
  seconds: number;
}

export async function recordBackup(catalog: Catalog, spec: BackupSpec): Promise<RunRecord> {
  const labels = { type: spec.type ?? 'full', ...(spec.plan ? { plan: spec.plan } : {}) };
  await catalog.startRun({ id: spec.id, kind: 'backup', repository: REPOSITORY, status: 'running', startedAt: spec.startedAt, summary: labels });
  if (spec.status !== 'running') {
    const finishedAt = after(spec.startedAt, spec.seconds);
    await catalog.finishRun(
      spec.id,
      spec.status === 'succeeded'
        ? { status: 'succeeded', finishedAt, snapshotId: `${spec.id}-snap`, summary: { ...labels, snapshots: [`${spec.id}-snap`], warnings: 0, failures: [], ...(spec.bytes ? { stats: spec.bytes } : {}) } }
        : { status: spec.status, finishedAt, error: { code: 'source.postgres.unreachable', message: 'connection refused' } },
    );
  }
  return (await catalog.getRun(spec.id))!;
}

export async function recordVerify(catalog: Catalog, spec: VerifySpec): Promise<RunRecord> {
  await catalog.startRun({ id: spec.id, kind: 'verify', repository: REPOSITORY, status: 'running', startedAt: spec.startedAt, summary: { level: spec.level } });
  const finishedAt = after(spec.startedAt, spec.seconds);
  await catalog.finishRun(
    spec.id,
    spec.status === 'succeeded'
      ? { status: 'succeeded', finishedAt, summary: { level: spec.level, ok: spec.ok ?? true, problems: spec.ok === false ? 2 : 0 } }
      : { status: spec.status, finishedAt, error: { code: 'storage.network', message: 'storage unreachable' } },
  );
  return (await catalog.getRun(spec.id))!;
}

export function snapshotRecord(id: string, time: string, stats: { totalBytes: number; bytesAdded: number; bytesStored: number }): Snapshot {
  return {
    id,
    backupId: id,
    type: 'full',
    source: 'files',
    time,
    hostname: 'test-host',
    paths: ['/data'],
    tags: [],
    tree: 'ab'.repeat(32),
      stats: { items: 10, bytesRead: stats.totalBytes, blobsAdded: 1, durationMs: 1000, ...stats },
    keyId: '00000001',
  };
}

export function after(iso: string, seconds: number): string {
  return new Date(Date.parse(iso) + seconds * 1000).toISOString();
}
