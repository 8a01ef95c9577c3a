import { errors as joseErrors, jwtVerify, SignJWT } from 'jose';

import { BackupError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { Role } from '../domain/user.js';

/** Why a bearer token was refused; the API answers 401 with this code. */
export class AuthenticationError extends BackupError {
  override readonly name = 'AuthenticationError';
  constructor(code: string, message: string) {
    super(`auth.${code}`, message);
  }
}

export interface TokenClaims {
  userId: string;
  role: Role;
  /** When it stops being accepted (ISO). */
  expiresAt: string;
}

const ISSUER = 'chrono-backup';
const AUDIENCE = 'chrono-backup-api';

/**
 * Signs and checks the local API's bearer tokens: HS256 JWTs (jose) under a secret only the server holds.
 * Verification pins the algorithm, issuer and audience, so `alg: none`, tokens of another key or another
 * service, and expired tokens are refused. The role in a token is a hint for clients: the API reads the
 * user's current role from the store on every call, so a demotion or deletion applies at once.
 */
export class TokenIssuer {
  private readonly key: Uint8Array;

  constructor(secret: Uint8Array, private readonly ttlSeconds: number, private readonly now: () => Date) {
    if (secret.length < 32) throw new Error('the token secret must be at least 32 bytes');
    this.key = secret;
  }

  async issue(userId: string, role: Role): Promise<{ token: string; expiresAt: string }> {
    const issuedAt = Math.floor(this.now().getTime() / 1000);
    const expires = issuedAt + this.ttlSeconds;
    const token = await new SignJWT({ role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(userId)
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expires)
      .setJti(randomId(12))
      .sign(this.key);
    return { token, expiresAt: new Date(expires * 1000).toISOString() };
  }

  /** @throws AuthenticationError `auth.token_expired` or `auth.token_invalid`. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, {
        algorithms: ['HS256'],
        issuer: ISSUER,
        audience: AUDIENCE,
        currentDate: this.now(),
        requiredClaims: ['sub', 'exp', 'iat'],
      });
      return { userId: payload.sub as string, role: payload.role as Role, expiresAt: new Date((payload.exp as number) * 1000).toISOString() };
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) throw new AuthenticationError('token_expired', 'the bearer token has expired: log in again');
      throw new AuthenticationError('token_invalid', 'the bearer token is not valid');
    }
  }
}
