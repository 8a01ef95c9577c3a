import { ValidationError } from '../../domain/errors.js';

/**
 * A PostgreSQL server to back up or restore into. It never holds a password: libpq's own sources
 * (PGPASSWORD, PGPASSFILE or ~/.pgpass) supply it to every client we start, so the password is on
 * no command line, in no log and in no snapshot.
 */
export interface PgTarget {
  host: string;
  port: number;
  user?: string;
  /** One database; absent means every database that accepts connections (templates excluded). */
  database?: string;
  /** libpq's sslmode (disable, prefer, require, verify-ca, verify-full). */
  sslMode?: string;
}

const SSL_MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];

/**
 * Parses `postgres://[user@]host[:port][/database][?sslmode=…]` (also `postgresql://`). A password in
 * the URL is refused rather than silently used: the URL shows up in plans, process lists and shell
 * history.
 */
export function parsePgTarget(text: string, field = 'postgres'): PgTarget {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`${field} must be a URL like postgres://user@host:5432/database`, field);
  }
  if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:') throw new ValidationError(`${field} must start with postgres:// (got ${url.protocol}//)`, field);
  if (url.password) throw new ValidationError(`${field}: do not put the password in the URL; set PGPASSWORD or use a .pgpass file`, `${field}.password`);
  if (!url.hostname) throw new ValidationError(`${field} names no host`, `${field}.host`);
  const port = url.port ? Number(url.port) : 5432;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new ValidationError(`${field}: port ${url.port} is out of range`, `${field}.port`);
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (database.includes('/')) throw new ValidationError(`${field}: the path must be one database name`, `${field}.database`);
  const sslMode = url.searchParams.get('sslmode') ?? undefined;
  if (sslMode !== undefined && !SSL_MODES.includes(sslMode)) throw new ValidationError(`${field}: sslmode must be one of ${SSL_MODES.join(', ')}`, `${field}.sslmode`);
  for (const key of url.searchParams.keys()) {
    if (key !== 'sslmode') throw new ValidationError(`${field}: unknown option "${key}" (only sslmode is accepted)`, `${field}.${key}`);
  }
  return {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    ...(url.username ? { user: decodeURIComponent(url.username) } : {}),
    ...(database ? { database } : {}),
    ...(sslMode ? { sslMode } : {}),
  };
}

/** The target as text for messages, logs and snapshots: never a secret. */
export function describePgTarget(target: PgTarget, database = target.database): string {
  const user = target.user ? `${encodeURIComponent(target.user)}@` : '';
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `postgres://${user}${host}:${target.port}/${database ? encodeURIComponent(database) : ''}`;
}

/**
 * The environment for pg_dump, pg_restore and psql: the connection in libpq's variables, the password
 * sources (PGPASSWORD, PGPASSFILE) inherited from ours. Any PG* variable of ours that could redirect
 * the client elsewhere (PGSERVICE, PGHOSTADDR, PGOPTIONS) is dropped.
 */
export function libpqEnvironment(target: PgTarget, database: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('PG') || name === 'PGPASSWORD' || name === 'PGPASSFILE' || name === 'PGCONNECT_TIMEOUT'));
  return {
    ...inherited,
    PGHOST: target.host,
    PGPORT: String(target.port),
    PGDATABASE: database,
    PGCONNECT_TIMEOUT: env.PGCONNECT_TIMEOUT ?? '15',
    PGAPPNAME: 'chrono-backup',
    ...(target.user ? { PGUSER: target.user } : {}),
    ...(target.sslMode ? { PGSSLMODE: target.sslMode } : {}),
  };
}
