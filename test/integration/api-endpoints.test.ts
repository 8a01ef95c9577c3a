/**
 * Every endpoint's happy path and bad inputs, through real HTTP against the local server (`npm start`'s
 * code): a backup started by the API and polled to the end, its history and details, a verification,
 * a restore into a new target that comes back byte-identical, storage backends, retention, users, the
 * error format and the limits of the HTTP layer.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { validatePlan } from '../../src/domain/plan.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiTestServer } from '../helpers/api-server.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { PROJECT_ROOT } from './cli-harness.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';

let server: ApiTestServer;
let scratch: string;
let data: string;
let admin: string;
let operator: string;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'chrono-api-endpoints-'));
  data = join(scratch, 'data');
  await mkdir(join(data, 'sub'), { recursive: true });
  await writeFile(join(data, 'small.txt'), 'small file\n');
  await writeRandomFile(join(data, 'sub', 'big.bin'), 3 * 1024 * 1024 + 17, 7);
  server = await ApiTestServer.start();
  const catalog = SqliteCatalog.open(join(server.home, 'catalog.sqlite'));
  await catalog.putPlan(validatePlan('app', { files: { paths: [data] } }));
  await catalog.putPlan(validatePlan('other', { files: { paths: [join(data, 'sub')] } }));
  await catalog.close();
  admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  operator = (await server.tokensByRole(admin)).operator;
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

/** Bad input is a 4xx with the one error body naming the field. */
function expectFieldError(response: { status: number; body: any }, status: number, field: string): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(response.status).toBe(status);
  expect(response.body.error.code).toMatch(/^validation\./);
  expect((response.body.error.fields as { field: string }[]).map((problem) => problem.field)).toContain(field);
}

