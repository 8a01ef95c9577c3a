/**
 * `chrono-backup schedules …` and `chrono-backup scheduler run`, as real processes on a real catalog.
 * Minute-long waits are avoided without any test-only switch: schedules are written into the catalog
 * with a creation time a few minutes back, so occurrences are already due when the scheduler starts.
 * The clock-driven behaviour (missed windows, restarts, policies) is proven on a fake clock in
 * test/unit/app/scheduler.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { SqliteScheduleStore } from '../../src/catalog/sqlite-schedule-store.js';
import { newSchedule, parseScheduleInput, type Schedule } from '../../src/domain/schedule.js';
import type { OccurrenceRecord } from '../../src/ports/schedule-store.js';
import { cleanupAll, createHome, describeRun, errorJson, EXIT, expectExit, parseJson, waitFor, writeTree, type CliHome } from './cli-harness.js';

let home: CliHome;
let catalog: SqliteCatalog;
let store: SqliteScheduleStore;

beforeAll(async () => {
  home = await createHome('scheduler');
  await writeTree(home.path('data'), { 'a.txt': 'alpha\n', 'sub/b.bin': 50_000 });
  await writeFile(home.path('plans.yaml'), `plans:\n  web:\n    files:\n      paths: [${JSON.stringify(home.path('data'))}]\n`);
  await writeFile(home.path('policies.yaml'), 'policies:\n  newest:\n    retention_days: 0\n    keep_last: 1\n');
  expectExit(await home.run(['plan', 'import', home.path('plans.yaml')]), EXIT.ok);
  catalog = SqliteCatalog.open(join(home.home, 'catalog.sqlite'));
  store = catalog.sibling((db) => new SqliteScheduleStore(db));
}, 30_000);

afterAll(async () => {
  await catalog?.close();
  await cleanupAll();
});

/** A schedule stored as if created `minutesAgo` minutes ago, so its occurrences since then are due. */
async function backdated(raw: Record<string, unknown>, minutesAgo: number): Promise<Schedule> {
  const schedule = newSchedule(parseScheduleInput(raw), new Date(Date.now() - minutesAgo * 60_000));
  await store.createSchedule(schedule);
  return schedule;
}

const finished = (record: OccurrenceRecord) => record.outcome === 'fired' && record.status !== 'running';

describe('chrono-backup schedules', () => {
  it('adds, lists, previews and removes schedules', async () => {
    const added = await home.json<Schedule & { next_occurrence: string }>(['schedules', 'add', 'Weekday Full Backup', '--plan', 'web', '--cron', '0 2 * * 1-5', '--time-zone', 'Europe/Berlin', '--missed', 'catch-up-once']);
    expect(added).toMatchObject({ name: 'Weekday Full Backup', kind: 'backup', plan: 'web', backup_type: 'full', cron_expression: '0 2 * * 1-5', time_zone: 'Europe/Berlin', enabled: true, missed_run_policy: 'catch_up_once' });
    expect(Date.parse(added.next_occurrence)).toBeGreaterThan(Date.now());

    const cleanupSchedule = await home.json<Schedule>(['schedules', 'add', 'weekly cleanup', '--retention-policy', 'newest', '--policy-file', home.path('policies.yaml'), '--cron', 'cron(0 3 ? * SUN *)']);
    expect(cleanupSchedule).toMatchObject({ kind: 'retention', retention_policy: 'newest', missed_run_policy: 'skip' });

    const listed = await home.json<(Schedule & { next_occurrence: string | null })[]>(['schedules', 'list']);
    expect(listed.map((each) => each.name)).toEqual(['Weekday Full Backup', 'weekly cleanup']);
    const human = expectExit(await home.run(['schedules', 'list']), EXIT.ok).stdout;
    expect(human).toContain('full web');
    expect(human).toContain('retention newest');

    const preview = await home.json<{ name: string; aws_expression: string; occurrences: string[] }>(['schedules', 'next', 'Weekday Full Backup', '--count', '3', '--after', '2026-03-27T12:00:00Z']);
    // Friday 27 March, then Monday 30 March (Berlin moved to summer time on the 29th: 02:00 is 00:00Z).
    expect(preview).toMatchObject({ name: 'Weekday Full Backup', aws_expression: 'cron(0 2 ? * MON-FRI *)', occurrences: ['2026-03-30T00:00:00.000Z', '2026-03-31T00:00:00.000Z', '2026-04-01T00:00:00.000Z'] });
    const expression = await home.json<{ form: string; aws_expression: string | null; aws_problem?: string; occurrences: string[] }>(['schedules', 'next', '0 2 1 * 1', '--count', '2', '--after', '2026-01-31T00:00:00Z']);
    expect(expression).toMatchObject({ form: '5-field', aws_expression: null, occurrences: ['2026-02-01T02:00:00.000Z', '2026-02-02T02:00:00.000Z'] });
    expect(expression.aws_problem).toContain('two schedules');

    expect(await home.json(['schedules', 'remove', 'weekly cleanup'])).toEqual({ removed: cleanupSchedule.id, name: 'weekly cleanup' });
    expect(await home.json(['schedules', 'remove', added.id])).toEqual({ removed: added.id, name: 'Weekday Full Backup' });
    expect(await home.json(['schedules', 'list'])).toEqual([]);
  }, 60_000);

  it('refuses bad input, saying what is wrong', async () => {
    const cron = errorJson(expectExit(await home.run(['schedules', 'add', 'x', '--plan', 'web', '--cron', '61 2 * * *', '--json']), EXIT.usage));
    expect(cron.message).toContain("minute field '61' is out of range 0-59");
    expect(cron.details).toMatchObject({ field: 'cron_expression' });
    const aws = errorJson(expectExit(await home.run(['schedules', 'next', 'cron(0 2 * * ?)', '--json']), EXIT.usage));
    expect(aws.message).toContain('AWS cron needs 6 fields');
    const zone = errorJson(expectExit(await home.run(['schedules', 'add', 'x', '--plan', 'web', '--cron', '0 2 * * *', '--time-zone', 'Mars/Base', '--json']), EXIT.usage));
    expect(zone.message).toContain("unknown time zone 'Mars/Base'");
    const plan = errorJson(expectExit(await home.run(['schedules', 'add', 'x', '--plan', 'nope', '--cron', '0 2 * * *', '--json']), EXIT.notFound));
    expect(plan.message).toContain('nope');
    expectExit(await home.run(['schedules', 'add', 'dup', '--plan', 'web', '--cron', '0 2 * * *']), EXIT.ok);
    expectExit(await home.run(['schedules', 'add', 'dup', '--plan', 'web', '--cron', '0 3 * * *']), EXIT.conflict);
    expectExit(await home.run(['schedules', 'remove', 'dup']), EXIT.ok);
    expectExit(await home.run(['schedules', 'remove', 'dup']), EXIT.notFound);
  }, 60_000);
});

