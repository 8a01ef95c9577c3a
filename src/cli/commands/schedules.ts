import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { raiseAlerts } from '../../alerts/raise-alerts.js';
import { scheduledJob } from '../../app/scheduled-job.js';
import { LocalScheduler, type JobOutcome } from '../../app/scheduler.js';
import { SqliteCatalog } from '../../catalog/sqlite-catalog.js';
import { SqliteScheduleStore } from '../../catalog/sqlite-schedule-store.js';
import { alertStateStoreOf } from '../../catalog/sqlite-alert-state-store.js';
import { parseCron, parseTimeZone, toAwsCron, nextOccurrences, type CronExpression } from '../../domain/cron.js';
import { parseDuration } from '../../domain/duration.js';
import { asBackupError, NotFoundError, ValidationError } from '../../domain/errors.js';
import { newSchedule, parseScheduleInput, upcomingOccurrences, type Schedule } from '../../domain/schedule.js';
import { systemClock } from '../../ports/clock.js';
import type { OccurrenceRecord, ScheduleStore } from '../../ports/schedule-store.js';
import { localSettings } from '../../runtime/local-settings.js';
import { lookupPlan } from '../../runtime/plan-lookup.js';
import { lookupPolicy, type PolicySources } from '../../runtime/policy-lookup.js';
import { retentionPolicyStoreOf } from '../../catalog/sqlite-retention-policy-store.js';
import { jsonLogger } from '../../util/json-logger.js';
import { print, withCatalog, withDeps, type GlobalOptions } from '../command-support.js';
import { EXIT } from '../exit-codes.js';
import { formatTable } from '../format.js';

/**
 * `chrono-backup schedules …` (the schedules kept in the catalog) and `chrono-backup scheduler run`
 * (the local scheduler in the foreground, until SIGINT or SIGTERM).
 */
