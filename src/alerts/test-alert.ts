import { ValidationError } from '../domain/errors.js';
import { ALERT_TYPES, type AlertType } from '../ports/alert-channel.js';
import type { Logger } from '../ports/logger.js';
import { alertChannelsFromEnv, type AlertChannelTuning } from './alert-config.js';
import { AlertDispatcher, type DispatchResult } from './alert-dispatcher.js';

/**
 * Sends one sample alert of `type` through every channel the environment configures, so an operator can
 * check the wiring (`chrono-backup alerts test`). Its key is unique per call: a test is never throttled.
 */
export async function sendTestAlert(env: Record<string, string | undefined>, type: string, logger: Logger, tuning: AlertChannelTuning = {}): Promise<DispatchResult> {
  if (!(ALERT_TYPES as readonly string[]).includes(type)) throw new ValidationError(`--type must be one of ${ALERT_TYPES.join(', ')} (got ${JSON.stringify(type)})`, 'type');
  const channels = alertChannelsFromEnv(env, tuning);
  if (channels.length === 0) throw new ValidationError('no alert channel is configured: set BACKUP_ALERT_EMAIL_RECIPIENTS, SLACK_WEBHOOK_URL or BACKUP_ALERT_WEBHOOK_URL', 'BACKUP_ALERT_EMAIL_RECIPIENTS');
  const dispatcher = new AlertDispatcher({ channels, logger, ...(tuning.clock ? { clock: tuning.clock } : {}) });
  const now = (tuning.clock?.now() ?? new Date()).toISOString();
  return dispatcher.dispatch({
    type: type as AlertType,
    severity: 'warning',
    key: `test:${type}:${now}`,
    title: `Test alert (${type.replace(/_/g, ' ')}) from chrono-backup`,
    details: { note: 'sent by `chrono-backup alerts test`; no action needed' },
  });
}
