/**
 * `chrono-backup metrics` end to end: real backups through the CLI (a plan, an incremental run, an
 * ad-hoc run, a verification), then the exposition is parsed and compared with what the runs recorded
 * and reported: counts, bytes and last-success times. A failed backup raises the failed count, and
 * `--output` replaces its file atomically.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findSamples, parsePrometheusText, sampleValue, type PromExposition } from '../helpers/prometheus-text.js';
import { cleanupAll, createHome, EXIT, expectExit, writeRandomFile, type BackupJson, type CliHome } from './cli-harness.js';

/** src/cli/exit-codes.ts: every source of the run failed. */
const EXIT_SOURCE = 10;

interface RunJson {
  id: string;
  kind: string;
  status: string;
  finishedAt?: string;
  snapshotId?: string;
}

let home: CliHome;
let planFile: string;

beforeAll(async () => {
  home = await createHome('metrics');
  await writeRandomFile(home.path('docs', 'a.bin'), 300_000);
  await writeRandomFile(home.path('docs', 'b.bin'), 50_000);
  await writeRandomFile(home.path('adhoc', 'c.bin'), 20_000);
  planFile = home.path('plans.json');
  // The db plan points at a port nobody listens on: its backups fail after the run has started.
  await writeFile(planFile, JSON.stringify({ plans: { docs: { files: { paths: [home.path('docs')] } }, db: { postgres: { url: 'postgres://127.0.0.1:1/app' } } } }));
}, 30_000);

afterAll(cleanupAll);

async function scrape(): Promise<PromExposition> {
  const result = expectExit(await home.run(['metrics']), EXIT.ok);
  return parsePrometheusText(result.stdout);
}

const bytesOf = (backup: BackupJson, field: 'bytesRead' | 'bytesAdded' | 'bytesStored' | 'totalBytes') => backup.snapshots.reduce((sum, snapshot) => sum + snapshot.stats[field], 0);

async function runOf(snapshotId: string): Promise<RunJson> {
  const runs = await home.json<RunJson[]>(['runs', '--kind', 'backup']);
  return runs.find((run) => run.snapshotId === snapshotId)!;
}

