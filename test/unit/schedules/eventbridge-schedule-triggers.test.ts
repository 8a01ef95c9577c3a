/** Schedules as EventBridge Scheduler schedules, through aws-sdk-client-mock (the service cannot run here). */
import { afterEach, expect, it } from '@jest/globals';
import { CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, SchedulerClient, UpdateScheduleCommand } from '@aws-sdk/client-scheduler';
import { mockClient } from 'aws-sdk-client-mock';

import { newSchedule, parseScheduleInput } from '../../../src/domain/schedule.js';
import { EventBridgeScheduleTriggers } from '../../../src/schedules/eventbridge-schedule-triggers.js';

const scheduler = mockClient(SchedulerClient);
afterEach(() => {
  scheduler.reset();
});

const triggers = () =>
  new EventBridgeScheduleTriggers({
    client: new SchedulerClient({ region: 'eu-west-1' }),
    groupName: 'chrono-backup-prod',
    backupStateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:backup',
    retentionStateMachineArn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:retention',
    roleArn: 'arn:aws:iam::111122223333:role/scheduler',
  });
const notFound = () => new ResourceNotFoundException({ Message: 'no such schedule', message: 'no such schedule', $metadata: {} });
const schedule = (raw: Record<string, unknown>) => newSchedule(parseScheduleInput({ name: 'Weekly Database Backup', plan: 'app', ...raw }), new Date('2026-01-01T00:00:00Z'), '0123456789abcdef');

it('creates a missing schedule in the AWS cron form, in its time zone, targeting the backup state machine', async () => {
  scheduler.on(UpdateScheduleCommand).rejects(notFound());
  scheduler.on(CreateScheduleCommand).resolves({ ScheduleArn: 'arn:…' });
  await triggers().upsert(schedule({ cron_expression: '0 1 * * 0', backup_type: 'database_only', time_zone: 'Europe/Paris' }));
  const input = scheduler.commandCalls(CreateScheduleCommand)[0]!.args[0].input;
  expect(input).toMatchObject({
    Name: '0123456789abcdef',
    GroupName: 'chrono-backup-prod',
    ScheduleExpression: 'cron(0 1 ? * SUN *)',
    ScheduleExpressionTimezone: 'Europe/Paris',
    State: 'ENABLED',
    FlexibleTimeWindow: { Mode: 'OFF' },
    Target: { Arn: 'arn:aws:states:eu-west-1:111122223333:stateMachine:backup', RoleArn: 'arn:aws:iam::111122223333:role/scheduler' },
  });
  expect(JSON.parse(input.Target!.Input!)).toEqual({ plan: 'app', type: 'database_only', schedule: '0123456789abcdef', occurrence: '<aws.scheduler.scheduled-time>', requestedBy: 'schedule:Weekly Database Backup' });
});

it('updates an existing one (paused: disabled), targets retention schedules at the retention machine, and removes idempotently', async () => {
  scheduler.on(UpdateScheduleCommand).resolves({ ScheduleArn: 'arn:…' });
  await triggers().upsert({ ...schedule({ cron_expression: '0 2 * * *' }), enabled: false });
  expect(scheduler.commandCalls(UpdateScheduleCommand)[0]!.args[0].input).toMatchObject({ State: 'DISABLED', ScheduleExpression: 'cron(0 2 * * ? *)' });
  expect(scheduler.commandCalls(CreateScheduleCommand)).toHaveLength(0);
  const cleanup = newSchedule(parseScheduleInput({ name: 'cleanup', kind: 'retention', retention_policy: 'Standard', cron_expression: 'cron(0 4 * * ? *)' }), new Date(), 'fedcba9876543210');
  await expect(triggers().upsert(cleanup)).rejects.toMatchObject({ name: 'ValidationError' });
  await triggers().upsert(cleanup, { retention_days: 30, min_backups_to_keep: 3 });
  const target = scheduler.commandCalls(UpdateScheduleCommand)[1]!.args[0].input.Target!;
  expect(target.Arn).toContain('stateMachine:retention');
  expect(JSON.parse(target.Input!).policy).toEqual({ retention_days: 30, min_backups_to_keep: 3 });
  scheduler.on(DeleteScheduleCommand).rejects(notFound());
  await expect(triggers().remove('0123456789abcdef')).resolves.toBeUndefined();
});

it('reports a Scheduler outage as a retryable storage error that names no secret', async () => {
  scheduler.on(UpdateScheduleCommand).rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
  await expect(triggers().upsert(schedule({ cron_expression: '0 2 * * *' }))).rejects.toMatchObject({ code: 'storage.scheduler_failed', retryable: true });
});
