/** The SES email channel through aws-sdk-client-mock (SES cannot run here): message, retries, permanent errors. */
import { afterEach, expect, it } from '@jest/globals';
import { SendEmailCommand, SESClient } from '@aws-sdk/client-ses';
import { mockClient } from 'aws-sdk-client-mock';

import { alertChannelsFromEnv } from '../../../src/alerts/alert-config.js';
import { SesEmailChannel } from '../../../src/alerts/ses-email-channel.js';
import type { Alert } from '../../../src/ports/alert-channel.js';

const ses = mockClient(SESClient);
afterEach(() => {
  ses.reset();
});

const alert: Alert = { type: 'backup_failed', severity: 'critical', state: 'firing', key: 'backup_failed:plan app', title: 'Backup failed: plan app', details: { code: 'source.unreachable' }, time: '2026-01-01T02:00:00.000Z' };
const channel = () => new SesEmailChannel({ client: new SESClient({ region: 'eu-west-1' }), from: 'backups@example.com', recipients: ['ops@example.com', 'dba@example.com'], retry: { sleep: async () => undefined, random: () => 0 } });
const failure = (name: string) => Object.assign(new Error(name), { name });

it('sends the alert as a plain-text email to every recipient', async () => {
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-1' });
  await channel().send(alert);
  const input = ses.commandCalls(SendEmailCommand)[0]!.args[0].input;
  expect(input).toMatchObject({ Source: 'backups@example.com', Destination: { ToAddresses: ['ops@example.com', 'dba@example.com'] } });
  expect(input.Message?.Subject?.Data).toContain('Backup failed: plan app');
  expect(input.Message?.Body?.Text?.Data).toContain('source.unreachable');
});

it('is what BACKUP_ALERT_SES_FROM selects instead of SMTP', async () => {
  ses.on(SendEmailCommand).resolves({ MessageId: 'm-3' });
  const [channel] = alertChannelsFromEnv({ BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com', BACKUP_ALERT_SES_FROM: 'backups@example.com', AWS_REGION: 'eu-west-1' });
  expect(channel).toBeInstanceOf(SesEmailChannel);
  await channel!.send(alert);
  expect(ses.commandCalls(SendEmailCommand)[0]!.args[0].input.Source).toBe('backups@example.com');
  expect(() => alertChannelsFromEnv({ BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com', BACKUP_ALERT_SES_FROM: 'not an address' })).toThrow(/BACKUP_ALERT_SES_FROM/);
});

it('retries throttling, and gives up at once on a rejected message', async () => {
  ses.on(SendEmailCommand).rejectsOnce(failure('Throttling')).resolves({ MessageId: 'm-2' });
  await channel().send(alert);
  expect(ses.commandCalls(SendEmailCommand)).toHaveLength(2);
  ses.reset();
  ses.on(SendEmailCommand).rejects(failure('MessageRejected'));
  await expect(channel().send(alert)).rejects.toMatchObject({ code: 'alert.rejected', retryable: false });
  expect(ses.commandCalls(SendEmailCommand)).toHaveLength(1);
});
