/**
 * PostgreSQL end to end through the CLI, against a throwaway PostgreSQL 15 cluster: backup → restore
 * into a new database gives identical tables (row counts and content checksums computed here, by our own
 * SQL, not by the code under test), sequences, views and roles; single-table restores; restore-test;
 * day-two deduplication; and clean failures that name the source and never the password.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createReadStream } from 'node:fs';
import { DUMP_SESSION_OPTIONS, dumpedTableContents, restoredTableContent } from '../../src/sources/postgres/pg-content.js';
import { parsePgTarget } from '../../src/sources/postgres/pg-target.js';
import { pgToolsFor } from '../../src/sources/postgres/pg-tools.js';
import type { StreamFiles } from '../../src/sources/stream-files.js';
import { startPostgresCluster, type PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { createHome, errorJson, expectExit, EXIT, parseJson, type BackupJson, type CliHome } from './cli-harness.js';

const run = promisify(execFile);
let pg: PostgresClusterHandle;
let home: CliHome;

const FIXTURE = `
  CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
  CREATE SEQUENCE invoice_numbers START 1000;
  CREATE TABLE kinds (
    id serial PRIMARY KEY, doc jsonb, raw bytea, tags text[], amount numeric(20, 6), at timestamptz, feeling mood,
    invoice bigint DEFAULT nextval('invoice_numbers'), note text
  );
  INSERT INTO kinds (doc, raw, tags, amount, at, feeling, note)
    SELECT jsonb_build_object('n', g, 'nested', jsonb_build_array(g, 'x', null)), decode(md5(g::text), 'hex') || '\\x00ff'::bytea,
           ARRAY['a' || g, 'b'], g * 1.000001, '2024-01-01 00:00:00+00'::timestamptz + g * interval '1 hour',
           (ARRAY['sad','ok','happy'])[1 + g % 3]::mood, CASE WHEN g % 7 = 0 THEN NULL ELSE repeat('é', g % 20) END
      FROM generate_series(1, 2000) g;
  CREATE VIEW happy_kinds AS SELECT id, note FROM kinds WHERE feeling = 'happy';
  CREATE ROLE chrono_reader LOGIN PASSWORD 'reader-secret';
  GRANT SELECT ON kinds TO chrono_reader;
`;

/** Row count and an order-independent md5 checksum per table, computed with plain SQL. */
async function tableDigests(database: string): Promise<Record<string, string>> {
  const tables = (await pg.psql(`SELECT quote_ident(schemaname) || '.' || quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`, database)).split('\n').filter(Boolean);
  const digests: Record<string, string> = {};
  for (const table of tables) digests[table] = await pg.psql(`SELECT count(*) || ':' || coalesce(md5(string_agg(md5(t::text), '' ORDER BY md5(t::text))), '-') FROM ${table} t`, database);
  return digests;
}

function backupArgs(database: string, extra: string[] = []): string[] {
  return ['backup', '--postgres', pg.url(database), ...extra];
}

beforeAll(async () => {
  pg = await startPostgresCluster();
  await pg.psql('CREATE DATABASE app');
  await run('pgbench', ['-i', '-s', '2', '-q', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, 'app'], { env: pg.env });
  await pg.psql(FIXTURE, 'app');
  home = await createHome('postgres-source', { PGPASSWORD: pg.password });
}, 120_000);

afterAll(async () => {
  await pg?.stop();
});