export function registerScheduleCommands(program: Command): void {
  const schedules = program.command('schedules').description('backup and retention schedules kept in the catalog');
  schedules
    .command('add')
    .description('add a schedule: a backup of a plan (--plan), or a retention run (--retention-policy)')
    .argument('<name>', 'schedule name')
    .requiredOption('--cron <expression>', "5-field '0 2 * * *' or AWS 'cron(0 2 * * ? *)'")
    .option('--plan <name>', 'the plan to back up (for a retention schedule: whose repository to clean)')
    .option('--type <type>', 'full | incremental | differential | database_only | redis_only | files_only | config_only', 'full')
    .option('--retention-policy <name>', 'make it a retention schedule applying this named policy (from the catalog, else the policy file)')
    .option('--time-zone <zone>', 'IANA time zone of the cron fields', 'UTC')
    .option('--missed <policy>', 'missed occurrences: skip | catch-up-once', 'skip')
    .option('--disabled', 'store it disabled')
    .option('--plans <file>', 'plan file to check --plan against (default: the catalog, then $CHRONO_BACKUP_PLANS or ~/.chrono-backup/plans.yaml)')
    .option('--policy-file <file>', 'policy file to check --retention-policy against (default: $CHRONO_BACKUP_POLICIES or ~/.chrono-backup/policies.yaml)')
    .action(async (name: string, opts: AddOptions, command: Command) => {
      const retention = opts.retentionPolicy !== undefined;
      const input = parseScheduleInput({
        name,
        kind: retention ? 'retention' : 'backup',
        ...(opts.plan !== undefined ? { plan: opts.plan } : {}),
        ...(retention ? { retention_policy: opts.retentionPolicy } : { backup_type: opts.type }),
        cron_expression: opts.cron,
        time_zone: opts.timeZone,
        enabled: opts.disabled !== true,
        missed_run_policy: missedPolicy(opts.missed),
      });
      // What the schedule names must exist now: a typo found at 02:00 is a missed backup.
      if (input.plan !== undefined) await lookupPlan(input.plan, opts.plans);
      if (input.retention_policy !== undefined) await withCatalogPolicies((sources) => lookupPolicy(input.retention_policy as string, { ...sources, ...(opts.policyFile ? { file: opts.policyFile } : {}) }));
      const schedule = newSchedule(input, systemClock.now());
      await withScheduleStore((store) => store.createSchedule(schedule));
      const [next] = upcomingOccurrences(schedule, systemClock.now(), 1);
      print(options(command), { ...schedule, next_occurrence: next?.toISOString() ?? null }, () => `added schedule ${schedule.name} (${schedule.id}); next run ${next?.toISOString() ?? 'never'}`);
    });
  schedules
    .command('list')
    .description('every schedule, with its next occurrence and the last one claimed')
    .action(async (_opts, command: Command) => {
      const now = systemClock.now();
      const listing = await withScheduleStore(async (store) =>
        Promise.all((await store.listSchedules()).map(async (schedule) => ({ ...schedule, next_occurrence: upcomingOccurrences(schedule, now, 1)[0]?.toISOString() ?? null, last_occurrence: (await store.lastOccurrence(schedule.id)) ?? null }))),
      );
      print(options(command), listing, () =>
        formatTable(
          ['ID', 'NAME', 'RUNS', 'CRON', 'TIME ZONE', 'MISSED', 'ENABLED', 'NEXT', 'LAST'],
          listing.map((each) => [each.id, each.name, target(each), each.cron_expression, each.time_zone, each.missed_run_policy, each.enabled ? 'yes' : 'no', each.next_occurrence ?? 'never', lastText(each.last_occurrence)]),
        ),
      );
    });
  schedules
    .command('remove')
    .description('delete a schedule and its occurrence history')
    .argument('<id>', 'schedule id or name')
    .action(async (idOrName: string, _opts, command: Command) => {
      const removed = await withScheduleStore(async (store) => {
        const schedule = await store.getSchedule(idOrName);
        if (!schedule || !(await store.deleteSchedule(schedule.id))) throw new NotFoundError('schedule', idOrName);
        return schedule;
      });
      print(options(command), { removed: removed.id, name: removed.name }, () => `removed schedule ${removed.name} (${removed.id})`);
    });
  schedules
    .command('history')
    .description("a schedule's claimed occurrences, newest first: fired (with the job's outcome) or skipped")
    .argument('<id>', 'schedule id or name')
    .option('--limit <n>', 'at most this many', '20')
    .action(async (idOrName: string, opts: { limit: string }, command: Command) => {
      const limit = count(opts.limit, 'limit');
      const records = await withScheduleStore(async (store) => {
        const schedule = await store.getSchedule(idOrName);
        if (!schedule) throw new NotFoundError('schedule', idOrName);
        return store.listOccurrences(schedule.id, limit);
      });
      print(options(command), records, () =>
        formatTable(['OCCURRENCE', 'OUTCOME', 'STATUS', 'RUN', 'DETAIL'], records.map((record) => [record.occurrence, record.outcome, record.status, record.run_id ?? '', record.reason ?? record.error ?? ''])),
      );
    });
  schedules
    .command('next')
    .description('the next occurrences of a schedule (id or name) or of a cron expression, and its AWS form')
    .argument('<expression-or-id>', "a schedule id or name, or an expression like '0 2 * * *'")
    .option('--count <n>', 'how many', '5')
    .option('--time-zone <zone>', 'for an expression: the IANA time zone of its fields (default UTC)')
    .option('--after <time>', 'start after this ISO 8601 instant (default now)')
    .action(async (target: string, opts: { count: string; timeZone?: string; after?: string }, command: Command) => {
      const howMany = count(opts.count, 'count');
      const after = opts.after === undefined ? systemClock.now() : instant(opts.after, 'after');
      const schedule = await findSchedule(target);
      if (schedule && opts.timeZone !== undefined) throw new ValidationError('--time-zone applies to an expression; a schedule has its own time zone', 'time-zone');
      const cron = parseCron(schedule?.cron_expression ?? target, 'expression');
      const zone = schedule?.time_zone ?? parseTimeZone(opts.timeZone ?? 'UTC', 'time-zone');
      const occurrences = nextOccurrences(cron, zone, after, howMany);
      const aws = awsForm(cron);
      print(
        options(command),
        { ...(schedule ? { schedule: schedule.id, name: schedule.name } : {}), expression: cron.expression, form: cron.form, time_zone: zone, aws_expression: aws.expression ?? null, ...(aws.problem ? { aws_problem: aws.problem } : {}), occurrences: occurrences.map((time) => time.toISOString()) },
        () =>
          [
            `${cron.expression} (${cron.form}, ${zone}); AWS form: ${aws.expression ?? `none (${aws.problem})`}`,
            ...occurrences.map((time) => `${time.toISOString()}  ${wallClock(time, zone)} ${zone}`),
          ].join('\n'),
      );
    });

  program
    .command('scheduler')
    .description('the local scheduler')
    .command('run')
    .description('run the schedules of the catalog in the foreground until SIGINT or SIGTERM (then waits for running jobs; a second signal exits at once)')
    .option('--grace <duration>', 'an occurrence at most this late still runs on time; older ones follow the missed-run policy', '5m')
    .option('--plans <file>', 'plan file (default: plans in the catalog, then $CHRONO_BACKUP_PLANS or ~/.chrono-backup/plans.yaml)')
    .option('--policy-file <file>', 'retention policies (default: $CHRONO_BACKUP_POLICIES or ~/.chrono-backup/policies.yaml)')
    .action(async (opts: { grace: string; plans?: string; policyFile?: string }, command: Command) => runScheduler(command, opts));
}

