import { Cron } from 'croner';
import { ValidationError } from './errors.js';

/**
 * Cron expressions in the two forms schedules accept, checked field by field so a message says what is
 * wrong, and evaluated with croner in an IANA time zone:
 *
 * - the 5-field form `minute hour day-of-month month day-of-week` (`0 2 * * *`), day-of-week 0-7 with
 *   0 and 7 both Sunday; when day-of-month and day-of-week are both restricted, either matching is
 *   enough (the classic cron rule);
 * - the AWS form `cron(minute hour day-of-month month day-of-week year)` (`cron(0 2 * * ? *)`), which
 *   EventBridge Scheduler takes: day-of-week 1-7 is SUN-SAT, and exactly one of day-of-month and
 *   day-of-week is `?`.
 *
 * Both accept `*`, `,`, `-`, `/`, month and day names (JAN, MON), `L`, `LW` and `nW` in day-of-month,
 * `nL` (last weekday n of the month) and `n#k` (k-th weekday n) in day-of-week. Occurrences fall on
 * whole minutes. In a daylight-saving gap a time that does not exist runs at the same wall time after
 * the clock jumps (02:30 becomes 03:30); a time that happens twice when clocks go back runs once, the
 * first time.
 */
export type CronForm = '5-field' | 'aws';

export interface CronExpression {
  /** As given, trimmed. */
  expression: string;
  form: CronForm;
  /** The fields without the `cron(…)` wrapper: 5 or 6 of them. */
  fields: string[];
}

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
  /** The offset of names[0] (SUN is 0 in the 5-field form, 1 in the AWS form). */
  nameBase?: number;
}

const MONTH_NAMES = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'] as const;
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'] as const;

const MINUTE: FieldSpec = { name: 'minute', min: 0, max: 59 };
const HOUR: FieldSpec = { name: 'hour', min: 0, max: 23 };
const DAY_OF_MONTH: FieldSpec = { name: 'day-of-month', min: 1, max: 31 };
const MONTH: FieldSpec = { name: 'month', min: 1, max: 12, names: MONTH_NAMES, nameBase: 1 };
const FIVE_FIELDS: readonly FieldSpec[] = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, { name: 'day-of-week', min: 0, max: 7, names: DAY_NAMES, nameBase: 0 }];
// EventBridge accepts years 1970-2199.
const AWS_FIELDS: readonly FieldSpec[] = [MINUTE, HOUR, DAY_OF_MONTH, MONTH, { name: 'day-of-week', min: 1, max: 7, names: DAY_NAMES, nameBase: 1 }, { name: 'year', min: 1970, max: 2199 }];

/** More occurrences than this in one request is a mistake (or a denial of service), not a preview. */
export const MAX_OCCURRENCES = 1000;

const AWS_WRAPPER = /^cron\((.*)\)$/i;

/**
 * Parses and checks a cron expression in either form. `field` names the input in errors.
 *
 * @throws ValidationError naming `field`, with a message that says which part is wrong
 *   ("minute field '61' is out of range 0-59", "AWS cron needs 6 fields, got 5").
 */
export function parseCron(expression: unknown, field = 'cron_expression'): CronExpression {
  if (typeof expression !== 'string' || expression.trim() === '') throw new ValidationError(`${field} must be a non-empty string like "0 2 * * *" or "cron(0 2 * * ? *)"`, field);
  const text = expression.trim();
  const wrapped = AWS_WRAPPER.exec(text);
  const fail = (message: string) => new ValidationError(`${field}: ${message} (in "${text}")`, field);
  if (wrapped) {
    const fields = wrapped[1]!.trim().split(/\s+/).filter((part) => part !== '');
    if (fields.length !== 6) throw fail(`AWS cron needs 6 fields (minute hour day-of-month month day-of-week year), got ${fields.length}`);
    fields.forEach((part, index) => checkField(part, AWS_FIELDS[index]!, 'aws', fail));
    const [dom, dow] = [fields[2]!, fields[4]!];
    if ((dom === '?') === (dow === '?')) throw fail(`AWS cron needs '?' in exactly one of day-of-month and day-of-week (got '${dom}' and '${dow}')`);
    const cron: CronExpression = { expression: text, form: 'aws', fields };
    compile(cron, 'UTC', fail);
    return cron;
  }
  if (/^cron\(/i.test(text)) throw fail('the AWS form must end with ")"');
  const fields = text.split(/\s+/);
  if (fields.length !== 5) {
    const hint = fields.length === 6 ? '; the 6-field AWS form is written cron(minute hour day-of-month month day-of-week year)' : '';
    throw fail(`a cron expression needs 5 fields (minute hour day-of-month month day-of-week), got ${fields.length}${hint}`);
  }
  fields.forEach((part, index) => checkField(part, FIVE_FIELDS[index]!, '5-field', fail));
  const cron: CronExpression = { expression: text, form: '5-field', fields };
  compile(cron, 'UTC', fail);
  return cron;
}

/**
 * Checks an IANA time zone name (`Europe/Berlin`, `UTC`).
 *
 * @throws ValidationError naming `field`: "unknown time zone 'Mars/Base'".
 */
export function parseTimeZone(zone: unknown, field = 'time_zone'): string {
  if (typeof zone !== 'string' || zone.trim() === '') throw new ValidationError(`${field} must be an IANA time zone name like "UTC" or "Europe/Berlin"`, field);
  const name = zone.trim();
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
  } catch {
    throw new ValidationError(`${field}: unknown time zone '${name}' (use an IANA name like "UTC" or "Europe/Berlin")`, field);
  }
  return name;
}

