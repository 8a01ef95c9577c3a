/**
 * `chrono-backup storage test`: the use case against a local folder and the S3 emulator, its failure
 * reports, and the real CLI (needs `npm run build`).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CANARY_PREFIX, testStorage, type StorageTestResult } from '../../src/app/test-storage.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { openStorage } from '../../src/storage/open-storage.js';
import { startS3Emulator, type S3EmulatorHandle } from '../harness/s3-emulator.js';
import { cleanupAll, createHome, EXIT, expectExit, makeTempDir, parseJson } from './cli-harness.js';

const BUCKET = 'chrono-storage-test';
let s3: S3EmulatorHandle;
let dir: string;

beforeAll(async () => {
  s3 = await startS3Emulator();
  await s3.createBucket(BUCKET);
  dir = await makeTempDir('storage-test');
});

afterAll(async () => {
  await cleanupAll();
  await s3?.stop();
});

const s3Env = () => ({ AWS_ENDPOINT_URL_S3: s3.endpoint, AWS_REGION: s3.region, AWS_ACCESS_KEY_ID: s3.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: s3.credentials.secretAccessKey });

function expectAllStepsOk(result: StorageTestResult, size: number): void {
  expect(result.ok).toBe(true);
  expect(result.steps.map((step) => [step.step, step.status])).toEqual([['write', 'ok'], ['read', 'ok'], ['list', 'ok'], ['delete', 'ok']]);
  for (const step of result.steps) expect(step.latencyMs).toBeGreaterThanOrEqual(0);
  expect(result.steps[0]).toMatchObject({ bytes: size });
  expect(result.steps[1]).toMatchObject({ bytes: size });
  expect(result.steps[0]!.bytesPerSecond).toBeGreaterThan(0);
  expect(result.canary.startsWith(CANARY_PREFIX)).toBe(true);
}

describe('testStorage', () => {
  it('writes, reads back, lists and deletes a canary in a local folder, leaving nothing behind', async () => {
    const root = join(dir, 'local');
    const result = await testStorage({ storage: new LocalObjectStorage(root) }, { sizeBytes: 2 * 1024 * 1024 });
    expectAllStepsOk(result, 2 * 1024 * 1024);
    expect(result.location).toBe(root);
    expect(await readdir(root)).toEqual([]);
  });

  it('does the same through the S3 emulator', async () => {
    const storage = await openStorage(`s3://${BUCKET}/canaries`, { env: s3Env() });
    try {
      const result = await testStorage({ storage }, { sizeBytes: 6 * 1024 * 1024 });
      expectAllStepsOk(result, 6 * 1024 * 1024);
      const left: string[] = [];
      for await (const item of storage.list('')) left.push(item.key);
      expect(left).toEqual([]);
    } finally {
      await storage.close();
    }
  });

  it('removes canaries older than an hour that an interrupted test left behind, and no others', async () => {
    const root = join(dir, 'stale');
    const storage = new LocalObjectStorage(root);
    await storage.put(`${CANARY_PREFIX}old`, Buffer.from('x'));
    await storage.put(`${CANARY_PREFIX}recent`, Buffer.from('y'));
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(join(root, `${CANARY_PREFIX}old`), twoHoursAgo, twoHoursAgo);
    const result = await testStorage({ storage }, { sizeBytes: 1024 });
    expect(result.ok).toBe(true);
    expect(result.staleCanariesRemoved).toBe(1);
    expect(await readdir(root)).toEqual([`${CANARY_PREFIX}recent`]);
  });

  it('reports a write the storage refuses, with the StorageError message, and skips what depends on it', async () => {
    // A file where the folder should be: no put can succeed there (a permission would not stop root).
    const root = join(dir, 'not-a-folder');
    await writeFile(root, 'x');
    const result = await testStorage({ storage: new LocalObjectStorage(root) }, { sizeBytes: 1024 });
    expect(result.ok).toBe(false);
    expect(result.steps.map((step) => step.status)).toEqual(['failed', 'skipped', 'skipped', 'skipped']);
    expect(result.steps[0]!.error).toEqual({ code: 'storage.key_conflict', message: `object ${result.canary} conflicts with an existing object or prefix` });
  });
});

describe('chrono-backup storage test', () => {
  it('tests the repository by default and any locations given, as JSON', async () => {
    const home = await createHome('storage-test-cli', { CHRONO_BACKUP_PASSPHRASE: 'cli passphrase', ...s3Env() });
    const other = join(dir, 'cli-other');
    const run = expectExit(await home.run(['storage', 'test', '--size', '1', '--json']), EXIT.ok);
    const [result] = parseJson<StorageTestResult[]>(run);
    expect(result).toMatchObject({ location: home.repo, ok: true, sizeBytes: 1024 * 1024 });

    const both = parseJson<StorageTestResult[]>(expectExit(await home.run(['storage', 'test', other, `s3://${BUCKET}/cli`, '--size', '0.5', '--json']), EXIT.ok));
    expect(both.map((r) => [r.ok, r.steps.every((step) => step.status === 'ok')])).toEqual([[true, true], [true, true]]);
    expect(both[1]!.location).toContain(`s3://${BUCKET}/cli`);
    expect(JSON.stringify(both)).not.toContain(s3.credentials.secretAccessKey);
  });

  it('exits 8 and prints each failed step when a location fails, after testing the others', async () => {
    const home = await createHome('storage-test-fail', { CHRONO_BACKUP_PASSPHRASE: 'cli passphrase', ...s3Env() });
    const run = expectExit(await home.run(['storage', 'test', 's3://no-such-bucket/x', join(dir, 'cli-fine'), '--size', '0.1']), EXIT.storage);
    expect(run.stdout).toMatch(/storage test of s3:\/\/no-such-bucket\/x.*: FAILED/);
    expect(run.stdout).toMatch(/write\s+failed\s+[\d.]+ ms\s+.*no-such-bucket.*\[storage\.bucket_not_found\]/);
    expect(run.stdout).toMatch(/read\s+skipped/);
    expect(run.stdout).toMatch(/storage test of .*cli-fine \(102\.4 KiB canary\): ok/);
    expect(run.stdout).toMatch(/read\s+ok\s+[\d.]+ ms\s+.*Mbit\/s\) down/);
    expect(run.stdout + run.stderr).not.toContain(s3.credentials.secretAccessKey);
  });

  it('refuses a malformed location or size as a usage error before testing anything', async () => {
    const home = await createHome('storage-test-usage', { CHRONO_BACKUP_PASSPHRASE: 'cli passphrase' });
    const bad = expectExit(await home.run(['storage', 'test', join(dir, 'never-created'), 's3://Bad_Bucket/x']), EXIT.usage);
    expect(bad.stderr).toContain('location');
    expectExit(await home.run(['storage', 'test', '--size', '0']), EXIT.usage);
    expect(await readdir(dir)).not.toContain('never-created');
  });
});
