import type { ApiHandler } from './api-app.js';
import type { ApiRequest } from './api-types.js';

/** The parts of an API Gateway REST (v1) proxy event the API reads. */
export interface ApiGatewayProxyEvent {
  httpMethod: string;
  path: string;
  headers?: Record<string, string | undefined> | null;
  multiValueQueryStringParameters?: Record<string, string[] | undefined> | null;
  queryStringParameters?: Record<string, string | undefined> | null;
  body?: string | null;
  isBase64Encoded?: boolean;
  requestContext?: {
    identity?: { sourceIp?: string };
    /** Set by the Cognito user pool authorizer: the verified ID token's claims. */
    authorizer?: { claims?: Record<string, unknown> } | null;
  };
}

export interface ApiGatewayProxyResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
}

/**
 * The API application behind API Gateway: the same routes, validation, roles and audit as the local
 * server. Claims come only from the authorizer's part of the event (API Gateway verified the token);
 * binary bodies (PDF exports) go back base64-encoded, as API Gateway expects.
 */
export function apiGatewayHandler(handler: ApiHandler, options: { allowedOrigin?: string } = {}): (event: ApiGatewayProxyEvent) => Promise<ApiGatewayProxyResult> {
  // The dashboard is served from CloudFront, another origin than the API: its calls need this header on
  // every response (API Gateway answers the preflight itself).
  const cors: Record<string, string> = options.allowedOrigin ? { 'access-control-allow-origin': options.allowedOrigin, vary: 'Origin' } : {};
  return async (event) => {
    const response = await handler(toApiRequest(event));
    const headers: Record<string, string> = { 'cache-control': 'no-store', 'x-content-type-options': 'nosniff', ...cors, ...response.headers };
    if (response.body === undefined) return { statusCode: response.status, headers, body: '', isBase64Encoded: false };
    if (Buffer.isBuffer(response.body)) {
      const textual = /^(application\/json|text\/)/.test(headers['content-type'] ?? '');
      return { statusCode: response.status, headers, body: response.body.toString(textual ? 'utf8' : 'base64'), isBase64Encoded: !textual };
    }
    if (typeof response.body === 'string') return { statusCode: response.status, headers, body: response.body, isBase64Encoded: false };
    return { statusCode: response.status, headers: { 'content-type': 'application/json; charset=utf-8', ...headers }, body: JSON.stringify(response.body), isBase64Encoded: false };
  };
}

export function toApiRequest(event: ApiGatewayProxyEvent): ApiRequest {
  const query = new URLSearchParams();
  const multi = event.multiValueQueryStringParameters ?? {};
  if (Object.keys(multi).length > 0) {
    for (const [name, values] of Object.entries(multi)) for (const value of values ?? []) query.append(name, value);
  } else {
    for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) if (value !== undefined) query.append(name, value);
  }
  const headers = Object.fromEntries(Object.entries(event.headers ?? {}).map(([name, value]) => [name.toLowerCase(), value]));
  const claims = event.requestContext?.authorizer?.claims;
  return {
    method: event.httpMethod.toUpperCase(),
    path: event.path,
    query,
    headers,
    sourceAddress: event.requestContext?.identity?.sourceIp ?? 'unknown',
    ...(event.body ? { body: Buffer.from(event.body, event.isBase64Encoded ? 'base64' : 'utf8') } : {}),
    ...(claims ? { verifiedClaims: claims } : {}),
  };
}
