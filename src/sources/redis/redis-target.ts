import { readFileSync } from 'node:fs';
import type { ConnectionOptions as TlsConnectionOptions } from 'node:tls';
import { BackupError, SourceError, ValidationError } from '../../domain/errors.js';
import { RespClient, RespConnectionError, RespError, type RespConnectOptions } from './resp-client.js';

/**
 * A Redis server to back up from or restore into, parsed from `redis://[user@]host[:port][/db]` or
 * `rediss://…` (TLS). It holds no secret, so it can be shown, logged and stored; the password travels
 * apart in {@link RedisSecrets}, read from `REDISCLI_AUTH` like redis-cli does.
 */
export interface RedisTarget {
  host: string;
  port: number;
  /**
   * When set, backups, restores and fingerprints cover only this logical database; when absent, all of
   * them. (A SYNC capture always holds every database: the RDB is the server's whole dataset.)
   */
  db?: number;
  /** ACL user (Redis 6+); absent for the `default` user / `requirepass`. */
  username?: string;
  tls?: RedisTlsOptions;
}

export interface RedisTlsOptions {
  /** PEM file of the CA that signed the server's certificate (else the system's trust store). */
  caFile?: string;
  /** Name to check the certificate against (SNI), when it differs from the host. */
  servername?: string;
  /** Skip certificate verification: for tests and throw-away servers only. */
  insecure?: boolean;
}

export interface RedisSecrets {
  password?: string;
}

/** Reads the password from the environment's `REDISCLI_AUTH`, as redis-cli does. */
export function redisSecretsFromEnv(env: Record<string, string | undefined> = process.env): RedisSecrets {
  const password = env['REDISCLI_AUTH'];
  return password === undefined || password === '' ? {} : { password };
}

/**
 * Parses a Redis location. `tls` options apply to `rediss://` only. Throws a ValidationError whose
 * `field` names the bad part; a password in the URL is refused without being repeated.
 */
