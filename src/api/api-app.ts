import { ForbiddenError } from '../domain/errors.js';
import type { Logger } from '../ports/logger.js';
import type { ApiRequest, ApiResponse, Authenticator, Principal } from './api-types.js';
import type { AuditSink } from './audit-sink.js';
import { errorResponse, HttpError } from './error-response.js';
import { can, type Permission } from './roles.js';
import type { Route } from './route.js';
import { jsonBody, parseInput, queryObject } from './validation.js';

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export interface ApiAppOptions {
  routes: readonly Route[];
  authenticator: Authenticator;
  audit: AuditSink;
  logger?: Logger;
}

/** The API as a function from request to response: the local server and the Lambda both call it. */
export type ApiHandler = (request: ApiRequest) => Promise<ApiResponse>;

/**
 * Builds the API application. For every request: match the route (404, or 405 with `Allow`), then
 * authenticate (401), check the route's permission (403), validate path, query and body (400 naming
 * each bad field), check any permission the input calls for (403), run the handler, and record the call
 * in the audit trail when the route is audited — denials and failures included. Every error becomes the
 * one error body; only an unexpected fault is a 500, and bad input never is.
 */
export function createApiApp(options: ApiAppOptions): ApiHandler {
  const compiled = options.routes.map(compile);
  return async (request) => {
    let principal: Principal | undefined;
    let route: Route | undefined;
    const auditRecord: { target?: string; details?: Record<string, unknown> } = {};
    try {
      const matched = match(compiled, request);
      route = matched.route;
      if (route.access.kind !== 'public') {
        principal = await options.authenticator.authenticate(request);
        if (route.access.kind === 'permission') authorize(principal, route.access.permission);
      }
      const input = {
        params: route.params ? parseInput(route.params, matched.params, 'path') : matched.params,
        query: route.query ? parseInput(route.query, queryObject(request.query), 'query') : {},
        body: route.body ? parseInput(route.body, jsonBody(request.body, request.headers['content-type']), 'body') : undefined,
      };
      const further = route.requires?.(input);
      if (further !== undefined && principal !== undefined) authorize(principal, further);
      const response = await route.handle({ ...input, principal, request, audit: auditRecord });
      if (route.audit) await record(options, request, principal, route, auditRecord, response.status < 400 ? 'success' : 'failure');
      return response;
    } catch (error) {
      const response = errorResponse(error, options.logger);
      if (route?.audit) {
        const code = (response.body as { error: { code: string } }).error.code;
        const result = response.status === 401 || response.status === 403 ? 'denied' : 'failure';
        await record(options, request, principal, route, { ...auditRecord, details: { ...auditRecord.details, status: response.status, code } }, result);
      }
      return response;
    }
  };
}

function authorize(principal: Principal, permission: Permission): void {
  if (!can(principal.role, permission)) {
    throw new ForbiddenError(`the ${principal.role} role may not do this (needs ${permission})`);
  }
}

async function record(
  options: ApiAppOptions,
  request: ApiRequest,
  principal: Principal | undefined,
  route: Route,
  entry: { target?: string; details?: Record<string, unknown> },
  result: 'success' | 'failure' | 'denied',
): Promise<void> {
  try {
    await options.audit.record({
      action: route.audit as string,
      actor: principal ? { id: principal.userId, email: principal.email, role: principal.role } : undefined,
      ...(entry.target ? { target: entry.target } : {}),
      sourceAddress: request.sourceAddress,
      result,
      details: { method: request.method, path: request.path, ...entry.details },
    });
  } catch (error) {
    // The call has happened; a trail that cannot be written is an operator emergency, logged loudly.
    options.logger?.error('audit trail write failed', { action: route.audit, error: (error as Error).message });
  }
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_whole, name: string) => {
    names.push(name);
    return '([^/]+)';
  });
  return { route, pattern: new RegExp(`^${source}/?$`), names };
}

function match(routes: readonly CompiledRoute[], request: ApiRequest): { route: Route; params: Record<string, string> } {
  const allowed: string[] = [];
  for (const candidate of routes) {
    const found = candidate.pattern.exec(request.path);
    if (!found) continue;
    if (candidate.route.method !== request.method) {
      allowed.push(candidate.route.method);
      continue;
    }
    const params: Record<string, string> = {};
    candidate.names.forEach((name, index) => {
      params[name] = safeDecode(found[index + 1] as string, name);
    });
    return { route: candidate.route, params };
  }
  if (allowed.length > 0) throw new HttpError(405, 'method_not_allowed', `${request.method} is not allowed on ${request.path}`, { headers: { allow: allowed.join(', ') } });
  throw new HttpError(404, 'not_found', `no such endpoint: ${request.method} ${request.path}`);
}

function safeDecode(segment: string, name: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, 'validation.invalid', `path parameter ${name} is not valid URL encoding`, { fields: [{ field: `path.${name}`, message: 'invalid URL encoding' }] });
  }
}
