/**
 * The admin dashboard in a real browser (Debian's chromium, headless, driven by playwright-core) against
 * the local server in this process: an admin runs a backup and watches it finish, browses the history,
 * verifies, restores into a new directory (compared byte for byte), adds and tests a storage backend,
 * creates a schedule with its cron preview and previews retention; sessions expire and sign out; a
 * viewer finds no mutating control and is refused a forced one. Every page is screenshotted at 1280×800
 * and 390×844 into test-artifacts/screenshots/, shows its heading and no error, and passes axe-core
 * without serious or critical findings, under the server's Content-Security-Policy.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { validatePlan } from '../../src/domain/plan.js';
import * as dashboardEnums from '../../dashboard/src/enums.js';
import { ADMIN_EMAIL, ADMIN_PASSWORD, ApiTestServer } from '../helpers/api-server.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const SCREENSHOTS = join(process.cwd(), 'test-artifacts', 'screenshots');
const VIEWPORTS = [
  { name: 'desktop', width: 1280, height: 800 },
  { name: 'phone', width: 390, height: 844 },
] as const;
const VIEWER_EMAIL = 'viewer@example.com';
const VIEWER_PASSWORD = 'viewer password 123';
const OPERATOR_EMAIL = 'operator@example.com';
const OPERATOR_PASSWORD = 'operator password 123';
/** Every page of the dashboard: route below /admin/backup/ and its main heading. */
const PAGES = [
  { route: '', heading: 'Overview' },
  { route: 'history', heading: 'Backup history' },
  { route: 'backup', heading: 'Manual backup' },
  { route: 'recovery', heading: 'Recovery' },
  { route: 'storage', heading: 'Storage backends' },
  { route: 'schedules', heading: 'Schedules and retention' },
  { route: 'health', heading: 'Health' },
  { route: 'audit', heading: 'Audit trail' },
  { route: 'users', heading: 'Users and roles' },
];
/** Words of a button that changes something; a viewer must see none. */
const MUTATING_WORDS = /\b(start|add|create|save|delete|remove|pause|resume|verify now|test|apply|overwrite|edit|restore)\b/i;

/**
 * The browser globals used by the functions that run in the page (page.evaluate, waitForFunction). The
 * test compiles against Node's types only; inside the page these exist. Casts are erased, so
 * `(globalThis as unknown as InPage).document` runs as `globalThis.document` there.
 */
interface InPage {
  document: {
    querySelectorAll(selector: string): ArrayLike<{ textContent: string | null }>;
    querySelector(selector: string): { textContent: string | null } | null;
    documentElement: { scrollWidth: number };
    activeElement: { tagName: string; textContent: string | null } | null;
  };
  innerWidth: number;
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  axe: { run(context: unknown, options: object): Promise<{ violations: { id: string; impact: string; nodes: { target: string[] }[] }[] }> };
}

let scratch: string;
let data: string;
let server: ApiTestServer;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let base: string;
let axeSource: string;
let backupId: string;
/** Requests the page made to another origin, and CSP violations it reported: both must stay empty. */
const foreignRequests: string[] = [];
const cspViolations: string[] = [];
const pageErrors: string[] = [];

