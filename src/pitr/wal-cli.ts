import { resolve } from 'node:path';
import { BackupError, ValidationError } from '../domain/errors.js';
import { exitCodeFor, EXIT } from '../cli/exit-codes.js';
import type { WalCommandContext } from './wal-commands.js';
import { asyncFromEnv, MAX_ASYNC_CONCURRENCY, MAX_ASYNC_QUEUE, parseWhole, walAsyncSettings } from './wal-async-settings.js';
import { takePrefetched } from './wal-spool.js';

/**
 * Exit status of wal-fetch when something other than "not archived" went wrong (storage unreachable,
 * wrong key, damaged object). PostgreSQL reads any status above 125 as a hard failure and aborts
 * recovery; an ordinary non-zero status would mean "no such file", and recovery would end early and
 * promote at the wrong point.
 */
export const WAL_FETCH_FAILED_EXIT = 126;

/**
 * The lean entry of `chrono-backup wal-push` and `wal-fetch`. PostgreSQL starts one process per WAL
 * file, so bin/chrono-backup.js sends these two commands here instead of building the whole CLI: no
 * commander, no catalog, no other command's modules (about a third of the start-up time; see the notes
 * of issue 8). The full CLI registers the same commands (src/cli/commands/pitr.ts) for its help and for
 * callers that go through it; both run {@link runWalCommand}.
 */
export interface WalInvocation {
  /** `wal-push-daemon` is the background pusher of `wal-push --async`, which starts it (not for people). */
  command: 'wal-push' | 'wal-fetch' | 'wal-push-daemon';
  positional: string[];
  repository?: string;
  systemIdentifier?: string;
  /** wal-fetch: segments to fetch ahead (0: none). */
  prefetch?: number;
  /** wal-push: hand the file to the background pusher and wait for its verdict (also CHRONO_BACKUP_WAL_ASYNC=1). */
  async?: boolean;
  /** wal-push --async: the spool folder (default `pg_wal/.chrono-wal-async`; also CHRONO_BACKUP_WAL_SPOOL). */
  spool?: string;
  /** wal-push --async: pushes at once in the background pusher. */
  asyncConcurrency?: number;
  /** wal-push --async: files the pusher may push ahead of PostgreSQL. */
  asyncQueue?: number;
  json?: boolean;
}

/** Runs one wal command and returns the exit status PostgreSQL expects; messages go to stderr (the server log). */
export async function runWalCommand(invocation: WalInvocation, env: NodeJS.ProcessEnv = process.env, cwd = process.cwd()): Promise<number> {
  const context: WalCommandContext = { env, cwd, ...(invocation.repository ? { repository: invocation.repository } : {}), ...(invocation.systemIdentifier ? { systemIdentifier: invocation.systemIdentifier } : {}) };
  const out = (json: unknown, human: string) => {
    if (invocation.json) process.stdout.write(`${JSON.stringify(json)}\n`);
    else if (human) process.stderr.write(`${human}\n`);
  };
  try {
    if (invocation.command === 'wal-fetch' && invocation.prefetch && invocation.positional.length === 2) {
      const [name, path] = invocation.positional as [string, string];
      if (await takePrefetched(cwd, name, resolve(cwd, path))) {
        out({ file: name, found: true }, '');
        return EXIT.ok;
      }
    }
    if (invocation.command === 'wal-push-daemon') return await runDaemon(invocation, env, cwd);
    if (invocation.command === 'wal-push') {
      const [path, ...extra] = invocation.positional;
      if (!path || extra.length > 0) throw new ValidationError('usage: chrono-backup wal-push [--async] <path> (archive_command = \'chrono-backup wal-push %p\')', 'path');
      if (invocation.async || asyncFromEnv(env)) {
        const status = await pushAsync(path, invocation, env, cwd, out);
        if (status !== undefined) return status;
      }
      const { walPush } = await import('./wal-commands.js');
      const pushed = await walPush(path, context);
      // Quiet on success, as archive commands are: the server log would get a line per segment otherwise.
      out({ file: pushed.file.name, outcome: pushed.outcome, systemIdentifier: pushed.systemIdentifier }, pushed.outcome === 'already-archived' ? `chrono-backup: ${pushed.file.name} was already archived with the same content` : '');
      return EXIT.ok;
    }
    const { walFetch } = await import('./wal-commands.js');
    const [name, path, ...extra] = invocation.positional;
    if (!name || !path || extra.length > 0) throw new ValidationError('usage: chrono-backup wal-fetch <file> <path> (restore_command = \'chrono-backup wal-fetch %f %p\')', 'file');
    const found = await walFetch(name, path, { ...context, ...(invocation.prefetch ? { prefetch: invocation.prefetch } : {}) });
    out({ file: name, found }, '');
    return found ? EXIT.ok : EXIT.failure;
  } catch (error) {
    const known = error instanceof BackupError;
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`chrono-backup ${invocation.command}: error: ${message}${known ? ` [${error.code}]` : ''}\n`);
    if (invocation.command === 'wal-fetch') return WAL_FETCH_FAILED_EXIT;
    return exitCodeFor(error);
  }
}

