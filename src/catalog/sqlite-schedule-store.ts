import type Database from 'better-sqlite3';

import { NotFoundError } from '../domain/errors.js';
import { scheduleExists, type Schedule } from '../domain/schedule.js';
import type { Catalog } from '../ports/catalog.js';
import type { OccurrenceClaim, OccurrenceRecord, OccurrenceResult, ScheduleStore } from '../ports/schedule-store.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { parseLimit, requireText, SqliteStore } from './sqlite-store.js';

interface DataRow {
  data: string;
}

/**
 * The schedule store of the embedded catalog: tables `schedules` and `schedule_occurrences` of schema
 * v4, on the catalog's connection. The occurrences' primary key (schedule id, occurrence ms) makes a
 * claim an `INSERT … ON CONFLICT DO NOTHING`: SQLite serialises writers across connections and
 * processes, so exactly one claim of an occurrence inserts a row.
 */
export class SqliteScheduleStore extends SqliteStore implements ScheduleStore {
  constructor(db: Database.Database) {
    super(db);
  }

  createSchedule(schedule: Schedule): Promise<void> {
    return this.guard('createSchedule', () => {
      requireText(schedule.id, 'id');
      requireText(schedule.name, 'name');
      const result = this.statement('INSERT INTO schedules (id, name, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING').run(schedule.id, schedule.name, JSON.stringify(schedule));
      if (result.changes === 0) throw scheduleExists(schedule);
    });
  }

  getSchedule(idOrName: string): Promise<Schedule | undefined> {
    return this.guard('getSchedule', () => {
      // By id first: an id always means that schedule, even if another is named like it.
      const row = (this.statement('SELECT data FROM schedules WHERE id = ?').get(idOrName) ?? this.statement('SELECT data FROM schedules WHERE name = ?').get(idOrName)) as DataRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as Schedule);
    });
  }

  listSchedules(): Promise<Schedule[]> {
    return this.guard('listSchedules', () => (this.statement('SELECT data FROM schedules ORDER BY name').all() as DataRow[]).map((row) => JSON.parse(row.data) as Schedule));
  }

  replaceSchedule(schedule: Schedule): Promise<void> {
    return this.guard('replaceSchedule', () => {
      requireText(schedule.name, 'name');
      const replace = this.db.transaction(() => {
        if (this.statement('SELECT 1 FROM schedules WHERE id = ?').get(schedule.id) === undefined) throw new NotFoundError('schedule', schedule.id);
        const owner = this.statement('SELECT id FROM schedules WHERE name = ?').get(schedule.name) as { id: string } | undefined;
        if (owner !== undefined && owner.id !== schedule.id) throw scheduleExists(schedule);
        this.statement('UPDATE schedules SET name = ?, data = ? WHERE id = ?').run(schedule.name, JSON.stringify(schedule), schedule.id);
      });
      replace.immediate();
    });
  }

  deleteSchedule(id: string): Promise<boolean> {
    return this.guard('deleteSchedule', () => {
      const remove = this.db.transaction(() => {
        this.statement('DELETE FROM schedule_occurrences WHERE schedule_id = ?').run(id);
        return this.statement('DELETE FROM schedules WHERE id = ?').run(id).changes > 0;
      });
      return remove.immediate();
    });
  }

  claimOccurrence(scheduleId: string, occurrence: Date, claim: OccurrenceClaim): Promise<boolean> {
    return this.guard('claimOccurrence', () => {
      const record: OccurrenceRecord = { schedule_id: scheduleId, occurrence: occurrence.toISOString(), ...claim };
      // One statement: the existence check and the insert cannot be separated by another writer.
      const result = this.statement(
        `INSERT INTO schedule_occurrences (schedule_id, occurrence_ms, data)
         SELECT ?, ?, ? WHERE EXISTS (SELECT 1 FROM schedules WHERE id = ?)
         ON CONFLICT (schedule_id, occurrence_ms) DO NOTHING`,
      ).run(scheduleId, occurrence.getTime(), JSON.stringify(record), scheduleId);
      return result.changes === 1;
    });
  }

  finishOccurrence(scheduleId: string, occurrence: Date, result: OccurrenceResult): Promise<void> {
    return this.guard('finishOccurrence', () => {
      const finish = this.db.transaction(() => {
        const record = this.occurrenceRow(scheduleId, occurrence);
        if (record === undefined) throw new NotFoundError('schedule occurrence', `${scheduleId} at ${occurrence.toISOString()}`);
        const { error: _earlier, ...kept } = record;
        const updated: OccurrenceRecord = { ...kept, ...result };
        this.statement('UPDATE schedule_occurrences SET data = ? WHERE schedule_id = ? AND occurrence_ms = ?').run(JSON.stringify(updated), scheduleId, occurrence.getTime());
      });
      finish.immediate();
    });
  }

  getOccurrence(scheduleId: string, occurrence: Date): Promise<OccurrenceRecord | undefined> {
    return this.guard('getOccurrence', () => this.occurrenceRow(scheduleId, occurrence));
  }

  lastOccurrence(scheduleId: string, outcome?: OccurrenceRecord['outcome']): Promise<OccurrenceRecord | undefined> {
    return this.guard('lastOccurrence', () => {
      const row = (
        outcome === undefined
          ? this.statement('SELECT data FROM schedule_occurrences WHERE schedule_id = ? ORDER BY occurrence_ms DESC LIMIT 1').get(scheduleId)
          : this.statement(`SELECT data FROM schedule_occurrences WHERE schedule_id = ? AND json_extract(data, '$.outcome') = ? ORDER BY occurrence_ms DESC LIMIT 1`).get(scheduleId, outcome)
      ) as DataRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as OccurrenceRecord);
    });
  }

  listOccurrences(scheduleId: string, limit = 50): Promise<OccurrenceRecord[]> {
    return this.guard('listOccurrences', () => {
      const rows = this.statement('SELECT data FROM schedule_occurrences WHERE schedule_id = ? ORDER BY occurrence_ms DESC LIMIT ?').all(scheduleId, parseLimit(limit, 'limit')) as DataRow[];
      return rows.map((row) => JSON.parse(row.data) as OccurrenceRecord);
    });
  }

  private occurrenceRow(scheduleId: string, occurrence: Date): OccurrenceRecord | undefined {
    const row = this.statement('SELECT data FROM schedule_occurrences WHERE schedule_id = ? AND occurrence_ms = ?').get(scheduleId, occurrence.getTime()) as DataRow | undefined;
    return row === undefined ? undefined : (JSON.parse(row.data) as OccurrenceRecord);
  }
}

/** The schedule store sharing an embedded catalog's connection; undefined for other catalogs. */
export function scheduleStoreOf(catalog: Catalog): ScheduleStore | undefined {
  return catalog instanceof SqliteCatalog ? catalog.sibling((db) => new SqliteScheduleStore(db)) : undefined;
}
