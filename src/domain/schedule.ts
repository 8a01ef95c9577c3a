import { nextOccurrences, occurrencesBetween, parseCron, parseTimeZone, toAwsCron, type CronExpression } from './cron.js';
import { ConflictError, ValidationError } from './errors.js';
import { randomId } from './ids.js';
import { PLAN_RUN_TYPES, type PlanRunType } from './plan.js';

/**
 * A schedule: when a plan is backed up (`kind: backup`) or a retention policy applied (`kind:
 * retention`). The field names are those of the API and SPEC.md (snake_case).
 */
export interface Schedule {
  id: string;
  name: string;
  kind: ScheduleKind;
  /** The plan to back up (required for `backup`); for `retention`, optional: its repository is cleaned. */
  plan?: string;
  /** What a backup run backs up (default `full`); any plan run type (`database_only` …). Backup only. */
  backup_type?: PlanRunType;
  /** The named retention policy a `retention` schedule applies (required there). */
  retention_policy?: string;
  /** 5-field (`0 2 * * *`) or AWS (`cron(0 2 * * ? *)`) form; see domain/cron.ts. */
  cron_expression: string;
  /** IANA name; the cron fields are wall-clock times there. Default `UTC`. */
  time_zone: string;
  enabled: boolean;
  /**
   * What happens to occurrences that passed without running (the scheduler was down): `skip` records
   * them as skipped; `catch_up_once` runs the newest of them once and records the others as skipped.
   */
  missed_run_policy: MissedRunPolicy;
  created_at: string;
  /** Occurrences before this instant are never run: a changed schedule does not catch up on its past. */
  updated_at: string;
}

export const SCHEDULE_KINDS = ['backup', 'retention'] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];
export const MISSED_RUN_POLICIES = ['skip', 'catch_up_once'] as const;
export type MissedRunPolicy = (typeof MISSED_RUN_POLICIES)[number];

/** What a client gives: everything but the id and the times. */
export type ScheduleInput = Omit<Schedule, 'id' | 'created_at' | 'updated_at'>;

const INPUT_FIELDS = ['name', 'kind', 'plan', 'backup_type', 'retention_policy', 'cron_expression', 'time_zone', 'enabled', 'missed_run_policy'] as const;

/**
 * Checks a schedule given by a client (API body, CLI flags) and fills in the defaults: kind `backup`,
 * backup_type `full`, time_zone `UTC`, enabled, missed_run_policy `skip`. Unknown fields are refused so
 * a typo cannot silently change what runs.
 *
 * @throws ValidationError whose `field` names the bad field (`cron_expression`, `time_zone`, …).
 */
export function parseScheduleInput(raw: unknown): ScheduleInput {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError('a schedule must be an object', 'schedule');
  const value = raw as Record<string, unknown>;
  const unknown = Object.keys(value).find((key) => !(INPUT_FIELDS as readonly string[]).includes(key));
  if (unknown !== undefined) throw new ValidationError(`${unknown} is not a schedule field (expected ${INPUT_FIELDS.join(', ')})`, unknown);
  const kind = choice(value.kind ?? 'backup', SCHEDULE_KINDS, 'kind');
  const input: ScheduleInput = {
    name: scheduleName(value.name),
    kind,
    cron_expression: parseCron(value.cron_expression).expression,
    time_zone: parseTimeZone(value.time_zone ?? 'UTC'),
    enabled: flag(value.enabled ?? true, 'enabled'),
    missed_run_policy: choice(value.missed_run_policy ?? 'skip', MISSED_RUN_POLICIES, 'missed_run_policy'),
  };
  if (value.plan !== undefined && value.plan !== null) input.plan = text(value.plan, 'plan');
  if (kind === 'backup') {
    if (input.plan === undefined) throw new ValidationError('plan is required for a backup schedule: the name of the plan to back up', 'plan');
    if (value.retention_policy !== undefined && value.retention_policy !== null) throw new ValidationError('retention_policy belongs to retention schedules (kind: retention)', 'retention_policy');
    input.backup_type = choice(value.backup_type ?? 'full', PLAN_RUN_TYPES, 'backup_type');
  } else {
    if (value.backup_type !== undefined && value.backup_type !== null) throw new ValidationError('backup_type belongs to backup schedules (kind: backup)', 'backup_type');
    if (value.retention_policy === undefined || value.retention_policy === null) throw new ValidationError('retention_policy is required for a retention schedule: the name of the policy to apply', 'retention_policy');
    input.retention_policy = text(value.retention_policy, 'retention_policy');
  }
  return input;
}