interface AddOptions {
  cron: string;
  plan?: string;
  type: string;
  retentionPolicy?: string;
  timeZone: string;
  missed: string;
  disabled?: boolean;
  plans?: string;
  policyFile?: string;
}

async function runScheduler(command: Command, opts: { grace: string; plans?: string; policyFile?: string }): Promise<void> {
  const graceMs = parseDuration(opts.grace, 'grace');
  // Jobs of different schedules run side by side: progress drawn for each would interleave on the terminal.
  let root = command;
  while (root.parent) root = root.parent;
  root.setOptionValue('progress', false);
  const global = options(command);
  const settings = localSettings(process.env);
  const logger = jsonLogger(settings.logLevel);
  const catalog = SqliteCatalog.open(settings.catalogPath);
  try {
    const store = catalog.sibling((db) => new SqliteScheduleStore(db));
    const job = scheduledJob({
      withDeps: (repository, work) => withDeps(command, true, (deps) => work(deps), repository),
      findPlan: (name) => lookupPlan(name, opts.plans),
      findPolicy: (name) => lookupPolicy(name, { store: retentionPolicyStoreOf(catalog), home: settings.home, ...(opts.policyFile ? { file: opts.policyFile } : {}) }),
      alert: (alerts, deps) => raiseAlerts(alerts, deps.logger, { state: alertStateStoreOf(deps.catalog) }),
    });
    const scheduler = new LocalScheduler({
      store,
      clock: systemClock,
      graceMs,
      logger,
      job: async (schedule, occurrence) => {
        const outcome: JobOutcome = await job(schedule, occurrence).catch((error: unknown) => ({ status: 'failed' as const, error: asBackupError(error).message }));
        report(global, schedule, occurrence, outcome);
        return outcome;
      },
    });
    const enabled = (await store.listSchedules()).filter((schedule) => schedule.enabled).length;
    process.stderr.write(`scheduler running with ${enabled} enabled schedule${enabled === 1 ? '' : 's'} (changes apply within 15 s); stop with Ctrl-C\n`);
    scheduler.start();
    await firstSignal();
    const running = scheduler.running();
    if (running.length > 0) process.stderr.write(`stopping: waiting for ${running.map((job) => job.name).join(', ')} (a second signal exits at once)\n`);
    const forced = firstSignal().then(() => {
      process.stderr.write(`exiting with jobs still running: ${scheduler.running().map((job) => `${job.name} at ${job.occurrence}`).join(', ')}\n`);
      process.exit(EXIT.failure);
    });
    await scheduler.stop();
    void forced;
    process.stderr.write('scheduler stopped\n');
  } finally {
    await catalog.close();
  }
}

