import { Registry } from 'prom-client';
import type { RepositoryStats } from '../app/repository-stats.js';
import { recoveryWindowStoreOf } from '../catalog/sqlite-recovery-window-store.js';
import type { Catalog, RunRecord } from '../ports/catalog.js';
import type { RecoveryWindowRecord } from '../ports/recovery-window-store.js';
import type { RunStatistics, RunTally, SnapshotTotals } from '../ports/run-statistics.js';
import { runFacts } from '../domain/run-statistics.js';
import { runStatisticsFor } from './catalog-run-statistics.js';
import { registerComputedMetrics, type MetricDefinition, type Sample } from './computed-metric.js';
import { PITR_METRICS, type PitrScrape } from './pitr-metrics.js';
import { backupBytes, dedupRatio, durationSeconds, finishedSeconds, NO_PLAN, planOf, typeOf, UNKNOWN, verificationOutcome, type BackupBytes } from './run-figures.js';
import { STORAGE_METRICS, type MeteredStorage, type StorageScrape } from './storage-metrics.js';

/** The Content-Type of `registry.metrics()` output: Prometheus text format 0.0.4. */
export const METRICS_CONTENT_TYPE = Registry.PROMETHEUS_CONTENT_TYPE;

/** Repository statistics and when they were measured (a measurement lists the whole storage). */
export interface MeasuredRepositoryStats {
  stats: RepositoryStats;
  measuredAt: Date;
}

export interface BackupMetricsOptions {
  catalog: Catalog;
  /** Metered storage decorators (one per backend) whose request counters to expose. */
  storage?: MeteredStorage | readonly MeteredStorage[];
  /**
   * The latest repository statistics the caller has, for the exact storage used. Must be cheap: return
   * a cached measurement (see `cachedRepositoryStats`), never list the storage on every scrape.
   */
  repositoryStats?: () => Promise<MeasuredRepositoryStats | undefined>;
  /** Statistics queries to use instead of the catalog's own. */
  statistics?: RunStatistics;
  /**
   * The recorded PostgreSQL recoverability windows (cheap: records, never the repository; see
   * `refreshingRecoveryWindows` to keep them fresh). Default: the records beside a SQLite catalog as
   * they are; none for other catalogs.
   */
  recoveryWindows?: () => Promise<readonly RecoveryWindowRecord[]>;
}

/** Everything one scrape reads, loaded once and shared by every metric. */
interface MetricsScrape extends StorageScrape, PitrScrape {
  tallies: RunTally[];
  /** The newest finished backup of each plan, whatever its status. */
  lastRuns: RunRecord[];
  /** The newest successful backup of each plan. */
  lastSuccesses: RunRecord[];
  /** The newest finished verification of each level. */
  lastVerifications: RunRecord[];
  /** The newest verification of each level that found no damage. */
  lastPassed: RunRecord[];
  snapshots: SnapshotTotals[];
  repository: MeasuredRepositoryStats | undefined;
  loadSeconds: number;
}

/**
 * A private prom-client Registry (not the global default) with every `chrono_backup_*` metric,
 * computed at scrape time from the catalog. Create it once and keep it: on SQLite its reader reads the
 * whole history at the first scrape only, then just the rows added or still running (a few ms for
 * 10,000 runs). `await registry.metrics()` gives the exposition text; send it with
 * {@link METRICS_CONTENT_TYPE}. A scrape whose catalog query fails rejects (the endpoint answers 500,
 * and Prometheus records the target as down) rather than exposing partial numbers.
 */
export function createBackupMetricsRegistry(options: BackupMetricsOptions): Registry {
  const statistics = options.statistics ?? runStatisticsFor(options.catalog);
  const meters = options.storage === undefined ? [] : Array.isArray(options.storage) ? (options.storage as readonly MeteredStorage[]) : [options.storage as MeteredStorage];
  const windowStore = options.recoveryWindows ? undefined : recoveryWindowStoreOf(options.catalog);
  const recoveryWindows = options.recoveryWindows ?? (windowStore ? () => windowStore.listWindows() : () => Promise.resolve([]));
  const registry = new Registry();
  const load = async (): Promise<MetricsScrape> => {
    const started = performance.now();
    const finished = ['succeeded', 'failed', 'interrupted'] as const;
    const scrape = {
      tallies: await statistics.tallyRuns(['backup', 'verify']),
      lastRuns: await statistics.latestRuns({ kind: 'backup', groupBy: 'plan', statuses: finished }),
      lastSuccesses: await statistics.latestRuns({ kind: 'backup', groupBy: 'plan', statuses: ['succeeded'] }),
      lastVerifications: await statistics.latestRuns({ kind: 'verify', groupBy: 'level', statuses: finished }),
      lastPassed: await statistics.latestRuns({ kind: 'verify', groupBy: 'level', statuses: ['succeeded'], passed: true }),
      snapshots: await statistics.snapshotTotals(),
      repository: options.repositoryStats ? await options.repositoryStats() : undefined,
      storage: meters.map((meter) => meter.metrics()),
      recoveryWindows: await recoveryWindows(),
    };
    return { ...scrape, loadSeconds: (performance.now() - started) / 1000 };
  };
  registerComputedMetrics<MetricsScrape>(registry, load, [...RUN_METRICS, ...VERIFICATION_METRICS, ...STORAGE_USE_METRICS, ...STORAGE_METRICS, ...PITR_METRICS, SCRAPE_METRIC]);
  return registry;
}

