import type Database from 'better-sqlite3';

import { NotFoundError } from '../domain/errors.js';
import type { NamedRetentionPolicy, RetentionPolicyStore } from '../ports/retention-policy-store.js';
import type { Catalog } from '../ports/catalog.js';
import { SqliteCatalog } from './sqlite-catalog.js';
import { SqliteStore } from './sqlite-store.js';

interface PolicyRow {
  data: string;
}

/** Retention policies in the catalog file (table `retention_policies`, schema v4). */
export class SqliteRetentionPolicyStore extends SqliteStore implements RetentionPolicyStore {
  constructor(db: Database.Database) {
    super(db);
  }

  putPolicy(policy: NamedRetentionPolicy): Promise<void> {
    return this.guard('putPolicy', () => {
      this.statement('INSERT INTO retention_policies (name, data) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET data = excluded.data').run(policy.name, JSON.stringify(policy));
    });
  }

  getPolicy(name: string): Promise<NamedRetentionPolicy | undefined> {
    return this.guard('getPolicy', () => {
      const row = this.statement('SELECT data FROM retention_policies WHERE name = ?').get(name) as PolicyRow | undefined;
      return row === undefined ? undefined : (JSON.parse(row.data) as NamedRetentionPolicy);
    });
  }

  listPolicies(): Promise<NamedRetentionPolicy[]> {
    return this.guard('listPolicies', () => (this.statement('SELECT data FROM retention_policies ORDER BY name').all() as PolicyRow[]).map((row) => JSON.parse(row.data) as NamedRetentionPolicy));
  }

  deletePolicy(name: string): Promise<void> {
    return this.guard('deletePolicy', () => {
      if (this.statement('DELETE FROM retention_policies WHERE name = ?').run(name).changes === 0) throw new NotFoundError('retention policy', name);
    });
  }
}

/** The policies kept beside a catalog. Only the SQLite catalog has them here; DynamoDB holds its own. */
export function retentionPolicyStoreOf(catalog: Catalog): RetentionPolicyStore {
  if (catalog instanceof SqliteCatalog) return catalog.sibling((db) => new SqliteRetentionPolicyStore(db));
  throw new Error('retention policies are only kept beside the SQLite catalog in this version');
}