describe('PostgreSQL backup and restore', () => {
  let backup: BackupJson;

  beforeAll(async () => {
    backup = await home.backup([], ['--postgres', pg.url('app')]);
  }, 120_000);

  it('restores into a new database with identical tables, sequences, views and roles', async () => {
    expect(backup.snapshots).toHaveLength(1);
    expect(backup.snapshots[0]!.source).toBe('postgres');
    expect(backup.snapshots[0]!.paths).toEqual([pg.url('app')]);
    // The role goes away; the restore's globals bring it back.
    await pg.psql('REVOKE ALL ON kinds FROM chrono_reader; DROP ROLE chrono_reader', 'app');

    const restored = await home.json<{ sources: { into: string[] }[] }>(['restore', backup.id, '--target-postgres', pg.url('')]);
    const into = restored.sources[0]!.into[0]!.split('/').pop()!;
    expect(into).toMatch(/^app_restored_\d{8}_\d{6}$/);
    expect(await tableDigests(into)).toEqual(await tableDigests('app'));
    expect(await pg.psql(`SELECT last_value FROM invoice_numbers`, into)).toBe(await pg.psql(`SELECT last_value FROM invoice_numbers`, 'app'));
    expect(await pg.psql(`SELECT count(*) FROM happy_kinds`, into)).toBe(await pg.psql(`SELECT count(*) FROM happy_kinds`, 'app'));
    // The role came back from the globals, with its grant on the restored table.
    expect(await pg.psql(`SELECT rolname FROM pg_roles WHERE rolname = 'chrono_reader'`)).toBe('chrono_reader');
    expect(await pg.psql(`SELECT has_table_privilege('chrono_reader', 'kinds', 'SELECT')`, into)).toBe('t');
  }, 120_000);

  it('restores one table alone, identical, and refuses to overwrite an existing database unless confirmed', async () => {
    await pg.psql('CREATE DATABASE one_table');
    const conflict = expectExit(await home.run(['restore', backup.id, '--target-postgres', pg.url('one_table'), '--table', 'public.pgbench_branches', '--json']), EXIT.conflict);
    expect(errorJson(conflict).message).toContain('--confirm-overwrite');
    await home.json(['restore', backup.id, '--target-postgres', pg.url('one_table'), '--table', 'public.pgbench_branches', '--confirm-overwrite', '--no-globals']);
    const tables = await tableDigests('one_table');
    expect(Object.keys(tables)).toEqual(['public.pgbench_branches']);
    expect(tables['public.pgbench_branches']).toBe((await tableDigests('app'))['public.pgbench_branches']);
  }, 120_000);

  it('passes a restore-test and records the restore time in the catalog', async () => {
    const result = await home.json<{ ok: boolean; outcomes: { restoreMs: number; checked: number; problems: string[] }[] }>(['verify', backup.id, '--level', 'restore-test', '--scratch-postgres', pg.url('')]);
    expect(result.ok).toBe(true);
    expect(result.outcomes[0]!.problems).toEqual([]);
    // 5 tables (4 pgbench + kinds), 2 sequences, 1 view
    expect(result.outcomes[0]!.checked).toBe(8);
    expect(result.outcomes[0]!.restoreMs).toBeGreaterThan(0);
    // Scratch databases are dropped afterwards.
    expect(await pg.psql(`SELECT count(*) FROM pg_database WHERE datname LIKE 'chrono_restoretest_%'`)).toBe('0');
    // A snapshot that also recorded server-side row counts and checksums is held to those as well.
    const checked = await home.backup([], ['--postgres', pg.url('app'), '--pg-fingerprint', 'checksums']);
    const strict = await home.json<{ ok: boolean; outcomes: { checked: number; problems: string[] }[] }>(['verify', checked.id, '--level', 'restore-test', '--scratch-postgres', pg.url('')]);
    expect(strict.outcomes[0]!.problems).toEqual([]);
    expect(strict.outcomes[0]!.checked).toBe(13);
    const runs = parseJson<{ kind: string; snapshotId?: string; summary?: { level?: string; outcomes?: { restoreMs: number }[] } }[]>(expectExit(await home.run(['runs', '--kind', 'verify', '--json']), EXIT.ok));
    const recorded = runs.find((r) => r.snapshotId === backup.id && r.summary?.level === 'restore-test');
    expect(recorded?.summary?.outcomes?.[0]?.restoreMs).toBe(result.outcomes[0]!.restoreMs);
  }, 120_000);
});

