import { ValidationError } from './errors.js';

/**
 * A retention policy in SPEC.md's terms, plus `keep_last`. Every field is optional; an absent field or 0
 * turns its rule off. Windows reach back from "now": days and weeks are exact multiples of 24 hours,
 * months and years are calendar months and years in UTC.
 */
export interface RetentionPolicy {
  /** A label (SPEC.md's "Standard Retention"); not used by the selection. */
  name?: string;
  /** Keep every backup at most this many days old. */
  retention_days?: number;
  /** Keep the newest backup of each UTC day, for days at most this many days back. */
  keep_daily_for_days?: number;
  /** Keep the newest backup of each ISO week (Monday to Sunday, UTC), for backups at most this many weeks old. */
  keep_weekly_for_weeks?: number;
  /** Keep the newest backup of each UTC calendar month, for backups at most this many months old. */
  keep_monthly_for_months?: number;
  /** Keep the newest backup of each UTC calendar year, for backups at most this many years old. */
  keep_yearly_for_years?: number;
  /** Always keep this many newest backups, whatever their age (a floor against an empty repository). */
  min_backups_to_keep?: number;
  /** Keep the newest this many backups (restic's `--keep-last`). */
  keep_last?: number;
}

/** The numeric fields of a policy, in the order their rules are reported. */
export const RETENTION_RULES = ['retention_days', 'keep_daily_for_days', 'keep_weekly_for_weeks', 'keep_monthly_for_months', 'keep_yearly_for_years', 'min_backups_to_keep', 'keep_last'] as const;
export type RetentionRule = (typeof RETENTION_RULES)[number];

/** What the selection needs of a snapshot. `held`: under legal hold, never removed. */
export interface RetentionCandidate {
  id: string;
  backupId: string;
  time: string;
  held?: boolean;
}

export interface RetentionDecision {
  keep: { id: string; backupId: string; time: string; reasons: string[] }[];
  remove: { id: string; backupId: string; time: string; reason: string }[];
}

/**
 * Decides which snapshots a policy keeps, like restic's `forget --keep-within/--keep-daily/…` but in
 * SPEC.md's terms and with windows instead of counts:
 *
 * - Decisions are per **backup group**: the snapshots sharing a `backupId` (one run over several sources)
 *   are kept or removed together, since a recovery needs all of them. A group's time is its newest
 *   snapshot's time.
 * - `retention_days: N` keeps every group at most N days old ("within 30 days").
 * - `keep_daily_for_days`, `keep_weekly_for_weeks`, `keep_monthly_for_months`, `keep_yearly_for_years`
 *   keep, among the groups inside the window (N days / weeks / months / years back from `now`), the
 *   newest of each UTC day, ISO week, calendar month or calendar year ("daily 2024-12-24",
 *   "weekly 2024-W51", "monthly 2024-12", "yearly 2024"). A window that starts mid-week or mid-month
 *   still counts that partial week or month, as its newest group is inside the window.
 * - `min_backups_to_keep: N` and `keep_last: N` keep the newest N groups whatever their age
 *   ("minimum 3", "last 3"): the first guards against a policy emptying a repository whose backups
 *   stopped.
 * - A group with any `held` snapshot is kept, always ("legal hold").
 *
 * Every kept snapshot carries every reason that applies; every removed one says why: either the rule
 * whose window holds it and which keeps a newer group instead, or "older than every rule".
 * Pure: same input, same answer; nothing is read or written.
 */
export function selectRetention(snapshots: readonly RetentionCandidate[], policy: RetentionPolicy, now: Date): RetentionDecision {
  const groups = groupByBackup(snapshots);
  const reasons = new Map<string, string[]>(groups.map((group) => [group.backupId, []]));
  const add = (group: Group, reason: string) => reasons.get(group.backupId)!.push(reason);
  const superseded = new Map<string, string>();

  for (const group of groups) if (group.held) add(group, 'legal hold');
  const newest = (count: number | undefined, label: string) => groups.slice(0, count ?? 0).forEach((group) => add(group, `${label} ${count}`));
  newest(policy.keep_last, 'last');
  newest(policy.min_backups_to_keep, 'minimum');
  if (policy.retention_days) {
    const cutoff = now.getTime() - policy.retention_days * DAY_MS;
    for (const group of groups) if (group.ms >= cutoff) add(group, `within ${policy.retention_days} days`);
  }
  const buckets: [number | undefined, string, number, (date: Date) => string][] = [
    [policy.keep_daily_for_days, 'daily', now.getTime() - (policy.keep_daily_for_days ?? 0) * DAY_MS, (date) => date.toISOString().slice(0, 10)],
    [policy.keep_weekly_for_weeks, 'weekly', now.getTime() - (policy.keep_weekly_for_weeks ?? 0) * 7 * DAY_MS, isoWeek],
    [policy.keep_monthly_for_months, 'monthly', monthsBefore(now, policy.keep_monthly_for_months ?? 0), (date) => date.toISOString().slice(0, 7)],
    [policy.keep_yearly_for_years, 'yearly', monthsBefore(now, 12 * (policy.keep_yearly_for_years ?? 0)), (date) => String(date.getUTCFullYear())],
  ];
  for (const [count, label, cutoff, bucketOf] of buckets) {
    if (!count) continue;
    const taken = new Map<string, Group>();
    // Groups are newest first, so the first one seen in a bucket is the one it keeps.
    for (const group of groups) {
      if (group.ms < cutoff) continue;
      const bucket = `${label} ${bucketOf(new Date(group.ms))}`;
      const keeper = taken.get(bucket);
      if (!keeper) {
        taken.set(bucket, group);
        add(group, bucket);
      } else if (!superseded.has(group.backupId)) superseded.set(group.backupId, `${bucket} keeps the newer ${keeper.backupId}`);
    }
  }

  const decision: RetentionDecision = { keep: [], remove: [] };
  for (const group of groups) {
    const kept = reasons.get(group.backupId)!;
    for (const snapshot of group.members) {
      const { id, backupId, time } = snapshot;
      if (kept.length > 0) decision.keep.push({ id, backupId, time, reasons: [...kept] });
      else decision.remove.push({ id, backupId, time, reason: superseded.get(group.backupId) ?? 'older than every rule' });
    }
  }
  return decision;
}

