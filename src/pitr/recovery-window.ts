import type { PhysicalBackupDetails } from '../domain/snapshot.js';
import type { ArchivedWalFile } from './wal-archive.js';
import { formatLsn, parseLsn, segmentFileName, segmentNumber, segmentOf, type TimelineSwitch } from './wal-names.js';

/** A base backup as the window sees it. */
export interface WindowBaseBackup {
  id: string;
  physical: PhysicalBackupDetails;
}

/** Segments that should be archived and are not (`missing-segment`), or a timeline whose history file is missing. */
export interface WalGap {
  kind: 'missing-segment' | 'missing-history';
  /** First and last missing segment (missing-segment), or the history file's name. */
  from: string;
  to: string;
  count: number;
}

export interface TimelineSwitchInfo {
  from: number;
  to: number;
  /** Where the new timeline branched off. */
  lsn: string;
}

export interface RestorableRange {
  /** The base backup this range is restored from. */
  baseBackup: string;
  from: string;
  to: string;
}

/** The recoverability window of one cluster. Times are server or archive times, ISO 8601 UTC. */
export interface RecoveryWindow {
  systemIdentifier: string;
  /** The earliest moment a restore can reach: the end of the oldest usable base backup. */
  earliest?: string;
  /**
   * The latest moment: when the last segment of an unbroken chain was archived. Every transaction in
   * that segment committed before it; one committed later may still be in WAL not yet archived.
   */
  latest?: string;
  latestSegment?: string;
  /** End of the last restorable segment. */
  latestLsn?: string;
  /** The newest timeline seen; restores follow it (`recovery_target_timeline = latest`). */
  timeline: number;
  ranges: RestorableRange[];
  gaps: WalGap[];
  timelineSwitches: TimelineSwitchInfo[];
  baseBackups: { id: string; timeline: number; stopTime: string; stopLsn: string; restorableUntil?: string; usable: boolean }[];
  segments: number;
  archivedBytes: number;
}

interface TimelineSpan {
  timeline: number;
  begin: bigint;
  /** Inclusive; undefined while the timeline is current. */
  end?: bigint;
  /** The LSN where it branched off its parent. */
  beganAt?: bigint;
}

/**
 * Computes a cluster's window from what the archive holds. Restores follow the newest timeline and its
 * ancestors as listed in its history file; for each segment number PostgreSQL takes the newest timeline
 * of that path whose span includes it, and so does this. A base backup is usable when the archive holds
 * every segment from the end of the backup on without a break (its own WAL travels in base.tar); it then
 * restores to any moment until the end of that unbroken run.
 */
