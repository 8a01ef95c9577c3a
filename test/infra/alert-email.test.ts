import { expect, test } from '@jest/globals';
import { resourcesOf, synthStage } from './synth-stage.js';

/*
 * Alert email in AWS: with recipients and an SES sender in context, the notify function gets both
 * (BACKUP_ALERT_SES_FROM selects the SES channel) and may send from that identity only.
 */
test('the notify function sends alert email through SES from the verified sender', () => {
  const { json } = synthStage({ stage: 'dev', alertEmail: 'ops@example.com', sesSender: 'example.com' });
  const functions = resourcesOf(json, 'AWS::Lambda::Function').map(([, fn]) => fn as { Environment?: { Variables?: Record<string, unknown> }; Role?: { 'Fn::GetAtt'?: string[] } });
  const notify = functions.filter((fn) => fn.Environment?.Variables?.BACKUP_ALERT_EMAIL_RECIPIENTS !== undefined);
  expect(notify).toHaveLength(1);
  expect(notify[0]!.Environment!.Variables).toMatchObject({ BACKUP_ALERT_EMAIL_RECIPIENTS: 'ops@example.com', BACKUP_ALERT_SES_FROM: 'chrono-backup@example.com' });
  const roleId = notify[0]!.Role!['Fn::GetAtt']![0];
  const sends = resourcesOf(json, 'AWS::IAM::Policy')
    .map(([, policy]) => policy as { Roles: { Ref: string }[]; PolicyDocument: { Statement: { Action: string | string[] }[] } })
    .filter((policy) => policy.PolicyDocument.Statement.some((statement) => [statement.Action].flat().some((action) => action.startsWith('ses:'))));
  expect(sends.map((policy) => policy.Roles.map((role) => role.Ref))).toEqual([[roleId]]);
});
