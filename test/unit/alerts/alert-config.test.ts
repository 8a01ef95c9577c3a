import { describe, expect, it } from '@jest/globals';
import { alertChannelsFromEnv } from '../../../src/alerts/alert-config.js';
import { ValidationError } from '../../../src/domain/errors.js';
import { thrownBy } from '../../helpers/thrown.js';

const EMAIL = { BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com', BACKUP_ALERT_SMTP_HOST: 'smtp.example.com' };
const WEBHOOK = { BACKUP_ALERT_WEBHOOK_URL: 'https://hooks.example.com/chrono', BACKUP_ALERT_WEBHOOK_SECRET: 'a-long-enough-secret-value' };
const SLACK_TOKEN_URL = 'http://hooks.slack.com/services/T0/B0/tokenvalue';

function refusal(env: Record<string, string>): ValidationError {
  return thrownBy(() => alertChannelsFromEnv(env), ValidationError);
}

describe('alertChannelsFromEnv', () => {
  it('builds no channel from an empty environment, and each channel from its variables', () => {
    expect(alertChannelsFromEnv({})).toEqual([]);
    expect(alertChannelsFromEnv({ BACKUP_ALERT_EMAIL_RECIPIENTS: '  ' })).toEqual([]);
    const names = alertChannelsFromEnv({ ...EMAIL, SLACK_WEBHOOK_URL: 'https://hooks.slack.com/services/T0/B0/x', ...WEBHOOK }).map((channel) => channel.name);
    expect(names).toEqual(['email', 'slack', 'webhook']);
    expect(alertChannelsFromEnv({ SLACK_WEBHOOK_URL: 'http://127.0.0.1:8080/hook' }).map((channel) => channel.name)).toEqual(['slack']);
  });

  it.each([
    [{ ...EMAIL, BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com, not-an-address' }, 'BACKUP_ALERT_EMAIL_RECIPIENTS', 'not-an-address'],
    [{ ...EMAIL, BACKUP_ALERT_EMAIL_RECIPIENTS: ' , ' }, 'BACKUP_ALERT_EMAIL_RECIPIENTS', 'at least one'],
    [{ BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com' }, 'BACKUP_ALERT_SMTP_HOST', 'must be set'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_PORT: '70000' }, 'BACKUP_ALERT_SMTP_PORT', '1 to 65535'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_PORT: '25x' }, 'BACKUP_ALERT_SMTP_PORT', '"25x"'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_USER: 'alerts' }, 'BACKUP_ALERT_SMTP_PASSWORD_ENV', 'must name the variable'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_PASSWORD_ENV: 'SMTP_PASS', SMTP_PASS: 'x' }, 'BACKUP_ALERT_SMTP_USER', 'must be set'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_USER: 'alerts', BACKUP_ALERT_SMTP_PASSWORD_ENV: 'SMTP_PASS' }, 'BACKUP_ALERT_SMTP_PASSWORD_ENV', 'SMTP_PASS, which is not set'],
    [{ ...EMAIL, BACKUP_ALERT_SMTP_FROM: 'nobody' }, 'BACKUP_ALERT_SMTP_FROM', 'not a valid address'],
    [{ SLACK_WEBHOOK_URL: 'not a url' }, 'SLACK_WEBHOOK_URL', 'not a valid URL'],
    [{ SLACK_WEBHOOK_URL: SLACK_TOKEN_URL }, 'SLACK_WEBHOOK_URL', 'https://'],
    [{ BACKUP_ALERT_WEBHOOK_URL: 'https://user:pw@hooks.example.com/x', BACKUP_ALERT_WEBHOOK_SECRET: WEBHOOK.BACKUP_ALERT_WEBHOOK_SECRET }, 'BACKUP_ALERT_WEBHOOK_URL', 'credentials'],
    [{ BACKUP_ALERT_WEBHOOK_URL: WEBHOOK.BACKUP_ALERT_WEBHOOK_URL }, 'BACKUP_ALERT_WEBHOOK_SECRET', 'must be set'],
    [{ ...WEBHOOK, BACKUP_ALERT_WEBHOOK_SECRET: 'short' }, 'BACKUP_ALERT_WEBHOOK_SECRET', 'at least 16'],
    [{ BACKUP_ALERT_WEBHOOK_SECRET: WEBHOOK.BACKUP_ALERT_WEBHOOK_SECRET }, 'BACKUP_ALERT_WEBHOOK_URL', 'is not'],
  ])('refuses %j, naming %s', (env, field, words) => {
    const error = refusal(env);
    expect(error.details).toEqual({ field });
    expect(error.message).toContain(field);
    expect(error.message).toContain(words);
  });

  it('never quotes a URL or secret in its messages', () => {
    expect(refusal({ SLACK_WEBHOOK_URL: SLACK_TOKEN_URL }).message).not.toContain('tokenvalue');
    expect(refusal({ ...WEBHOOK, BACKUP_ALERT_WEBHOOK_SECRET: 'short' }).message).not.toContain('short"');
    const missing = refusal({ ...EMAIL, BACKUP_ALERT_SMTP_USER: 'alerts', BACKUP_ALERT_SMTP_PASSWORD_ENV: 'SMTP_PASS' });
    expect(missing.message).not.toContain('alerts');
  });
});