const RUN_METRICS: readonly MetricDefinition<MetricsScrape>[] = [
  {
    name: 'chrono_backup_runs_total',
    help: `Finished backup runs in the catalog, by plan ("${NO_PLAN}" for ad-hoc runs), run type and status (succeeded, failed, interrupted).`,
    type: 'counter',
    samples: ({ tallies }) =>
      merge(tallies.filter((tally) => tally.kind === 'backup').map((tally) => ({ labels: { plan: tally.plan ?? NO_PLAN, type: tally.type ?? UNKNOWN, status: tally.status }, value: tally.count }))),
  },
  perPlan('chrono_backup_last_run_timestamp_seconds', 'When the newest finished backup run of the plan ended (any status), seconds since the epoch.', 'lastRuns', finishedSeconds),
  perPlan('chrono_backup_last_run_duration_seconds', 'How long the newest finished backup run of the plan took (any status).', 'lastRuns', durationSeconds),
  perPlan('chrono_backup_last_run_succeeded', 'Whether the newest finished backup run of the plan succeeded (1) or not (0).', 'lastRuns', (run) => (run.status === 'succeeded' ? 1 : 0)),
  perPlan('chrono_backup_last_success_timestamp_seconds', 'When the newest successful backup of the plan ended, seconds since the epoch.', 'lastSuccesses', finishedSeconds),
  perPlan('chrono_backup_last_backup_duration_seconds', 'How long the newest successful backup of the plan took.', 'lastSuccesses', durationSeconds),
  lastBackupBytes('chrono_backup_last_backup_source_bytes', 'Source bytes described by the newest successful backup of the plan (all its snapshots).', 'totalBytes'),
  lastBackupBytes('chrono_backup_last_backup_read_bytes', 'Source bytes the newest successful backup of the plan read (incremental runs skip unchanged files).', 'bytesRead'),
  lastBackupBytes('chrono_backup_last_backup_added_bytes', 'Plaintext bytes new to the repository in the newest successful backup of the plan.', 'bytesAdded'),
  lastBackupBytes('chrono_backup_last_backup_stored_bytes', 'Bytes written to storage (compressed and encrypted) by the newest successful backup of the plan.', 'bytesStored'),
  perPlan(
    'chrono_backup_last_backup_dedup_ratio',
    'Share (0-1) of the source bytes of the newest successful backup of the plan that were already stored: 1 - added / source bytes.',
    'lastSuccesses',
    (run) => {
      const bytes = backupBytes(run);
      return bytes ? dedupRatio(bytes) : undefined;
    },
  ),
];

const VERIFICATION_METRICS: readonly MetricDefinition<MetricsScrape>[] = [
  {
    name: 'chrono_backup_verification_runs_total',
    help: 'Finished verifications (verify and restore-test) in the catalog, by level and outcome: passed, damaged (found problems) or error (did not finish).',
    type: 'counter',
    samples: ({ tallies }) =>
      merge(tallies.filter((tally) => tally.kind === 'verify').map((tally) => ({ labels: { level: tally.level ?? UNKNOWN, outcome: verificationOutcome(tally.status, tally.ok) }, value: tally.count }))),
  },
  perLevel('chrono_backup_last_verification_timestamp_seconds', 'When the newest finished verification of the level ended, seconds since the epoch.', 'lastVerifications', finishedSeconds),
  perLevel(
    'chrono_backup_last_verification_passed',
    'Whether the newest finished verification of the level passed (1) or found damage or did not finish (0).',
    'lastVerifications',
    (run) => (verificationOutcome(run.status, runFacts(run).ok) === 'passed' ? 1 : 0),
  ),
  perLevel('chrono_backup_last_verification_success_timestamp_seconds', 'When the newest verification of the level that passed ended, seconds since the epoch.', 'lastPassed', finishedSeconds),
];

