/**
 * Alerts raised by the CLI's own outcomes, through a local webhook receiver that checks the signature:
 * a failed backup, and the health checks that fail. A broken alert configuration never fails the
 * command that would have raised the alert.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { Alert } from '../../src/ports/alert-channel.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/alert-receivers.js';
import { cleanupAll, createHome, EXIT, expectExit, writeRandomFile, type CliHome } from './cli-harness.js';

const SECRET = 'a-webhook-secret-of-some-length';
let home: CliHome;
let receiver: HttpReceiver;

beforeAll(async () => {
  receiver = await startHttpReceiver({ secret: SECRET });
  home = await createHome('alerting', { BACKUP_ALERT_WEBHOOK_URL: receiver.url, BACKUP_ALERT_WEBHOOK_SECRET: SECRET });
  await writeRandomFile(home.path('data', 'a.bin'), 50_000);
}, 30_000);

afterAll(async () => {
  await receiver?.stop();
  await cleanupAll();
});

/** Runs `health` while the repository's folder is a file (the storage check fails), then puts it back. */
async function healthWithBrokenStorage(): Promise<void> {
  await rename(home.repo, `${home.repo}.away`);
  await writeFile(home.repo, 'not a directory');
  try {
    expectExit(await home.run(['health', '--json']), EXIT.failure);
  } finally {
    await rm(home.repo);
    await rename(`${home.repo}.away`, home.repo);
  }
}

const alerts = () => receiver.received.map((request) => (request.json as { alert: Alert }).alert);

describe('alerts from commands', () => {
  it('a backup whose only source fails raises backup_failed, naming the source but no secret', async () => {
    expectExit(await home.run(['backup', '--postgres', 'postgres://backup@127.0.0.1:1/app', '--json'], { env: { PGPASSWORD: 'pg-secret-value' } }), 10);
    const failed = alerts().filter((alert) => alert.type === 'backup_failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]!.severity).toBe('critical');
    expect(JSON.stringify(failed[0])).toContain('postgres://backup@127.0.0.1:1/app');
    expect(receiver.received.map((request) => request.body).join('')).not.toContain('pg-secret-value');
    expect(receiver.badSignatures).toBe(0);
  }, 30_000);

  it('health raises an alert for each check that is not ok', async () => {
    await home.backup([home.path('data')]);
    await healthWithBrokenStorage();
    const types = alerts().map((alert) => alert.type);
    expect(types).toEqual(expect.arrayContaining(['storage_issue', 'verification_failed']));
    expect(alerts().find((alert) => alert.type === 'storage_issue')!.key).toContain('health:storage:');
  }, 30_000);

  it('the open conditions persist across runs: a repeat is throttled, and a cleared check sends one recovery', async () => {
    const storageAlerts = () => alerts().filter((alert) => alert.key.startsWith('health:storage:'));
    const firing = storageAlerts().length;
    // The previous test left the storage check firing; the same failure again within the hour is throttled.
    await healthWithBrokenStorage();
    expect(storageAlerts()).toHaveLength(firing);
    // Storage is back: the next run sends the recovery, once.
    await home.run(['health', '--json']);
    await home.run(['health', '--json']);
    const after = storageAlerts();
    expect(after.map((alert) => alert.state)).toEqual([...Array(firing).fill('firing'), 'resolved']);
    expect(after.at(-1)!.suppressedCount).toBe(1);
  }, 60_000);

  it('a broken alert configuration does not fail the backup', async () => {
    const before = receiver.received.length;
    const result = await home.run(['backup', home.path('data'), '--postgres', 'postgres://backup@127.0.0.1:1/app', '--json'], { env: { BACKUP_ALERT_WEBHOOK_SECRET: 'short' } });
    expectExit(result, EXIT.partial);
    expect(result.stderr).toContain('alerts are misconfigured');
    expect(receiver.received.length).toBe(before);
  }, 30_000);
});
