import type { Metric, Registry } from 'prom-client';

export type MetricKind = 'counter' | 'gauge' | 'histogram';

/** One sample: labels and value; `suffix` names histogram series (`_bucket`, `_sum`, `_count`). */
export interface Sample {
  labels: Record<string, string | number>;
  value: number;
  suffix?: '_bucket' | '_sum' | '_count';
}

export interface MetricDefinition<S> {
  name: string;
  help: string;
  type: MetricKind;
  /** The samples of this metric in one scrape's data. */
  samples: (scrape: S) => Sample[];
}

/**
 * Registers metrics whose values are computed at scrape time from one shared, per-scrape load.
 *
 * prom-client's own Gauge and Counter hold state that is set between scrapes; ours have none: every
 * sample comes from the catalog (or a storage decorator) when scraped, so a plan that disappeared leaves
 * no stale series and a counter is the catalog's count, not this process's. prom-client's registry
 * calls `get()` of every metric synchronously at the start of a scrape, so all of them join the one
 * `load` in flight; the next scrape loads again.
 */
export function registerComputedMetrics<S>(registry: Registry, load: () => Promise<S>, definitions: readonly MetricDefinition<S>[]): void {
  const scrape = sharedWhileRunning(load);
  for (const definition of definitions) {
    const metric = {
      name: definition.name,
      help: definition.help,
      type: definition.type,
      aggregator: 'sum' as const,
      async get() {
        const values = definition.samples(await scrape()).map((sample) => ({
          labels: sample.labels,
          value: sample.value,
          ...(sample.suffix ? { metricName: `${definition.name}${sample.suffix}` } : {}),
        }));
        return { name: definition.name, help: definition.help, type: definition.type, aggregator: 'sum' as const, values };
      },
      reset() {},
    };
    // The registry accepts any object with this shape; its type names only prom-client's own classes.
    registry.registerMetric(metric as unknown as Metric);
  }
}

/** Calls made while a load is in flight share it; a call after it settled starts a new one. */
function sharedWhileRunning<T>(load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    if (pending === undefined) {
      const current = load();
      pending = current;
      const clear = () => {
        if (pending === current) pending = undefined;
      };
      current.then(clear, clear);
    }
    return pending;
  };
}
