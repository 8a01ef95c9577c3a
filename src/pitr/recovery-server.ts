import { execFile } from 'node:child_process';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SourceError, ValidationError } from '../domain/errors.js';
import { shellQuote } from './recovery-config.js';

const run = promisify(execFile);

/**
 * The server programs for a data directory of `major`: unlike the clients, they must be of exactly that
 * major version. CHRONO_PG_BIN, else Debian's /usr/lib/postgresql/<major>/bin, else PATH.
 */
export async function serverBinDir(major: number, env: NodeJS.ProcessEnv): Promise<string> {
  if (env.CHRONO_PG_BIN) return env.CHRONO_PG_BIN;
  const debian = `/usr/lib/postgresql/${major}/bin`;
  return (await access(join(debian, 'pg_ctl')).then(() => true, () => false)) ? debian : '';
}

export interface StartOptions {
  binDir: string;
  /** `name=value` settings for this start only (port, listen_addresses, unix_socket_directories…). */
  serverOptions: string[];
  logFile: string;
  timeoutMs: number;
  env: NodeJS.ProcessEnv;
}

export interface RecoveryOutcome {
  /** pg_controldata's state at the end: `in production` once promoted. */
  state: string;
  durationMs: number;
}

/**
 * Starts PostgreSQL on a restored data directory and waits until recovery has reached its target and
 * the server has promoted (pg_controldata says `in production`). A server that stops on the way
 * (target never reached, WAL missing) is a SourceError quoting the end of its log.
 */
export async function startAndAwaitRecovery(dataDirectory: string, options: StartOptions): Promise<RecoveryOutcome> {
  if (process.getuid?.() === 0) throw new ValidationError('PostgreSQL refuses to run as root: run pitr-restore --start as the account that owns the data directory (e.g. postgres), or start it yourself', 'start');
  const tool = (name: string) => (options.binDir ? join(options.binDir, name) : name);
  const settings = options.serverOptions.map((option) => {
    if (!/^[a-z_][a-z0-9_.]*=/i.test(option)) throw new ValidationError(`--server-option must be name=value (got "${option.slice(0, 60)}")`, 'server-option');
    return `-c ${shellQuote(option)}`;
  });
  const started = Date.now();
  const timeoutSeconds = Math.max(1, Math.ceil(options.timeoutMs / 1000));
  try {
    // -w waits until the server accepts connections (after reaching consistency, in recovery).
    await run(tool('pg_ctl'), ['-D', dataDirectory, '-l', options.logFile, '-w', '-t', String(timeoutSeconds), ...(settings.length > 0 ? ['-o', settings.join(' ')] : []), 'start'], { env: options.env, timeout: options.timeoutMs + 10_000 });
  } catch (error) {
    throw new SourceError('postgres.recovery_failed', `PostgreSQL did not start on ${dataDirectory}: ${(error as Error).message.split('\n')[0]}\n${await logTail(options.logFile)}`, { cause: error });
  }
  const deadline = started + options.timeoutMs;
  while (true) {
    const control = await controlData(tool('pg_controldata'), dataDirectory, options.env);
    if (control.state === 'in production') return { ...control, durationMs: Date.now() - started };
    const running = await access(join(dataDirectory, 'postmaster.pid')).then(() => true, () => false);
    if (!running) throw new SourceError('postgres.recovery_failed', `PostgreSQL stopped during recovery of ${dataDirectory} (state: ${control.state}):\n${await logTail(options.logFile)}`);
    if (Date.now() > deadline) throw new SourceError('postgres.recovery_timeout', `recovery of ${dataDirectory} did not finish within ${timeoutSeconds} s (state: ${control.state}); the server is still running`);
    await new Promise((done) => setTimeout(done, 100));
  }
}

async function controlData(pgControldata: string, dataDirectory: string, env: NodeJS.ProcessEnv): Promise<{ state: string }> {
  const { stdout } = await run(pgControldata, ['-D', dataDirectory], { env: { ...env, LC_ALL: 'C' } });
  return { state: /^Database cluster state:\s*(.+)$/m.exec(stdout)?.[1]?.trim() ?? 'unknown' };
}

async function logTail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return text.split('\n').slice(-15).join('\n').trim();
}
