import type { z } from 'zod';

import type { ApiRequest, ApiResponse, Principal } from './api-types.js';
import type { Permission } from './roles.js';

/** Who may call a route: anyone, any signed-in user, or holders of a permission. */
export type Access = { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permission'; permission: Permission };

export const PUBLIC: Access = { kind: 'public' };
export const AUTHENTICATED: Access = { kind: 'authenticated' };
export const needs = (permission: Permission): Access => ({ kind: 'permission', permission });

/** What a handler receives: validated inputs, the caller, and the audit record it may enrich. */
export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  principal: Principal | undefined;
  request: ApiRequest;
  /** The audited target and details; handlers fill these in (a new id, a snapshot id). */
  audit: { target?: string; details?: Record<string, unknown> };
}

/**
 * One route of the API: method, path template (`{name}` segments), access, schemas for every input and
 * the handler. The same definitions produce the router, the OpenAPI document and the role matrix test.
 */
export interface Route<P = unknown, Q = unknown, B = unknown> {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE';
  path: string;
  summary: string;
  tag: string;
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /**
   * A further permission the validated input calls for (an overwrite restore, a confirmed cleanup);
   * checked after validation, refused with 403 like the route's own access.
   */
  requires?: (input: { params: P; query: Q; body: B }) => Permission | undefined;
  /** The audit action recorded for every call (success, failure or denial); mutating routes have one. */
  audit?: string;
  /** Documented responses: status → description. */
  responses: Record<number, string>;
  handle(input: RouteInput<P, Q, B>): Promise<ApiResponse>;
}

/** Erases a route's type parameters for the route table while keeping them checked at definition. */
export function route<P, Q, B>(definition: Route<P, Q, B>): Route {
  return definition as unknown as Route;
}

export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body };
}
