import type { RunRecord } from '../ports/catalog.js';
import type { LatestRunsQuery, RunTally } from '../ports/run-statistics.js';

/**
 * The counting and picking behind the RunStatistics port, as pure functions over the few facts of
 * each run that they need, so every adapter answers the same way whatever it reads the runs from.
 */
export interface RunFacts extends Pick<RunTally, 'plan' | 'type' | 'level' | 'ok'> {
  id: string;
  kind: RunRecord['kind'];
  status: RunRecord['status'];
  startedMs: number;
  /** Kind, status and labels as one string: the tally key, made once per run rather than per scrape. */
  tallyKey: string;
}

/** The facts of a run; labels come from its summary and only when of the right JSON type. */
export function runFacts(run: RunRecord): RunFacts {
  const summary = run.summary ?? {};
  const text = (name: 'plan' | 'type' | 'level') => (typeof summary[name] === 'string' ? (summary[name] as string) : undefined);
  const labels: Pick<RunTally, 'plan' | 'type' | 'level' | 'ok'> = { plan: text('plan'), type: text('type'), level: text('level'), ok: typeof summary.ok === 'boolean' ? summary.ok : undefined };
  const tallyKey = JSON.stringify([run.kind, run.status, labels.plan, labels.type, labels.level, labels.ok]);
  return { id: run.id, kind: run.kind, status: run.status, startedMs: Date.parse(run.startedAt), tallyKey, ...pickLabels(labels) };
}

/** Finished runs of `kinds`, counted by status and labels. */
export function tallyRuns(runs: Iterable<RunFacts>, kinds: readonly RunRecord['kind'][]): RunTally[] {
  const tallies = new Map<string, RunTally>();
  for (const run of runs) {
    if (run.status === 'running' || !kinds.includes(run.kind)) continue;
    let tally = tallies.get(run.tallyKey);
    if (!tally) {
      tally = { kind: run.kind, status: run.status, ...pickLabels(run), count: 0 };
      tallies.set(run.tallyKey, tally);
    }
    tally.count++;
  }
  return [...tallies.values()];
}

/** The ids of the newest matching run of each group (newest start, then greatest id). */
export function newestRunIds(runs: Iterable<RunFacts>, query: LatestRunsQuery): string[] {
  const newest = new Map<string | undefined, RunFacts>();
  for (const run of runs) {
    if (run.kind !== query.kind || !query.statuses.includes(run.status)) continue;
    if (query.passed !== undefined && (run.ok !== false) !== query.passed) continue;
    const group = run[query.groupBy];
    const current = newest.get(group);
    if (!current || run.startedMs > current.startedMs || (run.startedMs === current.startedMs && run.id > current.id)) newest.set(group, run);
  }
  return [...newest.values()].map((run) => run.id);
}

/** The labels that are set (absent ones stay absent, as the port's answers have them). */
function pickLabels(run: Pick<RunTally, 'plan' | 'type' | 'level' | 'ok'>): Pick<RunTally, 'plan' | 'type' | 'level' | 'ok'> {
  return { ...(run.plan !== undefined ? { plan: run.plan } : {}), ...(run.type !== undefined ? { type: run.type } : {}), ...(run.level !== undefined ? { level: run.level } : {}), ...(run.ok !== undefined ? { ok: run.ok } : {}) };
}
