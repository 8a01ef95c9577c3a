import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { scheduleStoreOf, SqliteScheduleStore } from '../../../src/catalog/sqlite-schedule-store.js';
import { ConflictError, NotFoundError } from '../../../src/domain/errors.js';
import { newSchedule, parseScheduleInput, type Schedule } from '../../../src/domain/schedule.js';
import type { OccurrenceClaim } from '../../../src/ports/schedule-store.js';

let dir: string;
let file: string;
const open: SqliteCatalog[] = [];

function connect(): SqliteScheduleStore {
  const catalog = SqliteCatalog.open(file);
  open.push(catalog);
  return catalog.sibling((db) => new SqliteScheduleStore(db));
}

const schedule = (name: string, cron = '0 2 * * *'): Schedule => newSchedule(parseScheduleInput({ name, plan: 'shop', cron_expression: cron }), new Date('2026-01-01T00:00:00Z'));
const claim = (instance: string): OccurrenceClaim => ({ outcome: 'fired', status: 'running', claimed_at: '2026-01-02T02:00:01.000Z', instance });

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-schedule-store-'));
  file = join(dir, 'catalog.sqlite');
});

afterEach(async () => {
  for (const catalog of open.splice(0)) await catalog.close();
  await rm(dir, { recursive: true, force: true });
});

describe('schedules', () => {
  it('creates, finds by id or name, lists by name, replaces and deletes', async () => {
    const store = connect();
    const nightly = schedule('nightly');
    const hourly = schedule('hourly', '0 * * * *');
    await store.createSchedule(nightly);
    await store.createSchedule(hourly);
    expect(await store.getSchedule(nightly.id)).toEqual(nightly);
    expect(await store.getSchedule('nightly')).toEqual(nightly);
    expect(await store.getSchedule('nope')).toBeUndefined();
    expect((await store.listSchedules()).map((each) => each.name)).toEqual(['hourly', 'nightly']);

    const renamed = { ...nightly, name: 'nightly-full', enabled: false };
    await store.replaceSchedule(renamed);
    expect(await store.getSchedule(nightly.id)).toEqual(renamed);
    expect(await store.getSchedule('nightly')).toBeUndefined();

    expect(await store.deleteSchedule(nightly.id)).toBe(true);
    expect(await store.deleteSchedule(nightly.id)).toBe(false);
    expect((await store.listSchedules()).map((each) => each.id)).toEqual([hourly.id]);
  });

  it('refuses a taken name, and a replacement of a missing schedule', async () => {
    const store = connect();
    const nightly = schedule('nightly');
    const other = schedule('other');
    await store.createSchedule(nightly);
    await store.createSchedule(other);
    await expect(store.createSchedule(schedule('nightly'))).rejects.toBeInstanceOf(ConflictError);
    await expect(store.replaceSchedule({ ...other, name: 'nightly' })).rejects.toBeInstanceOf(ConflictError);
    await expect(store.replaceSchedule(schedule('ghost'))).rejects.toBeInstanceOf(NotFoundError);
    expect(await store.getSchedule(other.id)).toEqual(other);
  });

  it('shares the connection of the catalog it comes from', async () => {
    const catalog = SqliteCatalog.open(file);
    open.push(catalog);
    const store = scheduleStoreOf(catalog)!;
    await store.createSchedule(schedule('nightly'));
    expect((await connect().listSchedules()).map((each) => each.name)).toEqual(['nightly']);
  });
});

