/**
 * The recoverability window as a record in the catalog and as metrics, against a real PostgreSQL 15
 * cluster archiving through the built CLI (as test/integration/pitr.test.ts: wal-push as
 * archive_command, 1 MiB segments): `pitr-status` records each cluster's window and `chrono-backup
 * metrics` reports exactly that record; the server's /metrics recomputes a record older than the TTL at
 * a scrape, and a segment removed from the archive shows there as a gap that stops the window's end;
 * the `recovery_point` health check fails and alerts when that end falls behind the RPO, recording the
 * window it judged; a cluster whose WAL is gone keeps its record with 0 segments, and loses it with its
 * base backups.
 *
 * PostgreSQL does not run as root: when the tests run as root, every CLI call runs as the `postgres`
 * account (test/helpers/postgres-archiving.ts), which owns the repository and home. The in-process server runs between CLI calls,
 * never beside one, so the catalog's files keep their owner.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { startLocalServer } from '../../src/local/local-server.js';
import type { Alert } from '../../src/ports/alert-channel.js';
import type { Logger } from '../../src/ports/logger.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/alert-receivers.js';
import type { PostgresClusterHandle } from '../harness/postgres-cluster.js';
import { cliAsPostgres, waitArchived, type PostgresCliResult, startArchivingCluster, archivingScratch, walPushCommand } from '../helpers/postgres-archiving.js';
import { findSamples, parsePrometheusText, sampleValue, type PromExposition } from '../helpers/prometheus-text.js';

const silentLogger: Logger = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
const WEBHOOK_SECRET = 'a-webhook-secret-for-the-window-test';

interface WindowJson {
  systemIdentifier: string;
  earliest?: string;
  latest?: string;
  latestSegment?: string;
  timeline: number;
  gaps: { kind: string; from: string; to: string; count: number }[];
  baseBackups: { id: string; stopTime: string }[];
  segments: number;
  archivedBytes: number;
}

let cluster: PostgresClusterHandle | undefined;
let receiver: HttpReceiver;
let root: string;
let repo: string;
let env: NodeJS.ProcessEnv;
let systemIdentifier: string;
let baseBackup: { id: string; stopTime: string };

/** Runs the built CLI as the account PostgreSQL runs as, on the test's home and repository. */
function cli(args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<PostgresCliResult> {
  return cliAsPostgres(args, { env: { ...env, ...extraEnv }, cwd: root });
}

async function cliJson<T>(args: string[], okCodes = [0]): Promise<T> {
  const result = await cli(['--json', ...args]);
  if (!okCodes.includes(result.code ?? -1)) throw new Error(`chrono-backup ${args.join(' ')} exited ${result.code}: ${result.stderr}${result.stdout}`);
  return JSON.parse(result.stdout) as T;
}

/** `pitr-status` of the test's cluster (exit 3 when it reports gaps). */
async function pitrStatus(): Promise<WindowJson | undefined> {
  const status = await cliJson<{ windows: WindowJson[] }>(['pitr-status'], [0, 3]);
  return status.windows.find((window) => window.systemIdentifier === systemIdentifier);
}

/** `chrono-backup metrics`: what the catalog records, read without touching the repository. */
async function cliMetrics(): Promise<PromExposition> {
  const result = await cli(['metrics']);
  if (result.code !== 0) throw new Error(`chrono-backup metrics exited ${result.code}: ${result.stderr}`);
  return parsePrometheusText(result.stdout);
}

/** Switches to a new segment after a little work and waits until PostgreSQL has archived it. */
async function archiveNewSegment(): Promise<void> {
  const db = cluster!;
  await db.psql('INSERT INTO items (note) SELECT md5(g::text) FROM generate_series(1, 20) g');
  await waitArchived(db, await db.psql('SELECT pg_switch_wal()'));
}

const seconds = (iso: string) => Date.parse(iso) / 1000;
const labels = () => ({ cluster: systemIdentifier });

/** The metric samples of our cluster against a `pitr-status` window: they are the same numbers. */
function expectMetricsOf(metrics: PromExposition, window: WindowJson): void {
  expect(sampleValue(metrics, 'chrono_backup_pitr_window_start_timestamp_seconds', labels())).toBe(seconds(window.earliest!));
  expect(sampleValue(metrics, 'chrono_backup_pitr_window_end_timestamp_seconds', labels())).toBe(seconds(window.latest!));
  expect(sampleValue(metrics, 'chrono_backup_pitr_wal_gaps', labels())).toBe(window.gaps.length);
  expect(sampleValue(metrics, 'chrono_backup_pitr_wal_missing_segments', labels())).toBe(window.gaps.reduce((sum, gap) => sum + (gap.kind === 'missing-segment' ? gap.count : 0), 0));
  expect(sampleValue(metrics, 'chrono_backup_pitr_wal_segments', labels())).toBe(window.segments);
  expect(sampleValue(metrics, 'chrono_backup_pitr_wal_archived_bytes', labels())).toBe(window.archivedBytes);
  expect(sampleValue(metrics, 'chrono_backup_pitr_base_backups', labels())).toBe(window.baseBackups.length);
  expect(sampleValue(metrics, 'chrono_backup_pitr_timeline', labels())).toBe(window.timeline);
}

beforeAll(async () => {
  const scratch = await archivingScratch('chrono-pitr-window-', ['CHRONO_BACKUP_PITR_RPO', 'CHRONO_BACKUP_PITR_WINDOW_TTL']);
  ({ root, repo, env } = scratch);
  receiver = await startHttpReceiver({ secret: WEBHOOK_SECRET });
  expect((await cli(['init'])).code).toBe(0);
  cluster = await startArchivingCluster(walPushCommand(scratch));
  env.PGPASSWORD = cluster.password;
  await cluster.psql('CREATE TABLE items (id serial PRIMARY KEY, note text)');
  const backup = await cliJson<{ snapshots: { id: string; details: { physical: { systemIdentifier: string; stopTime: string } } }[] }>(['basebackup', '--postgres', cluster.url()]);
  const physical = backup.snapshots[0]!.details.physical;
  systemIdentifier = physical.systemIdentifier;
  baseBackup = { id: backup.snapshots[0]!.id, stopTime: physical.stopTime };
  // Two segments after the base backup, so that one can go missing between it and the newest.
  await archiveNewSegment();
  await archiveNewSegment();
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
  await receiver?.stop();
  if (root) await rm(root, { recursive: true, force: true });
}, 30_000);

describe('the recoverability window in the catalog and the metrics', () => {
  let recorded: WindowJson;

  it('`chrono-backup metrics` computes a window nobody recorded yet; pitr-status records each window, and the metrics report that record', async () => {
    // Nothing recorded yet: the metrics command computes and records it, as the server does at a scrape.
    const computedByMetrics = findSamples(await cliMetrics(), 'chrono_backup_pitr_wal_segments');
    expect(computedByMetrics).toHaveLength(1);
    expect(computedByMetrics[0]!.value).toBeGreaterThan(0);
    const before = Date.now() / 1000;
    recorded = (await pitrStatus())!;
    expect(recorded.gaps).toEqual([]);
    expect(recorded.baseBackups.map((b) => b.id)).toEqual([baseBackup.id]);
    const metrics = await cliMetrics();
    expectMetricsOf(metrics, recorded);
    const computed = sampleValue(metrics, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels());
    expect(computed).toBeGreaterThanOrEqual(Math.floor(before));
    expect(computed).toBeLessThanOrEqual(Date.now() / 1000);
  }, 30_000);

  it("the server's /metrics recomputes a record older than the TTL, and shows a removed segment as a gap", async () => {
    // The server's clock runs ahead on demand, so "older than the TTL" (60 s by default) needs no waiting.
    let ahead = 0;
    const clock = { now: () => new Date(Date.now() + ahead) };
    const server = await startLocalServer({ env: { ...env, CHRONO_BACKUP_ADMIN_EMAIL: 'admin@example.com', CHRONO_BACKUP_ADMIN_PASSWORD: 'window admin password', CHRONO_BACKUP_SCHEDULER: 'off' }, port: 0, host: '127.0.0.1', clock, logger: silentLogger, announce: () => undefined });
    try {
      const login = await fetch(`${server.url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'admin@example.com', password: 'window admin password' }) });
      const { access_token: token } = (await login.json()) as { access_token: string };
      const get = async (path: string) => {
        const response = await fetch(`${server.url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        expect(response.status).toBe(200);
        return response;
      };
      const scrape = async () => parsePrometheusText(await (await get('/metrics')).text());
      /**
       * Scrapes until the record was computed at or after `since` (seconds, server time): a scrape waits
       * only so long for the refresh it starts, and a busy machine may take longer.
       */
      const scrapeComputedSince = async (since: number) => {
        const deadline = Date.now() + 15_000;
        for (;;) {
          const metrics = await scrape();
          if (sampleValue(metrics, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels()) >= Math.floor(since) || Date.now() > deadline) return metrics;
          await new Promise((done) => setTimeout(done, 100));
        }
      };
      const apiWindow = async (): Promise<WindowJson> => {
        const { clusters } = (await (await get('/api/v1/backup/recovery/window')).json()) as { clusters: { system_identifier: string; earliest: string; latest: string; latest_segment?: string; timeline: number; gaps: WindowJson['gaps']; base_backups: WindowJson['baseBackups']; segments: number; archived_bytes: number }[] };
        const found = clusters.find((entry) => entry.system_identifier === systemIdentifier)!;
        return { systemIdentifier, earliest: found.earliest, latest: found.latest, timeline: found.timeline, gaps: found.gaps, baseBackups: found.base_backups, segments: found.segments, archivedBytes: found.archived_bytes };
      };

      // The API's window is recorded too: a scrape right after reports it without recomputing.
      const fromApi = await apiWindow();
      expectMetricsOf(await scrape(), fromApi);

      // New WAL, and the record grows old: the next scrape recomputes it and the end moves on.
      await archiveNewSegment();
      ahead += 120_000;
      const before = clock.now().getTime() / 1000;
      const refreshed = await scrapeComputedSince(before);
      expect(sampleValue(refreshed, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels())).toBeGreaterThanOrEqual(Math.floor(before));
      const end = sampleValue(refreshed, 'chrono_backup_pitr_window_end_timestamp_seconds', labels());
      expect(end).toBeGreaterThan(seconds(fromApi.latest!));
      expect(sampleValue(refreshed, 'chrono_backup_pitr_wal_gaps', labels())).toBe(0);

      // A segment between the base backup and the newest one disappears from the archive.
      const victim = recorded.latestSegment!;
      await unlink(join(repo, 'wal', systemIdentifier, victim.slice(0, 8), victim));
      ahead += 120_000;
      const gapped = await scrapeComputedSince(clock.now().getTime() / 1000);
      expect(sampleValue(gapped, 'chrono_backup_pitr_wal_gaps', labels())).toBe(1);
      expect(sampleValue(gapped, 'chrono_backup_pitr_wal_missing_segments', labels())).toBe(1);
      expect(sampleValue(gapped, 'chrono_backup_pitr_window_end_timestamp_seconds', labels())).toBeLessThan(end);
      // The window route says the same: the gap names the segment, and the end is where the metric says.
      const afterGap = await apiWindow();
      expect(afterGap.gaps).toEqual([{ kind: 'missing-segment', from: victim, to: victim, count: 1 }]);
      expect(seconds(afterGap.latest!)).toBe(sampleValue(gapped, 'chrono_backup_pitr_window_end_timestamp_seconds', labels()));
    } finally {
      await server.close(1000);
    }
  }, 40_000);

  it('pitr-status agrees with the metrics; the recovery_point check fails and alerts once the end is older than the RPO, recording what it judged', async () => {
    const gapped = (await pitrStatus())!;
    expect(gapped.gaps).toHaveLength(1);
    expectMetricsOf(await cliMetrics(), gapped);
    // The gap holds the end still: wait until it is more than twice a 1 s RPO old (a failure, not a warning).
    const lagMs = Date.now() - Date.parse(gapped.latest!);
    if (lagMs < 2500) await new Promise((done) => setTimeout(done, 2500 - lagMs));
    const before = Date.now() / 1000;
    const health = await cli(['--json', 'health', '--rpo', '1s'], { BACKUP_ALERT_WEBHOOK_URL: receiver.url, BACKUP_ALERT_WEBHOOK_SECRET: WEBHOOK_SECRET });
    expect(health.code).toBe(1);
    const check = (JSON.parse(health.stdout) as { checks: { name: string; status: string; values: { worstCluster?: string; lagMinutes?: number } }[] }).checks.find((c) => c.name === 'recovery_point')!;
    expect(check).toMatchObject({ status: 'fail', values: { worstCluster: systemIdentifier } });
    const alerts = receiver.received.map((request) => (request.json as { alert: Alert }).alert).filter((alert) => alert.key.startsWith('health:recovery_point:'));
    expect(alerts).toHaveLength(1);
    expect(alerts[0]).toMatchObject({ type: 'overdue_backup', state: 'firing' });
    expect(receiver.badSignatures).toBe(0);
    // The check recorded the window it judged: the record is newer, its end the same stuck one.
    const metrics = await cliMetrics();
    expect(sampleValue(metrics, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels())).toBeGreaterThanOrEqual(Math.floor(before));
    expect(sampleValue(metrics, 'chrono_backup_pitr_window_end_timestamp_seconds', labels())).toBe(seconds(gapped.latest!));
  }, 30_000);

  it('a cluster whose WAL is gone keeps its record with 0 segments, and loses it with its base backups', async () => {
    await cluster!.stop();
    cluster = undefined;
    await rm(join(repo, 'wal', systemIdentifier), { recursive: true, force: true });
    const walless = (await pitrStatus())!;
    expect(walless).toMatchObject({ segments: 0, gaps: [], latest: baseBackup.stopTime });
    let metrics = await cliMetrics();
    expect(sampleValue(metrics, 'chrono_backup_pitr_wal_segments', labels())).toBe(0);
    expect(sampleValue(metrics, 'chrono_backup_pitr_window_end_timestamp_seconds', labels())).toBe(seconds(baseBackup.stopTime));
    expect((await cli(['forget', baseBackup.id])).code).toBe(0);
    expect(await pitrStatus()).toBeUndefined();
    metrics = await cliMetrics();
    expect(findSamples(metrics, 'chrono_backup_pitr_window_computed_timestamp_seconds', labels())).toEqual([]);
  }, 30_000);
});
