import type pg from 'pg';
import { quoteIdent } from './pg-client.js';

/**
 * What a database held, recorded at backup time (in the very snapshot pg_dump reads) and computed
 * again on a test restore: equal fingerprints mean the restore brought back the same rows.
 */
export interface PgDatabaseFingerprint {
  tables: PgTableFingerprint[];
  sequences: { name: string; lastValue: string | null }[];
  views: string[];
}

export interface PgTableFingerprint {
  /** `schema.table`, quoted as needed. */
  name: string;
  rows: number;
  /**
   * Order-independent content checksum: the sum of a 64-bit hash of each row's text form, so the
   * physical row order (which a restore changes) does not matter. Absent at fingerprint level `counts`.
   */
  checksum?: string;
}

/**
 * What a backup records besides the dump, in the dump's own snapshot: `objects` (sequences and views,
 * from the catalogs: no table is read), `counts` (plus row counts: one more scan of every table),
 * `checksums` (plus content checksums: one more scan that renders every row as text), or nothing. A
 * restore-test always compares the restored tables with the rows in the dump itself; the scans are
 * evidence taken independently of pg_dump, at the price of reading the database twice.
 */
export type PgFingerprintLevel = 'checksums' | 'counts' | 'objects' | 'none';
export const PG_FINGERPRINT_LEVELS: readonly PgFingerprintLevel[] = ['checksums', 'counts', 'objects', 'none'];
export const DEFAULT_PG_FINGERPRINT: PgFingerprintLevel = 'objects';

const SYSTEM_SCHEMAS = `n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'`;

/**
 * Fingerprints the database of `client`'s session. The text form of a row depends on session settings
 * (time zone, date style, float digits), so they are pinned first; the backup and the test restore then
 * render every value identically.
 */
export async function fingerprintDatabase(client: pg.Client, level: PgFingerprintLevel): Promise<PgDatabaseFingerprint> {
  await client.query(`SET TIME ZONE 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres'; SET extra_float_digits = 3; SET bytea_output = 'hex'`);
  const tables: PgTableFingerprint[] = [];
  if (level === 'counts' || level === 'checksums') {
    const listed = await client.query<{ schema: string; name: string }>(
      `SELECT n.nspname AS schema, c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        WHERE c.relkind = 'r' AND ${SYSTEM_SCHEMAS} ORDER BY 1, 2`,
    );
    for (const { schema, name } of listed.rows) {
      const qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
      const aggregate = level === 'checksums' ? `count(*)::text AS rows, coalesce(sum(hashtextextended(t::text, 0)::numeric), 0)::text AS checksum` : `count(*)::text AS rows`;
      const result = await client.query<{ rows: string; checksum?: string }>(`SELECT ${aggregate} FROM ${qualified} t`);
      const row = result.rows[0]!;
      tables.push({ name: qualified, rows: Number(row.rows), ...(row.checksum !== undefined ? { checksum: row.checksum } : {}) });
    }
  }
  const sequences = await client.query<{ name: string; last_value: string | null }>(
    `SELECT quote_ident(schemaname) || '.' || quote_ident(sequencename) AS name, last_value::text AS last_value FROM pg_sequences
      WHERE schemaname NOT IN ('pg_catalog', 'information_schema') ORDER BY 1`,
  );
  const views = await client.query<{ name: string }>(
    `SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('v', 'm') AND ${SYSTEM_SCHEMAS} ORDER BY 1`,
  );
  return { tables, sequences: sequences.rows.map((s) => ({ name: s.name, lastValue: s.last_value })), views: views.rows.map((v) => v.name) };
}

/** Roles other than the built-in `pg_*` ones, as `pg_dumpall --globals-only` recreates them. */
export async function listRoles(client: pg.Client): Promise<string[]> {
  const result = await client.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE rolname !~ '^pg_' ORDER BY 1`);
  return result.rows.map((row) => row.rolname);
}

/**
 * Differences between what a backup recorded and what a restore holds. With `only`, tables outside it
 * (a single-table restore) are not expected.
 */
export function compareFingerprints(expected: PgDatabaseFingerprint, actual: PgDatabaseFingerprint, only?: (table: string) => boolean): string[] {
  const problems: string[] = [];
  const restored = new Map(actual.tables.map((table) => [table.name, table]));
  for (const table of expected.tables) {
    if (only && !only(table.name)) continue;
    const found = restored.get(table.name);
    if (!found) problems.push(`table ${table.name} is missing`);
    else if (found.rows !== table.rows) problems.push(`table ${table.name}: ${found.rows} rows, expected ${table.rows}`);
    else if (table.checksum !== undefined && found.checksum !== undefined && found.checksum !== table.checksum) problems.push(`table ${table.name}: content checksum differs`);
  }
  if (only) return problems;
  const sequences = new Map(actual.sequences.map((sequence) => [sequence.name, sequence.lastValue]));
  for (const sequence of expected.sequences) {
    if (!sequences.has(sequence.name)) problems.push(`sequence ${sequence.name} is missing`);
    else if (sequences.get(sequence.name) !== sequence.lastValue) problems.push(`sequence ${sequence.name}: last value ${sequences.get(sequence.name)}, expected ${sequence.lastValue}`);
  }
  const views = new Set(actual.views);
  for (const view of expected.views) if (!views.has(view)) problems.push(`view ${view} is missing`);
  return problems;
}
