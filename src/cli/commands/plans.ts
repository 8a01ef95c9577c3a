import type { Command } from 'commander';
import { loadPlanFile } from '../../runtime/plan-file.js';
import { print, withDeps } from '../command-support.js';
import { formatTable } from '../format.js';
import type { Plan } from '../../domain/plan.js';
import { NotFoundError } from '../../domain/errors.js';

/** `chrono-backup plan …`: the plans kept in the catalog, imported from a plan file. */
export function registerPlanCommands(program: Command): void {
  const plan = program.command('plan').description('backup plans kept in the catalog');
  plan
    .command('import')
    .description('validate a plan file (YAML or JSON) and store its plans in the catalog, replacing plans of the same name')
    .argument('<file>', 'plan file')
    .action(async (file: string, _opts, command: Command) => {
      // Validated in full before anything is stored: one bad plan stores none.
      const plans = await loadPlanFile(file);
      return withDeps(command, false, async (deps, options) => {
        for (const each of plans) await deps.catalog.putPlan(each);
        print(options, { imported: plans.map((each) => each.name) }, () => plans.map((each) => `imported plan ${each.name}`).join('\n'));
      });
    });
  plan
    .command('list')
    .description('plans in the catalog')
    .action(async (_opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const plans = await deps.catalog.listPlans();
        print(options, plans, () => formatTable(['NAME', 'SOURCES', 'REPOSITORY'], plans.map((each) => [each.name, planSources(each), each.repository ?? '(default)'])));
      }),
    );
  plan
    .command('show')
    .description('one plan from the catalog')
    .argument('<name>', 'plan name')
    .action(async (name: string, _opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        const found = await deps.catalog.getPlan(name);
        if (!found) throw new NotFoundError('plan', name);
        print(options, found, () => JSON.stringify(found, null, 2));
      }),
    );
  plan
    .command('remove')
    .description('delete a plan from the catalog (its snapshots stay)')
    .argument('<name>', 'plan name')
    .action(async (name: string, _opts, command: Command) =>
      withDeps(command, false, async (deps, options) => {
        await deps.catalog.deletePlan(name);
        print(options, { removed: name }, () => `removed plan ${name}`);
      }),
    );
}

function planSources(plan: Plan): string {
  return (['config', 'postgres', 'redis', 'files'] as const).filter((kind) => plan[kind] !== undefined).join(',');
}
