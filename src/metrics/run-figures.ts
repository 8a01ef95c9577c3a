import type { RunRecord } from '../ports/catalog.js';
import { runFacts } from '../domain/run-statistics.js';

/**
 * The figures of one run record that metrics report, read the same way for Prometheus and for
 * CloudWatch (embedded metric format): plan and type labels, duration, byte counts and outcomes.
 */

/** The plan label of runs that had none (ad-hoc backups). Plan names cannot contain parentheses. */
export const NO_PLAN = '(none)';
/** The type or level label of runs whose record does not say (recorded before labels were kept). */
export const UNKNOWN = 'unknown';

export function planOf(run: RunRecord): string {
  return runFacts(run).plan ?? NO_PLAN;
}

/** A backup's run type (`full`, `database_only`, …) or a verification's level. */
export function typeOf(run: RunRecord): string {
  const labels = runFacts(run);
  return (run.kind === 'verify' ? labels.level : labels.type) ?? UNKNOWN;
}

/** Seconds from start to finish; undefined while running. */
export function durationSeconds(run: RunRecord): number | undefined {
  if (!run.finishedAt) return undefined;
  return Math.max(0, Date.parse(run.finishedAt) - Date.parse(run.startedAt)) / 1000;
}

/** When the run finished, in seconds since the epoch (Prometheus timestamps are seconds). */
export function finishedSeconds(run: RunRecord): number | undefined {
  return run.finishedAt ? Date.parse(run.finishedAt) / 1000 : undefined;
}

/** The byte counts a successful backup records in its summary (`stats`), summed over its snapshots. */
export interface BackupBytes {
  /** Source bytes the snapshots describe. */
  totalBytes: number;
  bytesRead: number;
  bytesAdded: number;
  bytesStored: number;
}

export function backupBytes(run: RunRecord): BackupBytes | undefined {
  const stats = run.summary?.stats as Partial<Record<keyof BackupBytes, unknown>> | undefined;
  if (typeof stats !== 'object' || stats === null) return undefined;
  const { totalBytes, bytesRead, bytesAdded, bytesStored } = stats;
  if (![totalBytes, bytesRead, bytesAdded, bytesStored].every((value) => typeof value === 'number' && Number.isFinite(value))) return undefined;
  return { totalBytes, bytesRead, bytesAdded, bytesStored } as BackupBytes;
}

/**
 * The share (0–1) of a backup's source bytes that were already in the repository: 1 − added ÷ source
 * bytes. An incremental run that found nothing new scores 1; undefined for an empty backup.
 */
export function dedupRatio(bytes: BackupBytes): number | undefined {
  if (bytes.totalBytes <= 0) return undefined;
  return Math.min(1, Math.max(0, 1 - bytes.bytesAdded / bytes.totalBytes));
}

/** A verification's outcome: `passed`, `damaged` (it ran and found problems) or `error` (it did not finish). */
export type VerificationOutcome = 'passed' | 'damaged' | 'error';
export const VERIFICATION_OUTCOMES: readonly VerificationOutcome[] = ['passed', 'damaged', 'error'];

export function verificationOutcome(status: RunRecord['status'], ok: boolean | undefined): VerificationOutcome {
  if (status !== 'succeeded') return 'error';
  return ok === false ? 'damaged' : 'passed';
}
