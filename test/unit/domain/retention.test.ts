import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { selectRetention, validateRetentionPolicy, type RetentionCandidate, type RetentionPolicy } from '../../../src/domain/retention.js';
import { thrownBy } from '../../helpers/thrown.js';

const NOW = new Date('2025-01-01T00:00:00Z');

/** SPEC.md's "Standard Retention" policy. */
const STANDARD: RetentionPolicy = { retention_days: 30, keep_daily_for_days: 7, keep_weekly_for_weeks: 4, keep_monthly_for_months: 12, keep_yearly_for_years: 5, min_backups_to_keep: 3 };

/** One snapshot a day at 02:00 UTC, 2023-01-01 to 2024-12-31, each its own backup: id `s-YYYY-MM-DD`. */
function twoYearsOfDailies(): RetentionCandidate[] {
  const snapshots: RetentionCandidate[] = [];
  for (let day = new Date('2023-01-01T02:00:00Z'); day < NOW; day = new Date(day.getTime() + 86_400_000)) {
    const id = `s-${day.toISOString().slice(0, 10)}`;
    snapshots.push({ id, backupId: id, time: day.toISOString() });
  }
  return snapshots;
}

// The expected keep set, written out by hand rather than computed:
// - within 30 days of 2025-01-01: 2024-12-02 … 2024-12-31 (this also covers the 7 dailies and the weeklies);
// - monthly for 12 months (back to 2024-01-01): the last day of each month of 2024;
// - yearly for 5 years: the last day of 2023 (2024's is already kept).
const DECEMBER_2024 = ['02', '03', '04', '05', '06', '07', '08', '09', '10', '11', '12', '13', '14', '15', '16', '17', '18', '19', '20', '21', '22', '23', '24', '25', '26', '27', '28', '29', '30', '31'].map((day) => `2024-12-${day}`);
const MONTH_ENDS_2024 = ['2024-01-31', '2024-02-29', '2024-03-31', '2024-04-30', '2024-05-31', '2024-06-30', '2024-07-31', '2024-08-31', '2024-09-30', '2024-10-31', '2024-11-30'];
const EXPECTED_KEEP = [...DECEMBER_2024, ...MONTH_ENDS_2024, '2023-12-31'].map((day) => `s-${day}`);

describe("selectRetention with SPEC.md's Standard Retention over two years of dailies", () => {
  const snapshots = twoYearsOfDailies();
  const decision = selectRetention(snapshots, STANDARD, NOW);
  const reasonsOf = (id: string) => decision.keep.find((kept) => kept.id === id)?.reasons;

  it('keeps exactly the expected set and removes all the rest', () => {
    expect(snapshots).toHaveLength(731);
    expect(decision.keep.map((kept) => kept.id).sort()).toEqual([...EXPECTED_KEEP].sort());
    expect(decision.remove).toHaveLength(731 - EXPECTED_KEEP.length);
    expect(new Set([...decision.keep, ...decision.remove].map((entry) => entry.id)).size).toBe(731);
  });

  it.each([
    ['s-2024-12-31', ['minimum 3', 'within 30 days', 'daily 2024-12-31', 'weekly 2025-W01', 'monthly 2024-12', 'yearly 2024']],
    ['s-2024-12-29', ['minimum 3', 'within 30 days', 'daily 2024-12-29', 'weekly 2024-W52']],
    ['s-2024-12-25', ['within 30 days', 'daily 2024-12-25']],
    ['s-2024-12-24', ['within 30 days']],
    ['s-2024-12-22', ['within 30 days', 'weekly 2024-W51']],
    ['s-2024-12-08', ['within 30 days', 'weekly 2024-W49']],
    ['s-2024-11-30', ['monthly 2024-11']],
    ['s-2024-02-29', ['monthly 2024-02']],
    ['s-2023-12-31', ['yearly 2023']],
  ])('%s is kept for %j', (id, reasons) => {
    expect(reasonsOf(id)).toEqual(reasons);
  });

  it('says why each removed snapshot goes', () => {
    const reasonFor = (id: string) => decision.remove.find((removed) => removed.id === id)?.reason;
    expect(reasonFor('s-2024-12-01')).toBe('monthly 2024-12 keeps the newer s-2024-12-31');
    expect(reasonFor('s-2023-06-15')).toBe('yearly 2023 keeps the newer s-2023-12-31');
    expect(decision.remove.every((removed) => removed.reason.length > 0)).toBe(true);
  });

  it('keeps legal-held snapshots, however old, and adds the hold to their other reasons', () => {
    const held = new Set(['s-2023-03-14', 's-2024-12-24']);
    const result = selectRetention(snapshots.map((s) => ({ ...s, held: held.has(s.id) })), STANDARD, NOW);
    expect(result.keep.map((kept) => kept.id).sort()).toEqual([...EXPECTED_KEEP, 's-2023-03-14'].sort());
    expect(result.keep.find((kept) => kept.id === 's-2023-03-14')?.reasons).toEqual(['legal hold']);
    expect(result.keep.find((kept) => kept.id === 's-2024-12-24')?.reasons).toEqual(['legal hold', 'within 30 days']);
  });
});

