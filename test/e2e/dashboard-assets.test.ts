/**
 * The dashboard's static file handler over real HTTP: files with their content types and the CSP, the
 * SPA fallback, the /admin redirects, refused traversal, paths left to the API, and the 503 that says
 * how to build the dashboard when there is no build.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DASHBOARD_CSP, dashboardAssets } from '../../src/local/dashboard-assets.js';

let scratch: string;
let built: Server;
let missing: Server;

/** A server whose fallback is the handler; what it does not take answers 418, standing in for the API. */
async function serve(directory: string): Promise<Server> {
  const handler = dashboardAssets(directory);
  const server = createServer((request, response) => {
    void handler(request, response).then((handled) => {
      if (!handled) response.writeHead(418).end('api');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** Raw paths (fetch would normalise `..` away before sending). */
function get(server: Server, path: string, method = 'GET'): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  const { port } = server.address() as AddressInfo;
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, headers: response.headers, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end();
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'chrono-dashboard-assets-'));
  const dist = join(scratch, 'dist');
  await mkdir(join(dist, 'assets'), { recursive: true });
  await writeFile(join(dist, 'index.html'), '<!doctype html><title>dashboard</title>');
  await writeFile(join(dist, 'assets', 'app-1234.js'), 'console.log(1)');
  await writeFile(join(dist, 'assets', 'app-1234.css'), 'body{}');
  await writeFile(join(dist, '.env'), 'SECRET=1');
  await writeFile(join(scratch, 'outside.txt'), 'outside the build');
  built = await serve(dist);
  missing = await serve(join(scratch, 'not-built'));
});

afterAll(async () => {
  await Promise.all([built, missing].map((server) => new Promise((resolve) => server?.close(resolve))));
  await rm(scratch, { recursive: true, force: true });
});

describe('dashboard assets', () => {
  it('serves files with their content type, caching and the CSP', async () => {
    const script = await get(built, '/admin/backup/assets/app-1234.js');
    expect(script).toMatchObject({ status: 200, body: 'console.log(1)' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.headers['cache-control']).toContain('immutable');
    expect(script.headers['content-security-policy']).toBe(DASHBOARD_CSP);
    expect(DASHBOARD_CSP).toMatch(/^default-src 'self'/);
    expect((await get(built, '/admin/backup/assets/app-1234.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    const index = await get(built, '/admin/backup/');
    expect(index).toMatchObject({ status: 200, body: '<!doctype html><title>dashboard</title>' });
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    const head = await get(built, '/admin/backup/', 'HEAD');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it('answers unknown paths below the base with index.html, for the app to route', async () => {
    for (const path of ['/admin/backup/history', '/admin/backup/history/full_20240101_000000', '/admin/backup/users/']) {
      const answer = await get(built, path);
      expect([path, answer.status, answer.body]).toEqual([path, 200, '<!doctype html><title>dashboard</title>']);
    }
  });

  it('redirects /admin and /admin/ to the dashboard', async () => {
    for (const path of ['/admin', '/admin/', '/admin/backup']) {
      const answer = await get(built, path);
      expect([path, answer.status, answer.headers.location]).toEqual([path, 308, '/admin/backup/']);
    }
  });

  it('never serves a file outside the build, nor dotfiles', async () => {
    // `..` (also as %2e%2e) is resolved by the URL parser: such a path leaves the base and goes to the API (418 here).
    const expected: [string, number][] = [
      ['/admin/backup/../outside.txt', 418],
      ['/admin/backup/%2e%2e/outside.txt', 418],
      ['/admin/backup/assets/%2e%2e%2f%2e%2e%2foutside.txt', 404],
      ['/admin/backup/..%2foutside.txt', 404],
      ['/admin/backup/.env', 404],
      ['/admin/backup/%00', 404],
    ];
    for (const [path, status] of expected) {
      const answer = await get(built, path);
      expect(answer.body).not.toContain('outside the build');
      expect(answer.body).not.toContain('SECRET');
      expect([path, answer.status]).toEqual([path, status]);
    }
  });

  it('leaves other paths to the API and refuses writes', async () => {
    expect((await get(built, '/api/v1/openapi.json')).status).toBe(418);
    expect((await get(built, '/administrator')).status).toBe(418);
    expect((await get(built, '/admin/backup/', 'POST')).status).toBe(405);
  });

  it('answers 503 naming the build command when the dashboard is not built', async () => {
    const answer = await get(missing, '/admin/backup/history');
    expect(answer.status).toBe(503);
    expect(answer.body).toContain('vite build --config dashboard/vite.config.ts');
  });
});
