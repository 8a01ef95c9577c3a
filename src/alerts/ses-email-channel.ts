import { SendEmailCommand, type SESClient } from '@aws-sdk/client-ses';

import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { alertHeadline, alertText } from './alert-format.js';
import { deliverWithRetry, type DeliveryRetryOptions } from './delivery-retry.js';

export interface SesEmailChannelOptions {
  client: SESClient;
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

  constructor(private readonly options: SesEmailChannelOptions) {}

  async send(alert: Alert): Promise<void> {
    const command = new SendEmailCommand({
      Source: this.options.from,
      Destination: { ToAddresses: this.options.recipients },
      Message: { Subject: { Data: `Chrono Backup ${alertHeadline(alert)}`, Charset: 'UTF-8' }, Body: { Text: { Data: alertText(alert), Charset: 'UTF-8' } } },
    });
    await deliverWithRetry(
      this.name,
      async () => {
        try {
          await this.options.client.send(command);
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
