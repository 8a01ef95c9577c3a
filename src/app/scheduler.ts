import { hostname } from 'node:os';
import { asBackupError } from '../domain/errors.js';
import { decideDue } from '../domain/missed-runs.js';
import { dueOccurrences, scheduleCron, type Schedule } from '../domain/schedule.js';
import { nextOccurrences } from '../domain/cron.js';
import type { ScheduleFacts } from '../domain/schedule-health.js';
import type { Clock } from '../ports/clock.js';
import type { Logger } from '../ports/logger.js';
import type { OccurrenceStatus, ScheduleStore } from '../ports/schedule-store.js';

/** What a job reports when it ends. A job that throws counts as `failed` with the error's message. */
export interface JobOutcome {
  status: Extract<OccurrenceStatus, 'succeeded' | 'partial' | 'failed'>;
  /** The run's id (a backup id), recorded with the occurrence. */
  runId?: string;
  error?: string;
}

/** Runs one occurrence of a schedule: a backup of its plan or a cleanup with its policy. */
export type ScheduledJob = (schedule: Schedule, occurrence: Date) => Promise<JobOutcome>;

/** How the scheduler waits; injectable so tests drive it with a fake clock and no real waiting. */
export interface SchedulerTimer {
  set(callback: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const realTimer: SchedulerTimer = {
  set: (callback, ms) => setTimeout(callback, ms),
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface SchedulerOptions {
  store: ScheduleStore;
  clock: Clock;
  job: ScheduledJob;
  timer?: SchedulerTimer;
  /** An occurrence at most this old still runs on time (default 5 minutes). */
  graceMs?: number;
  /**
   * The longest sleep between looks at the store (default 15 s): a schedule created, changed or
   * deleted through the API takes effect within this.
   */
  pollMs?: number;
  logger?: Logger;
  /** Recorded with each claim (default `host:pid`). */
  instance?: string;
}

/** A job this scheduler started that has not ended. */
export interface RunningJob {
  scheduleId: string;
  name: string;
  occurrence: string;
}

export const DEFAULT_GRACE_MS = 5 * 60_000;
const DEFAULT_POLL_MS = 15_000;
/** Missed occurrences of one gap recorded one by one; older ones in the same gap are not revisited. */
const MAX_RECORDED_PER_TICK = 100;

/**
 * The in-process scheduler of the local mode and the server. Each tick it reads every schedule from
 * the store (so changes through the API apply without a restart), finds each enabled schedule's due
 * occurrences since its last claimed one (or since its last change), decides with {@link decideDue}
 * which to run and which to record as skipped, claims each before acting on it — so an occurrence
 * runs at most once, across restarts and across processes sharing the catalog — and starts the job
 * without waiting for it. A schedule whose job is still running is left alone until it ends, so two
 * jobs of one schedule never overlap in this process; an occurrence that passes meanwhile is handled
 * by the missed-run policy when it ends.
 */
export class LocalScheduler {
  private readonly timer: SchedulerTimer;
  private readonly graceMs: number;
  private readonly pollMs: number;
  private readonly instance: string;
  private readonly jobs = new Map<string, { job: RunningJob; done: Promise<void> }>();
  private handle: unknown;
  private ticking: Promise<void> | undefined;
  /** The timer's tick and the next wake it sets; tracked so {@link idle} includes the wake. */
  private cycle: Promise<void> | undefined;
  private started = false;
  private stopped = false;
  /** Until the nearest next occurrence, at most the poll interval: set by each tick. */
  private nextWakeMs = DEFAULT_POLL_MS;

  constructor(private readonly options: SchedulerOptions) {
    this.timer = options.timer ?? realTimer;
    this.graceMs = options.graceMs ?? DEFAULT_GRACE_MS;
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
    this.instance = options.instance ?? `${hostname()}:${process.pid}`;
  }

  /** Starts ticking: the first tick runs at once. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.wake(0);
  }

  /**
   * Stops ticking and waits for the jobs it started, at most `waitMs` (default: as long as they take).
   * Returns the jobs still running when it gave up; their occurrences stay recorded as `running`.
   */
  async stop(waitMs = Number.POSITIVE_INFINITY): Promise<{ stillRunning: RunningJob[] }> {
    this.stopped = true;
    if (this.handle !== undefined) this.timer.clear(this.handle);
    this.handle = undefined;
    await this.cycle;
    await this.ticking;
    const all = Promise.all([...this.jobs.values()].map((entry) => entry.done));
    if (waitMs <= 0) return { stillRunning: this.running() };
    if (Number.isFinite(waitMs)) {
      let giveUp: unknown;
      await Promise.race([all, new Promise<void>((resolve) => (giveUp = this.timer.set(resolve, waitMs)))]);
      this.timer.clear(giveUp);
    } else {
      await all;
    }
    return { stillRunning: this.running() };
  }

  /** The jobs running now. */
  running(): RunningJob[] {
    return [...this.jobs.values()].map((entry) => entry.job);
  }

  /** Resolves once no tick and no job of this scheduler is in progress (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.cycle || this.ticking || this.jobs.size > 0) {
      const cycle = this.cycle;
      await cycle;
      if (this.cycle === cycle) this.cycle = undefined;
      await this.ticking;
      await Promise.all([...this.jobs.values()].map((entry) => entry.done));
    }
  }

  /**
   * One pass over every schedule. Exposed for tests and for a driver that ticks on its own; ticks
   * never overlap (a tick asked for during another waits for it and then runs).
   */
  async tick(): Promise<void> {
    while (this.ticking) await this.ticking;
    this.ticking = this.pass().finally(() => (this.ticking = undefined));
    await this.ticking;
  }

  private wake(ms: number): void {
    // Only a started scheduler sets timers: a driver calling tick() itself keeps control.
    if (!this.started || this.stopped) return;
    if (this.handle !== undefined) this.timer.clear(this.handle);
    this.handle = this.timer.set(() => {
      this.handle = undefined;
      this.cycle = this.tick().finally(() => this.wake(this.nextWakeMs));
    }, ms);
  }

  private async pass(): Promise<void> {
    const now = this.options.clock.now();
    let schedules: Schedule[];
    try {
      schedules = await this.options.store.listSchedules();
    } catch (error) {
      this.options.logger?.warn('scheduler could not read the schedules; trying again', { error: asBackupError(error).message });
      this.nextWakeMs = this.pollMs;
      return;
    }
    let nextMs = this.pollMs;
    for (const schedule of schedules) {
      if (!schedule.enabled) continue;
      try {
        if (!this.jobs.has(schedule.id)) await this.consider(schedule, now);
        const [next] = nextOccurrences(scheduleCron(schedule), schedule.time_zone, now, 1);
        if (next) nextMs = Math.min(nextMs, next.getTime() - now.getTime());
      } catch (error) {
        // One broken schedule (say, a hand-edited row) must not stop the others.
        this.options.logger?.warn('scheduler skipped a schedule this tick', { schedule: schedule.name, error: asBackupError(error).message });
      }
    }
    this.nextWakeMs = Math.max(0, nextMs);
  }

  /** Claims and starts (or records as skipped) the due occurrences of one schedule. */
  private async consider(schedule: Schedule, now: Date): Promise<void> {
    const { store, logger } = this.options;
    const last = await store.lastOccurrence(schedule.id);
    const since = last ? new Date(last.occurrence) : undefined;
    const { occurrences } = dueOccurrences(schedule, since, now, MAX_RECORDED_PER_TICK);
    const decision = decideDue(occurrences, now, this.graceMs, schedule.missed_run_policy);
    const claimedAt = now.toISOString();
    // Oldest first, the run last: the newest claimed occurrence is where the next tick starts from.
    for (const { occurrence, reason } of [...decision.skip].reverse()) {
      if (await store.claimOccurrence(schedule.id, occurrence, { outcome: 'skipped', status: 'skipped', reason, claimed_at: claimedAt, instance: this.instance })) {
        logger?.info('scheduled occurrence skipped', { schedule: schedule.name, occurrence: occurrence.toISOString(), reason });
      }
    }
    if (!decision.run) return;
    const { occurrence, lateMs } = decision.run;
    const won = await store.claimOccurrence(schedule.id, occurrence, { outcome: 'fired', status: 'running', claimed_at: claimedAt, late_ms: lateMs, instance: this.instance });
    if (!won) return;
    logger?.info('scheduled occurrence started', { schedule: schedule.name, kind: schedule.kind, occurrence: occurrence.toISOString(), lateMs });
    const job: RunningJob = { scheduleId: schedule.id, name: schedule.name, occurrence: occurrence.toISOString() };
    const done = this.runJob(schedule, occurrence).finally(() => {
      this.jobs.delete(schedule.id);
      // An occurrence may have come due while the job ran: look again soon.
      this.wake(0);
    });
    this.jobs.set(schedule.id, { job, done });
  }

  private async runJob(schedule: Schedule, occurrence: Date): Promise<void> {
    const { store, clock, logger } = this.options;
    let outcome: JobOutcome;
    try {
      outcome = await this.options.job(schedule, occurrence);
    } catch (error) {
      outcome = { status: 'failed', error: asBackupError(error).message };
    }
    logger?.info('scheduled occurrence ended', { schedule: schedule.name, occurrence: occurrence.toISOString(), status: outcome.status, ...(outcome.runId ? { run: outcome.runId } : {}) });
    try {
      await store.finishOccurrence(schedule.id, occurrence, {
        status: outcome.status,
        finished_at: clock.now().toISOString(),
        ...(outcome.runId ? { run_id: outcome.runId } : {}),
        ...(outcome.error ? { error: outcome.error } : {}),
      });
    } catch (error) {
      // The schedule may have been deleted meanwhile (its records with it).
      logger?.warn('could not record the end of a scheduled occurrence', { schedule: schedule.name, error: asBackupError(error).message });
    }
  }
}

/** Occurrences of one gap counted for the health check; more are reported as this many. */
const MAX_COUNTED_MISSED = 1000;

/**
 * What the overdue-schedules health check needs: for each enabled schedule, the last occurrence that
 * fired and the occurrences that came due after it without running.
 */
export async function scheduleFacts(store: ScheduleStore, now: Date): Promise<ScheduleFacts[]> {
  const facts: ScheduleFacts[] = [];
  for (const schedule of await store.listSchedules()) {
    if (!schedule.enabled) continue;
    const fired = await store.lastOccurrence(schedule.id, 'fired');
    const { occurrences } = dueOccurrences(schedule, fired ? new Date(fired.occurrence) : undefined, now, MAX_COUNTED_MISSED);
    facts.push({ id: schedule.id, name: schedule.name, lastFired: fired?.occurrence ?? null, firstMissed: occurrences.at(-1)?.toISOString() ?? null, missed: occurrences.length });
  }
  return facts;
}
