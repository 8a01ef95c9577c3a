import pg from 'pg';
import { SourceError } from '../../domain/errors.js';
import { describePgTarget, type PgTarget } from './pg-target.js';

/**
 * Opens a SQL session on `database`, or with `replication: true` a physical replication session (the
 * protocol pg_basebackup speaks; `database` then only names it in errors). The password comes from
 * `env.PGPASSWORD`, else from the pgpass file as libpq would find it; failures become SourceErrors that
 * name the server and database (never the password) and say what to check.
 */
export async function connectPg(target: PgTarget, database: string, env: NodeJS.ProcessEnv = process.env, options: { replication?: boolean } = {}): Promise<pg.Client> {
  const client = new pg.Client({
    host: target.host,
    port: target.port,
    ...(options.replication ? { replication: true } : { database }),
    ...(target.user ? { user: target.user } : {}),
    ...(env.PGPASSWORD !== undefined ? { password: env.PGPASSWORD } : {}),
    ...(target.sslMode && target.sslMode !== 'disable' && target.sslMode !== 'allow' && target.sslMode !== 'prefer'
      ? { ssl: { rejectUnauthorized: target.sslMode === 'verify-ca' || target.sslMode === 'verify-full' } }
      : {}),
    connectionTimeoutMillis: Number(env.PGCONNECT_TIMEOUT ?? 15) * 1000,
    application_name: 'chrono-backup',
  } as pg.ClientConfig);
  // An idle session that drops later must not crash the process; the next query reports it.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw pgConnectionError(target, database, error);
  }
  return client;
}

/** Runs `work` with a session that is always closed afterwards. */
export async function withPg<T>(target: PgTarget, database: string, env: NodeJS.ProcessEnv, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = await connectPg(target, database, env);
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Classifies a connection failure by its SQLSTATE or socket code. */
export function pgConnectionError(target: PgTarget, database: string, error: unknown): SourceError {
  const where = describePgTarget(target, database);
  const { code } = (error ?? {}) as { code?: string };
  const reason = error instanceof Error ? error.message : String(error);
  if (code === '28P01' || code === '28000') return new SourceError('postgres.auth_failed', `PostgreSQL ${where}: authentication failed (check PGPASSWORD or .pgpass): ${reason}`, { cause: error });
  if (code === '3D000') return new SourceError('postgres.database_missing', `PostgreSQL ${where}: database "${database}" does not exist`, { cause: error });
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EHOSTUNREACH' || code === 'ETIMEDOUT' || /timeout/i.test(reason)) {
    return new SourceError('postgres.unreachable', `PostgreSQL ${where} is unreachable: ${reason}`, { cause: error, retryable: true });
  }
  return new SourceError('postgres.connect_failed', `PostgreSQL ${where}: ${reason}`, { cause: error });
}

/** Quotes an identifier for SQL text (names come from the catalog, but may hold any character). */
export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