describe('occurrences', () => {
  it('two connections to one file racing to claim the same occurrences: exactly one wins each', async () => {
    const [a, b] = [connect(), connect()];
    const nightly = schedule('nightly', '* * * * *');
    await a.createSchedule(nightly);
    const occurrences = Array.from({ length: 50 }, (_, i) => new Date(Date.UTC(2026, 0, 2, 2, i)));
    // Both ask for every occurrence, interleaved in both orders.
    const results = await Promise.all(occurrences.flatMap((time, i) => (i % 2 === 0 ? [a.claimOccurrence(nightly.id, time, claim('a')), b.claimOccurrence(nightly.id, time, claim('b'))] : [b.claimOccurrence(nightly.id, time, claim('b')), a.claimOccurrence(nightly.id, time, claim('a'))])));
    for (let i = 0; i < occurrences.length; i++) expect(results[2 * i]! !== results[2 * i + 1]!).toBe(true);
    expect(results.filter(Boolean)).toHaveLength(50);
    // The record is the winner's, seen the same from both connections.
    const first = await b.getOccurrence(nightly.id, occurrences[0]!);
    expect(first).toMatchObject({ schedule_id: nightly.id, occurrence: occurrences[0]!.toISOString(), outcome: 'fired', status: 'running', instance: 'a' });
    expect(await a.getOccurrence(nightly.id, occurrences[1]!)).toMatchObject({ instance: 'b' });
  });

  it('a claim holds across a restart: a new connection cannot win it again', async () => {
    const nightly = schedule('nightly');
    const time = new Date('2026-01-02T02:00:00Z');
    const before = connect();
    await before.createSchedule(nightly);
    expect(await before.claimOccurrence(nightly.id, time, claim('first'))).toBe(true);
    await open.pop()!.close();
    const after = connect();
    expect(await after.claimOccurrence(nightly.id, time, claim('second'))).toBe(false);
    expect(await after.lastOccurrence(nightly.id)).toMatchObject({ instance: 'first' });
  });

  it('records outcomes, finds the newest claimed occurrence and lists newest first', async () => {
    const store = connect();
    const nightly = schedule('nightly');
    await store.createSchedule(nightly);
    const [d1, d2, d3] = ['2026-01-02T02:00:00Z', '2026-01-03T02:00:00Z', '2026-01-04T02:00:00Z'].map((text) => new Date(text)) as [Date, Date, Date];
    expect(await store.lastOccurrence(nightly.id)).toBeUndefined();
    await store.claimOccurrence(nightly.id, d2, claim('x'));
    await store.claimOccurrence(nightly.id, d1, { outcome: 'skipped', status: 'skipped', reason: 'missed', claimed_at: d2.toISOString() });
    await store.claimOccurrence(nightly.id, d3, claim('x'));
    expect((await store.lastOccurrence(nightly.id))?.occurrence).toBe(d3.toISOString());

    await store.finishOccurrence(nightly.id, d2, { status: 'succeeded', finished_at: '2026-01-03T02:10:00.000Z', run_id: 'full_20260103_020000' });
    expect(await store.getOccurrence(nightly.id, d2)).toEqual({ schedule_id: nightly.id, occurrence: d2.toISOString(), ...claim('x'), status: 'succeeded', finished_at: '2026-01-03T02:10:00.000Z', run_id: 'full_20260103_020000' });
    await expect(store.finishOccurrence(nightly.id, new Date('2026-02-01T02:00:00Z'), { status: 'failed', finished_at: '2026-02-01T02:01:00.000Z' })).rejects.toBeInstanceOf(NotFoundError);

    expect((await store.listOccurrences(nightly.id)).map((record) => record.occurrence)).toEqual([d3, d2, d1].map((time) => time.toISOString()));
    expect(await store.listOccurrences(nightly.id, 1)).toHaveLength(1);
  });

  it('a claim of a deleted schedule is not won, and deleting a schedule removes its records', async () => {
    const store = connect();
    const nightly = schedule('nightly');
    await store.createSchedule(nightly);
    const time = new Date('2026-01-02T02:00:00Z');
    await store.claimOccurrence(nightly.id, time, claim('x'));
    await store.deleteSchedule(nightly.id);
    expect(await store.getOccurrence(nightly.id, time)).toBeUndefined();
    expect(await store.claimOccurrence(nightly.id, new Date('2026-01-03T02:00:00Z'), claim('x'))).toBe(false);
    // Same id again (a restore of the catalog, say): its history starts empty.
    await store.createSchedule(nightly);
    expect(await store.claimOccurrence(nightly.id, time, claim('y'))).toBe(true);
  });
});
