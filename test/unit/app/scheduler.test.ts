/**
 * The local scheduler on a fake clock and a fake timer (no real waiting), with a real SQLite catalog
 * file: restarts are new scheduler instances on new connections to the same file.
 */
import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalScheduler, scheduleFacts, type JobOutcome, type SchedulerTimer } from '../../../src/app/scheduler.js';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { SqliteScheduleStore } from '../../../src/catalog/sqlite-schedule-store.js';
import { newSchedule, parseScheduleInput, type Schedule } from '../../../src/domain/schedule.js';
import { overdueSchedules } from '../../../src/domain/schedule-health.js';
import { SourceError } from '../../../src/domain/errors.js';
import type { Clock } from '../../../src/ports/clock.js';
import type { OccurrenceRecord } from '../../../src/ports/schedule-store.js';

/** One fake time shared by the clock and the timer, moved only by the test. */
class FakeTime implements Clock, SchedulerTimer {
  private ms: number;
  private tasks: { id: number; at: number; callback: () => void }[] = [];
  private ids = 0;

  constructor(start: string) {
    this.ms = Date.parse(start);
  }

  now(): Date {
    return new Date(this.ms);
  }

  set(callback: () => void, ms: number): unknown {
    const id = ++this.ids;
    this.tasks.push({ id, at: this.ms + ms, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.tasks = this.tasks.filter((task) => task.id !== handle);
  }

  /** Jumps without firing anything: the process was not running meanwhile. */
  jump(to: string): void {
    this.ms = Date.parse(to);
  }

  /** Fires every timer due up to `to`, in time order, letting the schedulers settle after each. */
  async advance(to: string, ...schedulers: LocalScheduler[]): Promise<void> {
    const target = Date.parse(to);
    for (;;) {
      for (const scheduler of schedulers) await scheduler.idle();
      const due = this.tasks.filter((task) => task.at <= target).sort((a, b) => a.at - b.at || a.id - b.id)[0];
      if (!due) break;
      this.tasks = this.tasks.filter((task) => task !== due);
      this.ms = Math.max(this.ms, due.at);
      due.callback();
    }
    this.ms = target;
  }
}

let dir: string;
let file: string;
const catalogs: SqliteCatalog[] = [];
const schedulers: LocalScheduler[] = [];

function connect(): SqliteScheduleStore {
  const catalog = SqliteCatalog.open(file);
  catalogs.push(catalog);
  return catalog.sibling((db) => new SqliteScheduleStore(db));
}

/** Every job call, as `name@occurrence`. */
let calls: string[];

function scheduler(time: FakeTime, store = connect(), job?: (schedule: Schedule, occurrence: Date) => Promise<JobOutcome>, pollMs = 3_600_000): LocalScheduler {
  const instance = new LocalScheduler({
    store,
    clock: time,
    timer: time,
    // A long poll keeps fake days cheap: the timer wakes at each schedule's next occurrence anyway.
    pollMs,
    job:
      job ??
      (async (schedule, occurrence) => {
        calls.push(`${schedule.name}@${occurrence.toISOString().slice(11, 16)}`);
        return { status: 'succeeded', runId: `backup-${occurrence.toISOString()}` };
      }),
  });
  schedulers.push(instance);
  return instance;
}

async function addSchedule(store: SqliteScheduleStore, raw: Record<string, unknown>, createdAt: string): Promise<Schedule> {
  const schedule = newSchedule(parseScheduleInput({ plan: 'shop', ...raw }), new Date(createdAt));
  await store.createSchedule(schedule);
  return schedule;
}

/** The occurrence history as `HH:MM status(reason)`, oldest first. */
async function history(store: SqliteScheduleStore, schedule: Schedule): Promise<string[]> {
  const records: OccurrenceRecord[] = (await store.listOccurrences(schedule.id, 500)).reverse();
  return records.map((record) => `${record.occurrence.slice(11, 16)} ${record.status}${record.reason ? `(${record.reason})` : ''}`);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-scheduler-'));
  file = join(dir, 'catalog.sqlite');
  calls = [];
});

afterEach(async () => {
  for (const each of schedulers.splice(0)) await each.stop(0);
  for (const catalog of catalogs.splice(0)) await catalog.close();
  await rm(dir, { recursive: true, force: true });
});

describe('local scheduler', () => {
  it('skip policy: across a restart and a missed window each occurrence fires once; missed ones are recorded skipped', async () => {
    const time = new FakeTime('2026-01-01T00:30:00Z');
    const setup = connect();
    const hourly = await addSchedule(setup, { name: 'hourly', cron_expression: '0 * * * *', missed_run_policy: 'skip' }, '2026-01-01T00:30:00Z');

    const first = scheduler(time);
    first.start();
    await time.advance('2026-01-01T03:30:00Z', first);
    expect(calls).toEqual(['hourly@01:00', 'hourly@02:00', 'hourly@03:00']);
    await first.stop();

    // Down from 03:30 to 07:10: 04:00-07:00 pass unseen (07:00 is 10 minutes late, past the 5-minute grace).
    time.jump('2026-01-01T07:10:00Z');
    const second = scheduler(time);
    second.start();
    await time.advance('2026-01-01T09:30:00Z', second);
    expect(calls).toEqual(['hourly@01:00', 'hourly@02:00', 'hourly@03:00', 'hourly@08:00', 'hourly@09:00']);
    await second.stop();

    // Down again, back within the grace period: 10:00 still runs, 3 minutes late.
    time.jump('2026-01-01T10:03:00Z');
    const third = scheduler(time);
    third.start();
    await time.advance('2026-01-01T10:30:00Z', third);
    expect(calls.at(-1)).toBe('hourly@10:00');
    expect(calls).toHaveLength(6);

    expect(await history(setup, hourly)).toEqual([
      '01:00 succeeded',
      '02:00 succeeded',
      '03:00 succeeded',
      '04:00 skipped(missed)',
      '05:00 skipped(missed)',
      '06:00 skipped(missed)',
      '07:00 skipped(missed)',
      '08:00 succeeded',
      '09:00 succeeded',
      '10:00 succeeded',
    ]);
    expect(await setup.getOccurrence(hourly.id, new Date('2026-01-01T10:00:00Z'))).toMatchObject({ outcome: 'fired', late_ms: 180_000, run_id: 'backup-2026-01-01T10:00:00.000Z' });
  });

  it('catch_up_once policy: after a missed window only the newest missed occurrence runs, once, also across another restart', async () => {
    const time = new FakeTime('2026-01-01T00:30:00Z');
    const setup = connect();
    const hourly = await addSchedule(setup, { name: 'hourly', cron_expression: '0 * * * *', missed_run_policy: 'catch_up_once' }, '2026-01-01T00:30:00Z');

    const first = scheduler(time);
    first.start();
    await time.advance('2026-01-01T01:30:00Z', first);
    await first.stop();

    time.jump('2026-01-01T05:20:00Z');
    const second = scheduler(time);
    second.start();
    await time.advance('2026-01-01T05:30:00Z', second);
    expect(calls).toEqual(['hourly@01:00', 'hourly@05:00']);
    await second.stop();

    // A restart right after the catch-up does not catch up again.
    time.jump('2026-01-01T05:40:00Z');
    const third = scheduler(time);
    third.start();
    await time.advance('2026-01-01T06:10:00Z', third);
    expect(calls).toEqual(['hourly@01:00', 'hourly@05:00', 'hourly@06:00']);

    expect(await history(setup, hourly)).toEqual(['01:00 succeeded', '02:00 skipped(missed)', '03:00 skipped(missed)', '04:00 skipped(missed)', '05:00 succeeded', '06:00 succeeded']);
    expect(await setup.getOccurrence(hourly.id, new Date('2026-01-01T05:00:00Z'))).toMatchObject({ late_ms: 20 * 60_000 });
  });

  it('never catches up on occurrences from before a schedule existed', async () => {
    const time = new FakeTime('2026-01-01T05:20:00Z');
    const setup = connect();
    const hourly = await addSchedule(setup, { name: 'hourly', cron_expression: '0 * * * *', missed_run_policy: 'catch_up_once' }, '2026-01-01T05:20:00Z');
    const only = scheduler(time);
    only.start();
    await time.advance('2026-01-01T06:30:00Z', only);
    expect(calls).toEqual(['hourly@06:00']);
    expect(await history(setup, hourly)).toEqual(['06:00 succeeded']);
  });

  it('two schedulers on one catalog file run each occurrence once between them', async () => {
    const time = new FakeTime('2026-01-01T00:00:00Z');
    const setup = connect();
    const schedule = await addSchedule(setup, { name: 'every-10', cron_expression: '*/10 * * * *' }, '2026-01-01T00:00:00Z');
    const ran: string[] = [];
    const job = (who: string) => async (_schedule: Schedule, occurrence: Date): Promise<JobOutcome> => {
      ran.push(`${who}@${occurrence.toISOString().slice(11, 16)}`);
      return { status: 'succeeded' };
    };
    const a = scheduler(time, connect(), job('a'));
    const b = scheduler(time, connect(), job('b'));
    a.start();
    b.start();
    await time.advance('2026-01-01T01:00:00Z', a, b);
    expect(ran.map((entry) => entry.slice(2)).sort()).toEqual(['00:10', '00:20', '00:30', '00:40', '00:50', '01:00']);
    expect((await history(setup, schedule)).every((line) => line.endsWith('succeeded'))).toBe(true);
  });

  it('never runs two jobs of one schedule at once: occurrences that pass meanwhile follow the policy afterwards', async () => {
    const time = new FakeTime('2026-01-01T00:00:30Z');
    const store = connect();
    const minutely = await addSchedule(store, { name: 'minutely', cron_expression: '* * * * *' }, '2026-01-01T00:00:30Z');
    let running = 0;
    let most = 0;
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const started: string[] = [];
    const only = scheduler(time, store, async (_schedule, occurrence) => {
      started.push(occurrence.toISOString().slice(11, 16));
      running++;
      most = Math.max(most, running);
      if (started.length === 1) await blocked;
      running--;
      return { status: 'succeeded' };
    });
    time.jump('2026-01-01T00:01:00Z');
    await only.tick();
    expect(only.running()).toEqual([{ scheduleId: minutely.id, name: 'minutely', occurrence: '2026-01-01T00:01:00.000Z' }]);
    for (const at of ['2026-01-01T00:02:00Z', '2026-01-01T00:03:00Z', '2026-01-01T00:03:30Z']) {
      time.jump(at);
      await only.tick();
    }
    expect(started).toEqual(['00:01']);
    release();
    await only.idle();
    await only.tick();
    await only.idle();
    // Once the job ended, the newest due occurrence (00:03, 30 s late) ran; 00:02 was superseded.
    expect(started).toEqual(['00:01', '00:03']);
    expect(most).toBe(1);
    expect(await history(store, minutely)).toEqual(['00:01 succeeded', '00:02 skipped(superseded)', '00:03 succeeded']);
  });

  it('reads schedules on every tick: added, disabled and deleted schedules apply without a restart', async () => {
    const time = new FakeTime('2026-01-01T00:00:00Z');
    const store = connect();
    // Polling every 15 s, as by default: a schedule added meanwhile is seen at the next poll.
    const only = scheduler(time, store, undefined, 15_000);
    only.start();
    await time.advance('2026-01-01T00:30:00Z', only);
    const added = await addSchedule(store, { name: 'quarter', cron_expression: '*/15 * * * *' }, '2026-01-01T00:30:00Z');
    await time.advance('2026-01-01T01:10:00Z', only);
    expect(calls).toEqual(['quarter@00:45', 'quarter@01:00']);
    await store.replaceSchedule({ ...added, enabled: false, updated_at: '2026-01-01T01:10:00.000Z' });
    await time.advance('2026-01-01T02:10:00Z', only);
    expect(calls).toHaveLength(2);
    // Enabled again: the disabled hour is not caught up, the schedule runs on from its change.
    await store.replaceSchedule({ ...added, enabled: true, missed_run_policy: 'catch_up_once', updated_at: '2026-01-01T02:10:00.000Z' });
    await time.advance('2026-01-01T02:20:00Z', only);
    expect(calls).toEqual(['quarter@00:45', 'quarter@01:00', 'quarter@02:15']);
    await store.deleteSchedule(added.id);
    await time.advance('2026-01-01T03:00:00Z', only);
    expect(calls).toHaveLength(3);
  });

  it('records a job that throws as failed with its message, and goes on', async () => {
    const time = new FakeTime('2026-01-01T00:00:00Z');
    const store = connect();
    const hourly = await addSchedule(store, { name: 'hourly', cron_expression: '0 * * * *' }, '2026-01-01T00:00:00Z');
    let attempt = 0;
    const only = scheduler(time, store, async () => {
      attempt++;
      if (attempt === 1) throw new SourceError('postgres.unreachable', 'PostgreSQL at db:5432 is unreachable');
      return { status: 'partial', runId: 'b2', error: 'redis: down' };
    });
    only.start();
    await time.advance('2026-01-01T02:30:00Z', only);
    expect(await store.getOccurrence(hourly.id, new Date('2026-01-01T01:00:00Z'))).toMatchObject({ status: 'failed', error: 'PostgreSQL at db:5432 is unreachable' });
    expect(await store.getOccurrence(hourly.id, new Date('2026-01-01T02:00:00Z'))).toMatchObject({ status: 'partial', run_id: 'b2', error: 'redis: down' });
  });

  it('stop() waits for running jobs, or reports those still running when told not to wait longer', async () => {
    const time = new FakeTime('2026-01-01T00:59:00Z');
    const store = connect();
    await addSchedule(store, { name: 'hourly', cron_expression: '0 * * * *' }, '2026-01-01T00:59:00Z');
    let release!: () => void;
    const blocked = new Promise<void>((resolve) => (release = resolve));
    const only = scheduler(time, store, async () => {
      await blocked;
      return { status: 'succeeded' };
    });
    time.jump('2026-01-01T01:00:00Z');
    await only.tick();
    const stopping = only.stop(60_000);
    // The stop's own wait runs on the injected timer too (set once stop() has looked at the jobs).
    await new Promise((resolve) => setImmediate(resolve));
    await time.advance('2026-01-01T01:01:00Z');
    expect((await stopping).stillRunning).toEqual([expect.objectContaining({ name: 'hourly', occurrence: '2026-01-01T01:00:00.000Z' })]);
    const waiting = only.stop();
    release();
    expect((await waiting).stillRunning).toEqual([]);
  });

  it('tells the health check about overdue schedules: warn, then fail while the scheduler is down, ok once it runs again', async () => {
    const time = new FakeTime('2026-01-01T00:30:00Z');
    const store = connect();
    await addSchedule(store, { name: 'hourly', cron_expression: '0 * * * *' }, '2026-01-01T00:30:00Z');
    await addSchedule(store, { name: 'paused', cron_expression: '* * * * *', enabled: false }, '2026-01-01T00:30:00Z');
    const check = async () => overdueSchedules(await scheduleFacts(store, time.now()), time.now());

    const first = scheduler(time, store);
    first.start();
    await time.advance('2026-01-01T01:30:00Z', first);
    expect(await check()).toMatchObject({ status: 'ok', values: { schedules: 1, overdue: 0 } });
    await first.stop();

    time.jump('2026-01-01T02:10:00Z');
    expect(await check()).toMatchObject({ status: 'warn', values: { schedule: 'hourly', occurrence: '2026-01-01T02:00:00.000Z', lateMinutes: 10 } });
    time.jump('2026-01-01T03:10:00Z');
    expect(await check()).toMatchObject({ status: 'fail', values: { occurrence: '2026-01-01T02:00:00.000Z', lateMinutes: 70, missed: 2 } });

    // Back up, past the grace: skip records 02:00 and 03:00 as missed — still overdue until one runs.
    const second = scheduler(time, store);
    second.start();
    await time.advance('2026-01-01T03:30:00Z', second);
    expect(calls).toEqual(['hourly@01:00']);
    expect(await check()).toMatchObject({ status: 'fail', values: { occurrence: '2026-01-01T02:00:00.000Z' } });
    await time.advance('2026-01-01T04:00:30Z', second);
    expect(calls).toEqual(['hourly@01:00', 'hourly@04:00']);
    expect(await check()).toMatchObject({ status: 'ok', values: { overdue: 0 } });
  });
});
