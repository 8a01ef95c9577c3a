import { hostname } from 'node:os';
import { ValidationError } from '../domain/errors.js';
import type { AlertChannel } from '../ports/alert-channel.js';
import type { Clock } from '../ports/clock.js';
import type { DeliveryRetryOptions } from './delivery-retry.js';
import { EmailChannel } from './email-channel.js';
import { SesEmailChannel } from './ses-email-channel.js';
import { SlackChannel } from './slack-channel.js';
import { WebhookChannel } from './webhook-channel.js';

/** Tuning shared by every channel built from the environment; tests shorten waits with it. */
export interface AlertChannelTuning {
  retry?: DeliveryRetryOptions;
  timeoutMs?: number;
  clock?: Clock;
}

type Env = Record<string, string | undefined>;

/** A webhook secret shorter than this is guessable enough to forge signatures offline. */
const MIN_SECRET_LENGTH = 16;
/** Deliberately loose (local@domain): the relay is the authority; this only catches typos and list mistakes. */
const EMAIL = /^[^\s@,<>]+@[^\s@,<>]+$/;

/**
 * The alert channels the environment configures; an empty list when none is (alerts are then only
 * logged by the caller). Each channel is enabled by its main variable:
 * - email: `BACKUP_ALERT_EMAIL_RECIPIENTS` (comma-separated), with `BACKUP_ALERT_SMTP_HOST` (required),
 *   `BACKUP_ALERT_SMTP_PORT` (default 587; 465 means implicit TLS), `BACKUP_ALERT_SMTP_USER`,
 *   `BACKUP_ALERT_SMTP_PASSWORD_ENV` (the name of the variable holding the password, so the password
 *   itself never sits in a config file) and `BACKUP_ALERT_SMTP_FROM`; or, in AWS, `BACKUP_ALERT_SES_FROM`
 *   (a verified SES identity) instead of the SMTP settings;
 * - Slack: `SLACK_WEBHOOK_URL`;
 * - webhook: `BACKUP_ALERT_WEBHOOK_URL` with `BACKUP_ALERT_WEBHOOK_SECRET` (required, signs each body).
 * Throws a ValidationError naming the variable on a bad value; messages never quote URLs or secrets.
 */
export function alertChannelsFromEnv(env: Env, tuning: AlertChannelTuning = {}): AlertChannel[] {
  const channels: AlertChannel[] = [];
  const shared = { ...(tuning.retry ? { retry: tuning.retry } : {}), ...(tuning.timeoutMs === undefined ? {} : { timeoutMs: tuning.timeoutMs }) };
  const recipients = value(env, 'BACKUP_ALERT_EMAIL_RECIPIENTS');
  const sesFrom = value(env, 'BACKUP_ALERT_SES_FROM');
  if (recipients !== undefined && sesFrom !== undefined) {
    // In AWS: SES with the function's role, from a verified identity; no SMTP settings needed.
    if (!EMAIL.test(sesFrom)) throw new ValidationError(`BACKUP_ALERT_SES_FROM is not a valid address: ${JSON.stringify(sesFrom)}`, 'BACKUP_ALERT_SES_FROM');
    const region = value(env, 'AWS_REGION');
    channels.push(new SesEmailChannel({ from: sesFrom, recipients: recipientAddresses(recipients), ...(region ? { region } : {}), ...(tuning.retry ? { retry: tuning.retry } : {}) }));
  } else if (recipients !== undefined) channels.push(new EmailChannel({ ...emailSettings(env, recipients), ...shared }));
  const slack = value(env, 'SLACK_WEBHOOK_URL');
  if (slack !== undefined) channels.push(new SlackChannel({ webhookUrl: httpUrl(slack, 'SLACK_WEBHOOK_URL'), ...shared }));
  const webhook = value(env, 'BACKUP_ALERT_WEBHOOK_URL');
  const secret = value(env, 'BACKUP_ALERT_WEBHOOK_SECRET');
  if (webhook !== undefined) {
    if (secret === undefined) throw new ValidationError('BACKUP_ALERT_WEBHOOK_SECRET must be set when BACKUP_ALERT_WEBHOOK_URL is: every webhook body is signed with it', 'BACKUP_ALERT_WEBHOOK_SECRET');
    if (secret.length < MIN_SECRET_LENGTH) throw new ValidationError(`BACKUP_ALERT_WEBHOOK_SECRET must be at least ${MIN_SECRET_LENGTH} characters long`, 'BACKUP_ALERT_WEBHOOK_SECRET');
    channels.push(new WebhookChannel({ url: httpUrl(webhook, 'BACKUP_ALERT_WEBHOOK_URL'), secret, ...shared, ...(tuning.clock ? { clock: tuning.clock } : {}) }));
  } else if (secret !== undefined) {
    throw new ValidationError('BACKUP_ALERT_WEBHOOK_SECRET is set but BACKUP_ALERT_WEBHOOK_URL is not', 'BACKUP_ALERT_WEBHOOK_URL');
  }
  return channels;
}

