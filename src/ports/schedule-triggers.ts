import type { RetentionPolicy } from '../domain/retention.js';
import type { Schedule } from '../domain/schedule.js';

/**
 * ScheduleTriggers: what fires schedules outside this process. In AWS, one EventBridge Scheduler
 * schedule per Chrono Backup schedule starts the backup (or retention) state machine; locally nothing
 * (the in-process scheduler reads the store), so the local server has no triggers.
 *
 * Contract: `upsert` makes the trigger match the schedule (created if missing, replaced if present,
 * disabled when the schedule is); `remove` deletes it and succeeds when there is none. Both are called
 * after the store has the change, so a failure leaves the store ahead of the trigger: the API reports
 * it as a retryable StorageError and a repeat of the same call converges.
 */
export interface ScheduleTriggers {
  /** `policy`: the rules a retention schedule applies (resolved from its named policy by the caller). */
  upsert(schedule: Schedule, policy?: RetentionPolicy): Promise<void>;
  remove(scheduleId: string): Promise<void>;
}