/** The next `count` occurrences strictly after `after`, oldest first. */
export function nextOccurrences(cron: CronExpression, timeZone: string, after: Date, count: number): Date[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_OCCURRENCES) throw new ValidationError(`count must be a whole number from 1 to ${MAX_OCCURRENCES} (got ${count})`, 'count');
  return compile(cron, timeZone).nextRuns(count, after);
}

/**
 * Occurrences in the half-open interval (`after`, `until`], newest first, at most `limit` of them:
 * `truncated` says that older ones in the interval were left out.
 */
export function occurrencesBetween(cron: CronExpression, timeZone: string, after: Date, until: Date, limit = MAX_OCCURRENCES): { occurrences: Date[]; truncated: boolean } {
  if (until.getTime() <= after.getTime()) return { occurrences: [], truncated: false };
  const compiled = compile(cron, timeZone);
  const occurrences: Date[] = [];
  // croner looks back from one second before the instant it is given, and occurrences fall on whole
  // minutes: starting a second after `until` includes an occurrence at `until` itself. One step at a
  // time, so a short interval costs a step or two however large `limit` is.
  let cursor = new Date(until.getTime() + 1000);
  while (occurrences.length <= limit) {
    const [previous] = compiled.previousRuns(1, cursor);
    if (!previous || previous.getTime() <= after.getTime()) break;
    occurrences.push(previous);
    cursor = previous;
  }
  return { occurrences: occurrences.slice(0, limit), truncated: occurrences.length > limit };
}

/** The newest occurrence at or before `at`, if any (a year-limited expression may have none). */
export function previousOccurrence(cron: CronExpression, timeZone: string, at: Date): Date | undefined {
  const [found] = compile(cron, timeZone).previousRuns(1, new Date(at.getTime() + 1000));
  return found && found.getTime() <= at.getTime() ? found : undefined;
}

/**
 * The AWS form of an expression, for an EventBridge Scheduler schedule (whose time zone is set
 * separately, as `ScheduleExpressionTimezone`). An AWS expression comes back as it is. From the
 * 5-field form: day-of-week is written with day names, which mean the same in both numberings; the
 * unrestricted one of day-of-month and day-of-week becomes `?`; a step over `*` starts at the field's
 * first value (every 15 minutes is `0/15`); the year is `*`.
 *
 * @throws ValidationError when both day-of-month and day-of-week are restricted: cron runs when either
 *   matches, which one AWS expression cannot say (use two schedules).
 */
export function toAwsCron(cron: CronExpression, field = 'cron_expression'): string {
  if (cron.form === 'aws') return `cron(${cron.fields.join(' ')})`;
  const [minute, hour, dom, month, dow] = cron.fields as [string, string, string, string, string];
  const domFree = dom === '*';
  const dowFree = dow === '*';
  if (!domFree && !dowFree) {
    throw new ValidationError(`${field}: "${cron.expression}" runs when either day-of-month or day-of-week matches, which an AWS cron expression cannot express; split it into two schedules`, field);
  }
  const start = (part: string, first: number) => part.replace(/^\*\//, `${first}/`);
  const awsDom = dowFree ? start(dom, 1) : '?';
  const awsDow = dowFree ? '?' : awsDayOfWeek(dow);
  return `cron(${[start(minute, 0), start(hour, 0), awsDom, start(month, 1), awsDow, '*'].join(' ')})`;
}

/** A 5-field day-of-week (0-7, SUN = 0 and 7) as AWS day-of-week: names for sets, 1-7 numbers for `L` and `#`. */
function awsDayOfWeek(dow: string): string {
  const days = new Set<number>();
  const special: string[] = [];
  for (const item of dow.split(',')) {
    const nth = /^(\w+)(#\d|L)$/i.exec(item);
    if (nth) {
      special.push(`${(dayNumber(nth[1]!) % 7) + 1}${nth[2]!.toUpperCase()}`);
      continue;
    }
    const [range, stepText] = item.split('/') as [string, string | undefined];
    const [low, high] = range === '*' ? [0, 6] : range.includes('-') ? (range.split('-').map(dayNumber) as [number, number]) : [dayNumber(range), stepText === undefined ? dayNumber(range) : 6];
    for (let day = low; day <= high; day += stepText === undefined ? 1 : Number(stepText)) days.add(day % 7);
  }
  return [...compressDays(days), ...special].join(',');
}

function dayNumber(text: string): number {
  const index = DAY_NAMES.indexOf(text.toUpperCase() as (typeof DAY_NAMES)[number]);
  return index >= 0 ? index : Number(text);
}

/** Runs of consecutive days as `MON-FRI`, single days as `SUN`. */
function compressDays(days: Set<number>): string[] {
  const sorted = [...days].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j]! + 1) j++;
    parts.push(j - i >= 2 ? `${DAY_NAMES[sorted[i]!]}-${DAY_NAMES[sorted[j]!]}` : sorted.slice(i, j + 1).map((day) => DAY_NAMES[day]!).join(','));
    i = j + 1;
  }
  return parts;
}

