import type { RunRecord } from '../ports/catalog.js';
import { runFacts } from '../domain/run-statistics.js';
import { backupBytes, dedupRatio, durationSeconds, planOf, typeOf, verificationOutcome } from './run-figures.js';

/** The CloudWatch namespace of every Chrono Backup metric. */
export const EMF_NAMESPACE = 'ChronoBackup';

/** Dimension keys: the plan (or "(none)"), the run type or verification level, the status or outcome. */
export const EMF_DIMENSIONS = ['plan', 'type', 'status'] as const;

export type EmfUnit = 'Seconds' | 'Bytes' | 'Count' | 'None';

/**
 * One CloudWatch Embedded Metric Format record: the `_aws` envelope names the metrics and their units,
 * and the metric values and dimension values sit at the top level beside it. Written as one JSON line
 * to a Lambda's or a Fargate task's log, CloudWatch Logs extracts the metrics without API calls.
 */
export interface EmfRecord {
  _aws: {
    /** Milliseconds since the epoch: when the run finished. */
    Timestamp: number;
    CloudWatchMetrics: [{ Namespace: typeof EMF_NAMESPACE; Dimensions: string[][]; Metrics: { Name: string; Unit: EmfUnit }[] }];
  };
  plan: string;
  type: string;
  status: string;
  [field: string]: unknown;
}

/**
 * The metrics of one finished backup or verification run as an EMF record, or undefined for a run
 * still running or of another kind. Backups report `BackupRuns` (1), `BackupFailures` (1 unless it
 * succeeded), `BackupDuration` and, when the run recorded them, `SourceBytes`, `BytesRead`, `BytesAdded`,
 * `BytesStored` and `DedupRatio` (share of source bytes already stored). Verifications report
 * `VerificationRuns`, `VerificationFailures` (1 unless it passed) and `VerificationDuration`, with the
 * level as `type` and the outcome (passed, damaged, error) as `status`. Pure: the same record gives the
 * same object.
 */
export function runToEmf(run: RunRecord): EmfRecord | undefined {
  const seconds = durationSeconds(run);
  if (run.status === 'running' || seconds === undefined || !run.finishedAt) return undefined;
  const metrics: [string, EmfUnit, number][] = [];
  let status: string = run.status;
  if (run.kind === 'backup') {
    metrics.push(['BackupRuns', 'Count', 1], ['BackupFailures', 'Count', run.status === 'succeeded' ? 0 : 1], ['BackupDuration', 'Seconds', seconds]);
    const bytes = run.status === 'succeeded' ? backupBytes(run) : undefined;
    if (bytes) {
      metrics.push(['SourceBytes', 'Bytes', bytes.totalBytes], ['BytesRead', 'Bytes', bytes.bytesRead], ['BytesAdded', 'Bytes', bytes.bytesAdded], ['BytesStored', 'Bytes', bytes.bytesStored]);
      const ratio = dedupRatio(bytes);
      if (ratio !== undefined) metrics.push(['DedupRatio', 'None', ratio]);
    }
  } else if (run.kind === 'verify') {
    status = verificationOutcome(run.status, runFacts(run).ok);
    metrics.push(['VerificationRuns', 'Count', 1], ['VerificationFailures', 'Count', status === 'passed' ? 0 : 1], ['VerificationDuration', 'Seconds', seconds]);
  } else {
    return undefined;
  }
  return {
    _aws: {
      Timestamp: Date.parse(run.finishedAt),
      CloudWatchMetrics: [{ Namespace: EMF_NAMESPACE, Dimensions: [[...EMF_DIMENSIONS]], Metrics: metrics.map(([Name, Unit]) => ({ Name, Unit })) }],
    },
    plan: planOf(run),
    type: typeOf(run),
    status,
    ...Object.fromEntries(metrics.map(([name, , value]) => [name, value])),
    // Properties, not dimensions: searchable in Logs Insights without multiplying metric series.
    kind: run.kind,
    runId: run.id,
    repository: run.repository,
    ...(run.snapshotId ? { snapshotId: run.snapshotId } : {}),
    ...(run.error ? { errorCode: run.error.code } : {}),
  };
}

/** The record as the one log line CloudWatch expects, or undefined when the run has no metrics. */
export function runToEmfLine(run: RunRecord): string | undefined {
  const record = runToEmf(run);
  return record ? JSON.stringify(record) : undefined;
}