/**
 * Checks a policy read from a file, the API or command-line flags. Fields are SPEC.md's names plus
 * `keep_last`; each is a non-negative integer; unknown fields are refused so a typo cannot silently drop
 * a rule; and a policy whose every rule is off is refused, since it would remove every backup.
 */
export function validateRetentionPolicy(raw: unknown, at = 'policy'): RetentionPolicy {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw new ValidationError(`${at} must be an object`, at);
  const value = raw as Record<string, unknown>;
  const allowed: readonly string[] = ['name', ...RETENTION_RULES];
  const unknown = Object.keys(value).find((key) => !allowed.includes(key));
  if (unknown !== undefined) throw new ValidationError(`${at}.${unknown} is not a known field (expected ${allowed.join(', ')})`, `${at}.${unknown}`);
  const policy: RetentionPolicy = {};
  if (value.name !== undefined) {
    if (typeof value.name !== 'string' || value.name.trim() === '') throw new ValidationError(`${at}.name must be a non-empty string`, `${at}.name`);
    policy.name = value.name.trim();
  }
  for (const rule of RETENTION_RULES) {
    const count = value[rule];
    if (count === undefined) continue;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0) throw new ValidationError(`${at}.${rule} must be a non-negative integer (got ${JSON.stringify(count)})`, `${at}.${rule}`);
    policy[rule] = count;
  }
  if (RETENTION_RULES.every((rule) => !policy[rule])) throw new ValidationError(`${at} keeps nothing: set at least one of ${RETENTION_RULES.join(', ')} above 0`, at);
  return policy;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Group {
  backupId: string;
  ms: number;
  held: boolean;
  members: RetentionCandidate[];
}

/** Groups by backup id, newest group first (ties broken by id so the answer never depends on input order). */
function groupByBackup(snapshots: readonly RetentionCandidate[]): Group[] {
  const groups = new Map<string, Group>();
  snapshots.forEach((snapshot, i) => {
    const ms = Date.parse(snapshot.time);
    if (Number.isNaN(ms)) throw new ValidationError(`snapshots[${i}].time is not a date: ${snapshot.time}`, `snapshots[${i}].time`);
    const group = groups.get(snapshot.backupId) ?? { backupId: snapshot.backupId, ms, held: false, members: [] };
    group.ms = Math.max(group.ms, ms);
    group.held ||= snapshot.held === true;
    group.members.push(snapshot);
    groups.set(snapshot.backupId, group);
  });
  return [...groups.values()].sort((a, b) => b.ms - a.ms || (a.backupId < b.backupId ? -1 : a.backupId > b.backupId ? 1 : 0));
}

/** `now` moved back `months` calendar months, the day clamped to the shorter month (Mar 31 → Feb 29). */
function monthsBefore(now: Date, months: number): number {
  const target = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - months, 1, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds(), now.getUTCMilliseconds()));
  const lastDay = new Date(Date.UTC(target.getUTCFullYear(), target.getUTCMonth() + 1, 0)).getUTCDate();
  target.setUTCDate(Math.min(now.getUTCDate(), lastDay));
  return target.getTime();
}

/** ISO 8601 week, `2024-W51`: weeks start on Monday and belong to the year of their Thursday. */
function isoWeek(date: Date): string {
  const weekday = (date.getUTCDay() + 6) % 7;
  const thursday = new Date(Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate() - weekday + 3));
  const year = thursday.getUTCFullYear();
  const week = 1 + Math.floor((thursday.getTime() - Date.UTC(year, 0, 1)) / (7 * DAY_MS));
  return `${year}-W${String(week).padStart(2, '0')}`;
}
