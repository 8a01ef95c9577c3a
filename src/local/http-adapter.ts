import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

import type { ApiHandler } from '../api/api-app.js';
import type { ApiRequest, ApiResponse } from '../api/api-types.js';
import { errorResponse, HttpError } from '../api/error-response.js';
import type { Logger } from '../ports/logger.js';

/** Request bodies larger than this are refused with 413: no API call needs more. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpAdapterOptions {
  handler: ApiHandler;
  logger: Logger;
  /** Handles paths the API does not own (the dashboard's static files); return false to fall through. */
  fallback?: (request: IncomingMessage, response: ServerResponse) => Promise<boolean>;
}

/**
 * Serves the API application over node:http: reads the body (bounded), builds the ApiRequest, writes
 * the ApiResponse, and logs one structured line per request (method, path, status, duration; never
 * headers or bodies, which carry tokens and passwords).
 */
export function createHttpServer(options: HttpAdapterOptions): Server {
  const server = createServer((request, response) => {
    const started = performance.now();
    void serve(options, request, response)
      .catch((error: unknown) => send(response, errorResponse(error, options.logger)))
      .finally(() => {
        options.logger.info('request', {
          method: request.method ?? '',
          path: (request.url ?? '').split('?')[0] ?? '',
          status: response.statusCode,
          ms: Math.round(performance.now() - started),
        });
      });
  });
  // A slow client must not hold a connection for ever; long work runs as jobs, so requests are short.
  server.requestTimeout = 60_000;
  server.headersTimeout = 20_000;
  server.keepAliveTimeout = 5_000;
  return server;
}

async function serve(options: HttpAdapterOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://localhost');
  const isApi = url.pathname.startsWith('/api/') || url.pathname === '/metrics' || url.pathname === '/healthz';
  if (!isApi && options.fallback && (await options.fallback(request, response))) return;
  const body = await readBody(request);
  const apiRequest: ApiRequest = {
    method: request.method ?? 'GET',
    path: url.pathname,
    query: url.searchParams,
    headers: Object.fromEntries(Object.entries(request.headers).map(([name, value]) => [name, Array.isArray(value) ? value.join(', ') : value])),
    sourceAddress: request.socket.remoteAddress ?? 'unknown',
    ...(body.length > 0 ? { body } : {}),
  };
  send(response, await options.handler(apiRequest));
}

function readBody(request: IncomingMessage): Promise<Buffer> {
  const declared = Number(request.headers['content-length'] ?? 0);
  if (declared > MAX_BODY_BYTES) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    // An oversized body is drained, not kept, so the client still reads the 413.
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk);
    });
    request.on('end', () => (size > MAX_BODY_BYTES ? reject(tooLarge()) : resolve(Buffer.concat(chunks))));
    request.on('error', reject);
  });
}

function tooLarge(): HttpError {
  return new HttpError(413, 'validation.body_too_large', `the body must be at most ${MAX_BODY_BYTES} bytes`);
}

function send(response: ServerResponse, result: ApiResponse): void {
  if (response.headersSent) return;
  const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...result.headers };
  let payload: Buffer | string | undefined;
  if (result.body === undefined) payload = undefined;
  else if (Buffer.isBuffer(result.body) || typeof result.body === 'string') payload = result.body;
  else {
    payload = JSON.stringify(result.body);
    headers['content-type'] ??= 'application/json; charset=utf-8';
  }
  if (payload !== undefined) headers['content-length'] = String(Buffer.byteLength(payload));
  response.writeHead(result.status, headers);
  response.end(payload);
}
