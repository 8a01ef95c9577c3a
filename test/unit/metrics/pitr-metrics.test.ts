/**
 * The PostgreSQL recoverability-window metrics: every value comes from the recorded windows beside a
 * real SQLite catalog (a scrape reads records, not the repository), and `refreshingRecoveryWindows`
 * recomputes them only when the records are older than the TTL — once at a time, at most once per
 * period, waiting a bounded time — and keeps serving the records when a refresh fails.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { recoveryWindowStoreOf } from '../../../src/catalog/sqlite-recovery-window-store.js';
import { createBackupMetricsRegistry } from '../../../src/metrics/backup-metrics.js';
import { refreshingRecoveryWindows } from '../../../src/metrics/recovery-window-refresh.js';
import { memoryRecoveryWindowStore, type RecoveryWindowRecord, type RecoveryWindowStore } from '../../../src/ports/recovery-window-store.js';
import { findSamples, parsePrometheusText, sampleValue, type PromExposition } from '../../helpers/prometheus-text.js';
import { describeRecoveryWindowStoreContract, windowRecord } from '../../contract/recovery-window-store.contract.js';

const seconds = (iso: string) => Date.parse(iso) / 1000;

const WHOLE = windowRecord('repo-1', '7400000000000000001', { gaps: [], timelineSwitches: [] });
const GAPPED = windowRecord('repo-1', '7400000000000000002', {
  gaps: [
    { kind: 'missing-segment', from: '000000010000000000000005', to: '000000010000000000000007', count: 3 },
    { kind: 'missing-history', from: '00000002.history', to: '00000002.history', count: 1 },
  ],
});
/** WAL archived, no base backup yet: no window at all. */
const UNRESTORABLE = windowRecord('repo-2', '7400000000000000001', { earliest: undefined, latest: undefined, latestLsn: undefined, latestSegment: undefined, baseBackups: 0, gaps: [], timeline: 1 });

describeRecoveryWindowStoreContract('memoryRecoveryWindowStore', async () => {
  const store = memoryRecoveryWindowStore();
  return { connect: () => store, cleanup: async () => undefined };
});

describe('recoverability-window metrics from the recorded windows', () => {
  let catalog: SqliteCatalog;
  let exposition: PromExposition;

  beforeAll(async () => {
    catalog = SqliteCatalog.open(':memory:');
    const store = recoveryWindowStoreOf(catalog)!;
    await store.replaceWindows('repo-1', [WHOLE, GAPPED]);
    await store.putWindow(UNRESTORABLE);
    // The default: the records beside the SQLite catalog, as they are.
    exposition = parsePrometheusText(await createBackupMetricsRegistry({ catalog }).metrics());
  });

  afterAll(() => catalog.close());

  const labels = (record: RecoveryWindowRecord) => ({ repository: record.repository, cluster: record.systemIdentifier });

  it('reports the start, end and computation time of each window, in seconds since the epoch', () => {
    for (const record of [WHOLE, GAPPED]) {
      expect(sampleValue(exposition, 'chrono_backup_pitr_window_start_timestamp_seconds', labels(record))).toBe(seconds(record.earliest!));
      expect(sampleValue(exposition, 'chrono_backup_pitr_window_end_timestamp_seconds', labels(record))).toBe(seconds(record.latest!));
    }
    for (const record of [WHOLE, GAPPED, UNRESTORABLE]) expect(sampleValue(exposition, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels(record))).toBe(seconds(record.computedAt));
    // Without a usable base backup there is no window: no sample rather than a made-up 0.
    expect(findSamples(exposition, 'chrono_backup_pitr_window_start_timestamp_seconds', labels(UNRESTORABLE))).toHaveLength(0);
    expect(findSamples(exposition, 'chrono_backup_pitr_window_end_timestamp_seconds', labels(UNRESTORABLE))).toHaveLength(0);
  });

  it('counts gaps and missing segments, and reports the archive, base backups and timeline', () => {
    expect(sampleValue(exposition, 'chrono_backup_pitr_wal_gaps', labels(WHOLE))).toBe(0);
    expect(sampleValue(exposition, 'chrono_backup_pitr_wal_gaps', labels(GAPPED))).toBe(2);
    expect(sampleValue(exposition, 'chrono_backup_pitr_wal_missing_segments', labels(GAPPED))).toBe(3);
    expect(sampleValue(exposition, 'chrono_backup_pitr_wal_gaps', labels(UNRESTORABLE))).toBe(0);
    for (const record of [WHOLE, GAPPED, UNRESTORABLE]) {
      expect(sampleValue(exposition, 'chrono_backup_pitr_wal_segments', labels(record))).toBe(record.segments);
      expect(sampleValue(exposition, 'chrono_backup_pitr_wal_archived_bytes', labels(record))).toBe(record.archivedBytes);
      expect(sampleValue(exposition, 'chrono_backup_pitr_base_backups', labels(record))).toBe(record.baseBackups);
      expect(sampleValue(exposition, 'chrono_backup_pitr_timeline', labels(record))).toBe(record.timeline);
    }
  });

  it('declares every family as a documented gauge', () => {
    const names = [...exposition.types.keys()].filter((name) => name.startsWith('chrono_backup_pitr_'));
    expect(names.sort()).toEqual([
      'chrono_backup_pitr_base_backups',
      'chrono_backup_pitr_timeline',
      'chrono_backup_pitr_wal_archived_bytes',
      'chrono_backup_pitr_wal_gaps',
      'chrono_backup_pitr_wal_missing_segments',
      'chrono_backup_pitr_wal_segments',
      'chrono_backup_pitr_window_computed_timestamp_seconds',
      'chrono_backup_pitr_window_end_timestamp_seconds',
      'chrono_backup_pitr_window_start_timestamp_seconds',
    ]);
    for (const name of names) expect(exposition.types.get(name)).toBe('gauge');
  });

  it('reports what a given reader returns instead of the records beside the catalog', async () => {
    const given = parsePrometheusText(await createBackupMetricsRegistry({ catalog, recoveryWindows: async () => [WHOLE] }).metrics());
    expect(findSamples(given, 'chrono_backup_pitr_wal_gaps').map((sample) => sample.labels)).toEqual([labels(WHOLE)]);
  });
});

