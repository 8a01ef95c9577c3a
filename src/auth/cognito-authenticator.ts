import type { ApiRequest, Authenticator, Principal } from '../api/api-types.js';
import { isRole, ROLES, type Role } from '../domain/user.js';
import { AuthenticationError } from './token-issuer.js';

/**
 * In AWS, API Gateway's Cognito authorizer has already verified the ID token (signature, expiry,
 * audience); this reads the principal from its claims. The role is the most powerful of the user's
 * Cognito groups that is a role (admin, operator, viewer, auditor); a user in none has no role and
 * is refused.
 */
export class CognitoAuthenticator implements Authenticator {
  async authenticate(request: ApiRequest): Promise<Principal> {
    const claims = request.verifiedClaims;
    if (claims === undefined) throw new AuthenticationError('missing_token', 'this endpoint needs an "Authorization: Bearer <token>" header (POST /api/v1/auth/login gives one)');
    const userId = typeof claims.sub === 'string' ? claims.sub : undefined;
    const email = typeof claims.email === 'string' ? claims.email : (claims['cognito:username'] as string | undefined);
    const role = roleOf(claims['cognito:groups']);
    if (userId === undefined || email === undefined) throw new AuthenticationError('token_invalid', 'the token lacks the subject or email claim');
    if (role === undefined) throw new AuthenticationError('token_invalid', `the user is in none of the role groups (${ROLES.join(', ')})`);
    return { userId, email, role };
  }
}

/** API Gateway passes `cognito:groups` as an array, or as a string ("[a, b]" or "a,b") depending on the path. */
function roleOf(groups: unknown): Role | undefined {
  const names = Array.isArray(groups) ? groups.map(String) : typeof groups === 'string' ? groups.replace(/^\[|\]$/g, '').split(/[\s,]+/) : [];
  return ROLES.find((role) => names.includes(role) && isRole(role));
}
