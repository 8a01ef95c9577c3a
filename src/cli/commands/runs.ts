import { Option, type Command } from 'commander';
import type { RunKind } from '../../ports/catalog.js';
import { print, withDeps } from '../command-support.js';
import { formatTable } from '../format.js';

const RUN_KINDS: readonly RunKind[] = ['backup', 'restore', 'verify', 'prune', 'forget', 'keys', 'repair', 'replicate', 'hold'];

/** `chrono-backup runs`: the run history the catalog keeps (backups, restores, verifications, …). */
export function registerRunsCommand(program: Command): void {
  program
    .command('runs')
    .description('recent runs from the catalog, newest first')
    .addOption(new Option('--kind <kind>', 'only runs of this kind').choices(RUN_KINDS as string[]))
    .option('--limit <n>', 'at most this many', (value) => Number(value), 50)
    .action(async (opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const runs = await deps.catalog.listRuns({ ...(opts.kind ? { kind: opts.kind as RunKind } : {}), limit: opts.limit });
        print(options, runs, () =>
          formatTable(
            ['ID', 'KIND', 'STATUS', 'STARTED', 'FINISHED', 'SNAPSHOT', 'ERROR'],
            runs.map((run) => [run.id, run.kind, run.status, run.startedAt, run.finishedAt ?? '', run.snapshotId ?? '', run.error?.message ?? '']),
          ),
        );
      }),
    );
}
