/**
 * The dashboard's client of the REST API (same origin, `/api/v1`). Every call carries the session's
 * bearer token; a 401 means the session is over, and the app returns to the login page.
 */

/** A field the API named as invalid. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** A non-2xx answer, with the API's error body. */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }
}

type Listener = () => void;
let token: string | undefined;
/** Origin (and path prefix) of the API; empty: this page's origin, as the local server serves both. */
let apiBase = '';

/**
 * Reads `config.json` next to index.html: `{"api_base_url": "https://api.example.com"}`. The local
 * server ships it empty; a static deployment (S3 + CloudFront) writes the API's URL into it at deploy
 * time, so one build serves every environment.
 */
export async function loadConfig(configUrl: string): Promise<void> {
  try {
    const response = await fetch(configUrl, { headers: { accept: 'application/json' } });
    if (!response.ok) return;
    const config = (await response.json()) as { api_base_url?: unknown };
    if (typeof config.api_base_url === 'string') apiBase = config.api_base_url.replace(/\/+$/, '');
  } catch {
    // No config (or not JSON): the API is on this origin.
  }
}
let onUnauthorized: Listener = () => undefined;

/** Set by the app when the session changes. */
export function useToken(value: string | undefined, unauthorized: Listener): void {
  token = value;
  onUnauthorized = unauthorized;
}

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined>;
  /** Return the raw response (downloads) instead of parsed JSON. */
  raw?: boolean;
}

export async function call<T = any>(method: string, path: string, options: CallOptions = {}): Promise<T> { // eslint-disable-line @typescript-eslint/no-explicit-any
  const url = new URL(`${apiBase}${path}`, window.location.origin);
  for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined && value !== '') url.searchParams.set(name, String(value));
  const headers: Record<string, string> = { accept: 'application/json' };
  if (token) headers.authorization = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method, headers, ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}) });
  if (response.status === 401 && token) {
    onUnauthorized();
  }
  if (!response.ok) throw await errorOf(response);
  if (options.raw) return response as unknown as T;
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

async function errorOf(response: Response): Promise<ApiError> {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; fields?: FieldProblem[] } };
    return new ApiError(response.status, body.error?.code ?? 'unknown', body.error?.message ?? `HTTP ${response.status}`, body.error?.fields ?? []);
  } catch {
    return new ApiError(response.status, 'unknown', `HTTP ${response.status}`);
  }
}

/** A message for people: the API's message, with the fields it named. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 403) return `Your role may not do this (${error.message}).`;
    const fields = error.fields.filter((problem) => !error.message.includes(problem.message)).map((problem) => `${problem.field}: ${problem.message}`);
    return [error.message, ...fields].join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}
