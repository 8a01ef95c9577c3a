import { describe, expect, it } from '@jest/globals';
import { nextOccurrences, occurrencesBetween, parseCron, parseTimeZone, previousOccurrence, toAwsCron } from '../../../src/domain/cron.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { decideDue } from '../../../src/domain/missed-runs.js';
import { changedSchedule, dueOccurrences, newSchedule, parseScheduleInput, upcomingOccurrences } from '../../../src/domain/schedule.js';
import { overdueSchedules, type ScheduleFacts } from '../../../src/domain/schedule-health.js';
import { thrownBy } from '../../helpers/thrown.js';

const iso = (dates: Date[]) => dates.map((date) => date.toISOString());
const next = (expression: string, after: string, count: number, zone = 'UTC') => iso(nextOccurrences(parseCron(expression), zone, new Date(after), count));

describe('cron expressions: the 5-field form', () => {
  it('runs daily at 02:00 UTC, strictly after the given instant', () => {
    expect(next('0 2 * * *', '2026-01-01T02:00:00Z', 3)).toEqual(['2026-01-02T02:00:00.000Z', '2026-01-03T02:00:00.000Z', '2026-01-04T02:00:00.000Z']);
  });

  it('numbers day-of-week 0-6 from Sunday (7 is Sunday too) and takes names', () => {
    // 2026-01-04 is a Sunday.
    expect(next('0 1 * * 0', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-04T01:00:00.000Z', '2026-01-11T01:00:00.000Z']);
    expect(next('0 1 * * 7', '2026-01-01T00:00:00Z', 2)).toEqual(next('0 1 * * SUN', '2026-01-01T00:00:00Z', 2));
    expect(next('0 1 * * MON-FRI', '2026-01-02T00:00:00Z', 2)).toEqual(['2026-01-02T01:00:00.000Z', '2026-01-05T01:00:00.000Z']);
  });

  it('runs when either day-of-month or day-of-week matches, when both are restricted', () => {
    // The 1st of February is a Sunday; Mondays are the 2nd, 9th, ….
    expect(next('0 2 1 * 1', '2026-01-31T00:00:00Z', 3)).toEqual(['2026-02-01T02:00:00.000Z', '2026-02-02T02:00:00.000Z', '2026-02-09T02:00:00.000Z']);
  });

  it('supports steps, lists, L, W and #', () => {
    expect(next('*/20 * * * *', '2026-01-01T00:00:00Z', 3)).toEqual(['2026-01-01T00:20:00.000Z', '2026-01-01T00:40:00.000Z', '2026-01-01T01:00:00.000Z']);
    expect(next('0 2 L * *', '2026-02-01T00:00:00Z', 1)).toEqual(['2026-02-28T02:00:00.000Z']);
    // The 3rd Friday of January 2026 is the 16th; the last Friday is the 30th.
    expect(next('0 2 * * 5#3', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-16T02:00:00.000Z']);
    expect(next('0 2 * * 5L', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-30T02:00:00.000Z']);
    // 15 February 2026 is a Sunday: the nearest weekday is Monday the 16th.
    expect(next('0 2 15W * *', '2026-02-01T00:00:00Z', 1)).toEqual(['2026-02-16T02:00:00.000Z']);
  });
});

describe('cron expressions: the AWS form', () => {
  it('takes 6 fields with ? and numbers day-of-week 1-7 from Sunday', () => {
    expect(next('cron(0 2 * * ? *)', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-01T02:00:00.000Z', '2026-01-02T02:00:00.000Z']);
    // 1 = SUN: the same Sundays as the 5-field 0.
    expect(next('cron(0 1 ? * 1 *)', '2026-01-01T00:00:00Z', 2)).toEqual(next('0 1 * * 0', '2026-01-01T00:00:00Z', 2));
    expect(next('cron(0 1 ? * 2-6 *)', '2026-01-02T00:00:00Z', 2)).toEqual(next('0 1 * * 1-5', '2026-01-02T00:00:00Z', 2));
  });

  it('treats ? as "any" rather than as a restriction that matches every day', () => {
    expect(next('cron(0 2 15 * ? *)', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-15T02:00:00.000Z', '2026-02-15T02:00:00.000Z']);
  });

  it('supports the year field, 0/n steps, L and #', () => {
    expect(next('cron(0 2 1 1 ? 2027-2028)', '2026-01-01T00:00:00Z', 3)).toEqual(['2027-01-01T02:00:00.000Z', '2028-01-01T02:00:00.000Z']);
    expect(next('cron(0/15 * * * ? *)', '2026-01-01T00:00:00Z', 2)).toEqual(['2026-01-01T00:15:00.000Z', '2026-01-01T00:30:00.000Z']);
    expect(next('cron(0 2 ? * 6#3 *)', '2026-01-01T00:00:00Z', 1)).toEqual(next('0 2 * * 5#3', '2026-01-01T00:00:00Z', 1));
    expect(next('cron(0 2 ? * 6L *)', '2026-01-01T00:00:00Z', 1)).toEqual(['2026-01-30T02:00:00.000Z']);
  });
});

describe('time zones', () => {
  it('reads the fields as wall-clock time in the zone', () => {
    // Berlin is UTC+1 in winter, UTC+2 in summer.
    expect(next('0 2 * * *', '2026-01-10T00:00:00Z', 1, 'Europe/Berlin')).toEqual(['2026-01-10T01:00:00.000Z']);
    expect(next('0 2 * * *', '2026-07-09T23:00:00Z', 1, 'Europe/Berlin')).toEqual(['2026-07-10T00:00:00.000Z']);
  });

  it('runs a time that the spring change skips right after the jump, once a day', () => {
    // New York moves from 02:00 EST to 03:00 EDT on 2026-03-08: 02:30 does not exist that day.
    expect(next('30 2 * * *', '2026-03-07T00:00:00Z', 3, 'America/New_York')).toEqual(['2026-03-07T07:30:00.000Z', '2026-03-08T07:30:00.000Z', '2026-03-09T06:30:00.000Z']);
  });

  it('runs a time that the autumn change repeats only once', () => {
    // On 2026-11-01 01:30 happens at 05:30Z (EDT) and again at 06:30Z (EST).
    const days = next('30 1 * * *', '2026-10-31T00:00:00Z', 3, 'America/New_York');
    expect(days).toEqual(['2026-10-31T05:30:00.000Z', '2026-11-01T05:30:00.000Z', '2026-11-02T06:30:00.000Z']);
    const between = occurrencesBetween(parseCron('30 1 * * *'), 'America/New_York', new Date('2026-11-01T00:00:00Z'), new Date('2026-11-02T00:00:00Z'));
    expect(iso(between.occurrences)).toEqual(['2026-11-01T05:30:00.000Z']);
  });

  it('refuses an unknown zone by name', () => {
    const error = thrownBy(() => parseTimeZone('Mars/Base'), ValidationError);
    expect(error.message).toContain("unknown time zone 'Mars/Base'");
    expect(error.details).toMatchObject({ field: 'time_zone' });
    expect(parseTimeZone(' Asia/Tokyo ')).toBe('Asia/Tokyo');
  });
});

describe('occurrences in an interval', () => {
  const hourly = parseCron('0 * * * *');

  it('is half-open: after the start, up to and including the end, newest first', () => {
    const { occurrences, truncated } = occurrencesBetween(hourly, 'UTC', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-01T03:00:00Z'));
    expect(iso(occurrences)).toEqual(['2026-01-01T03:00:00.000Z', '2026-01-01T02:00:00.000Z', '2026-01-01T01:00:00.000Z']);
    expect(truncated).toBe(false);
  });

  it('says when it left older occurrences out', () => {
    const { occurrences, truncated } = occurrencesBetween(hourly, 'UTC', new Date('2026-01-01T00:00:00Z'), new Date('2026-01-02T00:00:00Z'), 5);
    expect(occurrences).toHaveLength(5);
    expect(occurrences[0]!.toISOString()).toBe('2026-01-02T00:00:00.000Z');
    expect(truncated).toBe(true);
  });

  it('finds the newest occurrence at or before an instant', () => {
    expect(previousOccurrence(hourly, 'UTC', new Date('2026-01-01T03:00:00Z'))?.toISOString()).toBe('2026-01-01T03:00:00.000Z');
    expect(previousOccurrence(hourly, 'UTC', new Date('2026-01-01T03:59:59Z'))?.toISOString()).toBe('2026-01-01T03:00:00.000Z');
    expect(previousOccurrence(parseCron('cron(0 0 1 1 ? 2030)'), 'UTC', new Date('2026-01-01T00:00:00Z'))).toBeUndefined();
  });
});

describe('validation messages say what is wrong', () => {
  it.each([
    ['61 2 * * *', "minute field '61' is out of range 0-59"],
    ['0 24 * * *', "hour field '24' is out of range 0-23"],
    ['0 2 0 * *', "day-of-month field '0' is out of range 1-31"],
    ['0 2 * 13 *', "month field '13' is out of range 1-12"],
    ['0 2 * * 8', "day-of-week field '8' is out of range 0-7"],
    ['0 2 * * 1-9', "day-of-week field '1-9': 9 is out of range 0-7"],
    ['0 2 * *', 'needs 5 fields (minute hour day-of-month month day-of-week), got 4'],
    ['0 2 * * * *', 'the 6-field AWS form is written cron('],
    ['0 2 * * ?', "'?' belongs to the AWS form"],
    ['x 2 * * *', "minute field 'x' is not a number"],
    ['0 2 * FOO *', "month field 'FOO' is not a number or a name JAN-DEC"],
    ['0 2 5-1 * *', "day-of-month field range '5-1' goes backwards"],
    ['*/0 * * * *', 'the step 0 is out of range 1-59'],
    ['0 2 * * 5#6', "the week after '#' must be 1-5"],
    ['0 2 1,,2 * *', 'has an empty list item'],
    ['cron(0 2 * * ?)', 'AWS cron needs 6 fields (minute hour day-of-month month day-of-week year), got 5'],
    ['cron(0 2 * * * *)', "AWS cron needs '?' in exactly one of day-of-month and day-of-week (got '*' and '*')"],
    ['cron(0 2 ? * ? *)', "AWS cron needs '?' in exactly one of day-of-month and day-of-week"],
    ['cron(0 2 ? * 0 *)', "day-of-week field '0' is out of range 1-7"],
    ['cron(0 2 * * ? 1969)', "year field '1969' is out of range 1970-2199"],
    ['cron(? 2 * * ? *)', "'?' is allowed only in day-of-month and day-of-week, not in the minute field"],
    ['cron(0 2 * * ? *', 'must end with ")"'],
  ])('%s → %s', (expression, message) => {
    const error = thrownBy(() => parseCron(expression), ValidationError);
    expect(error.message).toContain(message);
    expect(error.message).toContain('cron_expression');
    expect(error.details).toMatchObject({ field: 'cron_expression' });
  });
});

describe('conversion to the AWS form', () => {
  it.each([
    ['0 2 * * *', 'cron(0 2 * * ? *)'],
    ['30 1 15 * *', 'cron(30 1 15 * ? *)'],
    ['0 1 * * 0', 'cron(0 1 ? * SUN *)'],
    ['0 1 * * 1-5', 'cron(0 1 ? * MON-FRI *)'],
    ['0 1 * * 5-7', 'cron(0 1 ? * SUN,FRI,SAT *)'],
    ['0 1 * * */2', 'cron(0 1 ? * SUN,TUE,THU,SAT *)'],
    ['*/15 */6 * * *', 'cron(0/15 0/6 * * ? *)'],
    ['0 2 * * 5#3', 'cron(0 2 ? * 6#3 *)'],
    ['0 2 * * FRIL', 'cron(0 2 ? * 6L *)'],
    ['0 2 L * *', 'cron(0 2 L * ? *)'],
    ['0 2 * JAN,JUL MON', 'cron(0 2 ? JAN,JUL MON *)'],
    ['cron(0 2 ? * 2 *)', 'cron(0 2 ? * 2 *)'],
  ])('%s → %s, with the same occurrences', (expression, aws) => {
    expect(toAwsCron(parseCron(expression))).toBe(aws);
    // The point of the conversion: EventBridge runs it at the same times.
    expect(next(aws, '2026-01-01T00:00:00Z', 12, 'Europe/Berlin')).toEqual(next(expression, '2026-01-01T00:00:00Z', 12, 'Europe/Berlin'));
  });

  it('refuses an expression that restricts both days: AWS cannot say "either"', () => {
    const error = thrownBy(() => toAwsCron(parseCron('0 2 1 * 1')), ValidationError);
    expect(error.message).toContain('split it into two schedules');
  });
});

describe('schedules', () => {
  const now = new Date('2026-01-01T12:00:00Z');

  it('fills in the defaults', () => {
    const input = parseScheduleInput({ name: 'Daily Full Backup', plan: 'shop', cron_expression: '0 2 * * *' });
    expect(input).toEqual({ name: 'Daily Full Backup', kind: 'backup', plan: 'shop', backup_type: 'full', cron_expression: '0 2 * * *', time_zone: 'UTC', enabled: true, missed_run_policy: 'skip' });
    const schedule = newSchedule(input, now);
    expect(schedule.id).toMatch(/^[0-9a-f]{16}$/);
    expect(schedule.created_at).toBe(now.toISOString());
    expect(iso(upcomingOccurrences(schedule, now, 2))).toEqual(['2026-01-02T02:00:00.000Z', '2026-01-03T02:00:00.000Z']);
  });

  it.each([
    [{ plan: 'shop', cron_expression: '0 2 * * *' }, 'name'],
    [{ name: 'n', cron_expression: '0 2 * * *' }, 'plan'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 2 * * *', backup_type: 'weekly' }, 'backup_type'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 99 * * *' }, 'cron_expression'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 2 * * *', time_zone: 'Mars/Base' }, 'time_zone'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 2 * * *', missed_run_policy: 'catch-up' }, 'missed_run_policy'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 2 * * *', enabled: 'yes' }, 'enabled'],
    [{ name: 'n', kind: 'retention', cron_expression: '0 2 * * *' }, 'retention_policy'],
    [{ name: 'n', kind: 'retention', retention_policy: 'standard', backup_type: 'full', cron_expression: '0 2 * * *' }, 'backup_type'],
    [{ name: 'n', plan: 'shop', cron_expression: '0 2 * * *', cron: 'x' }, 'cron'],
    [{ name: 'n', kind: 'archive', cron_expression: '0 2 * * *' }, 'kind'],
  ])('refuses %j naming %s', (raw, field) => {
    const error = thrownBy(() => parseScheduleInput(raw), ValidationError);
    expect(error.details).toMatchObject({ field });
    expect(error.message).toContain(field);
  });

  it('takes a retention schedule with a named policy', () => {
    expect(parseScheduleInput({ name: 'cleanup', kind: 'retention', retention_policy: 'standard', cron_expression: 'cron(0 3 ? * SUN *)', missed_run_policy: 'catch_up_once' })).toMatchObject({ kind: 'retention', retention_policy: 'standard', missed_run_policy: 'catch_up_once' });
  });

  it('changes a schedule partially, keeping its id and creation and moving updated_at', () => {
    const schedule = newSchedule(parseScheduleInput({ name: 'nightly', plan: 'shop', cron_expression: '0 2 * * *' }), now);
    const later = new Date('2026-01-05T00:00:00Z');
    const changed = changedSchedule(schedule, { cron_expression: '0 3 * * *', time_zone: 'Europe/Berlin', id: 'ignored' }, later);
    expect(changed).toEqual({ ...schedule, cron_expression: '0 3 * * *', time_zone: 'Europe/Berlin', updated_at: later.toISOString() });
    expect(thrownBy(() => changedSchedule(schedule, { cron_expression: '0 2 * * * *' }, later), ValidationError).details).toMatchObject({ field: 'cron_expression' });
    expect(changedSchedule(schedule, { kind: 'retention', retention_policy: 'standard' }, later)).toMatchObject({ kind: 'retention', retention_policy: 'standard', plan: 'shop' });
    expect(changedSchedule(schedule, { kind: 'retention', retention_policy: 'standard' }, later).backup_type).toBeUndefined();
  });

  it('never counts occurrences before its last change as due', () => {
    const schedule = newSchedule(parseScheduleInput({ name: 'hourly', plan: 'shop', cron_expression: '0 * * * *' }), new Date('2026-01-01T10:30:00Z'));
    const at = new Date('2026-01-01T13:10:00Z');
    expect(iso(dueOccurrences(schedule, undefined, at).occurrences)).toEqual(['2026-01-01T13:00:00.000Z', '2026-01-01T12:00:00.000Z', '2026-01-01T11:00:00.000Z']);
    expect(iso(dueOccurrences(schedule, new Date('2026-01-01T12:00:00Z'), at).occurrences)).toEqual(['2026-01-01T13:00:00.000Z']);
    expect(dueOccurrences(schedule, undefined, new Date('2026-01-01T10:59:00Z')).occurrences).toEqual([]);
  });
});

describe('missed-run decisions', () => {
  const now = new Date('2026-01-01T12:02:00Z');
  const minutesAgo = (minutes: number) => new Date(now.getTime() - minutes * 60_000);
  const grace = 5 * 60_000;

  it('runs the newest on-time occurrence and skips the older ones', () => {
    const decision = decideDue([minutesAgo(2), minutesAgo(4), minutesAgo(62)], now, grace, 'skip');
    expect(decision.run).toEqual({ occurrence: minutesAgo(2), lateMs: 120_000 });
    expect(decision.skip).toEqual([
      { occurrence: minutesAgo(4), reason: 'superseded' },
      { occurrence: minutesAgo(62), reason: 'missed' },
    ]);
  });

  it('skip: late occurrences are all recorded as missed, none runs', () => {
    expect(decideDue([minutesAgo(62), minutesAgo(122)], now, grace, 'skip')).toEqual({ skip: [{ occurrence: minutesAgo(62), reason: 'missed' }, { occurrence: minutesAgo(122), reason: 'missed' }] });
  });

  it('catch_up_once: the newest late occurrence runs once, the others are missed', () => {
    const decision = decideDue([minutesAgo(62), minutesAgo(122)], now, grace, 'catch_up_once');
    expect(decision.run).toEqual({ occurrence: minutesAgo(62), lateMs: 62 * 60_000 });
    expect(decision.skip).toEqual([{ occurrence: minutesAgo(122), reason: 'missed' }]);
  });

  it('nothing due: nothing to do', () => {
    expect(decideDue([], now, grace, 'catch_up_once')).toEqual({ skip: [] });
  });
});

describe('overdue schedules health check', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  const ago = (minutes: number) => new Date(now.getTime() - minutes * 60_000).toISOString();
  const facts = (name: string, firstMissedMinutesAgo: number | null, missed = 1): ScheduleFacts => ({
    id: name,
    name,
    lastFired: ago(600),
    firstMissed: firstMissedMinutesAgo === null ? null : ago(firstMissedMinutesAgo),
    missed: firstMissedMinutesAgo === null ? 0 : missed,
  });

  it.each([
    ['nothing due since the last run', 'ok', [facts('a', null)]],
    ['due within the grace period', 'ok', [facts('a', 4)]],
    ['not run 10 minutes after its time', 'warn', [facts('a', 10)]],
    ['exactly at the fail limit', 'warn', [facts('a', 60)]],
    ['not run for 2 hours', 'fail', [facts('a', 4), facts('b', 120, 3)]],
  ])('%s → %s', (_name, status, schedules) => {
    expect(overdueSchedules(schedules, now).status).toBe(status);
  });

  it('names the schedule, the first missed occurrence and how late it is', () => {
    const check = overdueSchedules([facts('nightly', 10), facts('hourly', 90, 2), facts('fine', null)], now);
    expect(check.values).toMatchObject({ schedules: 3, overdue: 2, schedule: 'hourly', occurrence: '2026-01-01T10:30:00.000Z', lateMinutes: 90, missed: 2 });
    expect(check.message).toContain('hourly (2026-01-01T10:30:00.000Z, 90 min late, 2 occurrences missed)');
    expect(check.message).toContain('nightly (2026-01-01T11:50:00.000Z, 10 min late)');
  });

  it('takes other limits', () => {
    expect(overdueSchedules([facts('a', 10)], now, { graceMinutes: 15, failAfterMinutes: 30 }).status).toBe('ok');
    expect(overdueSchedules([facts('a', 40)], now, { graceMinutes: 15, failAfterMinutes: 30 }).status).toBe('fail');
  });
});
