import { spawn } from 'node:child_process';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { compactUtcStamp } from '../../domain/ids.js';
import { ConflictError, IntegrityError, NotFoundError, SourceError, ValidationError } from '../../domain/errors.js';
import { exited, stderrTail } from '../child-output.js';
import { readWhole, type StreamFiles } from '../stream-files.js';
import { quoteIdent, withPg } from './pg-client.js';
import { PG_MANIFEST, type PgManifest } from './pg-backup.js';
import { describePgTarget, libpqEnvironment, type PgTarget } from './pg-target.js';
import { pgToolsForServer, type PgTools } from './pg-tools.js';

export interface PgRestoreOptions {
  /** Databases of the snapshot to restore (default: all). */
  databases?: string[];
  /** The database to restore into when one is restored (default: `<name>_restored_<UTC stamp>`). */
  intoDatabase?: string;
  /** Names the new database of each restored one (default: `<name>_restored_<UTC stamp>`). */
  nameFor?: (database: string) => string;
  /** Restore into an existing database, dropping the objects the dump recreates. */
  confirmOverwrite: boolean;
  /** Only these tables (`table` or `schema.table`) / schemas. */
  tables?: string[];
  schemas?: string[];
  /** Recreate roles first (errors for roles that already exist are expected and ignored). */
  globals: boolean;
  now: Date;
  env?: NodeJS.ProcessEnv;
  binDir?: string;
  /** Client programs already chosen for this server (else chosen here). */
  tools?: PgTools;
  onPhase?: (message: string) => void;
}

export interface PgRestoreResult {
  databases: { name: string; restoredAs: string }[];
  globalsRestored: boolean;
  warnings: string[];
  manifest: PgManifest;
}

/** Reads and checks the manifest of a `postgres` snapshot. */
export async function readPgManifest(files: StreamFiles): Promise<PgManifest> {
  if (files.size(PG_MANIFEST) === undefined) throw new IntegrityError('manifest_missing', `the snapshot has no ${PG_MANIFEST}: it is not a PostgreSQL snapshot`);
  const manifest = JSON.parse((await readWhole(files, PG_MANIFEST)).toString('utf8')) as PgManifest;
  if (manifest.format !== 1 || !Array.isArray(manifest.databases)) throw new IntegrityError('manifest_malformed', `${PG_MANIFEST} has an unknown format`);
  return manifest;
}

/**
 * Restores the databases of a `postgres` snapshot with pg_restore, streaming each dump from the
 * repository into its standard input. By default every database goes into a new database, so a restore
 * never touches live data unless asked to; a new database that fails half-way is dropped again, so a
 * failure leaves nothing half-restored under the new name.
 */
export async function restorePostgres(target: PgTarget, files: StreamFiles, options: PgRestoreOptions): Promise<PgRestoreResult> {
  const env = options.env ?? process.env;
  const manifest = await readPgManifest(files);
  const chosen = options.databases?.length ? manifest.databases.filter((db) => options.databases!.includes(db.name)) : manifest.databases;
  const unknown = (options.databases ?? []).filter((name) => !manifest.databases.some((db) => db.name === name));
  if (unknown.length > 0) throw new NotFoundError('database in snapshot', unknown.join(', '));
  if (options.intoDatabase && chosen.length !== 1) throw new ValidationError(`a target database can only be named when one database is restored (the snapshot holds ${chosen.length})`, 'target-postgres.database');
  const warnings: string[] = [];
  const tools = options.tools ?? (await pgToolsForServer(target, env, options.binDir));
  let globalsRestored = false;
  if (options.globals && manifest.globals) {
    options.onPhase?.('postgres globals');
    warnings.push(...(await restoreGlobals(target, files, manifest.globals.file, tools, env)));
    globalsRestored = true;
  }
  const missingRoles = await withPg(target, 'postgres', env, async (client) => {
    const present = new Set((await client.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).rows.map((row) => row.rolname));
    return (manifest.globals?.roles ?? []).filter((role) => !present.has(role));
  });
  if (missingRoles.length > 0) warnings.push(`roles ${missingRoles.join(', ')} do not exist on the target: objects are restored owned by the restoring user, without grants`);
  const restored: PgRestoreResult['databases'] = [];
  for (const database of chosen) {
    const into = options.intoDatabase ?? options.nameFor?.(database.name) ?? `${database.name}_restored_${compactUtcStamp(options.now)}`;
    options.onPhase?.(`postgres ${database.name} → ${into}`);
    await restoreDatabase(target, files, database.file, into, tools, env, { ...options, ownership: missingRoles.length === 0 });
    restored.push({ name: database.name, restoredAs: into });
  }
  return { databases: restored, globalsRestored, warnings, manifest };
}

