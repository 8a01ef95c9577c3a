/**
 * `chrono-backup health` end to end: a fresh installation has nothing verified yet (fail), a backup and
 * a verification make it healthy, a repository whose storage breaks fails the storage check, and the
 * check clears once the storage is back. The thresholds themselves are covered in
 * test/unit/domain/health.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rename, rm, writeFile } from 'node:fs/promises';
import type { HealthReport } from '../../src/app/health-report.js';
import { cleanupAll, createHome, EXIT, expectExit, parseJson, writeRandomFile, type CliHome } from './cli-harness.js';

let home: CliHome;

beforeAll(async () => {
  home = await createHome('health');
  await writeRandomFile(home.path('data', 'a.bin'), 100_000);
}, 30_000);

afterAll(cleanupAll);

const statuses = (report: HealthReport) => Object.fromEntries(report.checks.map((check) => [check.name, check.status]));

describe('chrono-backup health', () => {
  it('fails before anything was verified, and is ok after a backup and a full verify', async () => {
    await home.backup([home.path('data')]);
    const before = parseJson<HealthReport>(expectExit(await home.run(['health', '--json']), EXIT.failure));
    expect(statuses(before)).toMatchObject({ success_rate: 'ok', last_backup_age: 'ok', last_verified_age: 'fail', storage: 'ok' });
    await home.json(['verify', '--level', 'full']);
    const after = await home.json<HealthReport>(['health']);
    expect(after.status).toBe('ok');
    expect(after.checks.find((check) => check.name === 'success_rate')!.values).toMatchObject({ backups: 1, succeeded: 1 });
  }, 60_000);

  it('fails past a quota, and refuses a quota that is not a number', async () => {
    const report = parseJson<HealthReport>(expectExit(await home.run(['health', '--quota', '1', '--json']), EXIT.failure));
    expect(statuses(report).storage_quota).toBe('fail');
    expectExit(await home.run(['health', '--quota', 'lots', '--json']), EXIT.usage);
  }, 30_000);

  it('fails the storage check while the repository storage is broken, and clears after', async () => {
    await rename(home.repo, `${home.repo}.away`);
    await writeFile(home.repo, 'not a directory');
    try {
      const broken = parseJson<HealthReport>(expectExit(await home.run(['health', '--json']), EXIT.failure));
      expect(statuses(broken).storage).toBe('fail');
    } finally {
      await rm(home.repo);
      await rename(`${home.repo}.away`, home.repo);
    }
    expect(statuses(await home.json<HealthReport>(['health'])).storage).toBe('ok');
  }, 30_000);
});
