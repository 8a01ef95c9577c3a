/**
 * Schedules and the audit trail through the API of the local server: cron previews, schedule CRUD with
 * field errors, the audit trail recording every mutating call (denials too), its exports (the PDF is
 * rendered with pdftoppm) and the API's chain check locating a tampered entry.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { validatePlan } from '../../src/domain/plan.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiTestServer } from '../helpers/api-server.js';

const run = promisify(execFile);
let server: ApiTestServer;
let scratch: string;
let admin: string;
let tokens: Record<'admin' | 'operator' | 'viewer' | 'auditor', string>;

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'chrono-api-sched-'));
  await mkdir(join(scratch, 'data'));
  await writeFile(join(scratch, 'data', 'a.txt'), 'a\n');
  server = await ApiTestServer.start({ CHRONO_BACKUP_SCHEDULER: 'off' });
  const catalog = SqliteCatalog.open(join(server.home, 'catalog.sqlite'));
  await catalog.putPlan(validatePlan('app', { files: { paths: [join(scratch, 'data')] } }));
  await catalog.close();
  admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  tokens = await server.tokensByRole(admin);
});

afterAll(async () => {
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

describe('schedules', () => {
  it('previews a cron expression in both forms and a time zone', async () => {
    const preview = await server.request('GET', `/api/v1/backup/schedules/preview?cron_expression=${encodeURIComponent('0 2 * * *')}&time_zone=Europe/Paris&count=3`, { token: tokens.viewer });
    expect(preview.status).toBe(200);
    expect(preview.body.next_runs).toHaveLength(3);
    // 02:00 in Paris is 00:00 or 01:00 UTC, depending on the season.
    for (const time of preview.body.next_runs as string[]) expect(['00:00', '01:00']).toContain(time.slice(11, 16));
    expect(preview.body.aws_schedule_expression).toMatch(/^cron\(0 2 /);
    const aws = await server.request('GET', `/api/v1/backup/schedules/preview?cron_expression=${encodeURIComponent('cron(15 4 ? * MON *)')}`, { token: tokens.viewer });
    expect(aws.status).toBe(200);
    expect(new Date(aws.body.next_runs[0]).getUTCDay()).toBe(1);
    const bad = await server.request('GET', `/api/v1/backup/schedules/preview?cron_expression=${encodeURIComponent('61 2 * * *')}`, { token: tokens.viewer });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain("minute field '61' is out of range 0-59");
    expect(bad.body.error.fields[0].field).toBe('cron_expression');
  });

  it('creates, lists, pauses and deletes a schedule, showing its next run times', async () => {
    const created = await server.request('POST', '/api/v1/backup/schedules', { token: admin, body: { name: 'Daily Full Backup', plan: 'app', cron_expression: '0 2 * * *', backup_type: 'full' } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'Daily Full Backup', kind: 'backup', time_zone: 'UTC', enabled: true, missed_run_policy: 'skip', aws_schedule_expression: 'cron(0 2 * * ? *)' });
    expect(created.body.next_runs).toHaveLength(5);
    const listed = await server.request('GET', '/api/v1/backup/schedules', { token: tokens.operator });
    expect(listed.body.items.map((item: { name: string }) => item.name)).toEqual(['Daily Full Backup']);
    const paused = await server.request('PUT', `/api/v1/backup/schedules/${created.body.id}`, { token: admin, body: { enabled: false } });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ enabled: false, next_runs: [] });
    expect((await server.request('DELETE', `/api/v1/backup/schedules/${created.body.id}`, { token: admin })).status).toBe(204);
    expect((await server.request('DELETE', `/api/v1/backup/schedules/${created.body.id}`, { token: admin })).status).toBe(404);
    expect((await server.request('DELETE', '/api/v1/backup/schedules/..%2F..', { token: admin })).status).toBe(400);
  });

  it('refuses bad schedules naming the field', async () => {
    const post = (body: unknown) => server.request('POST', '/api/v1/backup/schedules', { token: admin, body });
    const zone = await post({ name: 'z', plan: 'app', cron_expression: '0 2 * * *', time_zone: 'Mars/Base' });
    expect(zone.status).toBe(400);
    expect(zone.body.error.message).toContain("unknown time zone 'Mars/Base'");
    const fields = await post({ name: 'f', plan: 'app', cron_expression: 'cron(0 2 * * *)' });
    expect(fields.status).toBe(400);
    expect(fields.body.error.message).toContain('AWS cron needs 6 fields');
    expect((await post({ name: 'p', plan: 'missing-plan', cron_expression: '0 2 * * *' })).status).toBe(404);
    expect((await post({ name: 'r', kind: 'retention', retention_policy: 'nope', cron_expression: '0 3 * * *' })).status).toBe(404);
    const unknown = await post({ name: 'u', plan: 'app', cron_expression: '0 2 * * *', colour: 'blue' });
    expect(unknown.body.error.fields).toEqual([{ field: 'body.colour', message: 'unknown field' }]);
    const put = await server.request('PUT', '/api/v1/backup/schedules/0123456789abcdef', { token: admin, body: { enabled: false } });
    expect(put.status).toBe(404);
    expect((await server.request('PUT', '/api/v1/backup/schedules/not-an-id', { token: admin, body: {} })).status).toBe(400);
  });
});

describe('audit trail', () => {
  it('records mutating calls with who, role, what, target, address and result — denials included', async () => {
    await server.request('POST', '/api/v1/backup/retention-policies', { token: tokens.viewer, body: { name: 'sneaky', keep_last: 1 } });
    await server.request('POST', '/api/v1/backup/retention-policies', { token: admin, body: { name: 'weekly', keep_last: 4 } });
    await server.request('POST', '/api/v1/auth/login', { body: { email: ADMIN_EMAIL, password: 'wrong password' } });
    const entries = await server.request('GET', '/api/v1/backup/audit/entries?limit=1000', { token: tokens.auditor });
    expect(entries.status).toBe(200);
    const policyEntries = (entries.body.items as { result: string; actor: { role?: string }; target?: string }[]).filter((entry) => (entry as { action?: string }).action === 'retention_policy.put');
    // The viewer was refused before the body was read: the denial names who, not what.
    expect(policyEntries.map((entry) => [entry.result, entry.actor.role, entry.target ?? null])).toEqual([
      ['denied', 'viewer', null],
      ['success', 'admin', 'weekly'],
    ]);
    expect(policyEntries[1]).toMatchObject({ source: '127.0.0.1' });
    const logins = (entries.body.items as { action: string; result: string; target?: string }[]).filter((entry) => entry.action === 'auth.login');
    expect(logins.at(-1)).toMatchObject({ result: 'denied', target: ADMIN_EMAIL, actor: { kind: 'system', name: 'unauthenticated' } });
    expect(entries.text).not.toContain('wrong password');
  });

  it('exports JSON, CSV and a PDF that renders, each export itself recorded', async () => {
    const jsonExport = await server.request('GET', '/api/v1/backup/audit?days=30&format=json', { token: tokens.auditor });
    expect(jsonExport.status).toBe(200);
    expect(jsonExport.body.report.chain.ok).toBe(true);
    expect(jsonExport.body.count).toBe(jsonExport.body.entries.length);
    const csv = await server.request('GET', '/api/v1/backup/audit?days=30&format=csv', { token: tokens.auditor });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\n')[0]).toContain('action');
    expect(csv.text).toContain('retention_policy.put');
    const pdf = await fetch(`${server.url}/api/v1/backup/audit?days=30&format=pdf`, { headers: { authorization: `Bearer ${tokens.auditor}` } });
    expect(pdf.headers.get('content-type')).toBe('application/pdf');
    const file = join(scratch, 'audit.pdf');
    await writeFile(file, Buffer.from(await pdf.arrayBuffer()));
    await run('pdftoppm', ['-png', '-r', '40', '-f', '1', '-l', '1', file, join(scratch, 'page')]);
    expect((await readFile(join(scratch, 'page-1.png'))).subarray(1, 4).toString()).toBe('PNG');
    const { stdout } = await run('pdftotext', [file, '-']);
    expect(stdout).toContain('retention_policy.put');
    const after = await server.request('GET', '/api/v1/backup/audit/entries?limit=1000', { token: tokens.auditor });
    const exports = (after.body.items as { action: string; details?: { format?: string } }[]).filter((entry) => entry.action === 'audit.export');
    expect(exports.map((entry) => entry.details?.format)).toEqual(['json', 'csv', 'pdf']);
    expectBad(await server.request('GET', '/api/v1/backup/audit?format=xml', { token: tokens.auditor }), 'query.format');
    expectBad(await server.request('GET', '/api/v1/backup/audit?days=-3', { token: tokens.auditor }), 'query.days');
  });

  it('locates a tampered entry through the API check', async () => {
    expect((await server.request('GET', '/api/v1/backup/audit/verify', { token: tokens.auditor })).body.ok).toBe(true);
    const db = new Database(join(server.home, 'catalog.sqlite'));
    const row = db.prepare("SELECT seq, data FROM audit_log WHERE data LIKE '%\"weekly\"%'").get() as { seq: number; data: string };
    db.prepare('UPDATE audit_log SET data = ? WHERE seq = ?').run(row.data.replace('"weekly"', '"monthly"'), row.seq);
    db.close();
    const verdict = await server.request('GET', '/api/v1/backup/audit/verify', { token: tokens.auditor });
    expect(verdict.body).toMatchObject({ ok: false, broken_seq: row.seq, reason: 'content_changed' });
  });
});

function expectBad(response: { status: number; body: any }, field: string): void { // eslint-disable-line @typescript-eslint/no-explicit-any
  expect(response.status).toBe(400);
  expect(response.body.error.fields.map((problem: { field: string }) => problem.field)).toContain(field);
}
