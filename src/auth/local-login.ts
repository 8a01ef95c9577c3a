import type { LoginService, Principal } from '../api/api-types.js';
import type { UserStore } from '../ports/user-store.js';
import { BackupError } from '../domain/errors.js';
import type { LoginThrottle } from './login-throttle.js';
import { decoyHash, verifyPassword } from './password-hash.js';
import { AuthenticationError, type TokenIssuer } from './token-issuer.js';

/** Email and password against the catalog's users, throttled per account and address. */
export class LocalLoginService implements LoginService {
  constructor(private readonly users: UserStore, private readonly tokens: TokenIssuer, private readonly throttle: LoginThrottle) {}

  async login(email: string, password: string, sourceAddress: string): Promise<{ token: string; expiresAt: string; user: Principal }> {
    const account = email.trim().toLowerCase();
    const wait = this.throttle.retryAfterSeconds(account, sourceAddress);
    if (wait > 0) {
      throw new TooManyAttemptsError(wait);
    }
    const user = await this.users.findByEmail(account);
    // An unknown email costs the same scrypt work as a wrong password.
    const matches = await verifyPassword(password, user?.passwordHash ?? (await decoyHash()));
    if (user === undefined || !matches) {
      this.throttle.recordFailure(account, sourceAddress);
      throw new AuthenticationError('invalid_credentials', 'wrong email or password');
    }
    this.throttle.recordSuccess(account);
    const { token, expiresAt } = await this.tokens.issue(user.id, user.role);
    return { token, expiresAt, user: { userId: user.id, email: user.email, role: user.role } };
  }
}

/** Too many failed logins: HTTP 429 with Retry-After. */
export class TooManyAttemptsError extends BackupError {
  override readonly name = 'TooManyAttemptsError';
  constructor(retryAfterSeconds: number) {
    super('auth.too_many_attempts', `too many failed logins: try again in ${retryAfterSeconds} s`, { details: { retryAfterSeconds } });
  }
}
