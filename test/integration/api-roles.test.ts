/**
 * The role × route matrix: every route of the API (read from its own OpenAPI document, so a new route
 * without an expectation fails here) called by each role, without a token, with an expired token, a
 * token signed with another key, an `alg: none` token and garbage. Exactly the allowed calls succeed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT } from 'jose';

import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { validatePlan } from '../../src/domain/plan.js';
import { freePort } from '../harness/child-process.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiTestServer } from '../helpers/api-server.js';

type Caller = 'admin' | 'operator' | 'viewer' | 'auditor' | 'no token' | 'expired token' | 'other key' | 'alg none' | 'garbage';
const ROLES = ['admin', 'operator', 'viewer', 'auditor'] as const;
const ALL = ROLES;
const READERS = ['admin', 'operator', 'viewer'] as const;
const EVIDENCE = ['admin', 'operator', 'viewer', 'auditor'] as const;
const RUNNERS = ['admin', 'operator'] as const;
const ADMIN = ['admin'] as const;
const AUDIT = ['admin', 'auditor'] as const;

/** Who may call each route, written from the role definitions of the issue, not from the code. */
const EXPECTED: Record<string, readonly string[] | 'public'> = {
  'POST /api/v1/auth/login': 'public',
  'GET /api/v1/auth/me': ALL,
  'POST /api/v1/backup/manual': RUNNERS,
  'GET /api/v1/backup/history': EVIDENCE,
  'GET /api/v1/backup/history/{backup_id}': EVIDENCE,
  'POST /api/v1/backup/history/{backup_id}/verify': RUNNERS,
  'GET /api/v1/backup/jobs': EVIDENCE,
  'GET /api/v1/backup/jobs/{job_id}': EVIDENCE,
  'POST /api/v1/backup/recovery': RUNNERS,
  'POST /api/v1/backup/recovery/managed': RUNNERS,
  'GET /api/v1/backup/recovery/history': EVIDENCE,
  'GET /api/v1/backup/recovery/window': EVIDENCE,
  'GET /api/v1/backup/storage-backends': READERS,
  'POST /api/v1/backup/storage-backends': ADMIN,
  'DELETE /api/v1/backup/storage-backends/{id}': ADMIN,
  'POST /api/v1/backup/storage-backends/{id}/test': ADMIN,
  'GET /api/v1/backup/retention-policies': READERS,
  'POST /api/v1/backup/retention-policies': ADMIN,
  'POST /api/v1/backup/cleanup': READERS,
  'GET /api/v1/backup/health': EVIDENCE,
  'GET /api/v1/backup/statistics': EVIDENCE,
  'GET /api/v1/users': ADMIN,
  'POST /api/v1/users': ADMIN,
  'PUT /api/v1/users/{id}': ADMIN,
  'DELETE /api/v1/users/{id}': ADMIN,
  'GET /api/v1/backup/schedules': READERS,
  'GET /api/v1/backup/schedules/preview': READERS,
  'POST /api/v1/backup/schedules': ADMIN,
  'PUT /api/v1/backup/schedules/{id}': ADMIN,
  'DELETE /api/v1/backup/schedules/{id}': ADMIN,
  'GET /api/v1/backup/audit': AUDIT,
  'GET /api/v1/backup/audit/entries': AUDIT,
  'GET /api/v1/backup/audit/verify': AUDIT,
  'GET /api/v1/openapi.json': 'public',
  'GET /metrics': READERS,
  'GET /healthz': 'public',
};

interface Call {
  path: string;
  body?: unknown;
}

let server: ApiTestServer;
let tokens: Record<Caller, string | undefined>;
let scratch: string;
let backupId: string;
let jobId: string;
let adminToken: string;

async function adminCall(method: string, path: string, body?: unknown) {
  const response = await server.request(method, path, { token: adminToken, ...(body !== undefined ? { body } : {}) });
  if (response.status >= 300) throw new Error(`${method} ${path} as admin: ${response.status} ${response.text}`);
  return response.body;
}