/** A new schedule from checked input, created (and last changed) `now`. */
export function newSchedule(input: ScheduleInput, now: Date, id = randomId(8)): Schedule {
  const time = now.toISOString();
  return { id, ...input, created_at: time, updated_at: time };
}

/**
 * `existing` with the fields of `changes` replaced (a partial update; `null` removes an optional
 * field), checked as a whole, `updated_at` set to `now`.
 */
export function changedSchedule(existing: Schedule, changes: unknown, now: Date): Schedule {
  if (changes === null || typeof changes !== 'object' || Array.isArray(changes)) throw new ValidationError('a schedule change must be an object', 'schedule');
  const merged: Record<string, unknown> = Object.fromEntries(INPUT_FIELDS.filter((key) => existing[key] !== undefined).map((key) => [key, existing[key]]));
  for (const [key, value] of Object.entries(changes)) {
    if (key === 'id' || key === 'created_at' || key === 'updated_at') continue;
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  // A kind change drops the other kind's field unless the change gives it again.
  if ('kind' in changes) {
    if (merged.kind === 'retention' && !('backup_type' in changes)) delete merged.backup_type;
    if (merged.kind === 'backup' && !('retention_policy' in changes)) delete merged.retention_policy;
  }
  return { id: existing.id, ...parseScheduleInput(merged), created_at: existing.created_at, updated_at: now.toISOString() };
}

/** The schedule's parsed cron expression. */
export function scheduleCron(schedule: Pick<Schedule, 'cron_expression'>): CronExpression {
  return parseCron(schedule.cron_expression);
}

/** The next `count` occurrences after `after` (the API's preview). */
export function upcomingOccurrences(schedule: Pick<Schedule, 'cron_expression' | 'time_zone'>, after: Date, count: number): Date[] {
  return nextOccurrences(scheduleCron(schedule), schedule.time_zone, after, count);
}

/**
 * Occurrences that are due at `now` and that the schedule may still run: after `since` (the last one
 * already claimed) and after the schedule's last change. Newest first, at most `limit`.
 */
export function dueOccurrences(schedule: Schedule, since: Date | undefined, now: Date, limit?: number): { occurrences: Date[]; truncated: boolean } {
  return occurrencesBetween(scheduleCron(schedule), schedule.time_zone, effectiveSince(schedule, since), now, limit);
}

/** The AWS form of the schedule's expression, for EventBridge Scheduler (see {@link toAwsCron}). */
export function awsScheduleExpression(schedule: Pick<Schedule, 'cron_expression'>): string {
  return toAwsCron(scheduleCron(schedule));
}

function effectiveSince(schedule: Schedule, since: Date | undefined): Date {
  const changed = Date.parse(schedule.updated_at);
  return since && since.getTime() > changed ? since : new Date(changed);
}

function scheduleName(value: unknown): string {
  const name = text(value, 'name');
  // Names appear in alerts, logs and CLI tables: printable, one line, bounded.
  if (name.length > 100 || [...name].some((char) => char.charCodeAt(0) < 0x20 || char.charCodeAt(0) === 0x7f)) throw new ValidationError('name must be at most 100 printable characters on one line', 'name');
  return name;
}

function text(value: unknown, field: string): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${field} must be a non-empty string`, field);
  return value.trim();
}

function flag(value: unknown, field: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be true or false (got ${JSON.stringify(value)})`, field);
  return value;
}

function choice<T extends string>(value: unknown, allowed: readonly T[], field: string): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw new ValidationError(`${field} must be one of ${allowed.join(', ')} (got ${JSON.stringify(value)})`, field);
}

/** The ConflictError of a schedule store asked to create or rename onto a taken name (or a taken id). */
export function scheduleExists(schedule: Pick<Schedule, 'id' | 'name'>): ConflictError {
  return new ConflictError('schedule_exists', `a schedule named "${schedule.name}" (or with id ${schedule.id}) already exists`, { details: { name: schedule.name, id: schedule.id } });
}
