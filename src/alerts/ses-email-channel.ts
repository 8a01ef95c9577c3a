import type { SESClient } from '@aws-sdk/client-ses';

import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { alertHeadline, alertText } from './alert-format.js';
import { deliverWithRetry, type DeliveryRetryOptions } from './delivery-retry.js';

export interface SesEmailChannelOptions {
  /** Default: a client for `region` (the SDK's default region when absent), made on the first send. */
  client?: SESClient;
  region?: string;
  /** A verified SES identity. */
  from: string;
  recipients: string[];
  retry?: DeliveryRetryOptions;
}

/** SES errors worth another attempt; anything else (unverified sender, rejected message) is permanent. */
const TRANSIENT = new Set(['Throttling', 'ThrottlingException', 'ServiceUnavailable', 'InternalFailure', 'RequestTimeout', 'TimeoutError']);

/**
 * Email alerts in AWS: the same plain-text message as the SMTP channel, sent with SES SendEmail (the
 * Lambdas' role may send from the configured identity only). Throttling and SES outages are retried.
 */
export class SesEmailChannel implements AlertChannel {
  readonly name = 'email';
  private client: SESClient | undefined;

  constructor(private readonly options: SesEmailChannelOptions) {
    this.client = options.client;
  }

  async send(alert: Alert): Promise<void> {
    // The SDK is loaded on the first send: every CLI command builds the channels, few send mail.
    const { SESClient: Client, SendEmailCommand } = await import('@aws-sdk/client-ses');
    const client = (this.client ??= new Client(this.options.region ? { region: this.options.region } : {}));
    const command = new SendEmailCommand({
      Source: this.options.from,
      Destination: { ToAddresses: this.options.recipients },
      Message: { Subject: { Data: `Chrono Backup ${alertHeadline(alert)}`, Charset: 'UTF-8' }, Body: { Text: { Data: alertText(alert), Charset: 'UTF-8' } } },
    });
    await deliverWithRetry(
      this.name,
      async () => {
        try {
          await client.send(command);
        } catch (error) {
          const name = (error as Error).name ?? 'unknown';
          const retryable = TRANSIENT.has(name) || (error as { $retryable?: unknown }).$retryable !== undefined;
          throw new AlertDeliveryError(retryable ? 'unavailable' : 'rejected', `email alert could not be sent through SES (${name})`, { retryable, details: { channel: 'email', code: name } });
        }
      },
      this.options.retry,
    );
  }
}
