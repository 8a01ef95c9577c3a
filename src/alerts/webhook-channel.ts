import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { systemClock, type Clock } from '../ports/clock.js';
import { postWithRetry, type HttpDeliveryOptions } from './http-delivery.js';

export const SIGNATURE_HEADER = 'X-Chrono-Signature';
export const TIMESTAMP_HEADER = 'X-Chrono-Timestamp';

export interface WebhookChannelOptions extends HttpDeliveryOptions {
  url: string;
  /** The shared signing secret (`BACKUP_ALERT_WEBHOOK_SECRET`); never logged or sent. */
  secret: string;
  clock?: Clock;
}

/** The JSON body a webhook receiver gets: the alert plus the signed send time. */
export interface WebhookPayload {
  version: 1;
  /** ISO 8601 time of this delivery attempt; equals the `X-Chrono-Timestamp` header. */
  sentAt: string;
  alert: Alert;
}

/**
 * POSTs each alert as JSON to a custom webhook, signed so the receiver can tell it came from us.
 *
 * How a receiver verifies a request:
 * 1. Read the raw request body as bytes, before any JSON parsing (re-serialising changes the bytes).
 * 2. Compute `hex(HMAC-SHA256(secret, rawBody))` and compare it with the `X-Chrono-Signature` header
 *    value after its `sha256=` prefix, in constant time (`verifyWebhookSignature` does both steps).
 * 3. Reject stale deliveries: parse the body and check that `sentAt` (which is covered by the signature;
 *    `X-Chrono-Timestamp` repeats it for routing and logs) is within a few minutes of now, so a captured
 *    request cannot be replayed later. Each retry is signed afresh with a new `sentAt`.
 */
export class WebhookChannel implements AlertChannel {
  readonly name = 'webhook';
  private readonly clock: Clock;

  constructor(private readonly options: WebhookChannelOptions) {
    this.clock = options.clock ?? systemClock;
  }

  async send(alert: Alert): Promise<void> {
    // Signed per attempt: a retry a few seconds later carries its own time, so freshness checks hold.
    const request = () => {
      const sentAt = this.clock.now().toISOString();
      const payload: WebhookPayload = { version: 1, sentAt, alert };
      const body = JSON.stringify(payload);
      return { body, headers: { 'content-type': 'application/json', [SIGNATURE_HEADER]: signatureHeader(this.options.secret, body), [TIMESTAMP_HEADER]: sentAt } };
    };
    await postWithRetry(this.name, this.options.url, request, this.options);
  }
}

/** `sha256=<hex HMAC-SHA256 of body>`: the value of the `X-Chrono-Signature` header. */
export function signatureHeader(secret: string, body: string | Uint8Array): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

/** True when `header` is the signature of `rawBody` under `secret`; compares in constant time. */
export function verifyWebhookSignature(secret: string, rawBody: string | Uint8Array, header: string | undefined): boolean {
  if (header === undefined) return false;
  const expected = Buffer.from(signatureHeader(secret, rawBody));
  const given = Buffer.from(header);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