/** A store and a refresh that records a new computation of WHOLE at the clock's time when called. */
function refreshFixture(start = Date.parse('2026-01-01T12:00:00.000Z')) {
  const clock = { now: start };
  const store: RecoveryWindowStore = memoryRecoveryWindowStore();
  const state = { refreshes: 0, failWith: undefined as Error | undefined, gate: undefined as Promise<void> | undefined };
  const refresh = async () => {
    state.refreshes++;
    const computedAt = new Date(clock.now).toISOString();
    if (state.gate) await state.gate;
    if (state.failWith) throw state.failWith;
    await store.replaceWindows(WHOLE.repository, [{ ...WHOLE, computedAt }]);
  };
  return { clock, store, state, refresh };
}

describe('refreshingRecoveryWindows', () => {
  it('refreshes when nothing is recorded, then not until the records are older than the TTL', async () => {
    const { clock, store, state, refresh } = refreshFixture();
    const read = refreshingRecoveryWindows({ store, refresh, maxAgeMs: 60_000, now: () => clock.now });
    const first = await read();
    expect(state.refreshes).toBe(1);
    expect(first.map((record) => record.computedAt)).toEqual([new Date(clock.now).toISOString()]);
    clock.now += 59_000;
    await read();
    expect(state.refreshes).toBe(1);
    clock.now += 1_000;
    const later = await read();
    expect(state.refreshes).toBe(2);
    expect(later[0]!.computedAt).toBe(new Date(clock.now).toISOString());
  });

  it('counts records someone else computed (pitr-status, the health check) as fresh', async () => {
    const { clock, store, state, refresh } = refreshFixture();
    await store.putWindow({ ...WHOLE, computedAt: new Date(clock.now - 10_000).toISOString() });
    const read = refreshingRecoveryWindows({ store, refresh, maxAgeMs: 60_000, now: () => clock.now });
    await read();
    expect(state.refreshes).toBe(0);
    clock.now += 50_000;
    await read();
    expect(state.refreshes).toBe(1);
  });

  it('with a TTL of 0 refreshes at every scrape', async () => {
    const { clock, store, state, refresh } = refreshFixture();
    const read = refreshingRecoveryWindows({ store, refresh, maxAgeMs: 0, now: () => clock.now });
    for (let i = 0; i < 3; i++) await read();
    expect(state.refreshes).toBe(3);
  });

  it('runs one refresh for concurrent scrapes, and answers with the old records when it takes longer than the wait', async () => {
    const { clock, store, state, refresh } = refreshFixture();
    const old = { ...WHOLE, computedAt: new Date(clock.now - 120_000).toISOString() };
    await store.putWindow(old);
    let open: () => void = () => undefined;
    state.gate = new Promise<void>((done) => (open = done));
    const read = refreshingRecoveryWindows({ store, refresh, maxAgeMs: 60_000, waitMs: 20, now: () => clock.now });
    const answers = await Promise.all([read(), read(), read()]);
    expect(state.refreshes).toBe(1);
    for (const answer of answers) expect(answer).toEqual([old]);
    // The refresh goes on in the background; once it is done the next scrape reads its records.
    open();
    await new Promise((done) => setTimeout(done, 10));
    const next = await read();
    expect(state.refreshes).toBe(1);
    expect(next[0]!.computedAt).toBe(new Date(clock.now).toISOString());
  });

  it('keeps serving the records when a refresh fails, reports the failure, and tries again one TTL later', async () => {
    const { clock, store, state, refresh } = refreshFixture();
    const old = { ...WHOLE, computedAt: new Date(clock.now - 120_000).toISOString() };
    await store.putWindow(old);
    state.failWith = new Error('storage unreachable');
    const errors: unknown[] = [];
    const read = refreshingRecoveryWindows({ store, refresh, maxAgeMs: 60_000, now: () => clock.now, onError: (error) => errors.push(error) });
    await expect(read()).resolves.toEqual([old]);
    expect(errors).toEqual([state.failWith]);
    clock.now += 30_000;
    await expect(read()).resolves.toEqual([old]);
    expect(state.refreshes).toBe(1);
    clock.now += 30_000;
    state.failWith = undefined;
    const recovered = await read();
    expect(state.refreshes).toBe(2);
    expect(recovered[0]!.computedAt).toBe(new Date(clock.now).toISOString());
  });

  it('when nothing is archived (the refresh records nothing), tries once per TTL', async () => {
    const clock = { now: 0 };
    let refreshes = 0;
    const read = refreshingRecoveryWindows({ store: memoryRecoveryWindowStore(), refresh: async () => void refreshes++, maxAgeMs: 60_000, now: () => clock.now });
    await expect(read()).resolves.toEqual([]);
    clock.now += 30_000;
    await read();
    expect(refreshes).toBe(1);
    clock.now += 30_000;
    await read();
    expect(refreshes).toBe(2);
  });
});