describe('chrono-backup scheduler run', () => {
  it('two scheduler processes on one catalog back up each due occurrence once, and stop cleanly on SIGTERM', async () => {
    const schedule = await backdated({ name: 'every minute', plan: 'web', cron_expression: '* * * * *' }, 3);
    const a = home.start(['scheduler', 'run', '--json'], { timeoutMs: 60_000 });
    const b = home.start(['scheduler', 'run', '--json'], { timeoutMs: 60_000 });
    // The newest due occurrence (less than a minute old) runs at once; older ones are superseded by it.
    const first = await waitFor('a scheduled backup to finish', async () => (await store.listOccurrences(schedule.id)).find(finished), 30_000, 100);
    expect(first).toMatchObject({ outcome: 'fired', status: 'succeeded' });
    // Both must have their signal handlers in place (they print this line right before): a process
    // still starting up on a loaded machine would die of the signal instead of stopping.
    await waitFor('both schedulers to be running', () => [a, b].every((process) => process.stderrSoFar().includes('scheduler running')), 30_000, 50);
    a.signal('SIGTERM');
    b.signal('SIGTERM');
    const results = await Promise.all([a.result, b.result]);
    for (const result of results) {
      expect(result.code).toBe(EXIT.ok);
      expect(result.stderr).toContain('scheduler stopped');
    }

    const records = await store.listOccurrences(schedule.id, 100);
    const fired = records.filter((record) => record.outcome === 'fired');
    const reported = results.flatMap((result) => result.stdout.split('\n').filter((line) => line.trim() !== '')).map((line) => JSON.parse(line) as { occurrence: string; status: string; run_id?: string });
    // Each fired occurrence was run by one process only, and each made one backup.
    expect(reported.map((line) => line.occurrence).sort()).toEqual(fired.map((record) => record.occurrence).sort());
    expect(fired.every((record) => record.status === 'succeeded' && record.run_id !== undefined)).toBe(true);
    const snapshots = await home.snapshots();
    expect([...new Set(snapshots.map((snapshot) => snapshot.backupId))].sort()).toEqual(fired.map((record) => record.run_id!).sort());
    expect(snapshots.every((snapshot) => snapshot.source === 'files')).toBe(true);
    expect(records.filter((record) => record.outcome === 'skipped').every((record) => record.reason === 'superseded')).toBe(true);

    // Other checks (no verification yet) make `health` exit non-zero here; the schedules are on time.
    const report = parseJson<{ checks: { name: string; status: string }[] }>(await home.run(['health', '--json']));
    expect(report.checks.find((check) => check.name === 'overdue_schedules')).toMatchObject({ status: 'ok' });
    expect(await store.deleteSchedule(schedule.id)).toBe(true);
  }, 90_000);

  it('runs a retention schedule with its named policy, confirmed', async () => {
    await home.backup([home.path('data')]);
    await home.backup([home.path('data')]);
    expect(new Set((await home.snapshots()).map((snapshot) => snapshot.backupId)).size).toBeGreaterThan(1);
    const schedule = await backdated({ name: 'cleanup', kind: 'retention', retention_policy: 'newest', cron_expression: '* * * * *' }, 2);
    const run = home.start(['scheduler', 'run', '--policy-file', home.path('policies.yaml')], { timeoutMs: 60_000 });
    const record = await waitFor('the retention run to finish', async () => (await store.listOccurrences(schedule.id)).find(finished), 30_000, 100);
    run.signal('SIGINT');
    const result = await run.result;
    expect(result.code).toBe(EXIT.ok);
    expect(record).toMatchObject({ status: 'succeeded' });
    expect(result.stdout).toContain('cleanup: succeeded');
    expect(new Set((await home.snapshots()).map((snapshot) => snapshot.backupId)).size).toBe(1);
    expect(describeRun(result)).toContain('scheduler stopped');
  }, 90_000);
});