describe('backups', () => {
  let backupId: string;

  it('runs a manual backup as a job that can be polled to the end, with progress', async () => {
    const started = await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { backup_type: 'full', plan: 'app', verify_integrity: true } });
    expect(started.status).toBe(202);
    expect(started.headers.get('location')).toBe(`/api/v1/backup/jobs/${started.body.job_id}`);
    expect(started.body).toMatchObject({ kind: 'backup', requested_by: expect.stringContaining('operator-'), poll_url: `/api/v1/backup/jobs/${started.body.job_id}` });
    const job = await server.waitForJob(operator, started.body.job_id);
    expect(job).toMatchObject({ status: 'succeeded', run_id: expect.stringMatching(/^backup-/), result: { verification: { ok: true, problems: 0 } } });
    expect(job.progress.phase).toBe('done');
    backupId = job.result.backup_id;
    expect(backupId).toMatch(/^full_\d{8}_\d{6}/);
  });

  it('lists the history newest first, filters it and pages it with a cursor', async () => {
    for (const plan of ['other', 'other']) {
      const started = await server.request('POST', '/api/v1/backup/manual', { token: admin, body: { plan, backup_type: 'incremental' } });
      expect((await server.waitForJob(admin, started.body.job_id)).status).toBe('succeeded');
    }
    const all = await server.request('GET', '/api/v1/backup/history', { token: operator });
    expect(all.status).toBe(200);
    expect(all.body.items.map((item: { plan: string }) => item.plan)).toEqual(['other', 'other', 'app']);
    expect(all.body.items[2]).toMatchObject({ backup_id: backupId, status: 'succeeded', backup_type: 'full', total_bytes: 3 * 1024 * 1024 + 17 + 11 });
    expect(all.body.items[2].dedup_ratio).toBeGreaterThan(0);
    const first = await server.request('GET', '/api/v1/backup/history?limit=2', { token: operator });
    expect(first.body.items).toHaveLength(2);
    const second = await server.request('GET', `/api/v1/backup/history?limit=2&cursor=${first.body.next_cursor}`, { token: operator });
    expect(second.body.items.map((item: { backup_id: string }) => item.backup_id)).toEqual([backupId]);
    expect(second.body.next_cursor).toBeNull();
    const filtered = await server.request('GET', '/api/v1/backup/history?plan=app&type=full&status=succeeded', { token: operator });
    expect(filtered.body.items.map((item: { backup_id: string }) => item.backup_id)).toEqual([backupId]);
    const none = await server.request('GET', `/api/v1/backup/history?until=${encodeURIComponent('2000-01-01T00:00:00Z')}`, { token: operator });
    expect(none.body.items).toEqual([]);
  });

  it('refuses bad history queries by field', async () => {
    expectFieldError(await server.request('GET', '/api/v1/backup/history?limit=0', { token: operator }), 400, 'query.limit');
    expectFieldError(await server.request('GET', '/api/v1/backup/history?limit=abc', { token: operator }), 400, 'query.limit');
    expectFieldError(await server.request('GET', '/api/v1/backup/history?cursor=zzz', { token: operator }), 400, 'query.cursor');
    expectFieldError(await server.request('GET', '/api/v1/backup/history?status=done', { token: operator }), 400, 'query.status');
    expectFieldError(await server.request('GET', '/api/v1/backup/history?since=yesterday', { token: operator }), 400, 'query.since');
    expectFieldError(await server.request('GET', '/api/v1/backup/history?colour=red', { token: operator }), 400, 'query.colour');
  });

  it('shows one backup with its snapshots, sizes and verifications', async () => {
    const details = await server.request('GET', `/api/v1/backup/history/${backupId}`, { token: operator });
    expect(details.status).toBe(200);
    expect(details.body.snapshot_details).toEqual([expect.objectContaining({ id: backupId, source: 'files', paths: [data], stats: expect.objectContaining({ totalBytes: 3 * 1024 * 1024 + 28 }) })]);
    // The manual backup asked for verify_integrity: its read-back is listed.
    expect(details.body.verifications).toEqual([expect.objectContaining({ kind: 'verify', status: 'succeeded', summary: expect.objectContaining({ ok: true }) })]);
    const missing = await server.request('GET', '/api/v1/backup/history/full_19990101_000000', { token: operator });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('not_found');
    expectFieldError(await server.request('GET', '/api/v1/backup/history/..%2F..%2Fetc', { token: operator }), 400, 'path.backup_id');
  });

  it('verifies a backup as a job', async () => {
    const started = await server.request('POST', `/api/v1/backup/history/${backupId}/verify`, { token: operator, body: { level: 'full' } });
    expect(started.status).toBe(202);
    const job = await server.waitForJob(operator, started.body.job_id);
    expect(job).toMatchObject({ status: 'succeeded', result: { ok: true, level: 'full', problems: [] } });
    expectFieldError(await server.request('POST', `/api/v1/backup/history/${backupId}/verify`, { token: operator, body: { level: 'everything' } }), 400, 'body.level');
    expect((await server.request('POST', '/api/v1/backup/history/full_19990101_000000/verify', { token: operator, body: {} })).status).toBe(404);
  });

  it('refuses bad manual backups by field', async () => {
    expectFieldError(await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { backup_type: 'weekly', plan: 'app' } }), 400, 'body.backup_type');
    expectFieldError(await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { plan: 'app', encrypt_backup: false } }), 400, 'body.encrypt_backup');
    expectFieldError(await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { plan: 'app', storage_backend_id: -1 } }), 400, 'body.storage_backend_id');
    expectFieldError(await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { plan: 'app', paths: ['/etc'] } }), 400, 'body.paths');
    // Two plans exist: which one must be said.
    expectFieldError(await server.request('POST', '/api/v1/backup/manual', { token: operator, body: {} }), 400, 'body.plan');
    expect((await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { plan: 'nope' } })).status).toBe(404);
    expect((await server.request('POST', '/api/v1/backup/manual', { token: operator, body: { plan: 'app', storage_backend_id: 999 } })).status).toBe(404);
  });

  it('restores a backup into a new directory byte-identical, validated, and lists it in the recovery history', async () => {
    const target = join(scratch, 'restored');
    const started = await server.request('POST', '/api/v1/backup/recovery', {
      token: operator,
      body: { recovery_type: 'full_restore', backup_id: backupId, target_directory: target, validate_after_restore: true },
    });
    expect(started.status).toBe(202);
    const job = await server.waitForJob(operator, started.body.job_id);
    expect(job).toMatchObject({ status: 'succeeded', result: { validation: { ok: true } } });
    // Node sets times to the microsecond; this tree was written with the kernel's nanoseconds.
    await assertTreesEqual(data, join(target, 'data'), { mtimeToleranceNs: 999n });
    const history = await server.request('GET', '/api/v1/backup/recovery/history', { token: operator });
    expect(history.body.items[0]).toMatchObject({ kind: 'restore', status: 'succeeded' });
    // A restore of chosen paths has no snapshot size to compare with: the validation says so instead of failing.
    const partial = await server.request('POST', '/api/v1/backup/recovery', {
      token: operator,
      body: { recovery_type: 'files_only', backup_id: backupId, target_directory: join(scratch, 'partial'), include: [join(data, 'small.txt')], validate_after_restore: true },
    });
    const partialJob = await server.waitForJob(operator, partial.body.job_id);
    expect(partialJob).toMatchObject({ status: 'succeeded', result: { files: 1, validation: { ok: true, skipped: expect.stringContaining('chosen paths'), checks: [] } } });
    // The same target again is not new any more: an operator cannot overwrite it.
    const again = await server.request('POST', '/api/v1/backup/recovery', { token: operator, body: { recovery_type: 'files_only', backup_id: backupId, target_directory: target } });
    expect((await server.waitForJob(operator, again.body.job_id)).status).toBe('failed');
  });

  it('refuses bad recovery requests by field', async () => {
    const base = { recovery_type: 'files_only', backup_id: 'full_20240101_000000' };
    expectFieldError(await server.request('POST', '/api/v1/backup/recovery', { token: admin, body: { ...base, target_directory: 'relative/dir' } }), 400, 'body.target_directory');
    expectFieldError(await server.request('POST', '/api/v1/backup/recovery', { token: admin, body: base }), 400, 'body.target_directory');
    expectFieldError(await server.request('POST', '/api/v1/backup/recovery', { token: admin, body: { ...base, recovery_type: 'everything', target_directory: '/tmp/x' } }), 400, 'body.recovery_type');
    expectFieldError(await server.request('POST', '/api/v1/backup/recovery', { token: admin, body: { ...base, target_postgres: 'postgres://u:secret@host/db' } }), 400, 'body.target_postgres');
  });
});

