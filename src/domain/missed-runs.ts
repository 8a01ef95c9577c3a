import type { MissedRunPolicy } from './schedule.js';

/** Why an occurrence was not run. */
export type SkipReason = 'missed' | 'superseded';

export interface DueDecision {
  /** The occurrence to run now, and how late it starts. */
  run?: { occurrence: Date; lateMs: number };
  /** The occurrences recorded as skipped instead, newest first. */
  skip: { occurrence: Date; reason: SkipReason }[];
}

/**
 * What a scheduler does with the occurrences that are due and not yet claimed (`due`, newest first):
 *
 * - the newest one is on time when it is at most `graceMs` old: it runs, and older ones are skipped —
 *   `superseded` if they were on time too, `missed` if not (one run covers them: a backup taken now
 *   holds everything the older occurrences would have);
 * - when even the newest is late, the policy decides: `skip` records them all as missed;
 *   `catch_up_once` runs the newest once, late, and records the others as missed.
 *
 * Pure, so each policy is tested on the exact set of occurrences it sees.
 */
export function decideDue(due: readonly Date[], now: Date, graceMs: number, policy: MissedRunPolicy): DueDecision {
  const [newest, ...older] = due;
  if (newest === undefined) return { skip: [] };
  const lateMs = now.getTime() - newest.getTime();
  const onTime = lateMs <= graceMs;
  const reasonFor = (occurrence: Date): SkipReason => (now.getTime() - occurrence.getTime() <= graceMs ? 'superseded' : 'missed');
  if (onTime || policy === 'catch_up_once') return { run: { occurrence: newest, lateMs }, skip: older.map((occurrence) => ({ occurrence, reason: reasonFor(occurrence) })) };
  return { skip: due.map((occurrence) => ({ occurrence, reason: 'missed' as const })) };
}