describe('chrono-backup metrics', () => {
  it('reports counts, bytes and last-success times that match the runs', async () => {
    const full = await home.backup([], ['--plan', 'docs', '--plans', planFile]);
    await writeRandomFile(home.path('docs', 'b.bin'), 60_000);
    const incremental = await home.backup([], ['--plan', 'docs', '--plans', planFile, '--type', 'incremental']);
    const adhoc = await home.backup([home.path('adhoc')]);
    await home.json(['verify', '--level', 'full']);

    const metrics = await scrape();
    expect(sampleValue(metrics, 'chrono_backup_runs_total', { plan: 'docs', type: 'full', status: 'succeeded' })).toBe(1);
    expect(sampleValue(metrics, 'chrono_backup_runs_total', { plan: 'docs', type: 'incremental', status: 'succeeded' })).toBe(1);
    expect(sampleValue(metrics, 'chrono_backup_runs_total', { plan: '(none)', type: 'full', status: 'succeeded' })).toBe(1);
    expect(findSamples(metrics, 'chrono_backup_runs_total', { status: 'failed' })).toHaveLength(0);

    // The last backup of the docs plan is the incremental one: its bytes, its finish time.
    expect(sampleValue(metrics, 'chrono_backup_last_backup_read_bytes', { plan: 'docs' })).toBe(bytesOf(incremental, 'bytesRead'));
    expect(sampleValue(metrics, 'chrono_backup_last_backup_added_bytes', { plan: 'docs' })).toBe(bytesOf(incremental, 'bytesAdded'));
    expect(sampleValue(metrics, 'chrono_backup_last_backup_stored_bytes', { plan: 'docs' })).toBe(bytesOf(incremental, 'bytesStored'));
    expect(sampleValue(metrics, 'chrono_backup_last_backup_source_bytes', { plan: 'docs' })).toBe(bytesOf(incremental, 'totalBytes'));
    // Only b.bin changed: the incremental run read less than the full one did.
    expect(bytesOf(incremental, 'bytesRead')).toBeLessThan(bytesOf(full, 'bytesRead'));
    const docsRun = await runOf(incremental.id);
    expect(sampleValue(metrics, 'chrono_backup_last_success_timestamp_seconds', { plan: 'docs' })).toBe(Date.parse(docsRun.finishedAt!) / 1000);
    const adhocRun = await runOf(adhoc.id);
    expect(sampleValue(metrics, 'chrono_backup_last_success_timestamp_seconds', { plan: '(none)' })).toBe(Date.parse(adhocRun.finishedAt!) / 1000);
    expect(sampleValue(metrics, 'chrono_backup_last_backup_added_bytes', { plan: '(none)' })).toBe(bytesOf(adhoc, 'bytesAdded'));

    expect(sampleValue(metrics, 'chrono_backup_verification_runs_total', { level: 'full', outcome: 'passed' })).toBe(1);
    expect(sampleValue(metrics, 'chrono_backup_last_verification_passed', { level: 'full' })).toBe(1);
    const snapshots = await home.snapshots();
    expect(sampleValue(metrics, 'chrono_backup_snapshots')).toBe(snapshots.length);
    expect(sampleValue(metrics, 'chrono_backup_snapshots_stored_bytes')).toBe(snapshots.reduce((sum, snapshot) => sum + snapshot.stats.bytesStored, 0));
    // Families without samples are left out of the file (no measured repository stats were asked for).
    expect(metrics.types.has('chrono_backup_storage_used_bytes')).toBe(false);
  }, 120_000);

  it('counts a failed backup, and another, without moving the last success', async () => {
    const before = await scrape();
    const lastSuccess = sampleValue(before, 'chrono_backup_last_success_timestamp_seconds', { plan: 'docs' });
    expectExit(await home.run(['backup', '--plan', 'db', '--plans', planFile, '--json']), EXIT_SOURCE);
    let after = await scrape();
    expect(sampleValue(after, 'chrono_backup_runs_total', { plan: 'db', type: 'full', status: 'failed' })).toBe(1);
    expect(sampleValue(after, 'chrono_backup_last_run_succeeded', { plan: 'db' })).toBe(0);
    expect(findSamples(after, 'chrono_backup_last_success_timestamp_seconds', { plan: 'db' })).toHaveLength(0);
    expectExit(await home.run(['backup', '--plan', 'db', '--plans', planFile, '--json']), EXIT_SOURCE);
    after = await scrape();
    expect(sampleValue(after, 'chrono_backup_runs_total', { plan: 'db', type: 'full', status: 'failed' })).toBe(2);
    expect(sampleValue(after, 'chrono_backup_last_success_timestamp_seconds', { plan: 'docs' })).toBe(lastSuccess);
  }, 60_000);

  it('writes --output atomically and measures the storage used with --repository-stats', async () => {
    const directory = home.path('textfile');
    const target = join(directory, 'chrono_backup.prom');
    await writeRandomFile(join(directory, 'placeholder'), 1);
    await writeFile(target, 'stale\n');
    expectExit(await home.run(['metrics', '--output', target, '--repository-stats']), EXIT.ok);
    const written = parsePrometheusText(await readFile(target, 'utf8'));
    expect(sampleValue(written, 'chrono_backup_runs_total', { plan: 'db', status: 'failed' })).toBe(2);
    const stats = await home.json<{ storedBytes: number; dedupRatio: number }>(['stats']);
    expect(sampleValue(written, 'chrono_backup_storage_used_bytes')).toBe(stats.storedBytes);
    expect(sampleValue(written, 'chrono_backup_repository_dedup_factor')).toBeCloseTo(stats.dedupRatio, 10);
    // Nothing but the file itself: the temporary was renamed, not left behind.
    expect((await readdir(directory)).sort()).toEqual(['chrono_backup.prom', 'placeholder']);
  }, 60_000);
});
