import type { Command } from 'commander';
import { addHold, listHolds, removeHold } from '../../app/legal-holds.js';
import { print, withDeps } from '../command-support.js';
import { formatTable } from '../format.js';

/** `chrono-backup hold …`: legal holds, kept in the repository; `forget` and `cleanup` honour them. */
export function registerHoldCommands(program: Command): void {
  const hold = program.command('hold').description('legal holds: snapshots that must not be deleted');
  hold
    .command('add')
    .description('put a snapshot, or every snapshot of a backup id, under legal hold')
    .argument('<id>', 'snapshot or backup id')
    .requiredOption('--reason <text>', 'why (a case number, a request): stored encrypted with the hold')
    .action(async (id: string, opts: { reason: string }, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const added = await addHold(deps, id, opts.reason);
        print(options, added, () => `${added.id} is under legal hold: ${added.reason}`);
      }),
    );
  hold
    .command('list')
    .description('the legal holds of the repository')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const holds = await listHolds(deps);
        print(options, holds, () => formatTable(['ID', 'SINCE', 'REASON'], holds.map((each) => [each.id, each.createdAt, each.reason])));
      }),
    );
  hold
    .command('remove')
    .description('release a legal hold')
    .argument('<id>', 'the held snapshot or backup id')
    .action(async (id: string, _opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        await removeHold(deps, id);
        print(options, { released: id }, () => `released the legal hold on ${id}`);
      }),
    );
}