describe('storage backends, retention and cleanup', () => {
  it('adds, lists, tests and removes a backend, never returning a secret', async () => {
    const dir = join(scratch, 'nas');
    const created = await server.request('POST', '/api/v1/backup/storage-backends', { token: admin, body: { name: 'nas', backend_type: 'local', config_data: { base_path: dir } } });
    expect(created.status).toBe(201);
    const s3 = await server.request('POST', '/api/v1/backup/storage-backends', {
      token: admin,
      body: { name: 's3', backend_type: 'aws_s3', config_data: { bucket_name: 'backups', region: 'us-east-1', access_key_id: 'env:AWS_ACCESS_KEY_ID', secret_access_key: 'env:AWS_SECRET_ACCESS_KEY' } },
    });
    expect(s3.status).toBe(201);
    const listed = await server.request('GET', '/api/v1/backup/storage-backends', { token: operator });
    expect(listed.body.items.map((backend: { name: string }) => backend.name)).toEqual(['nas', 's3']);
    expect(listed.body.items[1].config_data).toEqual({ bucket_name: 'backups', region: 'us-east-1', access_key_id: 'env:AWS_ACCESS_KEY_ID', secret_access_key: 'env:AWS_SECRET_ACCESS_KEY' });
    const tested = await server.request('POST', `/api/v1/backup/storage-backends/${created.body.id}/test`, { token: admin });
    expect(tested.status).toBe(200);
    expect(tested.body).toMatchObject({ ok: true, sizeBytes: 1024 * 1024 });
    expect(tested.body.steps.map((step: { step: string; status: string }) => `${step.step}:${step.status}`)).toEqual(['write:ok', 'read:ok', 'list:ok', 'delete:ok']);
    expect((await server.request('DELETE', `/api/v1/backup/storage-backends/${created.body.id}`, { token: admin })).status).toBe(204);
    expect((await server.request('DELETE', `/api/v1/backup/storage-backends/${created.body.id}`, { token: admin })).status).toBe(404);
    expectFieldError(await server.request('DELETE', '/api/v1/backup/storage-backends/nas', { token: admin }), 400, 'path.id');
    expect((await server.request('POST', `/api/v1/backup/storage-backends/${created.body.id}/test`, { token: admin })).status).toBe(404);
  });

  it('refuses bad backends by field, and plain secrets', async () => {
    expectFieldError(await server.request('POST', '/api/v1/backup/storage-backends', { token: admin, body: { name: 'x', backend_type: 'tape', config_data: {} } }), 400, 'body.backend_type');
    expectFieldError(await server.request('POST', '/api/v1/backup/storage-backends', { token: admin, body: { name: '', backend_type: 'local', config_data: { base_path: '/x' } } }), 400, 'body.name');
    const secret = await server.request('POST', '/api/v1/backup/storage-backends', {
      token: admin,
      body: { name: 'leaky', backend_type: 'aws_s3', config_data: { bucket_name: 'backups', region: 'us-east-1', secret_access_key: 'plain-text-secret' } },
    });
    expect(secret.status).toBe(400);
    expect(secret.text).not.toContain('plain-text-secret');
    const taken = await server.request('POST', '/api/v1/backup/storage-backends', { token: admin, body: { name: 's3', backend_type: 'local', config_data: { base_path: '/x' } } });
    expect(taken.status).toBe(409);
  });

  it('stores retention policies and runs cleanup as a dry run unless confirmed', async () => {
    const policy = await server.request('POST', '/api/v1/backup/retention-policies', { token: admin, body: { name: 'Standard Retention', retention_days: 30, keep_daily_for_days: 7, min_backups_to_keep: 3 } });
    expect(policy.status).toBe(201);
    expect((await server.request('GET', '/api/v1/backup/retention-policies', { token: operator })).body.items).toEqual([expect.objectContaining({ name: 'Standard Retention', retention_days: 30 })]);
    expectFieldError(await server.request('POST', '/api/v1/backup/retention-policies', { token: admin, body: { name: 'bad', keep_daily_for_days: -1 } }), 400, 'body.keep_daily_for_days');
    expect((await server.request('POST', '/api/v1/backup/retention-policies', { token: admin, body: { name: 'nothing' } })).status).toBe(400);
    await server.waitForIdle(admin);
    const dryRun = await server.request('POST', '/api/v1/backup/cleanup', { token: operator, body: { rules: { keep_last: 1 } } });
    expect(dryRun.status).toBe(200);
    expect(dryRun.body.dry_run).toBe(true);
    expect(dryRun.body.keep).toHaveLength(1);
    expect(dryRun.body.remove.length).toBeGreaterThanOrEqual(2);
    const confirmed = await server.request('POST', '/api/v1/backup/cleanup', { token: admin, body: { rules: { keep_last: 1 }, confirm: true } });
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.remove.map((entry: { id: string }) => entry.id)).toEqual(dryRun.body.remove.map((entry: { id: string }) => entry.id));
    const kept = await server.request('POST', '/api/v1/backup/cleanup', { token: operator, body: { policy: 'Standard Retention' } });
    expect(kept.body.remove).toEqual([]);
    expectFieldError(await server.request('POST', '/api/v1/backup/cleanup', { token: admin, body: {} }), 400, 'body.policy');
    expect((await server.request('POST', '/api/v1/backup/cleanup', { token: admin, body: { policy: 'unknown' } })).status).toBe(404);
  });
});

