/**
 * runToEmf turns finished run records, recorded through the real catalog, into CloudWatch Embedded
 * Metric Format records: the `_aws` envelope declares exactly the metrics present at the top level,
 * with units, in the ChronoBackup namespace, dimensioned by plan, type and status.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { EMF_NAMESPACE, runToEmf, runToEmfLine, type EmfRecord } from '../../../src/metrics/embedded-metric-format.js';
import { after, recordBackup, recordVerify } from './run-history.js';

let catalog: SqliteCatalog;
beforeAll(() => {
  catalog = SqliteCatalog.open(':memory:');
});
afterAll(() => catalog.close());

/** Every declared metric is a number at the top level, and every dimension key is a string there. */
function expectWellFormed(record: EmfRecord): void {
  const [directive] = record._aws.CloudWatchMetrics;
  expect(directive.Namespace).toBe(EMF_NAMESPACE);
  expect(directive.Dimensions).toEqual([['plan', 'type', 'status']]);
  for (const key of directive.Dimensions[0]!) expect(typeof record[key]).toBe('string');
  for (const metric of directive.Metrics) expect(typeof record[metric.Name]).toBe('number');
  expect(Number.isInteger(record._aws.Timestamp)).toBe(true);
}

describe('CloudWatch embedded metric format', () => {
  it('reports a successful backup with its duration, bytes and dedup ratio', async () => {
    const bytes = { totalBytes: 4000, bytesRead: 3000, bytesAdded: 1000, bytesStored: 600 };
    const run = await recordBackup(catalog, { id: 'emf-b1', plan: 'nightly', type: 'incremental', status: 'succeeded', startedAt: '2025-02-01T00:00:00.000Z', seconds: 42.5, bytes });
    const record = runToEmf(run)!;
    expectWellFormed(record);
    expect(record._aws.Timestamp).toBe(Date.parse(after(run.startedAt, 42.5)));
    expect(record).toMatchObject({ plan: 'nightly', type: 'incremental', status: 'succeeded', BackupRuns: 1, BackupFailures: 0, BackupDuration: 42.5, SourceBytes: 4000, BytesRead: 3000, BytesAdded: 1000, BytesStored: 600, DedupRatio: 0.75, kind: 'backup', runId: 'emf-b1' });
    expect(Object.fromEntries(record._aws.CloudWatchMetrics[0].Metrics.map((m) => [m.Name, m.Unit]))).toEqual({
      BackupRuns: 'Count', BackupFailures: 'Count', BackupDuration: 'Seconds', SourceBytes: 'Bytes', BytesRead: 'Bytes', BytesAdded: 'Bytes', BytesStored: 'Bytes', DedupRatio: 'None',
    });
    expect(JSON.parse(runToEmfLine(run)!)).toEqual(record);
    expect(runToEmfLine(run)).not.toContain('\n');
  });

  it('reports a failed ad-hoc backup as a failure without byte metrics, with its error code only', async () => {
    const run = await recordBackup(catalog, { id: 'emf-b2', status: 'failed', startedAt: '2025-02-02T00:00:00.000Z', seconds: 3 });
    const record = runToEmf(run)!;
    expectWellFormed(record);
    expect(record).toMatchObject({ plan: '(none)', type: 'full', status: 'failed', BackupRuns: 1, BackupFailures: 1, BackupDuration: 3, errorCode: 'source.postgres.unreachable' });
    expect(record._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name)).toEqual(['BackupRuns', 'BackupFailures', 'BackupDuration']);
    expect(JSON.stringify(record)).not.toContain('connection refused');
  });

  it('reports verifications by level and outcome', async () => {
    const damaged = runToEmf(await recordVerify(catalog, { id: 'emf-v1', level: 'read', status: 'succeeded', ok: false, startedAt: '2025-02-03T00:00:00.000Z', seconds: 8 }))!;
    expectWellFormed(damaged);
    expect(damaged).toMatchObject({ type: 'read', status: 'damaged', VerificationRuns: 1, VerificationFailures: 1, VerificationDuration: 8 });
    const passed = runToEmf(await recordVerify(catalog, { id: 'emf-v2', level: 'restore-test', status: 'succeeded', ok: true, startedAt: '2025-02-03T01:00:00.000Z', seconds: 20 }))!;
    expect(passed).toMatchObject({ type: 'restore-test', status: 'passed', VerificationFailures: 0 });
  });

  it('gives nothing for a running run or another kind of run', async () => {
    expect(runToEmf(await recordBackup(catalog, { id: 'emf-b3', plan: 'nightly', status: 'running', startedAt: '2025-02-04T00:00:00.000Z', seconds: 0 }))).toBeUndefined();
    await catalog.startRun({ id: 'emf-p1', kind: 'prune', repository: 'r', status: 'running', startedAt: '2025-02-04T00:00:00.000Z' });
    await catalog.finishRun('emf-p1', { status: 'succeeded', finishedAt: '2025-02-04T00:01:00.000Z' });
    expect(runToEmf((await catalog.getRun('emf-p1'))!)).toBeUndefined();
  });
});