const STORAGE_USE_METRICS: readonly MetricDefinition<MetricsScrape>[] = [
  perRepository('chrono_backup_snapshots', 'Snapshots the catalog lists, by repository id.', (totals) => totals.snapshots),
  perRepository('chrono_backup_snapshots_source_bytes', 'Source bytes described by the snapshots the catalog lists (logical size, before deduplication).', (totals) => totals.totalBytes),
  perRepository(
    'chrono_backup_snapshots_stored_bytes',
    'Bytes the snapshots the catalog lists added to storage when taken: an estimate of storage used that needs no storage access (data shared with forgotten snapshots is not counted).',
    (totals) => totals.bytesStored,
  ),
  measured('chrono_backup_storage_used_bytes', 'Bytes the repository occupies in storage, from the latest measurement (repository stats).', (stats) => stats.storedBytes),
  measured('chrono_backup_repository_unique_bytes', 'Unique plaintext bytes in the repository after deduplication, from the latest measurement.', (stats) => stats.uniqueBytes),
  measured('chrono_backup_repository_dedup_factor', 'Logical bytes of all snapshots divided by unique bytes (how many times deduplication shrinks the data), from the latest measurement.', (stats) => stats.dedupRatio),
  measured('chrono_backup_repository_compression_factor', 'Unique bytes divided by pack bytes in storage, from the latest measurement.', (stats) => stats.compressionRatio),
  {
    name: 'chrono_backup_storage_stats_timestamp_seconds',
    help: 'When the repository stats behind chrono_backup_storage_used_bytes were measured, seconds since the epoch.',
    type: 'gauge',
    samples: ({ repository }) => (repository ? [{ labels: { repository: repository.stats.repository }, value: repository.measuredAt.getTime() / 1000 }] : []),
  },
];

const SCRAPE_METRIC: MetricDefinition<MetricsScrape> = {
  name: 'chrono_backup_metrics_load_seconds',
  help: 'Time this scrape spent reading the catalog and the storage counters.',
  type: 'gauge',
  samples: ({ loadSeconds }) => [{ labels: {}, value: loadSeconds }],
};

type RunList = 'lastRuns' | 'lastSuccesses' | 'lastVerifications' | 'lastPassed';

function perPlan(name: string, help: string, list: RunList, value: (run: RunRecord) => number | undefined): MetricDefinition<MetricsScrape> {
  return { name, help, type: 'gauge', samples: (scrape) => defined(scrape[list].map((run) => ({ labels: { plan: planOf(run) }, value: value(run) }))) };
}

function perLevel(name: string, help: string, list: RunList, value: (run: RunRecord) => number | undefined): MetricDefinition<MetricsScrape> {
  return { name, help, type: 'gauge', samples: (scrape) => defined(scrape[list].map((run) => ({ labels: { level: typeOf(run) }, value: value(run) }))) };
}

function lastBackupBytes(name: string, help: string, field: keyof BackupBytes): MetricDefinition<MetricsScrape> {
  return perPlan(name, help, 'lastSuccesses', (run) => backupBytes(run)?.[field]);
}

function perRepository(name: string, help: string, value: (totals: SnapshotTotals) => number): MetricDefinition<MetricsScrape> {
  return { name, help, type: 'gauge', samples: ({ snapshots }) => snapshots.map((totals) => ({ labels: { repository: totals.repository }, value: value(totals) })) };
}

function measured(name: string, help: string, value: (stats: RepositoryStats) => number): MetricDefinition<MetricsScrape> {
  return { name, help, type: 'gauge', samples: ({ repository }) => (repository ? [{ labels: { repository: repository.stats.repository }, value: value(repository.stats) }] : []) };
}

/** Samples whose value is known: a run without the figure exposes no sample rather than a fake 0. */
function defined(samples: { labels: Sample['labels']; value: number | undefined }[]): Sample[] {
  return samples.filter((sample): sample is Sample => sample.value !== undefined && Number.isFinite(sample.value));
}

/** Adds up samples with the same labels (several tallies can map onto one label set). */
function merge(samples: Sample[]): Sample[] {
  const merged = new Map<string, Sample>();
  for (const sample of samples) {
    const key = JSON.stringify(Object.entries(sample.labels).sort());
    const existing = merged.get(key);
    if (existing) existing.value += sample.value;
    else merged.set(key, { ...sample });
  }
  return [...merged.values()];
}