/**
 * `wal-push --async`: the answer of the background pusher (wal-async-push.ts), as an exit status; undefined
 * when PostgreSQL has not marked the file ready (a push by hand), which is then pushed synchronously.
 */
async function pushAsync(path: string, invocation: WalInvocation, env: NodeJS.ProcessEnv, cwd: string, out: (json: unknown, human: string) => void): Promise<number | undefined> {
  const settings = walAsyncSettings(env, asyncOverrides(invocation, env, cwd));
  const { walPushAsync } = await import('./wal-async-push.js');
  const result = await walPushAsync({ path, cwd, env, settings, ...(invocation.repository ? { repository: invocation.repository } : {}), ...(invocation.systemIdentifier ? { systemIdentifier: invocation.systemIdentifier } : {}) });
  switch (result.kind) {
    case 'not-queued':
      return undefined;
    case 'pushed':
      out({ file: result.name, outcome: result.outcome, systemIdentifier: result.systemIdentifier, async: true }, result.outcome === 'already-archived' ? `chrono-backup: ${result.name} was already archived with the same content` : '');
      return EXIT.ok;
    case 'failed':
      process.stderr.write(`chrono-backup wal-push: error: ${result.message}${result.code ? ` [${result.code}]` : ''}\n`);
      return result.exitCode;
    case 'timeout':
      process.stderr.write(`chrono-backup wal-push: error: ${result.name} was not archived within ${Math.round(result.waitedMs / 1000)} s by the background pusher (see its messages above); PostgreSQL will retry\n`);
      return EXIT.failure;
  }
}

/** The hidden `wal-push-daemon [--spool DIR] … <pg_wal>`: runs the background pusher until it is idle. */
async function runDaemon(invocation: WalInvocation, env: NodeJS.ProcessEnv, cwd: string): Promise<number> {
  const [walDir, ...extra] = invocation.positional;
  if (!walDir || extra.length > 0) throw new ValidationError('usage: chrono-backup wal-push-daemon [--spool DIR] <pg_wal>', 'path');
  const settings = walAsyncSettings(env, asyncOverrides(invocation, env, cwd));
  const { spoolDirectory } = await import('./wal-async-spool.js');
  const { runPusherDaemon } = await import('./wal-async-daemon.js');
  const absolute = resolve(cwd, walDir);
  return runPusherDaemon({ walDir: absolute, spool: spoolDirectory(absolute, settings.spool), cwd, env, settings, ...(invocation.repository ? { repository: invocation.repository } : {}), ...(invocation.systemIdentifier ? { systemIdentifier: invocation.systemIdentifier } : {}) });
}

