import type { Command } from 'commander';
import { cleanup, type CleanupResult } from '../../app/cleanup.js';
import { parseDuration } from '../../domain/duration.js';
import { ValidationError } from '../../domain/errors.js';
import { validateRetentionPolicy, type RetentionPolicy, type RetentionRule } from '../../domain/retention.js';
import { lookupPolicy } from '../../runtime/policy-lookup.js';
import { retentionPolicyStoreOf } from '../../catalog/sqlite-retention-policy-store.js';
import type { Catalog } from '../../ports/catalog.js';
import { localSettings } from '../../runtime/local-settings.js';
import { collect, print, withDeps } from '../command-support.js';
import { formatBytes, formatTable } from '../format.js';

/** The flags that spell a policy inline, and the policy field each sets. */
const RULE_FLAGS: readonly [flag: string, option: string, rule: RetentionRule][] = [
  ['retention-days', 'retentionDays', 'retention_days'],
  ['keep-daily', 'keepDaily', 'keep_daily_for_days'],
  ['keep-weekly', 'keepWeekly', 'keep_weekly_for_weeks'],
  ['keep-monthly', 'keepMonthly', 'keep_monthly_for_months'],
  ['keep-yearly', 'keepYearly', 'keep_yearly_for_years'],
  ['min-keep', 'minKeep', 'min_backups_to_keep'],
  ['keep-last', 'keepLast', 'keep_last'],
];

/**
 * `chrono-backup cleanup`: applies a retention policy, from a policy file (`--policy NAME`) or from
 * flags. A dry run unless `--confirm`: it lists what would go and why, and writes nothing.
 */
export function registerCleanupCommand(program: Command): void {
  const command = program
    .command('cleanup')
    .description('apply a retention policy: list what would be removed and why; forget and prune with --confirm')
    .option('--policy <name>', 'the named policy: from the catalog (the API stores them there), else from the policy file')
    .option('--policy-file <file>', 'YAML or JSON `policies: {NAME: {retention_days: …}}` (default: $CHRONO_BACKUP_POLICIES or ~/.chrono-backup/policies.yaml)');
  for (const [flag, , rule] of RULE_FLAGS) command.option(`--${flag} <n>`, `policy ${rule}, instead of --policy`);
  command
    .option('--hold <id>', 'a snapshot or backup id under legal hold for this run (repeatable)', collect, [])
    .option('--grace <duration>', 'with --confirm: prune keeps unreferenced packs younger than this', '1h')
    .option('--confirm', 'forget and prune for real')
    .action(async (opts: Record<string, unknown>, cmd: Command) => {
      const graceMs = parseDuration(opts.grace as string, 'grace');
      await withDeps(cmd, false, async (deps, options) => {
        const policy = await policyFromOptions(opts, deps.catalog);
        const result = await cleanup(deps, { policy, confirm: opts.confirm === true, holds: opts.hold as string[], pruneGraceMs: graceMs });
        print(options, result, () => describe(result));
      });
    });
}

async function policyFromOptions(opts: Record<string, unknown>, catalog: Catalog): Promise<RetentionPolicy> {
  const inline = RULE_FLAGS.filter(([, option]) => opts[option] !== undefined);
  if (opts.policy !== undefined) {
    if (inline.length > 0) throw new ValidationError(`give either --policy or policy flags, not both (--${inline[0]![0]})`, 'policy');
    return lookupPolicy(opts.policy as string, {
      store: retentionPolicyStoreOf(catalog),
      home: localSettings(process.env).home,
      ...(opts.policyFile !== undefined ? { file: opts.policyFile as string } : {}),
    });
  }
  if (opts.policyFile !== undefined) throw new ValidationError('--policy-file needs --policy NAME', 'policy');
  if (inline.length === 0) throw new ValidationError('give --policy NAME or at least one of the policy flags (--keep-last, --keep-daily, …)', 'policy');
  const raw: Record<string, number> = {};
  for (const [flag, option, rule] of inline) {
    const value = String(opts[option]);
    if (!/^\d+$/.test(value)) throw new ValidationError(`${flag} must be a non-negative integer (got "${value}")`, flag);
    raw[rule] = Number(value);
  }
  return validateRetentionPolicy(raw, 'options');
}

function describe(result: CleanupResult): string {
  const lines = [
    formatTable(
      ['SNAPSHOT', 'TIME', 'DECISION', 'WHY'],
      [
        ...result.remove.map((s) => [s.id, s.time, result.dryRun ? 'would remove' : 'removed', s.reason]),
        ...result.keep.map((s) => [s.id, s.time, 'keep', s.reasons.join(', ')]),
      ],
    ),
    `${result.dryRun ? 'dry run: would remove' : 'removed'} ${result.remove.length} snapshots, keeping ${result.keep.length}${result.dryRun ? ' (nothing changed; add --confirm to apply)' : ''}`,
  ];
  if (result.pruned) lines.push(`pruned ${result.pruned.packsDeleted} packs, repacked ${result.pruned.packsRepacked}, freeing ${formatBytes(result.pruned.bytesFreed)}; ${result.pruned.packsKeptForGrace} kept within the grace period`);
  return lines.join('\n');
}
