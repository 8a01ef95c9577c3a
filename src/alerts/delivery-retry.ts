import { setTimeout as delay } from 'node:timers/promises';
import { ValidationError } from '../domain/errors.js';
import { errorCode, isRetryableError } from '../storage/retrying-object-storage.js';

/** How a channel retries a failed delivery. */
export interface DeliveryRetryOptions {
  /** Total attempts including the first; at least 1. Default 4: an alert is worth a few seconds, not minutes. */
  attempts?: number;
  /** The backoff cap of the first retry; doubles each retry. Default 500. */
  baseDelayMs?: number;
  /** No wait exceeds this. Default 8 000. */
  maxDelayMs?: number;
  /** Waits `ms` milliseconds; injectable so tests need not wait. */
  sleep?: (ms: number) => Promise<void>;
  /** A number in [0, 1); injectable so tests see exact delays. Default Math.random. */
  random?: () => number;
  /** Called before each wait with codes only (never messages), for logs and tests. */
  onRetry?: (info: { channel: string; attempt: number; delayMs: number; code: string }) => void;
}

/**
 * Runs `attempt` until it succeeds, a permanent error occurs, or attempts are used up, waiting with the
 * same exponential backoff and full jitter as RetryingObjectStorage: before retry n it waits
 * `random() * min(maxDelayMs, baseDelayMs * 2^(n-1))`. Whether an error is transient is decided the
 * same way too (`isRetryableError`): channels raise AlertDeliveryErrors with `retryable` set.
 */
export async function deliverWithRetry(channel: string, attempt: () => Promise<void>, options: DeliveryRetryOptions = {}): Promise<void> {
  const attempts = options.attempts ?? 4;
  const baseDelayMs = options.baseDelayMs ?? 500;
  const maxDelayMs = options.maxDelayMs ?? 8000;
  if (!Number.isSafeInteger(attempts) || attempts < 1) throw new ValidationError('alert retry attempts must be an integer of at least 1', 'attempts');
  const sleep = options.sleep ?? ((ms: number) => delay(ms));
  const random = options.random ?? Math.random;
  for (let n = 1; ; n++) {
    try {
      await attempt();
      return;
    } catch (error) {
      if (n >= attempts || !isRetryableError(error)) throw error;
      const delayMs = Math.floor(random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (n - 1)));
      options.onRetry?.({ channel, attempt: n, delayMs, code: errorCode(error) });
      await sleep(delayMs);
    }
  }
}
