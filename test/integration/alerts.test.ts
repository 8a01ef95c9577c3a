import { afterEach, describe, expect, it } from '@jest/globals';
import { PassThrough } from 'node:stream';
import { alertChannelsFromEnv } from '../../src/alerts/alert-config.js';
import { AlertDispatcher, type AlertInput } from '../../src/alerts/alert-dispatcher.js';
import type { DeliveryRetryOptions } from '../../src/alerts/delivery-retry.js';
import { sendTestAlert } from '../../src/alerts/test-alert.js';
import { ValidationError } from '../../src/domain/errors.js';
import { EmailChannel } from '../../src/alerts/email-channel.js';
import { SlackChannel } from '../../src/alerts/slack-channel.js';
import { WebhookChannel, type WebhookPayload } from '../../src/alerts/webhook-channel.js';
import { ALERT_TYPES, type AlertChannel, type AlertType } from '../../src/ports/alert-channel.js';
import type { Clock } from '../../src/ports/clock.js';
import { jsonLogger } from '../../src/util/json-logger.js';
import { startHttpReceiver, startSmtpSink, unreachableUrl, type HttpReceiver, type SmtpSink } from '../harness/alert-receivers.js';

const SECRET = 'webhook-shared-secret-0123456789';
const SMTP_PASSWORD = 'smtp-password-not-for-logs';
const HOUR = 60 * 60 * 1000;

const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

async function smtpSink(): Promise<SmtpSink> {
  const sink = await startSmtpSink({ auth: { user: 'alerts', password: SMTP_PASSWORD } });
  stops.push(sink.stop);
  return sink;
}

async function receiver(options: Parameters<typeof startHttpReceiver>[0] = {}): Promise<HttpReceiver> {
  const started = await startHttpReceiver(options);
  stops.push(started.stop);
  return started;
}

/** Retries without waiting; records each wait so tests can count retries. */
function instantRetry(): DeliveryRetryOptions & { waits: number[] } {
  const waits: number[] = [];
  return { attempts: 3, baseDelayMs: 100, waits, sleep: async (ms) => void waits.push(ms), random: () => 0.5 };
}

/** A logger whose JSON lines are kept for inspection. */
function capturedLogger() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (chunk: Buffer) => (text += chunk.toString()));
  return { logger: jsonLogger('debug', stream), lines: () => text.split('\n').filter((line) => line !== '').map((line) => JSON.parse(line) as Record<string, unknown>) };
}

function manualClock(start = Date.parse('2026-03-01T10:00:00Z')): Clock & { advance: (ms: number) => void } {
  let now = start;
  return { now: () => new Date(now), advance: (ms) => (now += ms) };
}

function sampleAlert(type: AlertType, plan = 'shop'): AlertInput {
  return { type, severity: type === 'backup_failed' || type === 'verification_failed' ? 'critical' : 'warning', key: `${type}:plan=${plan}`, title: `${type.replace(/_/g, ' ')} for plan ${plan}`, details: { plan, code: 'storage.unavailable', successRate: 0.42 } };
}

function payloads(webhook: HttpReceiver): WebhookPayload[] {
  return webhook.received.map((request) => request.json as WebhookPayload);
}

