import Database from 'better-sqlite3';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { FileAuditAnchor } from '../../src/catalog/file-audit-anchor.js';
import { SqliteAlertStateStore } from '../../src/catalog/sqlite-alert-state-store.js';
import { SqliteAuditLog } from '../../src/catalog/sqlite-audit-log.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { SqliteRecoveryWindowStore } from '../../src/catalog/sqlite-recovery-window-store.js';
import { SqliteRetentionPolicyStore } from '../../src/catalog/sqlite-retention-policy-store.js';
import { SqliteScheduleStore } from '../../src/catalog/sqlite-schedule-store.js';
import { describeAlertStateStoreContract } from './alert-state-store.contract.js';
import { describeAuditLogContract, type AuditLogFixture } from './audit-log.contract.js';
import { describeRecoveryWindowStoreContract } from './recovery-window-store.contract.js';
import { describeRetentionPolicyStoreContract } from './retention-policy-store.contract.js';
import { describeScheduleStoreContract } from './schedule-store.contract.js';
import type { StoreFixture } from './store-fixture.js';

// The sibling stores of the SQLite catalog, each test on a catalog file of its own; every `connect` is
// another connection to that file, as another process would have.

interface CatalogFile {
  dir: string;
  file: string;
  /** Opens another connection to the file. */
  open: () => SqliteCatalog;
  cleanup: () => Promise<void>;
}

async function catalogFile(): Promise<CatalogFile> {
  const dir = await mkdtemp(join(tmpdir(), 'chrono-sqlite-stores-'));
  const file = join(dir, 'catalog.sqlite');
  const opened: SqliteCatalog[] = [];
  return {
    dir,
    file,
    open: () => {
      const catalog = SqliteCatalog.open(file);
      opened.push(catalog);
      return catalog;
    },
    cleanup: async () => {
      for (const catalog of opened.splice(0)) await catalog.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function siblingFixture<T>(create: (db: Database.Database) => T): () => Promise<StoreFixture<T>> {
  return async () => {
    const catalog = await catalogFile();
    return { connect: () => catalog.open().sibling(create), cleanup: catalog.cleanup };
  };
}

describeScheduleStoreContract('SqliteScheduleStore (temp file)', siblingFixture((db) => new SqliteScheduleStore(db)));
describeRetentionPolicyStoreContract('SqliteRetentionPolicyStore (temp file)', siblingFixture((db) => new SqliteRetentionPolicyStore(db)));
describeAlertStateStoreContract('SqliteAlertStateStore (temp file)', siblingFixture((db) => new SqliteAlertStateStore(db)));
describeRecoveryWindowStoreContract('SqliteRecoveryWindowStore (temp file)', siblingFixture((db) => new SqliteRecoveryWindowStore(db)));

describeAuditLogContract('SqliteAuditLog (temp file, anchor file)', async (): Promise<AuditLogFixture> => {
  const catalog = await catalogFile();
  const anchorPath = join(catalog.dir, 'audit-head.json');
  return {
    open: ({ key, clock }) => catalog.open().sibling((db) => new SqliteAuditLog(db, { key, anchor: new FileAuditAnchor(anchorPath), clock })),
    rewriteEntry: async (seq, change) => {
      const raw = new Database(catalog.file);
      try {
        const { data } = raw.prepare('SELECT data FROM audit_log WHERE seq = ?').get(seq) as { data: string };
        raw.prepare('UPDATE audit_log SET data = ? WHERE seq = ?').run(change(data), seq);
      } finally {
        raw.close();
      }
    },
    saveAnchor: async () => {
      const text = await readFile(anchorPath, 'utf8');
      return () => writeFile(anchorPath, text);
    },
    damageAnchor: () => writeFile(anchorPath, '{"version":1'),
    removeAnchor: () => rm(anchorPath),
    cleanup: catalog.cleanup,
  };
});