export function parseRedisTarget(location: string, tls: RedisTlsOptions = {}, field = 'source'): RedisTarget {
  if (typeof location !== 'string' || location.trim() === '') throw new ValidationError(`${field} must be a redis:// or rediss:// URL`, field);
  const text = location.trim();
  const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//.exec(text)?.[1]?.toLowerCase();
  if (scheme !== 'redis' && scheme !== 'rediss') throw new ValidationError(`${field} must be a redis:// or rediss:// URL (redis://[user@]host[:port][/db])`, `${field}.scheme`);
  // Checked on the text, before URL parsing: `redis://:secret@host` must never get as far as a message.
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(text)![1]!;
  const at = authority.lastIndexOf('@');
  if (at >= 0 && authority.slice(0, at).includes(':')) {
    throw new ValidationError(`${field}: a Redis location must not contain a password; set it in the REDISCLI_AUTH environment variable instead`, `${field}.password`);
  }
  const [, hostText, port] = /^(?:[^@]*@)?(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(authority) ?? [];
  if (hostText === undefined || hostText === '' || hostText === '[]') throw new ValidationError(`${field}: the host is missing (redis://host:port/db)`, `${field}.host`);
  if (port !== undefined && (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535)) {
    throw new ValidationError(`${field}: port ${JSON.stringify(port.slice(0, 20))} must be a number from 1 to 65535`, `${field}.port`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`${field} is not a valid URL`, field);
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') throw new ValidationError(`${field}: the host is missing (redis://host:port/db)`, `${field}.host`);
  if (url.search !== '' || url.hash !== '') throw new ValidationError(`${field}: a Redis location takes no ?options or #fragment (TLS settings are separate options)`, field);
  const path = url.pathname.replace(/^\/+|\/+$/g, '');
  let db: number | undefined;
  if (path !== '') {
    if (!/^\d{1,5}$/.test(path)) throw new ValidationError(`${field}: the database must be a number (redis://host:port/0), got ${JSON.stringify(path.slice(0, 20))}`, `${field}.db`);
    db = Number(path);
  }
  const isTls = scheme === 'rediss';
  if (!isTls && (tls.caFile !== undefined || tls.servername !== undefined || tls.insecure)) {
    throw new ValidationError(`${field}: TLS options need a rediss:// location`, `${field}.tls`);
  }
  return {
    host,
    port: port === undefined ? 6379 : Number(port),
    ...(db !== undefined ? { db } : {}),
    ...(url.username !== '' ? { username: decodeURIComponent(url.username) } : {}),
    ...(isTls ? { tls: { ...tls } } : {}),
  };
}

/** The target as a URL fit for messages and logs (it never holds a password). */
export function describeRedisTarget(target: RedisTarget): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  const user = target.username === undefined ? '' : `${encodeURIComponent(target.username)}@`;
  return `${target.tls ? 'rediss' : 'redis'}://${user}${host}:${target.port}${target.db === undefined ? '' : `/${target.db}`}`;
}

/** Node's connection options for a target (reads the CA file). */
export function connectOptionsOf(target: RedisTarget, timeoutMs?: number): RespConnectOptions {
  let tls: TlsConnectionOptions | undefined;
  if (target.tls) {
    let ca: Buffer | undefined;
    if (target.tls.caFile !== undefined) {
      try {
        ca = readFileSync(target.tls.caFile);
      } catch (error) {
        throw new ValidationError(`cannot read the TLS CA file ${target.tls.caFile}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, 'tls.caFile');
      }
    }
    tls = {
      servername: target.tls.servername ?? (/^[\d.]+$|:/.test(target.host) ? undefined : target.host),
      rejectUnauthorized: target.tls.insecure !== true,
      ...(ca ? { ca } : {}),
    };
  }
  return { host: target.host, port: target.port, ...(tls ? { tls } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) };
}

/**
 * Connects and authenticates. Every failure is a SourceError naming the target (without secrets):
 * `redis.unreachable` (retryable), `redis.tls`, `redis.auth`. The password is sent only in AUTH and
 * never appears in a message.
 */
export async function connectRedis(target: RedisTarget, secrets: RedisSecrets = {}, options: { timeoutMs?: number; role?: string } = {}): Promise<RespClient> {
  const label = `${options.role ?? 'Redis'} ${describeRedisTarget(target)}`;
  let client: RespClient;
  try {
    client = await RespClient.connect(connectOptionsOf(target, options.timeoutMs));
  } catch (error) {
    throw asRedisSourceError(error, label);
  }
  try {
    if (secrets.password !== undefined) {
      await client.call(...(target.username !== undefined ? ['AUTH', target.username, secrets.password] : ['AUTH', secrets.password]));
    } else if (target.username !== undefined) {
      // Without a password an ACL user can only be one with `nopass`; AUTH user with any password works then.
      await client.call('AUTH', target.username, '');
    }
    // A cheap command that fails with NOAUTH when the server wants a password we did not give.
    await client.call('PING');
    return client;
  } catch (error) {
    await client.close();
    throw asRedisSourceError(error, label);
  }
}

/**
 * Maps a client failure to a SourceError whose message starts with `label` (the target without
 * secrets). Server error texts are kept: Redis never echoes a password in them.
 */
export function asRedisSourceError(error: unknown, label: string): Error {
  if (error instanceof BackupError) return error;
  if (error instanceof RespConnectionError) {
    if (error.tls) return new SourceError('redis.tls', `${label}: TLS connection failed (${error.code})`, { cause: error });
    return new SourceError('redis.unreachable', `${label}: ${error.message}`, { cause: error, retryable: true, details: { errno: error.code } });
  }
  if (error instanceof RespError) {
    if (error.prefix === 'NOAUTH') return new SourceError('redis.auth', `${label}: the server requires a password; set REDISCLI_AUTH`, { cause: error });
    if (error.prefix === 'WRONGPASS' || /invalid password|without any password configured|invalid username-password/i.test(error.message)) {
      return new SourceError('redis.auth', `${label}: authentication failed (${error.message.slice(0, 200)})`, { cause: error });
    }
    return new SourceError('redis.command', `${label}: ${error.message.slice(0, 300)}`, { cause: error });
  }
  return new SourceError('redis.failed', `${label}: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
}
