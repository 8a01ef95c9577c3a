import type { Role } from '../domain/user.js';

/**
 * A request as every driver hands it to the API application: the local HTTP server and the API Gateway
 * Lambda both translate into this shape, so routes, validation, auth and audit are one code path.
 */
export interface ApiRequest {
  method: string;
  /** The path without the query string, e.g. `/api/v1/backup/history/full_20241224_120000`. */
  path: string;
  query: URLSearchParams;
  /** Header names in lower case. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body, when there is one. */
  body?: Buffer;
  /** The caller's address (socket peer locally, `requestContext.identity.sourceIp` in AWS). */
  sourceAddress: string;
  /**
   * Claims an upstream authorizer already verified (API Gateway + Cognito). Only the Lambda driver sets
   * this; the local server never does, so a client cannot inject it.
   */
  verifiedClaims?: Readonly<Record<string, unknown>>;
}

/** A response: JSON bodies are objects, files (CSV, PDF, metrics text) are strings or buffers. */
export interface ApiResponse {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

/** Who is calling, as established by an {@link Authenticator}. */
export interface Principal {
  userId: string;
  email: string;
  role: Role;
}

/**
 * Authenticator: turns a request's credentials into a principal.
 *
 * Contract: resolves the principal of a request with valid credentials; rejects with an
 * `AuthenticationError` (`auth.missing_token`, `auth.token_invalid`, `auth.token_expired`,
 * `auth.unknown_user`) otherwise. It reads the user's current role, not a stale one from the token.
 */
export interface Authenticator {
  authenticate(request: ApiRequest): Promise<Principal>;
}

/**
 * LoginService: exchanges an email and password for a bearer token (local users or Cognito InitiateAuth).
 *
 * Contract: resolves a token for correct credentials; rejects with `AuthenticationError`
 * `auth.invalid_credentials` for a wrong email or password (the same error for both, so accounts cannot
 * be discovered), with `auth.too_many_attempts` (details.retryAfterSeconds) when throttled, and with
 * `auth.mfa_required` when the account needs a one-time code that was not given (or was wrong).
 */
export interface LoginService {
  /** `mfaCode`: the one-time code of an account with a second factor (Cognito); local users have none. */
  login(email: string, password: string, sourceAddress: string, mfaCode?: string): Promise<{ token: string; expiresAt: string; user: Principal }>;
}
