import type { Transporter } from 'nodemailer';
import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { AlertDeliveryError } from './alert-delivery-error.js';
import { alertHeadline, alertText } from './alert-format.js';
import { deliverWithRetry, type DeliveryRetryOptions } from './delivery-retry.js';

export interface EmailChannelOptions {
  host: string;
  port: number;
  /** Implicit TLS from the first byte (port 465). Otherwise STARTTLS is used when the server offers it. */
  secure: boolean;
  /** SMTP login; `password` comes from the variable `BACKUP_ALERT_SMTP_PASSWORD_ENV` names. */
  user?: string;
  password?: string;
  from: string;
  recipients: string[];
  /** Abandon a connection attempt, greeting or command after this long. Default 10 000. */
  timeoutMs?: number;
  retry?: DeliveryRetryOptions;
}

/** nodemailer's codes for a connection that failed or dropped: worth another attempt. */
const TRANSIENT_CODES = new Set(['ECONNECTION', 'ESOCKET', 'ETIMEDOUT', 'EDNS', 'ECONNREFUSED', 'ECONNRESET']);

/**
 * Sends alerts as plain-text email through an SMTP relay (locally; SES in AWS is a separate channel).
 * One message per alert to all recipients. SMTP 4xx replies and dropped connections are retried; 5xx
 * replies (unknown recipient, authentication refused) are permanent.
 */
export class EmailChannel implements AlertChannel {
  readonly name = 'email';
  private transport: Promise<Transporter> | undefined;

  constructor(private readonly options: EmailChannelOptions) {}

  /** nodemailer is loaded on the first send: every CLI command builds the channels, few send mail. */
  private connect(): Promise<Transporter> {
    this.transport ??= import('nodemailer').then(({ createTransport }) => {
      const timeout = this.options.timeoutMs ?? 10_000;
      return createTransport({
        host: this.options.host,
        port: this.options.port,
        secure: this.options.secure,
        ...(this.options.user === undefined ? {} : { auth: { user: this.options.user, pass: this.options.password ?? '' } }),
        connectionTimeout: timeout,
        greetingTimeout: timeout,
        socketTimeout: timeout,
      });
    });
    return this.transport;
  }

  async send(alert: Alert): Promise<void> {
    const message = { from: this.options.from, to: this.options.recipients, subject: `Chrono Backup ${alertHeadline(alert)}`, text: alertText(alert) };
    await deliverWithRetry(
      this.name,
      async () => {
        try {
          await (await this.connect()).sendMail(message);
        } catch (error) {
          throw deliveryError(error, this.options.host);
        }
      },
      this.options.retry,
    );
  }
}

/** Classifies a nodemailer failure by its code and SMTP reply code; its message (server text) is dropped. */
function deliveryError(error: unknown, host: string): AlertDeliveryError {
  const { code, responseCode } = (error ?? {}) as { code?: unknown; responseCode?: unknown };
  const smtpCode = typeof responseCode === 'number' ? responseCode : undefined;
  const label = typeof code === 'string' ? code : 'unknown';
  const retryable = smtpCode !== undefined ? smtpCode >= 400 && smtpCode < 500 : TRANSIENT_CODES.has(label);
  const reply = smtpCode === undefined ? '' : `, SMTP ${smtpCode}`;
  return new AlertDeliveryError(retryable ? 'unavailable' : 'rejected', `email alert could not be sent through ${host} (${label}${reply})`, {
    retryable,
    details: { channel: 'email', host, code: label, ...(smtpCode === undefined ? {} : { smtpCode }) },
  });
}
