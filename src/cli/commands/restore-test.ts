import { alertStateStoreOf } from '../../catalog/sqlite-alert-state-store.js';
import type { Command } from 'commander';
import { restoreTest } from '../../app/restore-test.js';
import { ValidationError } from '../../domain/errors.js';
import { parsePgTarget } from '../../sources/postgres/pg-target.js';
import { parseRedisTarget } from '../../sources/redis/redis-target.js';
import { lookupPlan } from '../../runtime/plan-lookup.js';
import { print, withDeps } from '../command-support.js';
import { raiseAlerts, verificationFailedAlert } from '../../alerts/raise-alerts.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration } from '../format.js';

/** `verify ID --level restore-test`: restores database snapshots into scratch servers and compares. */
export async function verifyByRestore(command: Command, id: string | undefined, opts: { scratchPostgres?: string; scratchRedis?: string; plan?: string; plans?: string }): Promise<void> {
  if (!id) throw new ValidationError('--level restore-test needs a snapshot or backup id (or "latest")', 'id');
  // Scratch servers from the options, else from the plan's `verify` section.
  const plan = opts.plan ? await lookupPlan(opts.plan, opts.plans) : undefined;
  const postgresUrl = opts.scratchPostgres ?? plan?.verify?.postgres;
  const redisUrl = opts.scratchRedis ?? plan?.verify?.redis;
  const postgres = postgresUrl ? parsePgTarget(postgresUrl, opts.scratchPostgres ? '--scratch-postgres' : `plans.${plan!.name}.verify.postgres`) : undefined;
  const redis = redisUrl ? parseRedisTarget(redisUrl, {}, opts.scratchRedis ? '--scratch-redis' : `plans.${plan!.name}.verify.redis`) : undefined;
  return withDeps(command, false, async (deps, options) => {
    const result = await restoreTest(deps, { snapshotId: id, ...(postgres ? { postgres } : {}), ...(redis ? { redis } : {}) });
    print(options, result, () =>
      result.outcomes
        .flatMap((outcome) => [
          `restore-test ${outcome.snapshot} (${outcome.source}): restored in ${formatDuration(outcome.restoreMs)}, ${outcome.checked} objects compared, ${outcome.problems.length === 0 ? 'identical' : `${outcome.problems.length} differences`}`,
          ...outcome.problems.slice(0, 50).map((problem) => `problem: ${problem}`),
        ])
        .join('\n'),
    );
    if (!result.ok) {
      const failed = Object.fromEntries(result.outcomes.filter((outcome) => outcome.problems.length > 0).map((outcome) => [outcome.snapshot, outcome.problems.slice(0, 3).join('; ')]));
      await raiseAlerts([verificationFailedAlert(deps.storage.location, { level: 'restore-test', ...failed })], deps.logger, { state: alertStateStoreOf(deps.catalog) });
      process.exitCode = EXIT.integrity;
    }
  }, plan?.repository);
}