describe('alert channels against local receivers', () => {
  it('delivers every alert type to the SMTP sink, the Slack receiver and the signed webhook', async () => {
    const [sink, slack, webhook] = [await smtpSink(), await receiver(), await receiver({ secret: SECRET })];
    const env = {
      BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com, oncall@example.com',
      BACKUP_ALERT_SMTP_HOST: '127.0.0.1',
      BACKUP_ALERT_SMTP_PORT: String(sink.port),
      BACKUP_ALERT_SMTP_USER: 'alerts',
      BACKUP_ALERT_SMTP_PASSWORD_ENV: 'TEST_SMTP_PASSWORD',
      TEST_SMTP_PASSWORD: SMTP_PASSWORD,
      BACKUP_ALERT_SMTP_FROM: 'chrono@example.com',
      SLACK_WEBHOOK_URL: slack.url,
      BACKUP_ALERT_WEBHOOK_URL: webhook.url,
      BACKUP_ALERT_WEBHOOK_SECRET: SECRET,
    };
    const channels = alertChannelsFromEnv(env, { retry: instantRetry() });
    expect(channels.map((channel) => channel.name)).toEqual(['email', 'slack', 'webhook']);
    const dispatcher = new AlertDispatcher({ channels, logger: capturedLogger().logger });

    for (const type of ALERT_TYPES) {
      const result = await dispatcher.dispatch(sampleAlert(type));
      expect(result.outcome).toBe('sent');
      expect(result.channels).toEqual([{ channel: 'email', ok: true }, { channel: 'slack', ok: true }, { channel: 'webhook', ok: true }]);
    }

    expect(sink.refusedLogins).toBe(0);
    expect(sink.messages).toHaveLength(ALERT_TYPES.length);
    expect(slack.received).toHaveLength(ALERT_TYPES.length);
    expect(webhook.badSignatures).toBe(0);
    expect(payloads(webhook).map((payload) => payload.alert.type)).toEqual(ALERT_TYPES);
    ALERT_TYPES.forEach((type, index) => {
      const mail = sink.messages[index]!;
      expect(mail.from).toBe('chrono@example.com');
      expect(mail.to).toEqual(['ops@example.com', 'oncall@example.com']);
      expect(mail.subject).toContain(`${type.replace(/_/g, ' ')} for plan shop`);
      expect(mail.text).toContain(`Alert: ${type} (${type}:plan=shop)`);
      expect(mail.text).toContain('successRate: 0.42');

      const message = slack.received[index]!.json as { text: string; blocks: { type: string; fields?: { text: string }[] }[] };
      expect(message.text).toContain(type.replace(/_/g, ' '));
      expect(message.blocks.find((block) => block.fields)?.fields?.map((field) => field.text)).toContain('*plan*\nshop');

      const request = webhook.received[index]!;
      const payload = request.json as WebhookPayload;
      expect(payload.alert).toMatchObject({ type, state: 'firing', key: `${type}:plan=shop`, details: { plan: 'shop' } });
      expect(request.headers['x-chrono-timestamp']).toBe(payload.sentAt);
    });
  });

  it('a webhook answering 503 twice gets the alert on the third attempt', async () => {
    const webhook = await receiver({ secret: SECRET, failTimes: 2 });
    const retry = instantRetry();
    const channel = new WebhookChannel({ url: webhook.url, secret: SECRET, retry });
    await channel.send({ ...sampleAlert('storage_issue'), state: 'firing', time: new Date().toISOString() });
    expect(webhook.attempts).toBe(3);
    expect(retry.waits).toEqual([50, 100]);
    expect(payloads(webhook).map((payload) => payload.alert.type)).toEqual(['storage_issue']);
  });

  it('does not retry a 4xx refusal', async () => {
    const slack = await receiver({ failTimes: 5, failStatus: 404 });
    const retry = instantRetry();
    const dispatcher = new AlertDispatcher({ channels: [new SlackChannel({ webhookUrl: slack.url, retry })], logger: capturedLogger().logger });
    const result = await dispatcher.dispatch(sampleAlert('backup_failed'));
    expect(slack.attempts).toBe(1);
    expect(retry.waits).toEqual([]);
    expect(result.channels).toEqual([{ channel: 'slack', ok: false, error: { code: 'alert.rejected', message: expect.stringContaining('HTTP 404') } }]);
  });

  it('retries unreachable channels, reports them, and still delivers through the others', async () => {
    const webhook = await receiver({ secret: SECRET });
    const deadUrl = await unreachableUrl();
    const slackRetry = instantRetry();
    const emailRetry = instantRetry();
    const channels: AlertChannel[] = [
      new EmailChannel({ host: '127.0.0.1', port: Number(new URL(deadUrl).port), secure: false, user: 'alerts', password: SMTP_PASSWORD, from: 'chrono@example.com', recipients: ['ops@example.com'], retry: emailRetry }),
      new SlackChannel({ webhookUrl: `${deadUrl}/T000/B000/slack-token-secret`, retry: slackRetry }),
      new WebhookChannel({ url: webhook.url, secret: SECRET }),
    ];
    const { logger, lines } = capturedLogger();
    const result = await new AlertDispatcher({ channels, logger }).dispatch(sampleAlert('backup_failed'));

    expect(result.outcome).toBe('sent');
    expect(result.channels.map((entry) => [entry.channel, entry.ok, entry.error?.code])).toEqual([
      ['email', false, 'alert.unavailable'],
      ['slack', false, 'alert.unreachable'],
      ['webhook', true, undefined],
    ]);
    expect(emailRetry.waits).toHaveLength(2);
    expect(slackRetry.waits).toHaveLength(2);
    expect(payloads(webhook)).toHaveLength(1);
    const warnings = lines().filter((line) => line.level === 'warn');
    expect(warnings.map((line) => line.channel).sort()).toEqual(['email', 'slack']);
    const reported = JSON.stringify([result, warnings]);
    expect(reported).toContain('127.0.0.1');
    expect(reported).not.toContain('slack-token-secret');
    expect(reported).not.toContain(SMTP_PASSWORD);
  });

  it('throttles repeats of a condition and counts them in the next message', async () => {
    const webhook = await receiver({ secret: SECRET });
    const clock = manualClock();
    const dispatcher = new AlertDispatcher({ channels: [new WebhookChannel({ url: webhook.url, secret: SECRET, clock })], logger: capturedLogger().logger, clock });
    const alert = sampleAlert('low_success_rate');

    expect((await dispatcher.dispatch(alert)).outcome).toBe('sent');
    clock.advance(10 * 60 * 1000);
    expect((await dispatcher.dispatch(alert)).outcome).toBe('suppressed');
    clock.advance(10 * 60 * 1000);
    expect((await dispatcher.dispatch(alert)).outcome).toBe('suppressed');
    // Another condition is not held back by this one's window.
    expect((await dispatcher.dispatch(sampleAlert('low_success_rate', 'crm'))).outcome).toBe('sent');
    expect(payloads(webhook)).toHaveLength(2);

    clock.advance(HOUR);
    expect((await dispatcher.dispatch(alert)).outcome).toBe('sent');
    const third = payloads(webhook)[2]!;
    expect(third.alert).toMatchObject({ key: 'low_success_rate:plan=shop', state: 'firing', suppressedCount: 2 });
    expect((await dispatcher.dispatch(alert)).outcome).toBe('suppressed');
  });

  it('sends one recovery message when a condition clears, in every channel', async () => {
    const [sink, slack, webhook] = [await smtpSink(), await receiver(), await receiver({ secret: SECRET })];
    const dispatcher = new AlertDispatcher({
      channels: [
        new EmailChannel({ host: '127.0.0.1', port: sink.port, secure: false, user: 'alerts', password: SMTP_PASSWORD, from: 'chrono@example.com', recipients: ['ops@example.com'] }),
        new SlackChannel({ webhookUrl: slack.url }),
        new WebhookChannel({ url: webhook.url, secret: SECRET }),
      ],
      logger: capturedLogger().logger,
    });
    expect(await dispatcher.resolve('overdue_backup:plan=shop')).toBeUndefined();
    await dispatcher.dispatch(sampleAlert('overdue_backup'));
    await dispatcher.dispatch(sampleAlert('overdue_backup'));
    await expect(dispatcher.openConditions()).resolves.toEqual(['overdue_backup:plan=shop']);

    const recovery = await dispatcher.resolve('overdue_backup:plan=shop');
    expect(recovery?.channels.every((entry) => entry.ok)).toBe(true);
    expect(await dispatcher.resolve('overdue_backup:plan=shop')).toBeUndefined();
    await expect(dispatcher.openConditions()).resolves.toEqual([]);

    expect(payloads(webhook).map((payload) => [payload.alert.state, payload.alert.suppressedCount])).toEqual([['firing', undefined], ['resolved', 1]]);
    expect(sink.messages.map((mail) => mail.subject)).toEqual(['Chrono Backup [WARNING] overdue backup for plan shop', 'Chrono Backup [RESOLVED] overdue backup for plan shop']);
    expect(sink.messages[1]!.text).toContain('The condition has cleared.');
    expect(sink.messages[1]!.text).toContain('1 repeated alert was suppressed');
    expect((slack.received[1]!.json as { text: string }).text).toContain(':white_check_mark:');
  });

  it('sends a sample alert through the configured channels for `alerts test`, refusing an unknown type or no channel', async () => {
    const slack = await receiver();
    const env = { SLACK_WEBHOOK_URL: slack.url };
    const { logger } = capturedLogger();
    const first = await sendTestAlert(env, 'verification_failed', logger);
    const second = await sendTestAlert(env, 'verification_failed', logger);
    expect([first.outcome, second.outcome]).toEqual(['sent', 'sent']);
    expect(first.channels).toEqual([{ channel: 'slack', ok: true }]);
    expect(slack.received).toHaveLength(2);
    expect((slack.received[0]!.json as { text: string }).text).toContain('Test alert (verification failed)');
    await expect(sendTestAlert(env, 'disk_full', logger)).rejects.toThrow(ValidationError);
    await expect(sendTestAlert({}, 'backup_failed', logger)).rejects.toThrow('no alert channel is configured');
  });
});