/** One line per ended occurrence: JSON lines with --json. */
function report(global: GlobalOptions, schedule: Schedule, occurrence: Date, outcome: JobOutcome): void {
  const line = { schedule: schedule.id, name: schedule.name, occurrence: occurrence.toISOString(), status: outcome.status, ...(outcome.runId ? { run_id: outcome.runId } : {}), ...(outcome.error ? { error: outcome.error } : {}) };
  process.stdout.write(global.json ? `${JSON.stringify(line)}\n` : `${line.occurrence} ${schedule.name}: ${outcome.status}${outcome.runId ? ` (${outcome.runId})` : ''}${outcome.error ? `: ${outcome.error}` : ''}\n`);
}

/** Resolves at the next SIGINT or SIGTERM. */
function firstSignal(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off('SIGINT', done);
      process.off('SIGTERM', done);
      resolve();
    };
    process.on('SIGINT', done);
    process.on('SIGTERM', done);
  });
}

/** The schedule store of the local catalog, closed afterwards. */
function withScheduleStore<T>(work: (store: ScheduleStore) => Promise<T>): Promise<T> {
  return withCatalog((catalog) => work(catalog.sibling((db) => new SqliteScheduleStore(db))));
}

/** The schedule with this id or name, when a catalog exists and holds one. */
async function findSchedule(idOrName: string): Promise<Schedule | undefined> {
  if (!existsSync(localSettings(process.env).catalogPath)) return undefined;
  return withScheduleStore((store) => store.getSchedule(idOrName));
}

function options(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

function missedPolicy(value: string): string {
  const policies: Record<string, string> = { skip: 'skip', 'catch-up-once': 'catch_up_once', catch_up_once: 'catch_up_once' };
  const policy = policies[value];
  if (!policy) throw new ValidationError(`--missed must be skip or catch-up-once (got "${value}")`, 'missed');
  return policy;
}

function awsForm(cron: CronExpression): { expression?: string; problem?: string } {
  try {
    return { expression: toAwsCron(cron, 'expression') };
  } catch (error) {
    return { problem: asBackupError(error).message };
  }
}

function target(schedule: Schedule): string {
  return schedule.kind === 'retention' ? `retention ${schedule.retention_policy}${schedule.plan ? ` (${schedule.plan})` : ''}` : `${schedule.backup_type ?? 'full'} ${schedule.plan}`;
}

function lastText(record: OccurrenceRecord | null): string {
  return record ? `${record.occurrence} ${record.status}` : '';
}

/** `2026-03-08 03:30` in the zone: the wall-clock time the cron fields describe. */
function wallClock(time: Date, zone: string): string {
  return time.toLocaleString('sv-SE', { timeZone: zone, hour12: false }).slice(0, 16);
}

function count(value: string, field: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1) throw new ValidationError(`--${field} must be a positive whole number (got "${value}")`, field);
  return Number(value);
}

function instant(value: string, field: string): Date {
  const ms = Date.parse(value);
  if (!Number.isFinite(ms)) throw new ValidationError(`--${field} must be an ISO 8601 date-time (got "${value}")`, field);
  return new Date(ms);
}

/** Runs `work` with the catalog's retention policies (and the default policy file) as lookup sources. */
function withCatalogPolicies<T>(work: (sources: PolicySources) => Promise<T>): Promise<T> {
  return withCatalog((catalog, settings) => work({ store: retentionPolicyStoreOf(catalog), home: settings.home }));
}
