/**
 * Limits failed logins per account and per source address: after `maxFailures` failures within
 * `windowMs`, further attempts for that key are refused until the oldest failure leaves the window.
 * Per account stops guessing one password from many addresses; per address stops one address trying
 * many accounts. A success clears the account's failures (not the address's: a guesser who knows one
 * password must not reset its budget for the others).
 *
 * In memory: the local server is one process. Behind API Gateway, Cognito applies its own lockout.
 */
export interface LoginThrottleOptions {
  maxFailuresPerAccount: number;
  maxFailuresPerAddress: number;
  windowMs: number;
  now: () => number;
}

export const DEFAULT_LOGIN_THROTTLE: Omit<LoginThrottleOptions, 'now'> = {
  maxFailuresPerAccount: 5,
  maxFailuresPerAddress: 20,
  windowMs: 15 * 60_000,
};

export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();

  constructor(private readonly options: LoginThrottleOptions) {}

  /** Seconds until an attempt is allowed again for this account and address; 0 when allowed now. */
  retryAfterSeconds(account: string, address: string): number {
    const now = this.options.now();
    const waits = [
      this.wait(`account:${account}`, this.options.maxFailuresPerAccount, now),
      this.wait(`address:${address}`, this.options.maxFailuresPerAddress, now),
    ];
    return Math.ceil(Math.max(...waits) / 1000);
  }

  recordFailure(account: string, address: string): void {
    const now = this.options.now();
    for (const key of [`account:${account}`, `address:${address}`]) {
      const recent = this.recent(key, now);
      recent.push(now);
      this.failures.set(key, recent);
    }
  }

  recordSuccess(account: string): void {
    this.failures.delete(`account:${account}`);
  }

  private wait(key: string, limit: number, now: number): number {
    const recent = this.recent(key, now);
    if (recent.length < limit) return 0;
    return (recent[recent.length - limit] as number) + this.options.windowMs - now;
  }

  private recent(key: string, now: number): number[] {
    const kept = (this.failures.get(key) ?? []).filter((time) => now - time < this.options.windowMs);
    if (kept.length === 0) this.failures.delete(key);
    else this.failures.set(key, kept);
    return kept;
  }
}