describe('health, statistics, users and the HTTP layer', () => {
  it('reports health and statistics with their numbers', async () => {
    const health = await server.request('GET', '/api/v1/backup/health', { token: operator });
    expect(health.status).toBe(200);
    expect(health.body.checks.map((check: { name: string }) => check.name)).toEqual(expect.arrayContaining(['success_rate', 'storage', 'last_backup_age']));
    const statistics = await server.request('GET', '/api/v1/backup/statistics?days=1', { token: operator });
    expect(statistics.body).toMatchObject({ window_days: 1, backups: { succeeded: 3, failed: 0 }, success_rate: 1 });
    expectFieldError(await server.request('GET', '/api/v1/backup/statistics?days=0', { token: operator }), 400, 'query.days');
  });

  it('manages users: no hashes shown, weak passwords and duplicates refused, the last admin kept', async () => {
    const created = await server.request('POST', '/api/v1/users', { token: admin, body: { email: 'New.Person@Example.com', role: 'viewer', password: 'twelve chars!' } });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({ id: expect.stringMatching(/^user-/), email: 'new.person@example.com', role: 'viewer', created_at: expect.any(String), updated_at: expect.any(String) });
    const listed = await server.request('GET', '/api/v1/users', { token: admin });
    expect(listed.text).not.toMatch(/scrypt|password/i);
    expectFieldError(await server.request('POST', '/api/v1/users', { token: admin, body: { email: 'weak@example.com', role: 'viewer', password: 'short' } }), 400, 'password');
    expectFieldError(await server.request('POST', '/api/v1/users', { token: admin, body: { email: 'x@example.com', role: 'root', password: 'long enough password' } }), 400, 'body.role');
    expect((await server.request('POST', '/api/v1/users', { token: admin, body: { email: 'new.person@example.com', role: 'admin', password: 'long enough password' } })).status).toBe(409);
    const me = await server.request('GET', '/api/v1/auth/me', { token: admin });
    const demote = await server.request('PUT', `/api/v1/users/${me.body.id}`, { token: admin, body: { role: 'viewer' } });
    expect(demote.status).toBe(409);
    expect(demote.body.error.code).toBe('conflict.last_admin');
    expectFieldError(await server.request('PUT', `/api/v1/users/${created.body.id}`, { token: admin, body: {} }), 400, 'body.email');
    expect((await server.request('PUT', `/api/v1/users/${created.body.id}`, { token: admin, body: { password: 'a new long password' } })).status).toBe(200);
    expectFieldError(await server.request('DELETE', '/api/v1/users/not-a-user-id', { token: admin }), 400, 'path.id');
    expect((await server.request('DELETE', '/api/v1/users/user-0000000000000000', { token: admin })).status).toBe(404);
    const lastAdmin = await server.request('DELETE', `/api/v1/users/${me.body.id}`, { token: admin });
    expect([lastAdmin.status, lastAdmin.body.error.code]).toEqual([409, 'conflict.last_admin']);
    expect(await server.login('new.person@example.com', 'a new long password')).toEqual(expect.any(String));
  });

  it('rate limits failed logins per account and says when to retry', async () => {
    for (let attempt = 0; attempt < 5; attempt++) {
      expect((await server.request('POST', '/api/v1/auth/login', { body: { email: 'victim@example.com', password: `guess ${attempt}` } })).status).toBe(401);
    }
    const limited = await server.request('POST', '/api/v1/auth/login', { body: { email: 'victim@example.com', password: 'guess 6' } });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expectFieldError(await server.request('POST', '/api/v1/auth/login', { body: { email: 'a@b.c' } }), 400, 'body.password');
  });

  it('answers unknown routes, wrong methods, malformed and oversized bodies with 4xx in the one error format', async () => {
    const unknown = await server.request('GET', '/api/v1/nothing-here', { token: admin });
    expect(unknown.status).toBe(404);
    expect(unknown.body.error.code).toBe('not_found');
    const method = await server.request('DELETE', '/api/v1/backup/history', { token: admin });
    expect(method.status).toBe(405);
    expect(method.headers.get('allow')).toBe('GET');
    expectFieldError(await server.request('POST', '/api/v1/users', { token: admin, rawBody: '{"email":', headers: { 'content-type': 'application/json' } }), 400, 'body');
    expect((await server.request('POST', '/api/v1/users', { token: admin, rawBody: 'email=a', headers: { 'content-type': 'application/x-www-form-urlencoded' } })).status).toBe(415);
    const big = await server.request('POST', '/api/v1/users', { token: admin, rawBody: JSON.stringify({ email: 'x'.repeat(2 * 1024 * 1024) }), headers: { 'content-type': 'application/json' } });
    expect(big.status).toBe(413);
    expectFieldError(await server.request('POST', '/api/v1/users', { token: admin, rawBody: '[1,2]', headers: { 'content-type': 'application/json' } }), 400, 'body');
  });

  it('documents every route in OpenAPI with the schemas it validates with', async () => {
    const document = (await server.request('GET', '/api/v1/openapi.json')).body;
    expect(document.openapi).toBe('3.1.0');
    const manual = document.paths['/api/v1/backup/manual'].post;
    expect(manual.requestBody.content['application/json'].schema.properties.backup_type.enum).toContain('database_only');
    expect(manual['x-permission']).toBe('backups.run');
    // docs/API.md names every documented route.
    const reference = await readFile(join(PROJECT_ROOT, 'docs', 'API.md'), 'utf8');
    const routes = Object.entries(document.paths as Record<string, Record<string, unknown>>).flatMap(([path, operations]) => Object.keys(operations).map((method) => `\`${method.toUpperCase()} ${path}\``));
    expect(routes.filter((route) => !reference.includes(route))).toEqual([]);
    expect(document.paths['/api/v1/backup/history'].get.parameters.map((parameter: { name: string }) => parameter.name)).toEqual(expect.arrayContaining(['limit', 'cursor', 'status', 'plan']));
  });

  it('logs requests without tokens or passwords', () => {
    const log = server.logLines.join('\n');
    expect(log).toContain('"message":"request"');
    expect(log).not.toContain(ADMIN_PASSWORD);
    expect(log).not.toMatch(/eyJ[A-Za-z0-9_-]{10,}/);
  });
});
