import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';

import { ConflictError, NotFoundError } from '../../src/domain/errors.js';
import { newSchedule, parseScheduleInput, type Schedule } from '../../src/domain/schedule.js';
import type { OccurrenceClaim, ScheduleStore } from '../../src/ports/schedule-store.js';
import type { StoreFixture } from './store-fixture.js';

const schedule = (name: string, cron = '0 2 * * *'): Schedule => newSchedule(parseScheduleInput({ name, plan: 'shop', cron_expression: cron }), new Date('2026-01-01T00:00:00Z'));
const claim = (instance: string): OccurrenceClaim => ({ outcome: 'fired', status: 'running', claimed_at: '2026-01-02T02:00:01.000Z', instance });

/** The ScheduleStore contract of src/ports/schedule-store.ts; `create` gives empty storage for each test. */
export function describeScheduleStoreContract(name: string, create: () => Promise<StoreFixture<ScheduleStore>>): void {
  describe(`ScheduleStore contract: ${name}`, () => {
    let fixture: StoreFixture<ScheduleStore>;
    let store: ScheduleStore;

    beforeEach(async () => {
      fixture = await create();
      store = fixture.connect();
    });

    afterEach(() => fixture.cleanup());

    describe('schedules', () => {
      it('creates, finds by id or name, lists by name, replaces and deletes', async () => {
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
        expect(await store.getSchedule('nightly-full')).toEqual(renamed);
        expect(await store.getSchedule('nightly')).toBeUndefined();
        expect((await store.listSchedules()).map((each) => each.name)).toEqual(['hourly', 'nightly-full']);

        expect(await store.deleteSchedule(nightly.id)).toBe(true);
        expect(await store.deleteSchedule(nightly.id)).toBe(false);
        expect(await store.getSchedule('nightly-full')).toBeUndefined();
        expect((await store.listSchedules()).map((each) => each.id)).toEqual([hourly.id]);
      });

      it('refuses a taken name or id, and a replacement of a missing schedule; a freed name can be taken again', async () => {
        const nightly = schedule('nightly');
        const other = schedule('other');
        await store.createSchedule(nightly);
        await store.createSchedule(other);
        await expect(store.createSchedule(schedule('nightly'))).rejects.toMatchObject({ name: 'ConflictError', code: 'conflict.schedule_exists' });
        await expect(store.createSchedule({ ...nightly, name: 'fresh' })).rejects.toBeInstanceOf(ConflictError);
        await expect(store.replaceSchedule({ ...other, name: 'nightly' })).rejects.toBeInstanceOf(ConflictError);
        await expect(store.replaceSchedule(schedule('ghost'))).rejects.toBeInstanceOf(NotFoundError);
        expect(await store.getSchedule(other.id)).toEqual(other);
        expect(await store.getSchedule('fresh')).toBeUndefined();

        await store.replaceSchedule({ ...nightly, name: 'renamed' });
        await store.createSchedule(schedule('nightly'));
        await store.deleteSchedule(other.id);
        await store.createSchedule(schedule('other'));
        expect((await store.listSchedules()).map((each) => each.name)).toEqual(['nightly', 'other', 'renamed']);
      });

      it('gives a name to exactly one of several concurrent creates, across instances', async () => {
        const writers = [store, fixture.connect(), fixture.connect()];
        const outcomes = await Promise.allSettled(writers.map(() => schedule('contested')).map((each, index) => writers[index]!.createSchedule(each)));
        expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
        for (const outcome of outcomes) if (outcome.status === 'rejected') expect(outcome.reason).toBeInstanceOf(ConflictError);
        expect(await store.listSchedules()).toHaveLength(1);
      });

      it('returns copies: changing what a read returned changes nothing stored', async () => {
        const nightly = schedule('nightly');
        await store.createSchedule(nightly);
        const read = (await store.getSchedule(nightly.id))!;
        read.enabled = false;
        (await store.listSchedules())[0]!.name = 'changed';
        expect(await store.getSchedule(nightly.id)).toEqual(nightly);
      });
    });

    describe('occurrences', () => {
      it('two instances racing to claim the same occurrences: exactly one wins each', async () => {
        const [a, b] = [store, fixture.connect()];
        const every = schedule('every-minute', '* * * * *');
        await a.createSchedule(every);
        const occurrences = Array.from({ length: 25 }, (_, i) => new Date(Date.UTC(2026, 0, 2, 2, i)));
        // Both ask for every occurrence, interleaved in both orders.
        const results = await Promise.all(
          occurrences.flatMap((time, i) =>
            i % 2 === 0 ? [a.claimOccurrence(every.id, time, claim('a')), b.claimOccurrence(every.id, time, claim('b'))] : [b.claimOccurrence(every.id, time, claim('b')), a.claimOccurrence(every.id, time, claim('a'))],
          ),
        );
        for (let i = 0; i < occurrences.length; i++) expect(results[2 * i]! !== results[2 * i + 1]!).toBe(true);
        expect(results.filter(Boolean)).toHaveLength(occurrences.length);
        // The record is the winner's, seen the same from both instances.
        const winnerOfFirst = results[0] ? 'a' : 'b';
        expect(await b.getOccurrence(every.id, occurrences[0]!)).toMatchObject({ schedule_id: every.id, occurrence: occurrences[0]!.toISOString(), outcome: 'fired', status: 'running', instance: winnerOfFirst });
        expect(await a.getOccurrence(every.id, occurrences[0]!)).toEqual(await b.getOccurrence(every.id, occurrences[0]!));
        expect(await a.listOccurrences(every.id)).toHaveLength(occurrences.length);
      });

      it('a claim holds for a new instance (a restart): it cannot be won again', async () => {
        const nightly = schedule('nightly');
        const time = new Date('2026-01-02T02:00:00Z');
        await store.createSchedule(nightly);
        expect(await store.claimOccurrence(nightly.id, time, claim('first'))).toBe(true);
        expect(await store.claimOccurrence(nightly.id, time, claim('first'))).toBe(false);
        const after = fixture.connect();
        expect(await after.claimOccurrence(nightly.id, time, claim('second'))).toBe(false);
        expect(await after.lastOccurrence(nightly.id)).toMatchObject({ instance: 'first' });
      });

      it('records outcomes, finds the newest claimed occurrence (of an outcome) and lists newest first', async () => {
        const nightly = schedule('nightly');
        await store.createSchedule(nightly);
        const [d1, d2, d3] = ['2026-01-02T02:00:00Z', '2026-01-03T02:00:00Z', '2026-01-04T02:00:00Z'].map((text) => new Date(text)) as [Date, Date, Date];
        expect(await store.lastOccurrence(nightly.id)).toBeUndefined();
        expect(await store.getOccurrence(nightly.id, d1)).toBeUndefined();
        await store.claimOccurrence(nightly.id, d2, claim('x'));
        await store.claimOccurrence(nightly.id, d1, { outcome: 'skipped', status: 'skipped', reason: 'missed', claimed_at: d2.toISOString() });
        await store.claimOccurrence(nightly.id, d3, { outcome: 'skipped', status: 'skipped', reason: 'missed', claimed_at: d3.toISOString() });
        expect((await store.lastOccurrence(nightly.id))?.occurrence).toBe(d3.toISOString());
        expect((await store.lastOccurrence(nightly.id, 'fired'))?.occurrence).toBe(d2.toISOString());
        expect((await store.lastOccurrence(nightly.id, 'skipped'))?.occurrence).toBe(d3.toISOString());

        await store.finishOccurrence(nightly.id, d2, { status: 'succeeded', finished_at: '2026-01-03T02:10:00.000Z', run_id: 'full_20260103_020000' });
        expect(await store.getOccurrence(nightly.id, d2)).toEqual({ schedule_id: nightly.id, occurrence: d2.toISOString(), ...claim('x'), status: 'succeeded', finished_at: '2026-01-03T02:10:00.000Z', run_id: 'full_20260103_020000' });
        await expect(store.finishOccurrence(nightly.id, new Date('2026-02-01T02:00:00Z'), { status: 'failed', finished_at: '2026-02-01T02:01:00.000Z' })).rejects.toBeInstanceOf(NotFoundError);

        expect((await store.listOccurrences(nightly.id)).map((record) => record.occurrence)).toEqual([d3, d2, d1].map((time) => time.toISOString()));
        expect((await store.listOccurrences(nightly.id, 2)).map((record) => record.occurrence)).toEqual([d3, d2].map((time) => time.toISOString()));
        await expect(store.listOccurrences(nightly.id, 0)).rejects.toMatchObject({ name: 'ValidationError', details: { field: 'limit' } });
      });

      it('keeps the occurrences of schedules whose ids share a prefix apart', async () => {
        const first = { ...schedule('first'), id: 'sched' };
        const second = { ...schedule('second'), id: 'sched#2' };
        await store.createSchedule(first);
        await store.createSchedule(second);
        const time = new Date('2026-01-02T02:00:00Z');
        expect(await store.claimOccurrence(first.id, time, claim('x'))).toBe(true);
        expect(await store.claimOccurrence(second.id, time, claim('y'))).toBe(true);
        expect((await store.listOccurrences(first.id)).map((record) => record.instance)).toEqual(['x']);
        await store.deleteSchedule(second.id);
        expect(await store.getOccurrence(first.id, time)).toMatchObject({ instance: 'x' });
      });

      it('a claim of a missing or deleted schedule is not won, and deleting a schedule removes its records', async () => {
        const nightly = schedule('nightly');
        const time = new Date('2026-01-02T02:00:00Z');
        expect(await store.claimOccurrence(nightly.id, time, claim('x'))).toBe(false);
        await store.createSchedule(nightly);
        await store.claimOccurrence(nightly.id, time, claim('x'));
        await store.deleteSchedule(nightly.id);
        expect(await store.getOccurrence(nightly.id, time)).toBeUndefined();
        expect(await store.listOccurrences(nightly.id)).toEqual([]);
        expect(await store.claimOccurrence(nightly.id, new Date('2026-01-03T02:00:00Z'), claim('x'))).toBe(false);
        // Same id again (a restore of the catalog, say): its history starts empty.
        await store.createSchedule(nightly);
        expect(await store.lastOccurrence(nightly.id)).toBeUndefined();
        expect(await store.claimOccurrence(nightly.id, time, claim('y'))).toBe(true);
      });
    });
  });
}
