import type { RepositoryStats } from '../app/repository-stats.js';
import type { MeasuredRepositoryStats } from './backup-metrics.js';

export interface RepositoryStatsCacheOptions {
  /** Measure again when the latest measurement is older than this (ms). */
  maxAgeMs: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Called when a measurement fails; the previous one stays in use. */
  onError?: (error: unknown) => void;
}

/**
 * The latest repository stats for the metrics' `repositoryStats` option. Measuring lists the whole
 * storage and reads the index, far too slow for a scrape, so a scrape gets the latest measurement at
 * once and, when it is older than `maxAgeMs`, starts one new measurement in the background (never two
 * at a time). Until the first measurement completes there is nothing to report.
 */
export function cachedRepositoryStats(measure: () => Promise<RepositoryStats>, options: RepositoryStatsCacheOptions): () => Promise<MeasuredRepositoryStats | undefined> {
  const now = options.now ?? Date.now;
  let latest: MeasuredRepositoryStats | undefined;
  let measuring = false;
  let startedAt = Number.NEGATIVE_INFINITY;
  return () => {
    if (!measuring && now() - startedAt >= options.maxAgeMs) {
      measuring = true;
      startedAt = now();
      measure()
        .then((stats) => (latest = { stats, measuredAt: new Date(now()) }), (error: unknown) => options.onError?.(error))
        .finally(() => (measuring = false));
    }
    return Promise.resolve(latest);
  };
}
