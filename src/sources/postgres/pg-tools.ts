import { execFile } from 'node:child_process';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SourceError } from '../../domain/errors.js';
import { withPg } from './pg-client.js';
import type { PgTarget } from './pg-target.js';

const run = promisify(execFile);

export type PgTool = 'pg_dump' | 'pg_dumpall' | 'pg_restore' | 'psql' | 'pg_basebackup';

/** The client programs to use for one server, and their major version. */
export interface PgTools {
  major: number;
  path: (tool: PgTool) => string;
}

/**
 * Picks client programs that can talk to a server of `serverMajor`. pg_dump reads servers of its own
 * major version and older only, so the newest installed version is preferred: `binDir` (or
 * CHRONO_PG_BIN) when given, else Debian's /usr/lib/postgresql/<N>/bin for N ≥ the server's, else PATH.
 * A client older than the server is refused with a message that says what to install.
 */
export async function pgToolsFor(serverMajor: number, binDir = process.env.CHRONO_PG_BIN): Promise<PgTools> {
  const candidates = binDir ? [binDir] : [...[20, 19, 18, 17, 16, 15, 14, 13, 12].filter((major) => major >= serverMajor).map((major) => `/usr/lib/postgresql/${major}/bin`), ''];
  for (const directory of candidates) {
    const path = (tool: PgTool) => (directory ? join(directory, tool) : tool);
    if (directory && !(await access(path('pg_dump')).then(() => true, () => false))) continue;
    const major = await clientMajor(path('pg_dump'));
    if (major === undefined) continue;
    if (major < serverMajor) {
      throw new SourceError('postgres.client_too_old', `pg_dump ${major} cannot dump a PostgreSQL ${serverMajor} server; install the PostgreSQL ${serverMajor} client programs (or set CHRONO_PG_BIN to their directory)`);
    }
    return { major, path };
  }
  throw new SourceError('postgres.client_missing', 'pg_dump was not found; install the PostgreSQL client programs (Debian: postgresql-client) or set CHRONO_PG_BIN');
}

/** The client programs for the server `target` runs (its major version read over a SQL session). */
export async function pgToolsForServer(target: PgTarget, env: NodeJS.ProcessEnv, binDir?: string): Promise<PgTools> {
  const major = await withPg(target, 'postgres', env, async (client) => Math.floor(Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) / 10000));
  return pgToolsFor(major, binDir);
}

async function clientMajor(pgDump: string): Promise<number | undefined> {
  try {
    const { stdout } = await run(pgDump, ['--version']);
    const match = /\(PostgreSQL\)\s+(\d+)/.exec(stdout);
    return match ? Number(match[1]) : undefined;
  } catch {
    return undefined;
  }
}
