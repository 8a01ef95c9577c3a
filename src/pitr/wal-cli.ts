import { resolve } from 'node:path';
import { BackupError, ValidationError } from '../domain/errors.js';
import { exitCodeFor, EXIT } from '../cli/exit-codes.js';
import type { WalCommandContext } from './wal-commands.js';
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
  command: 'wal-push' | 'wal-fetch';
  positional: string[];
  repository?: string;
  systemIdentifier?: string;
  /** wal-fetch: segments to fetch ahead (0: none). */
  prefetch?: number;
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
    const { walFetch, walPush } = await import('./wal-commands.js');
    if (invocation.command === 'wal-push') {
      const [path, ...extra] = invocation.positional;
      if (!path || extra.length > 0) throw new ValidationError('usage: chrono-backup wal-push <path> (archive_command = \'chrono-backup wal-push %p\')', 'path');
      const pushed = await walPush(path, context);
      // Quiet on success, as archive commands are: the server log would get a line per segment otherwise.
      out({ file: pushed.file.name, outcome: pushed.outcome, systemIdentifier: pushed.systemIdentifier }, pushed.outcome === 'already-archived' ? `chrono-backup: ${pushed.file.name} was already archived with the same content` : '');
      return EXIT.ok;
    }
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

/** `--prefetch`: how many segments wal-fetch fetches ahead (0 to 64). */
export function parsePrefetch(text: string): number {
  const count = Number(text);
  if (!Number.isInteger(count) || count < 0 || count > 64) throw new ValidationError('--prefetch must be a whole number from 0 to 64', 'prefetch');
  return count;
}

/** Parses `[--repo X] [--json] wal-push|wal-fetch [--system-id N] [--prefetch N] args…` (the only options these commands have). */
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
    else if (flag === '--json') invocation.json = true;
    else if (flag === '--no-progress') continue;
    else if (flag === '--') {
      positional.push(...args.slice(i + 1));
      break;
    } else if (arg.startsWith('-') && arg !== '-') throw new ValidationError(`unknown option ${flag}`, flag.replace(/^-+/, ''));
    else if (!command && (arg === 'wal-push' || arg === 'wal-fetch')) command = arg;
    else positional.push(arg);
  }
  if (!command) throw new ValidationError('expected wal-push or wal-fetch', 'command');
  return { ...invocation, command, positional };
}

export async function main(argv: string[]): Promise<void> {
  let invocation: WalInvocation;
  try {
    invocation = parseWalArguments(argv.slice(2));
  } catch (error) {
    process.stderr.write(`error: ${(error as Error).message}\n`);
    // A restore_command that cannot even be parsed must stop recovery, not read as "no such file".
    process.exitCode = argv.includes('wal-fetch') ? WAL_FETCH_FAILED_EXIT : EXIT.usage;
    return;
  }
  process.exitCode = await runWalCommand(invocation);
}
