import { describe, expect, it } from '@jest/globals';
import { DEFAULT_HEALTH_THRESHOLDS, lastSuccessAge, overall, performance, recoveryPoint, storageQuota, successRate, type RunFacts } from '../../../src/domain/health.js';

const now = new Date('2026-11-28T12:00:00Z');
const hoursAgo = (hours: number) => new Date(now.getTime() - hours * 3_600_000).toISOString();
const backup = (hoursBack: number, status: RunFacts['status'] = 'succeeded', seconds = 60, plan = 'shop'): RunFacts => ({
  kind: 'backup',
  status,
  startedAt: hoursAgo(hoursBack),
  finishedAt: new Date(Date.parse(hoursAgo(hoursBack)) + seconds * 1000).toISOString(),
  plan,
});

describe('success rate', () => {
  it.each([
    ['all succeeded', [backup(1), backup(25), backup(49)], 'ok'],
    ['2 of 3 (67%, under 90% but over 45%)', [backup(1), backup(25, 'failed'), backup(49)], 'warn'],
    ['1 of 3 (33%)', [backup(1, 'failed'), backup(25, 'failed'), backup(49)], 'fail'],
    ['failures older than the window do not count', [backup(1), backup(200, 'failed'), backup(300, 'failed')], 'ok'],
    ['no backup in the window', [backup(200)], 'warn'],
  ])('%s → %s', (_name, runs, status) => {
    expect(successRate(runs as RunFacts[], now, DEFAULT_HEALTH_THRESHOLDS).status).toBe(status);
  });

  it('carries the numbers behind the verdict', () => {
    expect(successRate([backup(1), backup(2, 'failed')], now, DEFAULT_HEALTH_THRESHOLDS).values).toMatchObject({ backups: 2, succeeded: 1, rate: 0.5 });
  });
});

describe('age of the last success', () => {
  it.each([
    [2, 'ok'],
    [30, 'warn'],
    [60, 'fail'],
  ])('a last backup %i h ago is %s with a 26 h limit', (hours, status) => {
    expect(lastSuccessAge('last_backup_age', 'backup', [backup(hours), backup(hours + 1, 'failed')].reverse(), now, 26).status).toBe(status);
  });

  it('fails when nothing ever succeeded, and turns ok again once a run succeeds', () => {
    const failedOnly = [{ ...backup(1, 'failed'), kind: 'verify' }];
    expect(lastSuccessAge('last_verified_age', 'verify', failedOnly, now, 168).status).toBe('fail');
    expect(lastSuccessAge('last_verified_age', 'verify', [...failedOnly, { ...backup(0.5), kind: 'verify' }], now, 168).status).toBe('ok');
  });
});

describe('performance', () => {
  const history = [backup(96, 'succeeded', 60), backup(72, 'succeeded', 62), backup(48, 'succeeded', 58), backup(24, 'succeeded', 61)];

  it('warns when the last backup took more than 1.5× the median of its plan, and clears when it is back to normal', () => {
    const slowed = performance([...history, backup(1, 'succeeded', 100)], DEFAULT_HEALTH_THRESHOLDS);
    expect(slowed.status).toBe('warn');
    expect(slowed.values).toMatchObject({ seconds: 100, medianSeconds: 61 });
    expect(performance([...history, backup(1, 'succeeded', 100), backup(0.5, 'succeeded', 63)], DEFAULT_HEALTH_THRESHOLDS).status).toBe('ok');
  });

  it('compares only within the plan, and needs three earlier backups', () => {
    expect(performance([...history.map((run) => ({ ...run, plan: 'other' })), backup(1, 'succeeded', 100)], DEFAULT_HEALTH_THRESHOLDS).status).toBe('ok');
    expect(performance([backup(48), backup(24), backup(1, 'succeeded', 500)], DEFAULT_HEALTH_THRESHOLDS).values).toEqual({ compared: 2 });
  });
});

describe('storage quota and overall status', () => {
  it.each([
    [50, 'ok'],
    [90, 'warn'],
    [99, 'fail'],
  ])('%i%% of the quota is %s', (percent, status) => {
    expect(storageQuota(percent, 100).status).toBe(status);
  });

  it('no quota is ok; the overall status is the worst check', () => {
    expect(storageQuota(10 ** 12, undefined).status).toBe('ok');
    const check = (status: 'ok' | 'warn' | 'fail') => ({ name: 'storage' as const, status, message: '', values: {} });
    expect(overall([check('ok'), check('warn')])).toBe('warn');
    expect(overall([check('warn'), check('fail')])).toBe('fail');
    expect(overall([check('ok')])).toBe('ok');
  });
});

describe('recovery_point', () => {
  const now = new Date('2026-01-01T12:00:00Z');
  it('is ok within the RPO, warns past it, fails past twice it or without a restorable window', () => {
    expect(recoveryPoint([], now, 15).status).toBe('ok');
    expect(recoveryPoint([{ systemIdentifier: 'a', latest: '2026-01-01T11:50:00Z' }], now, 15)).toMatchObject({ status: 'ok', values: { lagMinutes: 10 } });
    expect(recoveryPoint([{ systemIdentifier: 'a', latest: '2026-01-01T11:50:00Z' }, { systemIdentifier: 'b', latest: '2026-01-01T11:40:00Z' }], now, 15)).toMatchObject({ status: 'warn', values: { worstCluster: 'b', lagMinutes: 20 } });
    expect(recoveryPoint([{ systemIdentifier: 'a', latest: '2026-01-01T11:00:00Z' }], now, 15).status).toBe('fail');
    expect(recoveryPoint([{ systemIdentifier: 'a' }], now, 15)).toMatchObject({ status: 'fail', values: { lagMinutes: null } });
  });
});