beforeAll(async () => {
  // The dashboard as `npm run build` makes it; built here so the test never runs a stale one.
  await promisify(execFile)(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'dashboard/vite.config.ts', '--logLevel', 'error'], {
    cwd: process.cwd(),
    // Jest sets NODE_ENV=test, which would make Vite build with Preact's development code.
    env: { ...process.env, NODE_ENV: 'production' },
  });
  scratch = await mkdtemp(join(tmpdir(), 'chrono-dashboard-e2e-'));
  data = join(scratch, 'data');
  await mkdir(join(data, 'sub'), { recursive: true });
  await writeFile(join(data, 'notes.txt'), 'what the dashboard backs up\n');
  await writeRandomFile(join(data, 'sub', 'blob.bin'), 2 * 1024 * 1024 + 5, 11);
  server = await ApiTestServer.start({ CHRONO_BACKUP_SCHEDULER: 'off' });
  const catalog = SqliteCatalog.open(join(server.home, 'catalog.sqlite'));
  await catalog.putPlan(validatePlan('app', { files: { paths: [data] } }));
  await catalog.close();
  const admin = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
  for (const [email, role, password] of [[VIEWER_EMAIL, 'viewer', VIEWER_PASSWORD], [OPERATOR_EMAIL, 'operator', OPERATOR_PASSWORD]]) {
    const created = await server.request('POST', '/api/v1/users', { token: admin, body: { email, role, password } });
    expect(created.status).toBe(201);
  }
  axeSource = await readFile(join(process.cwd(), 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await mkdir(SCREENSHOTS, { recursive: true });
  base = `${server.url}/admin/backup/`;
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  context = await browser.newContext({ viewport: VIEWPORTS[0], locale: 'en-GB', timezoneId: 'UTC' });
  page = await context.newPage();
  page.on('dialog', (dialog) => void dialog.accept());
  page.on('request', (request) => {
    if (!request.url().startsWith(server.url) && !request.url().startsWith('blob:')) foreignRequests.push(request.url());
  });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (/Content.Security.Policy/i.test(message.text())) cspViolations.push(message.text());
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  await rm(scratch, { recursive: true, force: true });
});

async function signIn(email: string, password: string): Promise<void> {
  await page.goto(`${server.url}/admin`);
  expect(page.url()).toBe(base);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
}

async function openPage(route: string, heading: string): Promise<void> {
  await page.goto(`${base}${route}`);
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
  // Wait until every section has loaded (no "Loading …" placeholder left).
  await page.waitForFunction(() => !Array.from((globalThis as unknown as InPage).document.querySelectorAll('[role="status"]')).some((node) => node.textContent?.startsWith('Loading')), undefined, { timeout: 30_000 });
}

async function navigateTo(link: string, heading: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('link', { name: link }).click();
  await page.getByRole('heading', { level: 1, name: heading }).waitFor();
}

async function errorBanners(): Promise<string[]> {
  return page.locator('.error-banner').allTextContents();
}

/** axe-core's serious and critical violations on the current page (evaluated over CDP, so the CSP allows it). */
async function accessibilityProblems(): Promise<string[]> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const { axe, document } = globalThis as unknown as InPage;
    const result = await axe.run(document, { resultTypes: ['violations'] });
    return result.violations.map((violation) => ({ id: violation.id, impact: violation.impact, targets: violation.nodes.slice(0, 3).map((node) => node.target.join(' ')) }));
  });
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id} (${violation.impact}): ${violation.targets.join(', ')}`);
}

function jobStatus(): Promise<string | null> {
  return page.locator('[data-job-status]').last().getAttribute('data-job-status');
}

async function waitForJobEnd(): Promise<string | null> {
  await page.waitForSelector('[data-job-status="succeeded"], [data-job-status="failed"], [data-job-status="interrupted"]', { timeout: 60_000 });
  return jobStatus();
}

describe('the admin dashboard as admin', () => {
  it('is served under a strict CSP, with no inline script in the build', async () => {
    const response = await page.goto(`${base}history`);
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/^default-src 'self'/);
    const html = await readFile(join(process.cwd(), 'dashboard', 'dist', 'index.html'), 'utf8');
    const scripts = html.match(/<script\b[^>]*>/g) ?? [];
    expect(scripts.length).toBeGreaterThan(0);
    expect(scripts.filter((tag) => !/\ssrc="\/admin\/backup\/assets\/[^"]+\.js"/.test(tag))).toEqual([]);
    expect(html).not.toMatch(/\sstyle=|https?:\/\//);
  });

  it('redirects /admin to the login page and signs in', async () => {
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      await page.goto(base);
      await page.getByRole('heading', { level: 1, name: 'Sign in to Chrono Backup' }).waitFor();
      await page.screenshot({ path: join(SCREENSHOTS, `login-${viewport.name}.png`) });
      expect(await accessibilityProblems()).toEqual([]);
    }
    await page.setViewportSize(VIEWPORTS[0]);
    await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    expect(await page.locator('.topbar').textContent()).toContain('(admin)');
  });

  it('starts a manual backup and watches it complete', async () => {
    await navigateTo('Manual backup', 'Manual backup');
    await page.getByLabel('Plan', { exact: true }).fill('app');
    await page.getByLabel('Backup type').selectOption('full');
    await page.getByLabel('Verify integrity after the backup').check();
    await page.getByRole('button', { name: 'Start backup' }).click();
    await page.waitForSelector('[data-job-status]');
    expect(await waitForJobEnd()).toBe('succeeded');
    expect(await page.locator('.job').textContent()).toContain('done');
    const link = page.getByRole('link', { name: /^Open backup / });
    backupId = ((await link.textContent()) ?? '').replace('Open backup ', '');
    expect(backupId).toMatch(/^full_\d{8}_\d{6}/);
    expect(await errorBanners()).toEqual([]);
  });

  it('browses the history, filters it and opens the details of the backup', async () => {
    await navigateTo('Backup history', 'Backup history');
    const rows = page.getByRole('region', { name: 'Backups' }).locator('tbody tr');
    await rows.first().waitFor();
    expect(await rows.count()).toBe(1);
    expect(await rows.first().textContent()).toContain('succeeded');
    await page.getByLabel('Status').selectOption('failed');
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    await page.getByText('No backups match.').waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByRole('link', { name: backupId }).click();
    await page.getByRole('heading', { level: 1, name: `Backup ${backupId}` }).waitFor();
    const sources = page.getByRole('region', { name: 'Sources of this backup' });
    await sources.waitFor();
    expect(await sources.textContent()).toContain('files');
    expect(await page.locator('.figures').textContent()).toMatch(/Dedup ratio\d+\.\d\d×/);
    // The audit trail of the backup: the manual backup request that started it.
    const audit = page.getByRole('region', { name: 'Audit entries of this backup' });
    await audit.waitFor();
    expect(await audit.textContent()).toContain('backup.manual');
  });

  it('runs a verification of the backup and lists it', async () => {
    await page.getByLabel('Verification level').selectOption('read');
    await page.getByRole('button', { name: 'Verify now' }).click();
    expect(await waitForJobEnd()).toBe('succeeded');
    const verifications = page.getByRole('region', { name: 'Verifications' });
    await verifications.locator('tbody tr').first().waitFor();
    expect(await verifications.textContent()).toContain('succeeded');
  });

  it('restores the backup into a new directory, validated, and shows it in the recovery history', async () => {
    const target = join(scratch, 'restored');
    await navigateTo('Recovery', 'Recovery');
    await page.getByLabel('Backup', { exact: true }).selectOption(backupId);
    await page.getByLabel('What to restore').selectOption('full_restore');
    await page.getByLabel('Target directory (files)').fill(target);
    await page.getByLabel('Validate after restoring').check();
    // Overwriting needs an explicit, typed confirmation: the button stays disabled until then.
    await page.getByLabel('Overwrite what is in the targets').check();
    expect(await page.getByRole('button', { name: 'Overwrite and restore' }).isDisabled()).toBe(true);
    await page.getByLabel(/Type OVERWRITE to confirm/).fill('OVERWRITE');
    expect(await page.getByRole('button', { name: 'Overwrite and restore' }).isEnabled()).toBe(true);
    await page.getByLabel('Overwrite what is in the targets').uncheck();
    await page.getByRole('button', { name: 'Start restore' }).click();
    expect(await waitForJobEnd()).toBe('succeeded');
    await assertTreesEqual(data, join(target, 'data'), { mtimeToleranceNs: 999n });
    const history = page.getByRole('region', { name: 'Recovery history' });
    await history.locator('tbody tr').first().waitFor();
    expect(await history.locator('tbody tr').first().textContent()).toContain('succeeded');
  });

  it('adds a storage backend and tests it', async () => {
    await navigateTo('Storage backends', 'Storage backends');
    await page.getByLabel('Name').fill('nas');
    await page.getByLabel('Type').selectOption('local');
    await page.getByLabel('Base path').fill(join(scratch, 'nas'));
    await page.getByRole('button', { name: 'Add backend' }).click();
    const table = page.getByRole('region', { name: 'Storage backends' });
    await table.getByText('nas', { exact: true }).waitFor();
    await page.getByRole('button', { name: 'Test nas' }).click();
    const result = page.locator('.test-result');
    await result.waitFor({ timeout: 30_000 });
    expect(await result.getAttribute('data-test-ok')).toBe('true');
    expect(await result.locator('tbody tr').allTextContents()).toEqual([expect.stringMatching(/^write\s*ok/), expect.stringMatching(/^read\s*ok/), expect.stringMatching(/^list\s*ok/), expect.stringMatching(/^delete\s*ok/)]);
  });

  it('creates a schedule after previewing its next five runs, and pauses it', async () => {
    await navigateTo('Schedules & retention', 'Schedules and retention');
    await page.getByLabel('Name').fill('nightly');
    await page.getByLabel('Plan', { exact: true }).fill('app');
    await page.getByLabel('Cron expression').fill('30 3 * * *');
    await page.getByLabel('Time zone').fill('UTC');
    const runs = page.locator('.next-runs li');
    await page.waitForFunction(() => {
      const { document } = globalThis as unknown as InPage;
      return document.querySelectorAll('.next-runs li').length === 5 && document.querySelector('.next-runs')?.textContent?.includes('T03:30:00.000Z');
    });
    expect((await runs.allTextContents()).every((text) => text.includes('T03:30:00.000Z'))).toBe(true);
    await page.getByRole('button', { name: 'Create schedule' }).click();
    const table = page.getByRole('region', { name: 'Schedules' });
    await table.getByText('nightly').waitFor();
    expect(await table.textContent()).toContain('enabled');
    await page.getByRole('button', { name: 'Pause nightly' }).click();
    await table.getByText('paused').waitFor();
  });

  it('previews retention as keep and remove with reasons', async () => {
    await page.getByLabel('Keep everything for (days)').fill('30');
    await page.getByRole('button', { name: 'Preview retention' }).click();
    const result = page.locator('.cleanup-result');
    await result.waitFor();
    expect(await result.getByRole('status').textContent()).toMatch(/^Dry run: keep 1, remove 0 snapshots\.$/);
    expect(await page.getByRole('region', { name: 'Retention decisions' }).textContent()).toContain('within 30 days');
  });

  it('exports the audit trail and verifies its chain', async () => {
    await navigateTo('Audit trail', 'Audit trail');
    await page.getByRole('button', { name: 'Verify chain' }).click();
    await page.locator('.chain-result').waitFor();
    expect(await page.locator('.chain-result').textContent()).toMatch(/Intact: \d+ entries/);
    await page.getByLabel('Format').selectOption('csv');
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download export' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^audit-.*\.csv$/);
    expect(await readFile((await download.path()) as string, 'utf8')).toContain('backup.manual');
  });

  it('shows every page without errors, with its heading, at desktop and phone widths, accessibly', async () => {
    // A second backup, so the charts draw lines rather than single points.
    const token = await server.login(ADMIN_EMAIL, ADMIN_PASSWORD);
    const started = await server.request('POST', '/api/v1/backup/manual', { token, body: { plan: 'app', backup_type: 'incremental' } });
    expect((await server.waitForJob(token, started.body.job_id)).status).toBe('succeeded');
    for (const viewport of VIEWPORTS) {
      await page.setViewportSize(viewport);
      for (const { route, heading } of PAGES) {
        await openPage(route, heading);
        expect([route, await errorBanners()]).toEqual([route, []]);
        await page.screenshot({ path: join(SCREENSHOTS, `admin-${route || 'overview'}-${viewport.name}.png`), fullPage: true });
        if (viewport.name === 'desktop') expect([route, await accessibilityProblems()]).toEqual([route, []]);
        // Nothing wider than the screen but the tables, which scroll in their own region.
        const overflow = await page.evaluate(() => (globalThis as unknown as InPage).document.documentElement.scrollWidth - (globalThis as unknown as InPage).innerWidth);
        expect([route, viewport.name, overflow]).toEqual([route, viewport.name, 0]);
      }
      await openPage(`history/${backupId}`, `Backup ${backupId}`);
      await page.screenshot({ path: join(SCREENSHOTS, `admin-backup-details-${viewport.name}.png`), fullPage: true });
      expect(await accessibilityProblems()).toEqual([]);
    }
    await page.setViewportSize(VIEWPORTS[0]);
    expect(foreignRequests).toEqual([]);
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('returns to the login page with a message when the session has expired', async () => {
    await page.evaluate(() => {
      const { sessionStorage } = globalThis as unknown as InPage;
      const key = 'chrono-backup.session';
      const session = JSON.parse(sessionStorage.getItem(key) as string);
      sessionStorage.setItem(key, JSON.stringify({ ...session, token: 'expired.token.value' }));
    });
    await page.goto(`${base}history`);
    await page.getByRole('heading', { level: 1, name: 'Sign in to Chrono Backup' }).waitFor();
    expect(await page.getByRole('status').textContent()).toContain('session has expired');
    await page.screenshot({ path: join(SCREENSHOTS, 'login-expired-desktop.png') });
    expect(await accessibilityProblems()).toEqual([]);
  });

  it('signs out', async () => {
    await signIn(ADMIN_EMAIL, ADMIN_PASSWORD);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { level: 1, name: 'Sign in to Chrono Backup' }).waitFor();
    expect(await page.evaluate(() => (globalThis as unknown as InPage).sessionStorage.getItem('chrono-backup.session'))).toBeNull();
    // The token is gone: reloading stays on the login page.
    await page.reload();
    await page.getByRole('heading', { level: 1, name: 'Sign in to Chrono Backup' }).waitFor();
  });
});

describe('the admin dashboard as viewer', () => {
  it('shows no mutating control on any page', async () => {
    await signIn(VIEWER_EMAIL, VIEWER_PASSWORD);
    const nav = await page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Overview', 'Backup history', 'Recovery', 'Storage backends', 'Schedules & retention', 'Health']);
    const visible = PAGES.filter((candidate) => nav.includes(candidate.heading) || ['', 'schedules'].includes(candidate.route));
    for (const { route, heading } of [...visible, { route: `history/${backupId}`, heading: `Backup ${backupId}` }]) {
      await openPage(route, heading);
      expect([route, await page.locator('[data-mutating]').count()]).toEqual([route, 0]);
      const buttons = await page.getByRole('button').allTextContents();
      expect([route, buttons.filter((text) => MUTATING_WORDS.test(text))]).toEqual([route, []]);
      expect([route, await errorBanners()]).toEqual([route, []]);
    }
    await page.screenshot({ path: join(SCREENSHOTS, 'viewer-backup-details-desktop.png'), fullPage: true });
    // Pages the role may not open say so, rather than showing controls that would fail.
    await page.goto(`${base}backup`);
    await page.getByRole('heading', { level: 1, name: 'Page not found' }).waitFor();
  });

  it('moves between pages with the keyboard, focusing the new page heading, with a skip link first', async () => {
    await openPage('history', 'Backup history');
    await page.getByRole('link', { name: backupId }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { level: 1, name: `Backup ${backupId}` }).waitFor();
    const focused = () => page.evaluate(() => {
      const active = (globalThis as unknown as InPage).document.activeElement;
      return [active?.tagName, active?.textContent];
    });
    expect(await focused()).toEqual(['H1', `Backup ${backupId}`]);
    // The first stop of the tab order is the skip link.
    const first = await page.evaluate(() => (globalThis as unknown as InPage).document.querySelector('a[href], button, input, select, textarea, [tabindex]:not([tabindex="-1"])')?.textContent);
    expect(first).toBe('Skip to content');
  });

  it('is refused a forced mutating request with 403', async () => {
    const answer = await page.evaluate(async () => {
      const { sessionStorage } = globalThis as unknown as InPage;
      const { token } = JSON.parse(sessionStorage.getItem('chrono-backup.session') as string) as { token: string };
      const response = await fetch('/api/v1/backup/manual', { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ plan: 'app' }) });
      return { status: response.status, body: (await response.json()) as { error: { code: string } } };
    });
    expect(answer.status).toBe(403);
    expect(answer.body.error.code).toMatch(/forbidden/);
  });
});

describe('the admin dashboard as operator', () => {
  it('offers backups and restores into new targets, but no overwrite and no configuration changes', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(OPERATOR_EMAIL, OPERATOR_PASSWORD);
    const nav = await page.getByRole('navigation', { name: 'Sections' }).getByRole('link').allTextContents();
    expect(nav).toEqual(['Overview', 'Backup history', 'Manual backup', 'Recovery', 'Storage backends', 'Schedules & retention', 'Health']);
    await openPage('recovery', 'Recovery');
    expect(await page.getByRole('button', { name: 'Start restore' }).count()).toBe(1);
    expect(await page.getByLabel('Overwrite what is in the targets').count()).toBe(0);
    for (const [route, heading] of [['storage', 'Storage backends'], ['schedules', 'Schedules and retention']]) {
      await openPage(route as string, heading as string);
      expect([route, await page.locator('[data-mutating]').count()]).toEqual([route, 0]);
    }
  });
});

describe('the dashboard and the API agree', () => {
  it('offers exactly the choices the OpenAPI document accepts', async () => {
    const document = (await server.request('GET', '/api/v1/openapi.json')).body;
    const bodyEnum = (path: string, field: string) => document.paths[path].post.requestBody.content['application/json'].schema.properties[field].enum;
    const queryEnum = (path: string, name: string) => document.paths[path].get.parameters.find((parameter: { name: string }) => parameter.name === name).schema.enum;
    expect([...dashboardEnums.RECOVERY_TYPES]).toEqual(bodyEnum('/api/v1/backup/recovery', 'recovery_type'));
    expect([...dashboardEnums.VERIFY_LEVELS]).toEqual(bodyEnum('/api/v1/backup/history/{backup_id}/verify', 'level'));
    expect([...dashboardEnums.SCHEDULE_KINDS]).toEqual(bodyEnum('/api/v1/backup/schedules', 'kind'));
    expect([...dashboardEnums.MISSED_RUN_POLICIES]).toEqual(bodyEnum('/api/v1/backup/schedules', 'missed_run_policy'));
    expect([...dashboardEnums.AUDIT_EXPORT_FORMATS]).toEqual(queryEnum('/api/v1/backup/audit', 'format'));
    expect([...dashboardEnums.HISTORY_STATUSES]).toEqual(queryEnum('/api/v1/backup/history', 'status'));
  });
});
