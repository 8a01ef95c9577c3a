import type { SkipReason } from '../domain/missed-runs.js';
import type { Schedule } from '../domain/schedule.js';

/** How an occurrence ended up: skipped, running, or the outcome of its job. */
export type OccurrenceStatus = 'skipped' | 'running' | 'succeeded' | 'partial' | 'failed';

/** The record of one occurrence a scheduler claimed (to run it or to skip it). */
export interface OccurrenceRecord {
  schedule_id: string;
  /** The occurrence's instant (ISO 8601, UTC). */
  occurrence: string;
  /** What the scheduler decided. */
  outcome: 'fired' | 'skipped';
  status: OccurrenceStatus;
  /** Why a skipped occurrence did not run. */
  reason?: SkipReason;
  /** When the claim was made. */
  claimed_at: string;
  /** How late a fired occurrence started, in ms after its time. */
  late_ms?: number;
  /** Which scheduler claimed it (`host:pid`). */
  instance?: string;
  /** The job's id (a backup id) once known. */
  run_id?: string;
  finished_at?: string;
  /** The job's error message (no secrets: domain errors never carry them). */
  error?: string;
}

/** What a claim records: the record without its key. */
export type OccurrenceClaim = Omit<OccurrenceRecord, 'schedule_id' | 'occurrence'>;

/** How a fired occurrence's job ended. */
export interface OccurrenceResult {
  status: Exclude<OccurrenceStatus, 'skipped' | 'running'>;
  finished_at: string;
  run_id?: string;
  error?: string;
}

/**
 * Schedules and the occurrences they fired, shared by every scheduler and API process using the same
 * catalog.
 *
 * Contract:
 * - Schedule names are unique; ids never change. Reads return copies: changing them changes nothing
 *   stored.
 * - {@link ScheduleStore.claimOccurrence} is the only way an occurrence runs: it is atomic across
 *   connections and processes, and for a given (schedule, occurrence) exactly one call ever returns
 *   true — also after restarts. A claim of a schedule that no longer exists returns false.
 * - Deleting a schedule deletes its occurrence records.
 * - Errors are domain errors: ConflictError, NotFoundError, ValidationError, StorageError (a busy
 *   catalog is a retryable `storage.catalog_busy`).
 */
export interface ScheduleStore {
  /** @throws ConflictError `conflict.schedule_exists` when the id or the name is taken. */
  createSchedule(schedule: Schedule): Promise<void>;
  /** The schedule with this id, else the one with this name, or undefined. */
  getSchedule(idOrName: string): Promise<Schedule | undefined>;
  /** Every schedule, by name. */
  listSchedules(): Promise<Schedule[]>;
  /**
   * Replaces the stored schedule of the same id.
   *
   * @throws NotFoundError when there is none; ConflictError `conflict.schedule_exists` when the new name
   *   belongs to another schedule.
   */
  replaceSchedule(schedule: Schedule): Promise<void>;
  /** Deletes the schedule and its occurrence records; false when there was no such schedule. */
  deleteSchedule(id: string): Promise<boolean>;
  /**
   * Claims one occurrence of a schedule, recording `claim`. True: this caller won it and alone may act
   * on it. False: it was already claimed (by anyone, ever), or the schedule is gone.
   */
  claimOccurrence(scheduleId: string, occurrence: Date, claim: OccurrenceClaim): Promise<boolean>;
  /**
   * Records how a fired occurrence's job ended.
   *
   * @throws NotFoundError when the occurrence was never claimed.
   */
  finishOccurrence(scheduleId: string, occurrence: Date, result: OccurrenceResult): Promise<void>;
  /** The record of one occurrence, or undefined when it was never claimed. */
  getOccurrence(scheduleId: string, occurrence: Date): Promise<OccurrenceRecord | undefined>;
  /** The newest claimed occurrence of the schedule (by occurrence time), of `outcome` when given, or undefined. */
  lastOccurrence(scheduleId: string, outcome?: OccurrenceRecord['outcome']): Promise<OccurrenceRecord | undefined>;
  /** Occurrence records of the schedule, newest first, at most `limit` (default 50). */
  listOccurrences(scheduleId: string, limit?: number): Promise<OccurrenceRecord[]>;
}