function recipientAddresses(recipientList: string): string[] {
  const recipients = recipientList.split(',').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (recipients.length === 0) throw new ValidationError('BACKUP_ALERT_EMAIL_RECIPIENTS must list at least one address', 'BACKUP_ALERT_EMAIL_RECIPIENTS');
  for (const recipient of recipients) {
    if (!EMAIL.test(recipient)) throw new ValidationError(`BACKUP_ALERT_EMAIL_RECIPIENTS holds an invalid address: ${JSON.stringify(recipient)}`, 'BACKUP_ALERT_EMAIL_RECIPIENTS');
  }
  return recipients;
}

function emailSettings(env: Env, recipientList: string) {
  const recipients = recipientAddresses(recipientList);
  const host = value(env, 'BACKUP_ALERT_SMTP_HOST');
  if (host === undefined) throw new ValidationError('BACKUP_ALERT_SMTP_HOST must be set when BACKUP_ALERT_EMAIL_RECIPIENTS is', 'BACKUP_ALERT_SMTP_HOST');
  const portText = value(env, 'BACKUP_ALERT_SMTP_PORT') ?? '587';
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new ValidationError(`BACKUP_ALERT_SMTP_PORT must be a port number from 1 to 65535 (got ${JSON.stringify(portText)})`, 'BACKUP_ALERT_SMTP_PORT');
  const user = value(env, 'BACKUP_ALERT_SMTP_USER');
  const passwordEnv = value(env, 'BACKUP_ALERT_SMTP_PASSWORD_ENV');
  let password: string | undefined;
  if (passwordEnv !== undefined) {
    if (user === undefined) throw new ValidationError('BACKUP_ALERT_SMTP_USER must be set when BACKUP_ALERT_SMTP_PASSWORD_ENV is', 'BACKUP_ALERT_SMTP_USER');
    password = value(env, passwordEnv);
    // Names the variable, never its (absent or present) value.
    if (password === undefined) throw new ValidationError(`BACKUP_ALERT_SMTP_PASSWORD_ENV names the variable ${passwordEnv}, which is not set`, 'BACKUP_ALERT_SMTP_PASSWORD_ENV');
  } else if (user !== undefined) {
    throw new ValidationError('BACKUP_ALERT_SMTP_PASSWORD_ENV must name the variable holding the password when BACKUP_ALERT_SMTP_USER is set', 'BACKUP_ALERT_SMTP_PASSWORD_ENV');
  }
  const from = value(env, 'BACKUP_ALERT_SMTP_FROM') ?? `chrono-backup@${hostname()}`;
  if (!EMAIL.test(from.replace(/^.*<([^>]*)>\s*$/, '$1'))) throw new ValidationError(`BACKUP_ALERT_SMTP_FROM is not a valid address: ${JSON.stringify(from)}`, 'BACKUP_ALERT_SMTP_FROM');
  return { host, port, secure: port === 465, from, recipients, ...(user === undefined ? {} : { user, password }) };
}

/**
 * An http(s) URL from `name`. Plain http is accepted only for loopback receivers (tests, a local relay):
 * elsewhere the alert, and Slack's token in the path, would cross the network in clear.
 */
function httpUrl(text: string, name: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ValidationError(`${name} is not a valid URL`, name);
  }
  const loopback = ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) throw new ValidationError(`${name} must be an https:// URL (http:// only for a loopback receiver)`, name);
  if (url.username !== '' || url.password !== '') throw new ValidationError(`${name} must not carry credentials in the URL`, name);
  return url.toString();
}

/** The trimmed value of `name`, or undefined when unset or blank. */
function value(env: Env, name: string): string | undefined {
  const text = env[name]?.trim();
  return text === undefined || text === '' ? undefined : text;
}
