import { readFile, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Where the dashboard is served; the build's `base` (dashboard/vite.config.ts) must match. */
export const DASHBOARD_PATH = '/admin/backup/';

/** The build output, relative to this module in src/local/ and in dist/local/ alike. */
export const DEFAULT_DASHBOARD_DIR = fileURLToPath(new URL('../../dashboard/dist', import.meta.url));

export const DASHBOARD_BUILD_COMMAND = 'npx vite build --config dashboard/vite.config.ts';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.woff2': 'font/woff2',
  '.map': 'application/json; charset=utf-8',
};

/**
 * Everything the page may load comes from this origin; no inline script or style, no framing. The API
 * is same-origin, so `connect-src 'self'` (implied by default-src) covers it.
 */
export const DASHBOARD_CSP = "default-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'; object-src 'none'";

const SECURITY_HEADERS = {
  'content-security-policy': DASHBOARD_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/**
 * The static files of the admin dashboard under {@link DASHBOARD_PATH}, as a fallback handler for the
 * HTTP adapter: `/admin` and `/admin/` redirect there; a path naming a file of the build serves it; any
 * other path below it gets index.html (the app routes in the browser). Paths are resolved inside the
 * build directory only. Without a build, the answer is 503 saying how to make one. Other paths are
 * left to the API (returns false).
 */
export function dashboardAssets(directory: string = DEFAULT_DASHBOARD_DIR): (request: IncomingMessage, response: ServerResponse) => Promise<boolean> {
  const root = resolve(directory);
  return async (request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (pathname === '/admin' || pathname === '/admin/' || pathname === DASHBOARD_PATH.slice(0, -1)) {
      response.writeHead(308, { location: DASHBOARD_PATH, 'content-length': '0' });
      response.end();
      return true;
    }
    if (!pathname.startsWith(DASHBOARD_PATH)) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(response, request, 405, 'text/plain; charset=utf-8', 'the dashboard only answers GET and HEAD\n', { allow: 'GET, HEAD' });
      return true;
    }
    const index = join(root, 'index.html');
    if (!(await isFile(index))) {
      send(response, request, 503, 'text/plain; charset=utf-8', `The admin dashboard is not built. Run the dashboard build: ${DASHBOARD_BUILD_COMMAND} (or npm run build).\n`);
      return true;
    }
    const file = await assetFile(root, pathname.slice(DASHBOARD_PATH.length));
    if (file === 'forbidden') {
      send(response, request, 404, 'text/plain; charset=utf-8', 'not found\n');
      return true;
    }
    const path = file ?? index;
    const type = CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
    // Hashed assets never change; index.html must be fetched again to pick up a new build.
    const cache = path.startsWith(join(root, 'assets') + sep) ? 'public, max-age=31536000, immutable' : 'no-cache';
    send(response, request, 200, type, await readFile(path), { 'cache-control': cache });
    return true;
  };
}

/** The file a relative URL path names inside root, undefined when there is none, 'forbidden' when it leaves root. */
async function assetFile(root: string, relative: string): Promise<string | undefined | 'forbidden'> {
  let decoded: string;
  try {
    decoded = decodeURIComponent(relative);
  } catch {
    return 'forbidden';
  }
  if (decoded.includes('\0')) return 'forbidden';
  if (decoded === '' || decoded.endsWith('/')) return undefined;
  const candidate = resolve(root, decoded);
  if (!candidate.startsWith(root + sep)) return 'forbidden';
  // Dotfiles are never part of a build.
  if (candidate.slice(root.length + 1).split(sep).some((part) => part.startsWith('.'))) return 'forbidden';
  return (await isFile(candidate)) ? candidate : undefined;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function send(response: ServerResponse, request: IncomingMessage, status: number, type: string, body: Buffer | string, headers: Record<string, string> = {}): void {
  response.writeHead(status, { ...SECURITY_HEADERS, 'cache-control': 'no-store', ...headers, 'content-type': type, 'content-length': String(Buffer.byteLength(body)) });
  response.end(request.method === 'HEAD' ? undefined : body);
}