/** The command line's settings; a spool path (option or variable) is relative to the data directory. */
function asyncOverrides(invocation: WalInvocation, env: NodeJS.ProcessEnv, cwd: string) {
  const spool = invocation.spool ?? (env.CHRONO_BACKUP_WAL_SPOOL || undefined);
  return { ...(spool ? { spool: resolve(cwd, spool) } : {}), ...(invocation.asyncConcurrency ? { concurrency: invocation.asyncConcurrency } : {}), ...(invocation.asyncQueue ? { queue: invocation.asyncQueue } : {}) };
}

/** `--prefetch`: how many segments wal-fetch fetches ahead (0 to 64). */
export function parsePrefetch(text: string): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new ValidationError('--prefetch must be a whole number from 0 to 64', 'prefetch');
  return count;
}

/**
 * Parses `[--repo X] [--json] wal-push|wal-fetch|wal-push-daemon [--system-id N] [--prefetch N] [--async]
 * [--spool DIR] [--async-concurrency N] [--async-queue N] args…` (the only options these commands have).
 */
export function parseWalArguments(args: readonly string[]): WalInvocation {
  const positional: string[] = [];
  let command: WalInvocation['command'] | undefined;
  const invocation: Partial<WalInvocation> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = () => {
      const next = inline ?? args[++i];
      if (next === undefined) throw new ValidationError(`${flag} needs a value`, flag.slice(2));
      return next;
    };
    if (flag === '--repo') invocation.repository = value();
    else if (flag === '--system-id') invocation.systemIdentifier = value();
    else if (flag === '--prefetch') invocation.prefetch = parsePrefetch(value());
    else if (flag === '--async' && inline === undefined) invocation.async = true;
    else if (flag === '--spool') invocation.spool = value();
    else if (flag === '--async-concurrency') invocation.asyncConcurrency = parseWhole(value(), '--async-concurrency', 1, MAX_ASYNC_CONCURRENCY);
    else if (flag === '--async-queue') invocation.asyncQueue = parseWhole(value(), '--async-queue', 1, MAX_ASYNC_QUEUE);
    else if (flag === '--json') invocation.json = true;
    else if (flag === '--no-progress') continue;
    else if (flag === '--') {
      positional.push(...args.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') throw new ValidationError(`unknown option ${flag}`, flag.replace(/^-+/, ''));
    else if (!command && (arg === 'wal-push' || arg === 'wal-fetch' || arg === 'wal-push-daemon')) command = arg;
    else positional.push(arg);
  }
  if (!command) throw new ValidationError('expected wal-push or wal-fetch', 'command');
  const asyncOption = ['async', 'spool', 'asyncConcurrency', 'asyncQueue'].find((key) => key in invocation);
  if (command === 'wal-fetch' && asyncOption) throw new ValidationError(`--${asyncOption.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} applies to wal-push only`, asyncOption);
  return { ...invocation, command, positional };
}

export async function main(argv: string[]): Promise<void> {
  const options = argv.slice(2, argv.includes('--') ? argv.indexOf('--') : undefined);
  if (options.includes('--help') || options.includes('-h')) {
    // Help is the full CLI's (src/cli/commands/pitr.ts registers these commands with their options).
    const { main: fullCli } = await import('../cli/main.js');
    return fullCli(argv);
  }
  let invocation: WalInvocation;
  try {
    invocation = parseWalArguments(argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    // A restore_command that cannot even be parsed must stop recovery, not read as "no such file".
    process.exitCode = argv.includes('wal-fetch') ? WAL_FETCH_FAILED_EXIT : EXIT.usage;
    return;
  }
  const status = await runWalCommand(invocation);
  // The pusher has released its lock and removed its pid file: nothing left to wait for (a storage
  // client's idle socket must not keep a finished pusher alive).
  if (invocation.command === 'wal-push-daemon') process.exit(status);
  process.exitCode = status;
}