describe('PostgreSQL small cases', () => {
  it('backs up an empty database, whose dump is over before the reading worker has started', async () => {
    await pg.psql('CREATE DATABASE empty_one');
    const backup = await home.backup([], ['--postgres', pg.url('empty_one'), '--no-pg-globals'], { timeoutMs: 30_000 });
    expect(backup.snapshots[0]!.stats.totalBytes).toBeGreaterThan(0);
    const restored = await home.json<{ sources: { into: string[] }[] }>(['restore', backup.id, '--target-postgres', pg.url('')]);
    const into = restored.sources[0]!.into[0]!.split('/').pop()!;
    expect(await pg.psql(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`, into)).toBe('0');
  }, 60_000);
});

describe('restore-test content comparison', () => {
  it('finds the rows a restored table lost or changed, and nothing in identical tables', async () => {
    const dumpFile = home.path('app.dump');
    await run('sh', ['-c', `pg_dump -Fc -Z0 -h ${pg.host} -p ${pg.port} -U ${pg.user} app > '${dumpFile}'`], { env: { ...pg.env, PGOPTIONS: DUMP_SESSION_OPTIONS } });
    await pg.psql('CREATE DATABASE tampered');
    await run('pg_restore', ['--no-owner', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'tampered', dumpFile], { env: pg.env });
    await pg.psql(`UPDATE kinds SET note = 'changed' WHERE id = 1; DELETE FROM pgbench_tellers WHERE tid = 1`, 'tampered');
    const files: StreamFiles = { names: () => ['app.dump'], size: () => 0, open: () => createReadStream(dumpFile) };
    const tools = await pgToolsFor(15);
    const dumped = await dumpedTableContents(files, 'app.dump', tools);
    const compare = async (table: string) => {
      const content = dumped.tables.get(table)!;
      const restored = await restoredTableContent(parsePgTarget(pg.url('')), 'tampered', content, dumped.encoding, tools, pg.env);
      return { rows: [restored.rows, content.rows], same: restored.sha256 === content.sha256 };
    };
    expect([...dumped.tables.keys()].sort()).toEqual(['public.kinds', 'public.pgbench_accounts', 'public.pgbench_branches', 'public.pgbench_history', 'public.pgbench_tellers']);
    expect(await compare('public.kinds')).toEqual({ rows: [2000, 2000], same: false });
    expect(await compare('public.pgbench_tellers')).toEqual({ rows: [19, 20], same: false });
    expect(await compare('public.pgbench_accounts')).toEqual({ rows: [200000, 200000], same: true });
  }, 120_000);
});

describe('PostgreSQL day two', () => {
  it('a backup after updating ~2% of the rows stores at most 10% of the first backup', async () => {
    await pg.psql('CREATE DATABASE daytwo');
    await run('pgbench', ['-i', '-s', '20', '-q', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, 'daytwo'], { env: pg.env });
    const first = await home.backup([], backupArgs('daytwo', ['--pg-fingerprint', 'counts']).slice(1));
    // 2% of 2,000,000 accounts: one contiguous range, the way recent data is the data that changes.
    await pg.psql('UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 40000', 'daytwo');
    const second = await home.backup([], backupArgs('daytwo', ['--pg-fingerprint', 'counts']).slice(1));
    const ratio = second.snapshots[0]!.stats.bytesAdded / first.snapshots[0]!.stats.bytesAdded;
    expect(ratio).toBeLessThanOrEqual(0.1);
  }, 180_000);
});

describe('PostgreSQL failures', () => {
  async function expectSourceFailure(args: string[], env: Record<string, string | undefined>, named: string): Promise<void> {
    const before = (await home.snapshots()).length;
    const result = await home.run([...args, '--json'], { env });
    expect(result.code).not.toBe(0);
    const error = errorJson(result);
    expect(error.message).toContain(named);
    expect(result.stdout + result.stderr).not.toContain(pg.password);
    expect((await home.snapshots()).length).toBe(before);
  }

  it('unreachable host, wrong password and missing database: clear errors naming the source, no snapshot', async () => {
    await expectSourceFailure(['backup', '--postgres', 'postgres://postgres@127.0.0.1:1/app'], {}, 'postgres://postgres@127.0.0.1:1/app');
    await expectSourceFailure(backupArgs('app'), { PGPASSWORD: 'not-the-password' }, 'authentication failed');
    await expectSourceFailure(backupArgs('nosuchdb'), {}, 'does not exist');
  }, 120_000);

  it('a password in the URL is refused without echoing it', async () => {
    const result = expectExit(await home.run(['backup', '--postgres', `postgres://postgres:${pg.password}@127.0.0.1:${pg.port}/app`, '--json']), EXIT.usage);
    expect(errorJson(result).message).toContain('PGPASSWORD');
    expect(result.stdout + result.stderr).not.toContain(pg.password);
  }, 60_000);

  it('one failing source spares the others: the group is saved without it and the exit code says so', async () => {
    const result = expectExit(await home.run(['backup', '--postgres', 'postgres://postgres@127.0.0.1:1/app', '--config', '/etc/hostname', '--json']), EXIT.partial);
    const output = parseJson<BackupJson & { failures: { source: string; message: string }[] }>(result);
    expect(output.snapshots.map((s) => s.source)).toEqual(['config']);
    expect(output.failures.map((f) => f.source)).toEqual(['postgres']);
    expect((await home.json<{ ok: boolean }>(['verify', '--level', 'full'])).ok).toBe(true);
  }, 120_000);

  it('pg_dump killed mid-way: no snapshot, the repository still verifies', async () => {
    const before = (await home.snapshots()).length;
    // Hold a lock pg_dump waits for, then kill the waiting pg_dump from the server side.
    const running = home.start(['backup', '--postgres', pg.url('app'), '--pg-fingerprint', 'none', '--json']);
    const blocker = run('psql', ['-X', '-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', 'app', '-c', 'BEGIN; LOCK TABLE pgbench_accounts IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(4); COMMIT;'], { env: pg.env });
    let killed = '0';
    for (let i = 0; i < 100 && killed === '0'; i++) {
      await new Promise((done) => setTimeout(done, 50));
      killed = await pg.psql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'chrono-backup' AND wait_event_type = 'Lock'`);
    }
    await blocker;
    const result = await running.result;
    expect(killed).not.toBe('0');
    expect(result.code).toBe(10);
    expect(errorJson(result).message).toContain('pg_dump');
    expect((await home.snapshots()).length).toBe(before);
    expect((await home.json<{ ok: boolean }>(['verify', '--level', 'full'])).ok).toBe(true);
  }, 120_000);
});
