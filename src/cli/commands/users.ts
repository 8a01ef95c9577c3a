import type { Command } from 'commander';
import { createInterface } from 'node:readline';

import { createUser, deleteUser, listUsers } from '../../app/manage-users.js';
import { SqliteUserStore } from '../../catalog/sqlite-user-store.js';
import { NotFoundError, ValidationError } from '../../domain/errors.js';
import { isRole, normalizeEmail, ROLES, type Role } from '../../domain/user.js';
import { systemClock } from '../../ports/clock.js';
import { print, withCatalog, type GlobalOptions } from '../command-support.js';
import { formatTable } from '../format.js';

/** `chrono-backup users …`: the local API's users (in AWS, Cognito holds them). */
export function registerUserCommands(program: Command): void {
  const users = program.command('users').description("users of the local API server and their roles (admin, operator, viewer, auditor)");
  users
    .command('add')
    .description('create a user; the password comes from a prompt, or from --password-env')
    .argument('<email>', 'the login')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--password-env <var>', 'read the password from this environment variable instead of a prompt')
    .action(async (email: string, opts: { role: string; passwordEnv?: string }, command: Command) => {
      if (!isRole(opts.role)) throw new ValidationError(`--role must be one of ${ROLES.join(', ')} (got "${opts.role}")`, 'role');
      const role: Role = opts.role;
      const password = await readPassword(opts.passwordEnv);
      const user = await withCatalog((catalog) => createUser(catalog.sibling((db) => new SqliteUserStore(db)), systemClock, { email, role, password }));
      print(command.optsWithGlobals<GlobalOptions>(), user, () => `created ${user.role} ${user.email} (${user.id})`);
    });
  users
    .command('list')
    .description('every user and role')
    .action(async (_opts, command: Command) => {
      const listed = await withCatalog((catalog) => listUsers(catalog.sibling((db) => new SqliteUserStore(db))));
      print(command.optsWithGlobals<GlobalOptions>(), listed, () => formatTable(['ID', 'EMAIL', 'ROLE', 'CREATED'], listed.map((user) => [user.id, user.email, user.role, user.created])));
    });
  users
    .command('remove')
    .description('delete a user (the last admin cannot be removed)')
    .argument('<email>', 'the login')
    .action(async (email: string, _opts, command: Command) => {
      await withCatalog(async (catalog) => {
        const store = catalog.sibling((db) => new SqliteUserStore(db));
        const user = await store.findByEmail(normalizeEmail(email));
        if (user === undefined) throw new NotFoundError('user', email);
        await deleteUser(store, user.id);
      });
      print(command.optsWithGlobals<GlobalOptions>(), { removed: email }, () => `removed ${email}`);
    });
}

/** From the named variable, else a prompt on the terminal (not echoed), else one line of stdin. */
async function readPassword(variable: string | undefined): Promise<string> {
  if (variable !== undefined) {
    const value = process.env[variable];
    if (value === undefined || value === '') throw new ValidationError(`environment variable ${variable} (--password-env) is not set`, 'password-env');
    return value;
  }
  if (process.stdin.isTTY === true) return promptHidden('password: ');
  const lines = createInterface({ input: process.stdin, terminal: false });
  try {
    for await (const line of lines) return line;
  } finally {
    lines.close();
  }
  throw new ValidationError('no password given: type it at the prompt, pipe it on stdin, or use --password-env', 'password');
}

/** Reads a line from the terminal in raw mode, echoing nothing. Ctrl-C cancels. */
async function promptHidden(prompt: string): Promise<string> {
  process.stderr.write(prompt);
  process.stdin.setRawMode(true);
  let value = '';
  try {
    for await (const chunk of process.stdin) {
      for (const char of (chunk as Buffer).toString('utf8')) {
        if (char === '\r' || char === '\n') return value;
        if (char === '\u0003') throw new ValidationError('cancelled', 'password');
        value = char === '\u007f' ? value.slice(0, -1) : value + char;
      }
    }
    return value;
  } finally {
    process.stdin.setRawMode(false);
    process.stdin.pause();
    process.stderr.write('\n');
  }
}