async function newBackend(): Promise<number> {
  const dir = await mkdtemp(join(scratch, 'backend-'));
  return (await adminCall('POST', '/api/v1/backup/storage-backends', { name: `nas-${randomBytes(4).toString('hex')}`, backend_type: 'local', config_data: { base_path: dir } })).id as number;
}

async function newUser(): Promise<string> {
  return (await adminCall('POST', '/api/v1/users', { email: `u-${randomBytes(4).toString('hex')}@example.com`, role: 'viewer', password: 'another password 1' })).id as string;
}

async function newSchedule(): Promise<string> {
  return (await adminCall('POST', '/api/v1/backup/schedules', { name: `sched-${randomBytes(4).toString('hex')}`, plan: 'app', cron_expression: '30 3 * * *' })).id as string;
}

/** A request that succeeds for a caller who is allowed, per route. Mutating fixtures make fresh objects. */
const FIXTURES: Record<string, () => Promise<Call>> = {
  'POST /api/v1/auth/login': async () => ({ path: '/api/v1/auth/login', body: { email: ADMIN_EMAIL, password: ADMIN_PASSWORD } }),
  'GET /api/v1/auth/me': async () => ({ path: '/api/v1/auth/me' }),
  'POST /api/v1/backup/manual': async () => ({ path: '/api/v1/backup/manual', body: { backup_type: 'full', plan: 'app' } }),
  'GET /api/v1/backup/history': async () => ({ path: '/api/v1/backup/history?limit=5' }),
  'GET /api/v1/backup/history/{backup_id}': async () => ({ path: `/api/v1/backup/history/${backupId}` }),
  'POST /api/v1/backup/history/{backup_id}/verify': async () => ({ path: `/api/v1/backup/history/${backupId}/verify`, body: { level: 'structure' } }),
  'GET /api/v1/backup/jobs': async () => ({ path: '/api/v1/backup/jobs' }),
  'GET /api/v1/backup/jobs/{job_id}': async () => ({ path: `/api/v1/backup/jobs/${jobId}` }),
  'POST /api/v1/backup/recovery': async () => ({
    path: '/api/v1/backup/recovery',
    body: { recovery_type: 'files_only', backup_id: backupId, target_directory: join(scratch, `restore-${randomBytes(4).toString('hex')}`) },
  }),
  'POST /api/v1/backup/recovery/managed': async () => ({
    path: '/api/v1/backup/recovery/managed',
    body: { source_instance: 'orders', target_identifier: `orders-${randomBytes(4).toString('hex')}`, latest: true },
  }),
  'GET /api/v1/backup/recovery/history': async () => ({ path: '/api/v1/backup/recovery/history' }),
  'GET /api/v1/backup/recovery/window': async () => ({ path: '/api/v1/backup/recovery/window' }),
  'GET /api/v1/backup/storage-backends': async () => ({ path: '/api/v1/backup/storage-backends' }),
  'POST /api/v1/backup/storage-backends': async () => ({
    path: '/api/v1/backup/storage-backends',
    body: { name: `b-${randomBytes(4).toString('hex')}`, backend_type: 'local', config_data: { base_path: join(scratch, 'other') } },
  }),
  'DELETE /api/v1/backup/storage-backends/{id}': async () => ({ path: `/api/v1/backup/storage-backends/${await newBackend()}` }),
  'POST /api/v1/backup/storage-backends/{id}/test': async () => ({ path: `/api/v1/backup/storage-backends/${await newBackend()}/test` }),
  'GET /api/v1/backup/retention-policies': async () => ({ path: '/api/v1/backup/retention-policies' }),
  'POST /api/v1/backup/retention-policies': async () => ({ path: '/api/v1/backup/retention-policies', body: { name: `p-${randomBytes(3).toString('hex')}`, keep_last: 3 } }),
  'POST /api/v1/backup/cleanup': async () => ({ path: '/api/v1/backup/cleanup', body: { rules: { keep_last: 100 } } }),
  'GET /api/v1/backup/health': async () => ({ path: '/api/v1/backup/health' }),
  'GET /api/v1/backup/statistics': async () => ({ path: '/api/v1/backup/statistics?days=7' }),
  'GET /api/v1/users': async () => ({ path: '/api/v1/users' }),
  'POST /api/v1/users': async () => ({ path: '/api/v1/users', body: { email: `n-${randomBytes(4).toString('hex')}@example.com`, role: 'viewer', password: 'a long password 42' } }),
  'PUT /api/v1/users/{id}': async () => ({ path: `/api/v1/users/${await newUser()}`, body: { role: 'auditor' } }),
  'DELETE /api/v1/users/{id}': async () => ({ path: `/api/v1/users/${await newUser()}` }),
  'GET /api/v1/backup/schedules': async () => ({ path: '/api/v1/backup/schedules' }),
  'GET /api/v1/backup/schedules/preview': async () => ({ path: `/api/v1/backup/schedules/preview?cron_expression=${encodeURIComponent('cron(0 2 ? * MON-FRI *)')}&time_zone=Europe/Paris` }),
  'POST /api/v1/backup/schedules': async () => ({ path: '/api/v1/backup/schedules', body: { name: `s-${randomBytes(4).toString('hex')}`, plan: 'app', cron_expression: '0 2 * * *' } }),
  'PUT /api/v1/backup/schedules/{id}': async () => ({ path: `/api/v1/backup/schedules/${await newSchedule()}`, body: { enabled: false } }),
  'DELETE /api/v1/backup/schedules/{id}': async () => ({ path: `/api/v1/backup/schedules/${await newSchedule()}` }),
  'GET /api/v1/backup/audit': async () => ({ path: '/api/v1/backup/audit?days=1&format=csv' }),
  'GET /api/v1/backup/audit/entries': async () => ({ path: '/api/v1/backup/audit/entries?limit=10' }),
  'GET /api/v1/backup/audit/verify': async () => ({ path: '/api/v1/backup/audit/verify' }),
  'GET /api/v1/openapi.json': async () => ({ path: '/api/v1/openapi.json' }),
  'GET /metrics': async () => ({ path: '/metrics' }),
  'GET /healthz': async () => ({ path: '/healthz' }),
};

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'chrono-api-roles-'));
  const data = join(scratch, 'data');
  await mkdir(data);
  await writeFile(join(data, 'hello.txt'), 'hello from the role matrix\n');
  // Managed restores started by the matrix call RDS at a closed loopback port: they fail at once, offline.
  server = await ApiTestServer.start({ AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'AKIDMATRIX', AWS_SECRET_ACCESS_KEY: 'matrix-secret', CHRONO_BACKUP_RDS_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
  const catalog = SqliteCatalog.open(join(server.home, 'catalog.sqlite'));
  await catalog.putPlan(validatePlan('app', { files: { paths: [data] } }));
  await catalog.close();

  adminToken = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  const byRole = await server.tokensByRole(adminToken);
  const key = new Uint8Array(Buffer.from((await readFile(join(server.home, 'api-token.key'), 'utf8')).trim(), 'hex'));
  const claims = { role: 'admin' };
  const adminId = (await adminCall('GET', '/api/v1/auth/me')).id as string;
  const base = () => new SignJWT(claims).setSubject(adminId).setIssuer('chrono-backup').setAudience('chrono-backup-api');
  const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
  const payload = Buffer.from(JSON.stringify({ ...claims, sub: adminId, iss: 'chrono-backup', aud: 'chrono-backup-api', iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url');
  tokens = {
    ...byRole,
    'no token': undefined,
    'expired token': await base().setProtectedHeader({ alg: 'HS256' }).setIssuedAt(Math.floor(Date.now() / 1000) - 7200).setExpirationTime(Math.floor(Date.now() / 1000) - 3600).sign(key),
    'other key': await base().setProtectedHeader({ alg: 'HS256' }).setIssuedAt().setExpirationTime('1h').sign(randomBytes(32)),
    'alg none': `${header}.${payload}.`,
    garbage: 'not-a-token',
  };

  const started = await adminCall('POST', '/api/v1/backup/manual', { plan: 'app', backup_type: 'full' });
  jobId = started.job_id as string;
  const job = await server.waitForJob(adminToken, jobId);
  expect(job.status).toBe('succeeded');
  backupId = job.result.backup_id as string;
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('role × route matrix', () => {
  it('has an expectation and a fixture for exactly the routes the API documents', async () => {
    const document = (await server.request('GET', '/api/v1/openapi.json')).body as { paths: Record<string, Record<string, unknown>> };
    const documented = Object.entries(document.paths).flatMap(([path, operations]) => Object.keys(operations).map((method) => `${method.toUpperCase()} ${path}`));
    expect(documented.sort()).toEqual(Object.keys(EXPECTED).sort());
    expect(Object.keys(FIXTURES).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  const callers: Caller[] = [...ROLES, 'no token', 'expired token', 'other key', 'alg none', 'garbage'];
  for (const [key, allowed] of Object.entries(EXPECTED)) {
    it(`${key}: exactly the allowed callers succeed`, async () => {
      const [method] = key.split(' ') as [string];
      const outcomes: Record<string, number> = {};
      const expected: Record<string, string> = {};
      for (const caller of callers) {
        const call = await FIXTURES[key]!();
        const token = tokens[caller];
        const response = await server.request(method, call.path, { ...(token !== undefined ? { token } : {}), ...(call.body !== undefined ? { body: call.body } : {}) });
        outcomes[caller] = response.status;
        const isRole = (ROLES as readonly string[]).includes(caller);
        if (allowed === 'public' || (isRole && allowed.includes(caller))) expected[caller] = '2xx';
        else expected[caller] = isRole ? '403' : '401';
      }
      const seen = Object.fromEntries(Object.entries(outcomes).map(([caller, status]) => [caller, status >= 200 && status < 300 ? '2xx' : String(status)]));
      expect(seen).toEqual(expected);
    });
  }

  it('an overwrite restore and a confirmed cleanup need the admin role, whatever the route allows', async () => {
    const overwrite = { recovery_type: 'files_only', backup_id: backupId, target_directory: join(scratch, 'overwrite'), overwrite: true };
    const confirm = { rules: { keep_last: 100 }, confirm: true };
    expect((await server.request('POST', '/api/v1/backup/recovery', { token: tokens.operator!, body: overwrite })).status).toBe(403);
    expect((await server.request('POST', '/api/v1/backup/cleanup', { token: tokens.operator!, body: confirm })).status).toBe(403);
    expect((await server.request('POST', '/api/v1/backup/cleanup', { token: tokens.viewer!, body: confirm })).status).toBe(403);
    expect((await server.request('POST', '/api/v1/backup/recovery', { token: tokens.admin!, body: overwrite })).status).toBe(202);
    // A confirmed cleanup takes the repository's exclusive lock: the jobs above must be done.
    await server.waitForIdle(tokens.admin!);
    expect((await server.request('POST', '/api/v1/backup/cleanup', { token: tokens.admin!, body: confirm })).status).toBe(200);
  });

  it('a token of a deleted user stops working at once', async () => {
    const id = await newUser();
    const email = ((await adminCall('GET', '/api/v1/users')).items as { id: string; email: string }[]).find((user) => user.id === id)!.email;
    const token = await server.login(email, 'another password 1');
    expect((await server.request('GET', '/api/v1/auth/me', { token })).status).toBe(200);
    await adminCall('DELETE', `/api/v1/users/${id}`);
    const after = await server.request('GET', '/api/v1/auth/me', { token });
    expect(after.status).toBe(401);
    expect(after.body.error.code).toBe('auth.unknown_user');
  });
});
