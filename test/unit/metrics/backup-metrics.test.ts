/**
 * The Prometheus registry over a real SQLite catalog holding a known run history: every value is
 * derived from the recorded runs, a scrape loads the catalog once, the registry is private, metered
 * storage counters and measured repository stats are exposed, and a scrape stays cheap with 10,000 runs.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import type { RepositoryStats } from '../../../src/app/repository-stats.js';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { createBackupMetricsRegistry, METRICS_CONTENT_TYPE } from '../../../src/metrics/backup-metrics.js';
import { runStatisticsFor } from '../../../src/metrics/catalog-run-statistics.js';
import { cachedRepositoryStats } from '../../../src/metrics/repository-stats-cache.js';
import type { RunStatistics } from '../../../src/ports/run-statistics.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { LATENCY_BUCKETS_MS, MeteredObjectStorage } from '../../../src/storage/metered-object-storage.js';
import { findSamples, parsePrometheusText, sampleValue, type PromExposition } from '../../helpers/prometheus-text.js';
import { after, recordBackup, recordVerify, REPOSITORY, snapshotRecord, type BackupSpec, type VerifySpec } from './run-history.js';

const seconds = (iso: string) => Date.parse(iso) / 1000;

const BACKUPS: BackupSpec[] = [
  { id: 'b1', plan: 'nightly', type: 'full', status: 'succeeded', startedAt: '2025-01-01T00:00:00.000Z', seconds: 60, bytes: { totalBytes: 1000, bytesRead: 1000, bytesAdded: 800, bytesStored: 500 } },
  { id: 'b2', plan: 'nightly', type: 'incremental', status: 'failed', startedAt: '2025-01-02T00:00:00.000Z', seconds: 5 },
  { id: 'b3', plan: 'nightly', type: 'incremental', status: 'succeeded', startedAt: '2025-01-03T00:00:00.000Z', seconds: 30, bytes: { totalBytes: 1200, bytesRead: 300, bytesAdded: 200, bytesStored: 150 } },
  { id: 'w1', plan: 'weekly', type: 'database_only', status: 'succeeded', startedAt: '2025-01-01T12:00:00.000Z', seconds: 120, bytes: { totalBytes: 4000, bytesRead: 4000, bytesAdded: 1000, bytesStored: 700 } },
  { id: 'w2', plan: 'weekly', type: 'database_only', status: 'failed', startedAt: '2025-01-04T00:00:00.000Z', seconds: 10 },
  { id: 'w3', plan: 'weekly', type: 'database_only', status: 'interrupted', startedAt: '2025-01-03T00:00:00.000Z', seconds: 3 },
  { id: 'a1', type: 'full', status: 'succeeded', startedAt: '2025-01-02T06:00:00.000Z', seconds: 1, bytes: { totalBytes: 0, bytesRead: 0, bytesAdded: 0, bytesStored: 0 } },
  { id: 'r1', plan: 'nightly', type: 'full', status: 'running', startedAt: '2025-01-05T00:00:00.000Z', seconds: 0 },
];

const VERIFIES: VerifySpec[] = [
  { id: 'v1', level: 'structure', status: 'succeeded', ok: true, startedAt: '2025-01-01T01:00:00.000Z', seconds: 4 },
  { id: 'v2', level: 'structure', status: 'succeeded', ok: false, startedAt: '2025-01-05T01:00:00.000Z', seconds: 6 },
  { id: 'v3', level: 'full', status: 'failed', startedAt: '2025-01-02T01:00:00.000Z', seconds: 2 },
  { id: 'v4', level: 'restore-test', status: 'succeeded', ok: true, startedAt: '2025-01-03T01:00:00.000Z', seconds: 40 },
];

const SNAPSHOTS = [
  snapshotRecord('s1', '2025-01-01T00:00:00.000Z', { totalBytes: 1000, bytesAdded: 800, bytesStored: 500 }),
  snapshotRecord('s2', '2025-01-03T00:00:00.000Z', { totalBytes: 1200, bytesAdded: 200, bytesStored: 150 }),
];

let catalog: SqliteCatalog;
let exposition: PromExposition;

beforeAll(async () => {
  catalog = SqliteCatalog.open(':memory:');
  for (const spec of BACKUPS) await recordBackup(catalog, spec);
  for (const spec of VERIFIES) await recordVerify(catalog, spec);
  for (const snapshot of SNAPSHOTS) await catalog.putSnapshot(REPOSITORY, snapshot);
  exposition = parsePrometheusText(await createBackupMetricsRegistry({ catalog }).metrics());
});

afterAll(() => catalog.close());

const finished = (spec: BackupSpec | VerifySpec) => seconds(after(spec.startedAt, spec.seconds));
const spec = (id: string) => [...BACKUPS, ...VERIFIES].find((entry) => entry.id === id)!;

describe('backup metrics from the catalog', () => {
  it('counts finished backup runs by plan, type and status, ignoring running ones', () => {
    const counted = findSamples(exposition, 'chrono_backup_runs_total');
    const expected = new Map<string, number>();
    for (const backup of BACKUPS.filter((b) => b.status !== 'running')) {
      const key = JSON.stringify([backup.plan ?? '(none)', backup.type, backup.status]);
      expected.set(key, (expected.get(key) ?? 0) + 1);
    }
    expect(new Map(counted.map((sample) => [JSON.stringify([sample.labels.plan, sample.labels.type, sample.labels.status]), sample.value]))).toEqual(expected);
    expect(exposition.types.get('chrono_backup_runs_total')).toBe('counter');
  });

  it('reports the newest finished run of each plan, whatever its status', () => {
    // nightly: b3 is newest (r1 still runs); weekly: w2 (failed) started after w3 and w1.
    for (const [plan, id] of [['nightly', 'b3'], ['weekly', 'w2'], ['(none)', 'a1']] as const) {
      expect(sampleValue(exposition, 'chrono_backup_last_run_timestamp_seconds', { plan })).toBe(finished(spec(id)));
      expect(sampleValue(exposition, 'chrono_backup_last_run_duration_seconds', { plan })).toBe(spec(id).seconds);
      expect(sampleValue(exposition, 'chrono_backup_last_run_succeeded', { plan })).toBe(spec(id).status === 'succeeded' ? 1 : 0);
    }
  });

  it('reports the last successful backup of each plan: time, duration, bytes and dedup ratio', () => {
    for (const [plan, id] of [['nightly', 'b3'], ['weekly', 'w1']] as const) {
      const backup = spec(id) as BackupSpec;
      expect(sampleValue(exposition, 'chrono_backup_last_success_timestamp_seconds', { plan })).toBe(finished(backup));
      expect(sampleValue(exposition, 'chrono_backup_last_backup_duration_seconds', { plan })).toBe(backup.seconds);
      expect(sampleValue(exposition, 'chrono_backup_last_backup_source_bytes', { plan })).toBe(backup.bytes!.totalBytes);
      expect(sampleValue(exposition, 'chrono_backup_last_backup_read_bytes', { plan })).toBe(backup.bytes!.bytesRead);
      expect(sampleValue(exposition, 'chrono_backup_last_backup_added_bytes', { plan })).toBe(backup.bytes!.bytesAdded);
      expect(sampleValue(exposition, 'chrono_backup_last_backup_stored_bytes', { plan })).toBe(backup.bytes!.bytesStored);
      expect(sampleValue(exposition, 'chrono_backup_last_backup_dedup_ratio', { plan })).toBeCloseTo(1 - backup.bytes!.bytesAdded / backup.bytes!.totalBytes, 10);
    }
    // An empty backup has no dedup ratio rather than a made-up one.
    expect(findSamples(exposition, 'chrono_backup_last_backup_dedup_ratio', { plan: '(none)' })).toHaveLength(0);
    expect(sampleValue(exposition, 'chrono_backup_last_backup_source_bytes', { plan: '(none)' })).toBe(0);
  });

  it('counts verifications by level and outcome and reports the newest of each level', () => {
    const counts = Object.fromEntries(findSamples(exposition, 'chrono_backup_verification_runs_total').map((sample) => [`${sample.labels.level}/${sample.labels.outcome}`, sample.value]));
    expect(counts).toEqual({ 'structure/passed': 1, 'structure/damaged': 1, 'full/error': 1, 'restore-test/passed': 1 });
    expect(sampleValue(exposition, 'chrono_backup_last_verification_passed', { level: 'structure' })).toBe(0);
    expect(sampleValue(exposition, 'chrono_backup_last_verification_timestamp_seconds', { level: 'structure' })).toBe(finished(spec('v2')));
    expect(sampleValue(exposition, 'chrono_backup_last_verification_success_timestamp_seconds', { level: 'structure' })).toBe(finished(spec('v1')));
    expect(sampleValue(exposition, 'chrono_backup_last_verification_passed', { level: 'full' })).toBe(0);
    expect(findSamples(exposition, 'chrono_backup_last_verification_success_timestamp_seconds', { level: 'full' })).toHaveLength(0);
    expect(sampleValue(exposition, 'chrono_backup_last_verification_passed', { level: 'restore-test' })).toBe(1);
  });

  it('sums the snapshot records per repository as the cheap estimate of storage used', () => {
    expect(sampleValue(exposition, 'chrono_backup_snapshots', { repository: REPOSITORY })).toBe(SNAPSHOTS.length);
    expect(sampleValue(exposition, 'chrono_backup_snapshots_source_bytes', { repository: REPOSITORY })).toBe(SNAPSHOTS.reduce((sum, s) => sum + s.stats.totalBytes, 0));
    expect(sampleValue(exposition, 'chrono_backup_snapshots_stored_bytes', { repository: REPOSITORY })).toBe(SNAPSHOTS.reduce((sum, s) => sum + s.stats.bytesStored, 0));
    // No measurement was given, so there is no exact figure.
    expect(findSamples(exposition, 'chrono_backup_storage_used_bytes')).toHaveLength(0);
  });

  it('documents every metric, uses the chrono_backup_ prefix and units in names, and stays off the global registry', async () => {
    const names = [...exposition.types.keys()];
    expect(names.length).toBeGreaterThan(15);
    for (const name of names) {
      expect(name).toMatch(/^chrono_backup_[a-z_]+$/);
      expect(exposition.help.get(name)?.length).toBeGreaterThan(20);
      if (name.includes('timestamp') || name.includes('duration')) expect(name).toMatch(/_seconds$/);
    }
    expect((await globalRegistry.metrics()).includes('chrono_backup_')).toBe(false);
    expect(METRICS_CONTENT_TYPE).toBe('text/plain; version=0.0.4; charset=utf-8');
  });

  it('loads the catalog once per scrape, and again on the next scrape', async () => {
    const real = runStatisticsFor(catalog);
    let calls = 0;
    const counting: RunStatistics = {
      tallyRuns: (kinds) => (calls++, real.tallyRuns(kinds)),
      latestRuns: (query) => real.latestRuns(query),
      snapshotTotals: () => real.snapshotTotals(),
    };
    const registry = createBackupMetricsRegistry({ catalog, statistics: counting });
    await registry.metrics();
    expect(calls).toBe(1);
    await registry.metrics();
    expect(calls).toBe(2);
  });

  it('shows a new failure at the next scrape', async () => {
    const registry = createBackupMetricsRegistry({ catalog });
    expect(findSamples(parsePrometheusText(await registry.metrics()), 'chrono_backup_runs_total', { plan: 'nightly', type: 'full', status: 'failed' })).toHaveLength(0);
    await recordBackup(catalog, { id: 'b4', plan: 'nightly', type: 'full', status: 'failed', startedAt: '2025-01-06T00:00:00.000Z', seconds: 2 });
    const now = parsePrometheusText(await registry.metrics());
    expect(sampleValue(now, 'chrono_backup_runs_total', { plan: 'nightly', type: 'full', status: 'failed' })).toBe(1);
    expect(sampleValue(now, 'chrono_backup_last_run_succeeded', { plan: 'nightly' })).toBe(0);
    // The last success did not move.
    expect(sampleValue(now, 'chrono_backup_last_success_timestamp_seconds', { plan: 'nightly' })).toBe(finished(spec('b3')));
  });
});

describe('metered storage and repository stats', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'metrics-storage-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('exposes per-backend requests, errors, bytes and a latency histogram', async () => {
    const clock = { now: 0 };
    const local = new LocalObjectStorage(root);
    const slow = {
      location: local.location,
      put: async (key: string, data: Uint8Array) => ((clock.now += 30), local.put(key, data)),
      get: async (key: string) => ((clock.now += 700), local.get(key)),
      head: (key: string) => local.head(key),
      delete: (key: string) => local.delete(key),
      list: (prefix: string) => local.list(prefix),
    };
    const metered = new MeteredObjectStorage(slow, { now: () => clock.now });
    await metered.put('data/one', Buffer.alloc(1000));
    await metered.put('data/two', Buffer.alloc(24));
    await metered.get('data/one');
    await expect(metered.get('data/missing')).rejects.toThrow();
    const parsed = parsePrometheusText(await createBackupMetricsRegistry({ catalog, storage: metered }).metrics());
    const backend = local.location;
    expect(sampleValue(parsed, 'chrono_backup_storage_requests_total', { backend, operation: 'put' })).toBe(2);
    expect(sampleValue(parsed, 'chrono_backup_storage_requests_total', { backend, operation: 'get' })).toBe(2);
    expect(findSamples(parsed, 'chrono_backup_storage_request_errors_total', { backend, operation: 'get' }).map((s) => s.value)).toEqual([1]);
    expect(sampleValue(parsed, 'chrono_backup_storage_transferred_bytes_total', { backend, direction: 'up' })).toBe(1024);
    expect(sampleValue(parsed, 'chrono_backup_storage_transferred_bytes_total', { backend, direction: 'down' })).toBe(1000);
    expect(parsed.types.get('chrono_backup_storage_request_duration_seconds')).toBe('histogram');
    const buckets = findSamples(parsed, 'chrono_backup_storage_request_duration_seconds_bucket', { backend, operation: 'get' });
    expect(buckets.map((s) => s.labels.le)).toEqual([...LATENCY_BUCKETS_MS.map((ms) => String(ms / 1000)), '+Inf']);
    // Both gets took 700 ms: not in the buckets up to 0.5 s, in every bucket from 1 s.
    for (const bucket of buckets) expect(bucket.value).toBe(bucket.labels.le === '+Inf' || Number(bucket.labels.le) >= 0.7 ? 2 : 0);
    expect(sampleValue(parsed, 'chrono_backup_storage_request_duration_seconds_sum', { backend, operation: 'get' })).toBeCloseTo(1.4, 10);
    expect(sampleValue(parsed, 'chrono_backup_storage_request_duration_seconds_count', { backend, operation: 'put' })).toBe(2);
  });

  it('exposes the latest measured repository stats, measured in the background at most once per period', async () => {
    let clock = 1_000_000;
    let measurements = 0;
    let release: () => void = () => undefined;
    const stats: RepositoryStats = { repository: REPOSITORY, location: root, snapshots: 2, blobs: 10, packs: 1, logicalBytes: 2200, uniqueBytes: 1000, storedBytes: 650, dedupRatio: 2.2, compressionRatio: 1.5 };
    const latest = cachedRepositoryStats(
      () => {
        measurements++;
        return new Promise<RepositoryStats>((resolve) => (release = () => resolve({ ...stats, storedBytes: stats.storedBytes * measurements })));
      },
      { maxAgeMs: 60_000, now: () => clock },
    );
    const registry = createBackupMetricsRegistry({ catalog, repositoryStats: latest });
    // The first scrape starts a measurement and does not wait for it.
    expect(findSamples(parsePrometheusText(await registry.metrics()), 'chrono_backup_storage_used_bytes')).toHaveLength(0);
    await registry.metrics();
    expect(measurements).toBe(1);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    let parsed = parsePrometheusText(await registry.metrics());
    expect(sampleValue(parsed, 'chrono_backup_storage_used_bytes', { repository: REPOSITORY })).toBe(650);
    expect(sampleValue(parsed, 'chrono_backup_repository_dedup_factor', { repository: REPOSITORY })).toBe(2.2);
    expect(sampleValue(parsed, 'chrono_backup_storage_stats_timestamp_seconds', { repository: REPOSITORY })).toBe(clock / 1000);
    expect(measurements).toBe(1);
    clock += 60_000;
    parsed = parsePrometheusText(await registry.metrics());
    expect(measurements).toBe(2);
    expect(sampleValue(parsed, 'chrono_backup_storage_used_bytes', { repository: REPOSITORY })).toBe(650);
    release();
    await new Promise((resolve) => setImmediate(resolve));
    expect(sampleValue(parsePrometheusText(await registry.metrics()), 'chrono_backup_storage_used_bytes', { repository: REPOSITORY })).toBe(1300);
  });
});

describe('scrape cost', () => {
  it('stays cheap with 10,000 runs in the catalog, reading only what changed after the first scrape', async () => {
    const big = SqliteCatalog.open(':memory:');
    try {
      const plans = ['nightly', 'hourly', 'weekly', 'db', 'files'];
      const start = Date.parse('2024-01-01T00:00:00.000Z');
      for (let i = 0; i < 10_000; i++) {
        const startedAt = new Date(start + i * 600_000).toISOString();
        if (i % 10 === 9) await recordVerify(big, { id: `v${i}`, level: i % 20 === 9 ? 'full' : 'structure', status: 'succeeded', ok: i % 30 !== 9, startedAt, seconds: 5 });
        else {
          const plan = plans[i % plans.length]!;
          await recordBackup(big, { id: `b${i}`, plan, type: 'incremental', status: i % 13 === 0 ? 'failed' : 'succeeded', startedAt, seconds: 30 + (i % 7), bytes: { totalBytes: 10_000, bytesRead: 5000, bytesAdded: 1000, bytesStored: 700 } });
          await big.putSnapshot(REPOSITORY, snapshotRecord(`b${i}-snap`, startedAt, { totalBytes: 10_000, bytesAdded: 1000, bytesStored: 700 }));
        }
      }
      const registry = createBackupMetricsRegistry({ catalog: big });
      // The first scrape reads every record once; later ones read only what changed since.
      let started = performance.now();
      let text = await registry.metrics();
      const first = performance.now() - started;
      await recordBackup(big, { id: 'late', plan: 'nightly', type: 'full', status: 'succeeded', startedAt: '2026-01-01T00:00:00.000Z', seconds: 9, bytes: { totalBytes: 1, bytesRead: 1, bytesAdded: 1, bytesStored: 1 } });
      const timings: number[] = [];
      for (let i = 0; i < 7; i++) {
        started = performance.now();
        text = await registry.metrics();
        timings.push(performance.now() - started);
      }
      const median = timings.sort((a, b) => a - b)[3]!;
      process.stdout.write(`scrape with 10,000 runs and 9,000 snapshots: first ${first.toFixed(1)} ms, then median ${median.toFixed(1)} ms (${timings.map((t) => t.toFixed(1)).join(', ')})\n`);
      const parsed = parsePrometheusText(text);
      expect(findSamples(parsed, 'chrono_backup_runs_total').reduce((sum, s) => sum + s.value, 0)).toBe(9001);
      expect(sampleValue(parsed, 'chrono_backup_last_backup_duration_seconds', { plan: 'nightly' })).toBe(9);
      expect(findSamples(parsed, 'chrono_backup_verification_runs_total').reduce((sum, s) => sum + s.value, 0)).toBe(1000);
      expect(sampleValue(parsed, 'chrono_backup_snapshots', { repository: REPOSITORY })).toBe(9000);
      // Generous for a shared 2-core machine; the figure printed above is what the notes report.
      expect(median).toBeLessThan(100);
    } finally {
      await big.close();
    }
  }, 60_000);
});
