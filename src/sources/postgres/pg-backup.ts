import { spawn } from 'node:child_process';
import { SourceError } from '../../domain/errors.js';
import { childStdout, childSucceeded } from '../child-output.js';
import type { PipeSink } from '../stream-files.js';
import { connectPg, withPg } from './pg-client.js';
import { DUMP_SESSION_OPTIONS } from './pg-content.js';
import { fingerprintDatabase, listRoles, type PgDatabaseFingerprint, type PgFingerprintLevel } from './pg-fingerprint.js';
import { describePgTarget, libpqEnvironment, type PgTarget } from './pg-target.js';
import { pgToolsFor, type PgTools } from './pg-tools.js';

/** Name of the manifest file inside a `postgres` snapshot. */
export const PG_MANIFEST = 'postgres-manifest.json';
/** Name of the roles and tablespaces script inside a `postgres` snapshot. */
export const PG_GLOBALS = 'globals.sql';

/** What a `postgres` snapshot holds, written into it as `postgres-manifest.json`. */
export interface PgManifest {
  format: 1;
  server: { version: string; major: number };
  clientMajor: number;
  /** Databases in dump order, each with its file in the snapshot and what it held. */
  databases: { name: string; file: string; fingerprint?: PgDatabaseFingerprint }[];
  /** Present when roles were captured (pg_dumpall --globals-only). */
  globals?: { file: string; roles: string[]; withPasswords: boolean };
  fingerprintLevel: PgFingerprintLevel;
}

export interface PgCaptureOptions {
  fingerprint: PgFingerprintLevel;
  /** Capture roles and tablespaces too (needs a superuser, or falls back to no role passwords). */
  globals: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where the client programs are (default: chosen by the server's version). */
  binDir?: string;
  onWarning?: (message: string) => void;
  onPhase?: (message: string) => void;
}

/** The snapshot file of one database: a plain name whatever characters the database name holds. */
export function databaseFile(name: string): string {
  return `db-${encodeURIComponent(name)}.pgdump`;
}

/**
 * Backs up a PostgreSQL server: `pg_dump -Fc -Z0` per database, streamed into the sink (no dump-side
 * compression, so unchanged table data yields identical chunks from day to day and deduplicates; the
 * pipeline compresses), plus the globals. Each dump reads an exported snapshot held open by our own
 * session, and the fingerprint (row counts, checksums) is computed in that same snapshot, so it
 * describes exactly the rows the dump holds even while the database is being written to.
 */
export async function capturePostgres(target: PgTarget, sink: PipeSink, options: PgCaptureOptions): Promise<PgManifest> {
  const env = options.env ?? process.env;
  const maintenance = target.database ?? 'postgres';
  const { version, major, databases, roles } = await withPg(target, maintenance, env, async (client) => {
    const info = await client.query<{ server_version: string; server_version_num: string }>('SELECT current_setting(\'server_version\') AS server_version, current_setting(\'server_version_num\') AS server_version_num');
    const row = info.rows[0]!;
    const names = target.database
      ? [target.database]
      : (await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datallowconn AND NOT datistemplate ORDER BY datname')).rows.map((r) => r.datname);
    return { version: row.server_version, major: Math.floor(Number(row.server_version_num) / 10000), databases: names, roles: options.globals ? await listRoles(client) : [] };
  });
  const tools = await pgToolsFor(major, options.binDir);
  const manifest: PgManifest = { format: 1, server: { version, major }, clientMajor: tools.major, databases: [], fingerprintLevel: options.fingerprint };
  // Roles are captured while the databases are dumped: a separate, small program run that need not wait.
  const globals = options.globals ? captureGlobals(target, maintenance, sink, tools, env, options.onWarning) : Promise.resolve(undefined);
  globals.catch(() => undefined);
  for (const database of databases) {
    options.onPhase?.(`postgres ${database}`);
    const fingerprint = await dumpDatabase(target, database, sink, tools, env, options.fingerprint);
    manifest.databases.push({ name: database, file: databaseFile(database), ...(fingerprint ? { fingerprint } : {}) });
  }
  const captured = await globals;
  if (captured) manifest.globals = { file: PG_GLOBALS, roles, withPasswords: captured.withPasswords };
  await sink.add(PG_MANIFEST, [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]);
  return manifest;
}

async function dumpDatabase(target: PgTarget, database: string, sink: PipeSink, tools: PgTools, env: NodeJS.ProcessEnv, level: PgFingerprintLevel): Promise<PgDatabaseFingerprint | undefined> {
  const client = await connectPg(target, database, env);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await client.query<{ id: string }>('SELECT pg_export_snapshot() AS id')).rows[0]!.id;
    const what = `pg_dump of ${describePgTarget(target, database)}`;
    const dump = (path: string) => {
      // --no-sync: the output is a pipe, which cannot be fsynced (durability is the repository's job).
      const child = spawn(tools.path('pg_dump'), ['--format=custom', '--compress=0', '--no-sync', `--snapshot=${snapshot}`, '--no-password', `--file=${path}`], {
        env: { ...libpqEnvironment(target, database, env), PGOPTIONS: DUMP_SESSION_OPTIONS },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      return childSucceeded(child, what, 'postgres.dump_failed');
    };
    // The dump and the fingerprint read the same snapshot side by side: the server does both at once.
    const [, fingerprint] = await Promise.all([sink.addFromPipe(databaseFile(database), dump), level === 'none' ? undefined : fingerprintDatabase(client, level)]);
    await client.query('COMMIT');
    return fingerprint;
  } catch (error) {
    if (error instanceof SourceError) throw error;
    throw new SourceError('postgres.dump_failed', `PostgreSQL ${describePgTarget(target, database)}: ${(error as Error).message}`, { cause: error });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Roles and tablespaces. Reading role passwords needs a superuser; managed services refuse that, and
 * then the roles are captured without passwords (and the manifest says so) rather than not at all.
 */
async function captureGlobals(target: PgTarget, database: string, sink: PipeSink, tools: PgTools, env: NodeJS.ProcessEnv, warn?: (message: string) => void): Promise<{ withPasswords: boolean } | undefined> {
  for (const withPasswords of [true, false]) {
    const child = spawn(tools.path('pg_dumpall'), ['--globals-only', '--no-password', '-l', database, ...(withPasswords ? [] : ['--no-role-passwords'])], {
      env: libpqEnvironment(target, database, env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    // Collected first: a failed attempt must not leave a partial globals file in the snapshot.
    const parts: Buffer[] = [];
    try {
      for await (const part of childStdout(child, `pg_dumpall --globals-only of ${describePgTarget(target, database)}`, 'postgres.globals_failed')) parts.push(part);
    } catch (error) {
      if (!withPasswords) {
        warn?.(`roles were not captured: ${(error as Error).message}`);
        return undefined;
      }
      continue;
    }
    if (!withPasswords) warn?.('roles were captured without their passwords (reading them needs a superuser)');
    await sink.add(PG_GLOBALS, parts);
    return { withPasswords };
  }
  return undefined;
}
