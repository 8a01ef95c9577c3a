import type { ApiRequest, Authenticator, Principal } from '../api/api-types.js';
import type { UserStore } from '../ports/user-store.js';
import { AuthenticationError, type TokenIssuer } from './token-issuer.js';

/**
 * Bearer tokens of the local server: the token must verify under the server's key, and its subject must
 * still be a user; the role is the user's current one.
 */
export class LocalAuthenticator implements Authenticator {
  constructor(private readonly tokens: TokenIssuer, private readonly users: UserStore) {}

  async authenticate(request: ApiRequest): Promise<Principal> {
    const header = request.headers.authorization;
    const found = header === undefined ? null : /^Bearer[ ]+([A-Za-z0-9._~+/-]+=*)$/i.exec(header.trim());
    if (found === null) throw new AuthenticationError('missing_token', 'this endpoint needs an "Authorization: Bearer <token>" header (POST /api/v1/auth/login gives one)');
    const claims = await this.tokens.verify(found[1] as string);
    const user = await this.users.getUser(claims.userId);
    if (user === undefined) throw new AuthenticationError('unknown_user', 'the user of this token no longer exists');
    return { userId: user.id, email: user.email, role: user.role };
  }
}