async function restoreDatabase(
  target: PgTarget,
  files: StreamFiles,
  file: string,
  into: string,
  tools: PgTools,
  env: NodeJS.ProcessEnv,
  options: PgRestoreOptions & { ownership: boolean },
): Promise<void> {
  const exists = await withPg(target, 'postgres', env, async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [into])).rowCount! > 0);
  if (exists && !options.confirmOverwrite) {
    throw new ConflictError('database_exists', `database "${into}" already exists on ${describePgTarget(target, '')}; restore into a new database or pass --confirm-overwrite to replace its objects`, { details: { field: 'target-postgres' } });
  }
  if (!exists) await withPg(target, 'postgres', env, (client) => client.query(`CREATE DATABASE ${quoteIdent(into)} TEMPLATE template0`));
  const args = ['--no-password', '--exit-on-error', `--dbname=${into}`];
  if (exists) args.push('--clean', '--if-exists');
  if (!options.ownership) args.push('--no-owner', '--no-privileges');
  for (const schema of options.schemas ?? []) args.push(`--schema=${schema}`);
  for (const table of options.tables ?? []) {
    const dot = table.indexOf('.');
    if (dot > 0) args.push(`--schema=${table.slice(0, dot)}`, `--table=${table.slice(dot + 1)}`);
    else args.push(`--table=${table}`);
  }
  const child = spawn(tools.path('pg_restore'), args, { env: libpqEnvironment(target, into, env), stdio: ['pipe', 'ignore', 'pipe'] });
  const stderr = stderrTail(child);
  const exit = exited(child);
  try {
    // pg_restore stopping early closes its input: the exit status then says why, not the broken pipe.
    const fed = await pipeline(Readable.from(files.open(file)), child.stdin!).then(() => undefined, (error: Error) => error);
    const status = await exit;
    if (status.code !== 0) {
      throw new SourceError('postgres.restore_failed', `pg_restore into ${describePgTarget(target, into)} ${status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`}${stderr() ? `: ${stderr()}` : ''}`);
    }
    if (fed) throw fed;
  } catch (error) {
    child.kill('SIGKILL');
    if (!exists) await withPg(target, 'postgres', env, (client) => client.query(`DROP DATABASE IF EXISTS ${quoteIdent(into)}`)).catch(() => undefined);
    throw error;
  }
}

/** Runs the globals script; "already exists" is expected on a server that has the roles. */
async function restoreGlobals(target: PgTarget, files: StreamFiles, file: string, tools: PgTools, env: NodeJS.ProcessEnv): Promise<string[]> {
  const child = spawn(tools.path('psql'), ['-X', '-q', '--no-password', '-f', '-'], { env: libpqEnvironment(target, 'postgres', env), stdio: ['pipe', 'ignore', 'pipe'] });
  let errors = '';
  child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString('utf8')));
  const exit = exited(child);
  await pipeline(Readable.from(files.open(file)), child.stdin!).catch(() => undefined);
  const status = await exit;
  if (status.code !== 0) throw new SourceError('postgres.globals_failed', `psql could not apply the roles to ${describePgTarget(target, 'postgres')}: ${errors.trim().slice(-2000)}`);
  return errors
    .split('\n')
    .filter((line) => /ERROR:/.test(line) && !/already exists/.test(line) && !/cannot be altered|current user cannot be dropped/.test(line))
    .map((line) => `roles: ${line.replace(/^.*?ERROR:\s*/, '')}`);
}
