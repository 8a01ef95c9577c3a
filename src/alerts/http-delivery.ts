import { AlertDeliveryError } from './alert-delivery-error.js';
import { deliverWithRetry, type DeliveryRetryOptions } from './delivery-retry.js';

export interface HttpDeliveryOptions {
  /** Abandon an attempt after this long (a retryable failure). Default 10 000. */
  timeoutMs?: number;
  retry?: DeliveryRetryOptions;
}

/**
 * POSTs `body` to `url`, retrying network errors, timeouts, 5xx and 429 with backoff; any other non-2xx
 * status is a permanent refusal. `request` builds the body and headers per attempt, so a signature
 * can carry a fresh timestamp. Errors name the channel and host only: the URL path may hold a token (Slack's does).
 */
export async function postWithRetry(channel: string, url: string, request: () => { body: string; headers: Record<string, string> }, options: HttpDeliveryOptions = {}): Promise<void> {
  const host = new URL(url).host;
  const timeoutMs = options.timeoutMs ?? 10_000;
  await deliverWithRetry(
    channel,
    async () => {
      const { body, headers } = request();
      let response: Response;
      try {
        response = await fetch(url, { method: 'POST', body, headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'error' });
      } catch (error) {
        // The fetch error's cause carries the Node code (ECONNREFUSED…); its message is generic, but the
        // cause is kept off the message anyway so nothing from the URL can slip through.
        const code = networkCode(error);
        throw new AlertDeliveryError('unreachable', `${channel} alert could not reach ${host} (${code})`, { retryable: true, details: { channel, host, code } });
      }
      // The body is drained so the connection is released; receivers' answers are not shown (may echo input).
      await response.arrayBuffer().catch(() => undefined);
      if (response.ok) return;
      const retryable = response.status >= 500 || response.status === 429;
      throw new AlertDeliveryError(retryable ? 'unavailable' : 'rejected', `${channel} alert was ${retryable ? 'not accepted' : 'rejected'} by ${host}: HTTP ${response.status}`, {
        retryable,
        details: { channel, host, status: response.status },
      });
    },
    options.retry,
  );
}

function networkCode(error: unknown): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) return 'timeout';
  const cause = (error as { cause?: { code?: unknown } } | null)?.cause;
  return typeof cause?.code === 'string' ? cause.code : 'network error';
}