export function computeRecoveryWindow(
  systemIdentifier: string,
  files: readonly ArchivedWalFile[],
  histories: ReadonlyMap<number, TimelineSwitch[]>,
  backups: readonly WindowBaseBackup[],
): RecoveryWindow {
  const segmentSize = backups[0]?.physical.walSegmentSize ?? 16 * 1024 * 1024;
  const segments = files.filter((f) => f.file.kind === 'segment');
  const newest = Math.max(1, ...files.map((f) => f.file.timeline), ...backups.map((b) => b.physical.timeline));
  const gaps: WalGap[] = [];
  const spans = timelinePath(newest, histories, segmentSize, segments, gaps);

  // Segment number → the archived file a restore would use for it.
  const chosen = new Map<bigint, ArchivedWalFile>();
  const byTimeline = new Map<number, Map<bigint, ArchivedWalFile>>();
  for (const file of segments) {
    const n = segmentNumber(file.file.name, segmentSize);
    let map = byTimeline.get(file.file.timeline);
    if (!map) byTimeline.set(file.file.timeline, (map = new Map()));
    map.set(n, file);
  }
  for (const span of spans) {
    for (const [n, file] of byTimeline.get(span.timeline) ?? []) {
      if (n < span.begin || (span.end !== undefined && n > span.end) || chosen.has(n)) continue;
      chosen.set(n, file);
    }
  }
  const numbers = [...chosen.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const runs: [bigint, bigint][] = [];
  for (const n of numbers) {
    const last = runs.at(-1);
    if (last && n === last[1] + 1n) last[1] = n;
    else runs.push([n, n]);
  }
  const expectedTimeline = (n: bigint) => spans.find((span) => n >= span.begin && (span.end === undefined || n <= span.end))?.timeline ?? newest;
  const missing = (from: bigint, to: bigint) => gaps.push({ kind: 'missing-segment', from: segmentFileName(expectedTimeline(from), from, segmentSize), to: segmentFileName(expectedTimeline(to), to, segmentSize), count: Number(to - from + 1n) });
  const firstNeeded = backups.reduce<bigint | undefined>((min, b) => {
    const n = segmentOf(parseLsn(b.physical.stopLsn), segmentSize);
    return min === undefined || n < min ? n : min;
  }, undefined);
  if (firstNeeded !== undefined && runs.length > 0 && firstNeeded < runs[0]![0]) missing(firstNeeded, runs[0]![0] - 1n);
  // Holes older than every base backup cost nothing: no restore reads them.
  for (let i = 1; i < runs.length; i++) {
    let from = runs[i - 1]![1] + 1n;
    const to = runs[i]![0] - 1n;
    if (firstNeeded !== undefined && to < firstNeeded) continue;
    if (firstNeeded !== undefined && from < firstNeeded) from = firstNeeded;
    missing(from, to);
  }

  const ranges: RestorableRange[] = [];
  const reports: RecoveryWindow['baseBackups'] = [];
  let latest: { time: string; segment: bigint } | undefined;
  for (const backup of [...backups].sort((a, b) => a.physical.stopTime.localeCompare(b.physical.stopTime))) {
    const stop = segmentOf(parseLsn(backup.physical.stopLsn), segmentSize);
    const onPath = spans.some((span) => span.timeline === backup.physical.timeline);
    const run = runs.find(([a, b]) => a <= stop && stop <= b);
    const report = { id: backup.id, timeline: backup.physical.timeline, stopTime: backup.physical.stopTime, stopLsn: backup.physical.stopLsn, usable: onPath };
    if (!onPath) {
      reports.push(report);
      continue;
    }
    // Without archived WAL after it, a backup still restores to its own end: base.tar holds that WAL.
    const end = run ? run[1] : stop;
    const archivedAt = run ? chosen.get(end)!.archivedAt.toISOString() : backup.physical.stopTime;
    const to = archivedAt > backup.physical.stopTime ? archivedAt : backup.physical.stopTime;
    ranges.push({ baseBackup: backup.id, from: backup.physical.stopTime, to });
    reports.push({ ...report, restorableUntil: to });
    if (!latest || to > latest.time) latest = { time: to, segment: end };
  }
  const merged = mergeRanges(ranges);
  return {
    systemIdentifier,
    ...(merged.length > 0 ? { earliest: merged[0]!.from, latest: merged.at(-1)!.to } : {}),
    ...(latest ? { latestSegment: segmentFileName(expectedTimeline(latest.segment), latest.segment, segmentSize), latestLsn: formatLsn((latest.segment + 1n) * BigInt(segmentSize)) } : {}),
    timeline: newest,
    ranges: merged,
    gaps,
    timelineSwitches: spans
      .slice(0, -1)
      .map((span, i) => ({ from: spans[i + 1]!.timeline, to: span.timeline, lsn: formatLsn(span.beganAt ?? 0n) }))
      .reverse(),
    baseBackups: reports,
    segments: segments.length,
    archivedBytes: files.reduce((sum, f) => sum + f.size, 0),
  };
}

/**
 * The newest timeline and its ancestors, newest first, each with the segments it covers. A missing
 * history file is a gap: without it nobody knows where the timeline branched, and PostgreSQL cannot
 * follow it either.
 */
function timelinePath(newest: number, histories: ReadonlyMap<number, TimelineSwitch[]>, segmentSize: number, segments: readonly ArchivedWalFile[], gaps: WalGap[]): TimelineSpan[] {
  if (newest === 1) return [{ timeline: 1, begin: 0n }];
  const history = histories.get(newest);
  if (!history) {
    const name = `${newest.toString(16).toUpperCase().padStart(8, '0')}.history`;
    gaps.push({ kind: 'missing-history', from: name, to: name, count: 1 });
    // Best effort: every timeline seen, newest first, over all segments.
    return [...new Set(segments.map((s) => s.file.timeline))].sort((a, b) => b - a).map((timeline) => ({ timeline, begin: 0n }));
  }
  const spans: TimelineSpan[] = [];
  let begin = 0n;
  let beganAt: bigint | undefined;
  for (const line of history) {
    const end = segmentOf(line.switchLsn, segmentSize);
    spans.push({ timeline: line.parent, begin, end, ...(beganAt !== undefined ? { beganAt } : {}) });
    begin = end;
    beganAt = line.switchLsn;
  }
  spans.push({ timeline: newest, begin, ...(beganAt !== undefined ? { beganAt } : {}) });
  return spans.reverse();
}

function mergeRanges(ranges: RestorableRange[]): RestorableRange[] {
  const sorted = [...ranges].sort((a, b) => a.from.localeCompare(b.from));
  const merged: RestorableRange[] = [];
  for (const range of sorted) {
    const last = merged.at(-1);
    if (last && range.from <= last.to) {
      if (range.to > last.to) merged[merged.length - 1] = { ...last, to: range.to };
    } else merged.push({ ...range });
  }
  return merged;
}
