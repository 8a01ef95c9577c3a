import type { HealthCheck } from './health.js';

/** What the overdue check reads of one enabled schedule (see app/scheduler.ts `scheduleFacts`). */
export interface ScheduleFacts {
  id: string;
  name: string;
  /** The newest occurrence that fired (ISO), or null. */
  lastFired: string | null;
  /**
   * The first occurrence that came due after the last one that fired (or after the schedule's last
   * change) — where the current gap began — or null when nothing has come due since.
   */
  firstMissed: string | null;
  /** How many occurrences came due in that gap (counted up to a cap). */
  missed: number;
}

export interface OverdueLimits {
  /** A schedule that has not run this many minutes after an occurrence warns (default 5, the scheduler's grace). */
  graceMinutes: number;
  /** … and fails past this many minutes (default 60). */
  failAfterMinutes: number;
}

export const DEFAULT_OVERDUE_LIMITS: OverdueLimits = { graceMinutes: 5, failAfterMinutes: 60 };

const MINUTE = 60_000;

/**
 * Overdue schedules: an enabled schedule with an occurrence that did not run — nothing claimed it, or
 * it was recorded as skipped because it was missed — more than the grace period after its time, and
 * no later occurrence that ran. Lateness counts from the first occurrence of the gap, so a scheduler
 * that stays down turns the check from warn to fail even for an hourly schedule. Warn past the grace,
 * fail past `failAfterMinutes`; the values name the latest schedule, its first missed occurrence and
 * how late it is. An occurrence that fired counts as run whatever its job's outcome (the success rate
 * check judges outcomes).
 */
export function overdueSchedules(schedules: readonly ScheduleFacts[], now: Date, limits: OverdueLimits = DEFAULT_OVERDUE_LIMITS): HealthCheck {
  const overdue = schedules
    .filter((schedule) => schedule.firstMissed !== null)
    .map((schedule) => ({ schedule, lateMinutes: (now.getTime() - Date.parse(schedule.firstMissed!)) / MINUTE }))
    .filter(({ lateMinutes }) => lateMinutes > limits.graceMinutes)
    .sort((a, b) => b.lateMinutes - a.lateMinutes);
  const values = { schedules: schedules.length, overdue: overdue.length, graceMinutes: limits.graceMinutes, failAfterMinutes: limits.failAfterMinutes };
  const worst = overdue[0];
  if (!worst) return { name: 'overdue_schedules', status: 'ok', message: `${schedules.length} enabled schedule${schedules.length === 1 ? '' : 's'}, none overdue`, values: { ...values, schedule: null, occurrence: null, lateMinutes: null, missed: null } };
  const describe = ({ schedule, lateMinutes }: (typeof overdue)[number]) =>
    `${schedule.name} (${schedule.firstMissed}, ${Math.round(lateMinutes)} min late${schedule.missed > 1 ? `, ${schedule.missed} occurrences missed` : ''})`;
  return {
    name: 'overdue_schedules',
    status: worst.lateMinutes > limits.failAfterMinutes ? 'fail' : 'warn',
    message: `${overdue.length} schedule${overdue.length === 1 ? '' : 's'} overdue: ${overdue.slice(0, 5).map(describe).join(', ')}${overdue.length > 5 ? ', …' : ''}`,
    values: { ...values, schedule: worst.schedule.name, occurrence: worst.schedule.firstMissed, lateMinutes: Number(worst.lateMinutes.toFixed(1)), missed: worst.schedule.missed },
  };
}
