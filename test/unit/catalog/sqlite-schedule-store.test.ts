import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { scheduleStoreOf, SqliteScheduleStore } from '../../../src/catalog/sqlite-schedule-store.js';
import { newSchedule, parseScheduleInput, type Schedule } from '../../../src/domain/schedule.js';

let dir: string;
let file: string;
const open: SqliteCatalog[] = [];

function connect(): SqliteScheduleStore {
  const catalog = SqliteCatalog.open(file);
  open.push(catalog);
  return catalog.sibling((db) => new SqliteScheduleStore(db));
}

const schedule = (name: string, cron = '0 2 * * *'): Schedule => newSchedule(parseScheduleInput({ name, plan: 'shop', cron_expression: cron }), new Date('2026-01-01T00:00:00Z'));

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'chrono-schedule-store-'));
  file = join(dir, 'catalog.sqlite');
});

afterEach(async () => {
  for (const catalog of open.splice(0)) await catalog.close();
  await rm(dir, { recursive: true, force: true });
});

// The behaviour every ScheduleStore shares is in test/contract/schedule-store.contract.ts (run on this
// store by test/contract/sqlite-stores.test.ts); here, what is particular to the SQLite sibling store.
describe('SqliteScheduleStore', () => {
  it('shares the connection of the catalog it comes from', async () => {
    const catalog = SqliteCatalog.open(file);
    open.push(catalog);
    const store = scheduleStoreOf(catalog)!;
    await store.createSchedule(schedule('nightly'));
    expect((await connect().listSchedules()).map((each) => each.name)).toEqual(['nightly']);
  });
});