/**
 * croner for an expression. `?` is replaced by `*` here rather than by croner, which would treat a `?`
 * day-of-week as restricted and then match every day through the either-matches rule.
 */
function compile(cron: CronExpression, timeZone: string, fail?: (message: string) => ValidationError): Cron {
  try {
    if (cron.form === '5-field') return new Cron(cron.fields.join(' '), { mode: '5-part', timezone: timeZone, sloppyRanges: true });
    const fields = cron.fields.map((part) => (part === '?' ? '*' : part));
    return new Cron(['0', ...fields].join(' '), { mode: '7-part', timezone: timeZone, alternativeWeekdays: true, sloppyRanges: true });
  } catch (error) {
    const message = (error instanceof Error ? error.message : String(error)).replace(/^Cron\w*: /, '');
    if (fail) throw fail(message);
    throw new ValidationError(`cron expression "${cron.expression}": ${message}`, 'cron_expression');
  }
}

/** Checks one field: lists of `*`, values, ranges, steps and the special forms the field allows. */
function checkField(part: string, spec: FieldSpec, form: CronForm, fail: (message: string) => ValidationError): void {
  const isDom = spec === DAY_OF_MONTH;
  const isDow = spec.name === 'day-of-week';
  if (part === '?') {
    if (form === 'aws' && (isDom || isDow)) return;
    throw fail(form === 'aws' ? `'?' is allowed only in day-of-month and day-of-week, not in the ${spec.name} field` : `'?' belongs to the AWS form cron(…); the 5-field form uses '*'`);
  }
  if (isDom && /^(L|LW)$/i.test(part)) return;
  const items = part.split(',');
  for (const item of items) {
    if (item === '') throw fail(`${spec.name} field '${part}' has an empty list item`);
    if (isDom && /^(L|LW)$/i.test(item)) throw fail(`'${item}' stands alone in the day-of-month field`);
    if (isDom && /W$/i.test(item)) {
      value(item.slice(0, -1), spec, fail, item);
      continue;
    }
    if (isDow && /^[^#/-]+#/.test(item)) {
      const [day, nth] = item.split('#') as [string, string];
      value(day, spec, fail, item);
      if (!/^[1-5]$/.test(nth)) throw fail(`day-of-week field '${item}': the week after '#' must be 1-5`);
      continue;
    }
    if (isDow && /^[^/-]+L$/i.test(item)) {
      value(item.slice(0, -1), spec, fail, item);
      continue;
    }
    if (isDow && /^L$/i.test(item)) throw fail(`day-of-week field 'L' needs a day before it (e.g. ${form === 'aws' ? '6L' : '5L'} or FRIL for the last Friday)`);
    const [range, step, extra] = item.split('/') as [string, string | undefined, string | undefined];
    if (extra !== undefined) throw fail(`${spec.name} field '${item}' has more than one '/'`);
    if (step !== undefined && !/^\d+$/.test(step)) throw fail(`${spec.name} field '${item}': the step after '/' must be a whole number`);
    if (step !== undefined && (Number(step) < 1 || Number(step) > spec.max)) throw fail(`${spec.name} field '${item}': the step ${step} is out of range 1-${spec.max}`);
    if (range === '*') continue;
    const bounds = range.split('-');
    if (bounds.length > 2 || bounds.some((bound) => bound === '')) throw fail(`${spec.name} field '${item}' is not a value, a range a-b or a step */n`);
    const [low, high] = bounds.map((bound) => value(bound, spec, fail, item)) as [number, number | undefined];
    if (high !== undefined && high < low) throw fail(`${spec.name} field range '${range}' goes backwards; write it as two ranges joined by ','`);
  }
}

/** A number or a name within the field's range. */
function value(text: string, spec: FieldSpec, fail: (message: string) => ValidationError, item: string): number {
  const index = spec.names?.indexOf(text.toUpperCase()) ?? -1;
  if (index >= 0) return index + (spec.nameBase ?? 0);
  if (!/^\d+$/.test(text)) {
    const names = spec.names ? ` or a name ${spec.names[0]}-${spec.names.at(-1)}` : '';
    throw fail(text === item ? `${spec.name} field '${item}' is not a number${names}` : `${spec.name} field '${item}': '${text}' is not a number${names}`);
  }
  const number = Number(text);
  if (number < spec.min || number > spec.max) {
    throw fail(text === item ? `${spec.name} field '${item}' is out of range ${spec.min}-${spec.max}` : `${spec.name} field '${item}': ${text} is out of range ${spec.min}-${spec.max}`);
  }
  return number;
}
