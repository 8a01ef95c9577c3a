import { z } from 'zod';

import { HttpError, type FieldProblem } from './error-response.js';

/**
 * Parses `value` with `schema`, or throws a 400 naming every bad field (`body.backup_type`,
 * `query.limit`). Schemas are strict objects, so unknown fields are refused by name too.
 */
export function parseInput<T>(schema: z.ZodType<T>, value: unknown, where: 'body' | 'query' | 'path'): T {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const fields = result.error.issues.flatMap((issue) => problems(issue, where));
  const summary = fields.map((problem) => `${problem.field}: ${problem.message}`).join('; ');
  throw new HttpError(400, 'validation.invalid', `invalid ${where}: ${summary}`, { fields });
}

function problems(issue: z.core.$ZodIssue, where: string): FieldProblem[] {
  const base = [where, ...issue.path.map(String)].join('.');
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({ field: `${base}.${key}`, message: 'unknown field' }));
  }
  return [{ field: base, message: issue.message }];
}

/** The JSON body of a request: absent is `{}`, anything but a JSON object is a 400. */
export function jsonBody(raw: Buffer | undefined, contentType: string | undefined): unknown {
  if (raw === undefined || raw.length === 0) return {};
  if (contentType !== undefined && !/^application\/(.+\+)?json\b/i.test(contentType)) {
    throw new HttpError(415, 'validation.unsupported_media_type', `the body must be application/json (got ${contentType.slice(0, 60)})`);
  }
  try {
    return JSON.parse(raw.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(400, 'validation.malformed_json', 'the body is not valid JSON', { fields: [{ field: 'body', message: 'not valid JSON' }] });
  }
}

/** Query parameters as an object of strings (a repeated parameter is refused: no route takes lists). */
export function queryObject(query: URLSearchParams): Record<string, string> {
  const object: Record<string, string> = {};
  for (const key of new Set(query.keys())) {
    const values = query.getAll(key);
    if (values.length > 1) throw new HttpError(400, 'validation.invalid', `query parameter ${key} is given ${values.length} times`, { fields: [{ field: `query.${key}`, message: 'given more than once' }] });
    object[key] = values[0] as string;
  }
  return object;
}
