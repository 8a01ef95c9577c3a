import { z } from 'zod';

import type { Route } from './route.js';

type JsonSchema = Record<string, unknown>;

/**
 * The OpenAPI 3.1 document of the routes, generated from the same zod schemas that validate requests,
 * so the documentation cannot drift from what the server accepts.
 */
export function openApiDocument(routes: readonly Route[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const operation: Record<string, unknown> = {
      summary: route.summary,
      tags: [route.tag],
      operationId: `${route.method.toLowerCase()}${route.path.replace(/[^A-Za-z0-9]+(.)?/g, (_all, next: string | undefined) => (next ?? '').toUpperCase())}`,
      parameters: [...parameters(route.params, 'path'), ...parameters(route.query, 'query')],
      responses: Object.fromEntries(Object.entries({ ...route.responses, ...standardErrors(route) }).map(([status, description]) => [status, { description }])),
      ...(route.access.kind === 'public' ? { security: [] } : {}),
      ...(route.access.kind === 'permission' ? { 'x-permission': route.access.permission } : {}),
    };
    if (route.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: schemaOf(route.body) } } };
    }
    (paths[route.path] ??= {})[route.method.toLowerCase()] = operation;
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Chrono Backup API', version: info.version, description: 'Backups, recovery, schedules, retention, health and audit. Errors share one body: {"error": {"code", "message", "fields"}}.' },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: { code: { type: 'string' }, message: { type: 'string' }, fields: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } } },
            },
          },
        },
      },
    },
    paths,
  };
}

function schemaOf(schema: z.ZodType): JsonSchema {
  // Inputs as clients send them (query strings before they become numbers).
  return z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;
}

function parameters(schema: z.ZodType | undefined, where: 'path' | 'query'): Record<string, unknown>[] {
  if (schema === undefined) return [];
  const json = schemaOf(schema);
  const properties = (json.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((json.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({ name, in: where, required: where === 'path' || required.has(name), schema: property }));
}

function standardErrors(route: Route): Record<number, string> {
  const errors: Record<number, string> = {};
  if (route.params || route.query || route.body) errors[400] = 'invalid input: every bad field is named';
  if (route.access.kind !== 'public') errors[401] = 'missing, invalid or expired token';
  if (route.access.kind === 'permission') errors[403] = `the caller's role lacks ${route.access.permission}`;
  return errors;
}
