import type { StorageMetrics } from '../storage/metered-object-storage.js';
import type { MetricDefinition, Sample } from './computed-metric.js';

/** What a scrape reads of the metered storage decorators (src/storage/metered-object-storage.ts). */
export interface StorageScrape {
  storage: readonly StorageMetrics[];
}

/** Anything that reports metered counters: a MeteredObjectStorage. */
export interface MeteredStorage {
  metrics(): StorageMetrics;
}

/**
 * Per-backend request metrics of this process, labelled by the backend's location (fit to show: the
 * adapters never put credentials in it). They count from the process start, so they are counters.
 */
export const STORAGE_METRICS: readonly MetricDefinition<StorageScrape>[] = [
  {
    name: 'chrono_backup_storage_requests_total',
    help: 'Storage requests made by this process, by backend and operation (put, get, head, list, delete).',
    type: 'counter',
    samples: ({ storage }) =>
      storage.flatMap((backend) => Object.entries(backend.operations).map(([operation, metrics]) => ({ labels: { backend: backend.location, operation }, value: metrics.requests }))),
  },
  {
    name: 'chrono_backup_storage_request_errors_total',
    help: 'Storage requests that failed, by backend, operation and error code.',
    type: 'counter',
    samples: ({ storage }) =>
      storage.flatMap((backend) =>
        Object.entries(backend.operations).flatMap(([operation, metrics]) =>
          Object.entries(metrics.errorsByCode).map(([code, count]) => ({ labels: { backend: backend.location, operation, code }, value: count })),
        ),
      ),
  },
  {
    name: 'chrono_backup_storage_transferred_bytes_total',
    help: 'Bytes uploaded (direction="up", successful puts) and downloaded (direction="down", successful gets), by backend.',
    type: 'counter',
    samples: ({ storage }) =>
      storage.flatMap((backend) => [
        { labels: { backend: backend.location, direction: 'up' }, value: backend.bytesUp },
        { labels: { backend: backend.location, direction: 'down' }, value: backend.bytesDown },
      ]),
  },
  {
    name: 'chrono_backup_storage_request_duration_seconds',
    help: 'Latency of storage requests, by backend and operation (a listing lasts until it is drained).',
    type: 'histogram',
    samples: ({ storage }) =>
      storage.flatMap((backend) =>
        Object.entries(backend.operations).flatMap(([operation, { latency }]): Sample[] => {
          const labels = { backend: backend.location, operation };
          return [
            ...latency.buckets.map((bucket): Sample => ({ labels: { ...labels, le: bucket.leMs / 1000 }, value: bucket.count, suffix: '_bucket' })),
            { labels: { ...labels, le: '+Inf' }, value: latency.count, suffix: '_bucket' },
            { labels, value: latency.sumMs / 1000, suffix: '_sum' },
            { labels, value: latency.count, suffix: '_count' },
          ];
        }),
      ),
  },
];