describe('selectRetention floors and groups', () => {
  const old = ['2014-12-28', '2014-12-29', '2014-12-30', '2014-12-31'].map((day): RetentionCandidate => ({ id: `s-${day}`, backupId: `s-${day}`, time: `${day}T02:00:00Z` }));

  it('keeps the newest min_backups_to_keep even when every rule would remove them', () => {
    const result = selectRetention(old, STANDARD, NOW);
    expect(result.keep.map((kept) => [kept.id, kept.reasons])).toEqual([
      ['s-2014-12-31', ['minimum 3']],
      ['s-2014-12-30', ['minimum 3']],
      ['s-2014-12-29', ['minimum 3']],
    ]);
    expect(result.remove).toEqual([{ id: 's-2014-12-28', backupId: 's-2014-12-28', time: '2014-12-28T02:00:00Z', reason: 'older than every rule' }]);
  });

  it('keeps the newest keep_last, and both floors give their reason', () => {
    const result = selectRetention(old, { keep_last: 1, min_backups_to_keep: 2 }, NOW);
    expect(result.keep.map((kept) => [kept.id, kept.reasons])).toEqual([
      ['s-2014-12-31', ['last 1', 'minimum 2']],
      ['s-2014-12-30', ['minimum 2']],
    ]);
  });

  it('keeps or removes the snapshots of one backup together, dated by the newest of them', () => {
    const group = (backupId: string, times: string[]) => times.map((time, i): RetentionCandidate => ({ id: `${backupId}.${i}`, backupId, time }));
    const snapshots = [
      // One run that straddled midnight: its newest snapshot makes it the newest backup of 2024-12-31.
      ...group('b3', ['2024-12-30T23:59:00Z', '2025-01-01T00:00:00Z']),
      ...group('b2', ['2024-12-31T10:00:00Z', '2024-12-31T10:05:00Z', '2024-12-31T10:10:00Z']),
      ...group('b1', ['2024-06-01T10:00:00Z', '2024-06-01T10:01:00Z']),
    ];
    const result = selectRetention(snapshots, { keep_last: 1, keep_daily_for_days: 3 }, NOW);
    expect(result.keep.map((kept) => kept.id)).toEqual(['b3.0', 'b3.1', 'b2.0', 'b2.1', 'b2.2']);
    expect(result.keep.find((kept) => kept.id === 'b3.0')?.reasons).toEqual(['last 1', 'daily 2025-01-01']);
    expect(result.keep.find((kept) => kept.id === 'b2.2')?.reasons).toEqual(['daily 2024-12-31']);
    expect(result.remove.map((removed) => [removed.id, removed.reason])).toEqual([
      ['b1.0', 'older than every rule'],
      ['b1.1', 'older than every rule'],
    ]);
    // A hold on one member keeps its whole backup.
    const held = selectRetention(snapshots.map((s) => ({ ...s, held: s.id === 'b1.1' })), { keep_last: 1 }, NOW);
    expect(held.keep.map((kept) => kept.id)).toEqual(['b3.0', 'b3.1', 'b1.0', 'b1.1']);
    expect(held.remove.map((removed) => removed.id)).toEqual(['b2.0', 'b2.1', 'b2.2']);
  });

  it('does not depend on the order of its input', () => {
    const forward = selectRetention(twoYearsOfDailies(), STANDARD, NOW);
    const backward = selectRetention(twoYearsOfDailies().reverse(), STANDARD, NOW);
    expect(backward).toEqual(forward);
  });
});

describe('validateRetentionPolicy', () => {
  it("accepts SPEC.md's policy, with its name, and keep_last", () => {
    expect(validateRetentionPolicy({ name: 'Standard Retention', ...STANDARD, keep_last: 2 })).toEqual({ name: 'Standard Retention', ...STANDARD, keep_last: 2 });
  });

  it.each([
    ['a policy that is not an object', [], 'policies.std'],
    ['an unknown field', { retention_days: 30, keep_daily: 7 }, 'policies.std.keep_daily'],
    ['a negative count', { retention_days: -1 }, 'policies.std.retention_days'],
    ['a fraction', { keep_weekly_for_weeks: 1.5 }, 'policies.std.keep_weekly_for_weeks'],
    ['a count given as text', { min_backups_to_keep: '3' }, 'policies.std.min_backups_to_keep'],
    ['an empty name', { name: '', keep_last: 1 }, 'policies.std.name'],
    ['a policy that keeps nothing', { retention_days: 0 }, 'policies.std'],
  ])('refuses %s, naming the field', (_name, raw, field) => {
    const error = thrownBy(() => validateRetentionPolicy(raw, 'policies.std'), ValidationError);
    expect(error.details?.field).toBe(field);
    expect(error.message).toContain(field);
  });
});
