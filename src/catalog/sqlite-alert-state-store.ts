import type Database from 'better-sqlite3';

import type { AlertCondition, AlertStateStore } from '../ports/alert-state-store.js';
import type { Catalog } from '../ports/catalog.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { SqliteStore } from './sqlite-store.js';

interface ConditionRow {
  data: string;
}

/** Open alert conditions in the catalog file (table `alert_state`, schema v4). */
export class SqliteAlertStateStore extends SqliteStore implements AlertStateStore {
  constructor(db: Database.Database) {
    super(db);
  }

  get(key: string): Promise<AlertCondition | undefined> {
    return this.guard('getAlertCondition', () => {
      const row = this.statement('SELECT data FROM alert_state WHERE condition_key = ?').get(key) as ConditionRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as AlertCondition);
    });
  }

  put(key: string, condition: AlertCondition): Promise<void> {
    return this.guard('putAlertCondition', () => {
      this.statement('INSERT INTO alert_state (condition_key, data) VALUES (?, ?) ON CONFLICT (condition_key) DO UPDATE SET data = excluded.data').run(key, JSON.stringify(condition));
    });
  }

  delete(key: string): Promise<void> {
    return this.guard('deleteAlertCondition', () => {
      this.statement('DELETE FROM alert_state WHERE condition_key = ?').run(key);
    });
  }

  keys(): Promise<string[]> {
    return this.guard('alertConditionKeys', () => (this.statement('SELECT condition_key FROM alert_state ORDER BY condition_key').all() as { condition_key: string }[]).map((row) => row.condition_key));
  }
}

/** The persistent alert state beside a SQLite catalog; undefined for other catalogs. */
export function alertStateStoreOf(catalog: Catalog): AlertStateStore | undefined {
  return catalog instanceof SqliteCatalog ? catalog.sibling((db) => new SqliteAlertStateStore(db)) : undefined;
}
