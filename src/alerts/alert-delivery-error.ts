import { BackupError, type BackupErrorOptions } from '../domain/errors.js';

/**
 * An alert channel could not deliver an alert. `retryable` marks transient failures (network error,
 * 5xx, 429, SMTP 4xx) that the channel retries itself; `details.channel` names the channel. Messages
 * carry the destination host and status only, never URLs with tokens or credentials.
 */
export class AlertDeliveryError extends BackupError {
  override readonly name = 'AlertDeliveryError';
  constructor(code: string, message: string, options: BackupErrorOptions = {}) {
    super(`alert.${code}`, message, options);
  }
}
