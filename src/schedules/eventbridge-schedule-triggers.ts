import { ConflictException, CreateScheduleCommand, DeleteScheduleCommand, ResourceNotFoundException, UpdateScheduleCommand, type SchedulerClient } from '@aws-sdk/client-scheduler';

import { StorageError, ValidationError } from '../domain/errors.js';
import type { RetentionPolicy } from '../domain/retention.js';
import { awsScheduleExpression, type Schedule } from '../domain/schedule.js';
import type { ScheduleTriggers } from '../ports/schedule-triggers.js';

export interface EventBridgeScheduleTriggersOptions {
  client: SchedulerClient;
  /** The schedule group the CDK app creates for this stage. */
  groupName: string;
  /** The state machines a schedule starts, by schedule kind. */
  backupStateMachineArn: string;
  retentionStateMachineArn: string;
  /** The role EventBridge Scheduler assumes to start them (states:StartExecution only). */
  roleArn: string;
}

/**
 * Schedules as EventBridge Scheduler schedules, named after the schedule id. The cron expression is the
 * AWS form (`awsScheduleExpression`: day-of-week names, `?` where AWS needs it) in the schedule's time
 * zone; the target input is the workflow's request (plan and type, or a retention policy's rules, as
 * they are when the schedule is saved) plus the schedule id and the scheduled time (Scheduler's
 * `<aws.scheduler.scheduled-time>` placeholder). A double fire of one occurrence cannot run twice at once:
 * the second execution meets the first one's workflow lease (LockedError) and fails fast.
 */
export class EventBridgeScheduleTriggers implements ScheduleTriggers {
  constructor(private readonly options: EventBridgeScheduleTriggersOptions) {}

  async upsert(schedule: Schedule, policy?: RetentionPolicy): Promise<void> {
    if (schedule.kind === 'retention' && policy === undefined) throw new ValidationError(`retention schedule ${schedule.name} needs its policy's rules`, 'retention_policy');
    const input = {
      Name: schedule.id,
      GroupName: this.options.groupName,
      Description: `Chrono Backup schedule ${schedule.name}`.slice(0, 512),
      ScheduleExpression: awsScheduleExpression(schedule),
      ScheduleExpressionTimezone: schedule.time_zone,
      State: schedule.enabled ? ('ENABLED' as const) : ('DISABLED' as const),
      FlexibleTimeWindow: { Mode: 'OFF' as const },
      Target: {
        Arn: schedule.kind === 'retention' ? this.options.retentionStateMachineArn : this.options.backupStateMachineArn,
        RoleArn: this.options.roleArn,
        // The execution input is the workflow's request (see src/workflows/workflow-jobs.ts).
        Input: JSON.stringify({
          ...(schedule.kind === 'retention' ? { policy } : { plan: schedule.plan, type: schedule.backup_type ?? 'full' }),
          schedule: schedule.id,
          occurrence: '<aws.scheduler.scheduled-time>',
          requestedBy: `schedule:${schedule.name}`,
        }),
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 3600 },
      },
    };
    try {
      await this.options.client.send(new UpdateScheduleCommand(input));
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw unavailable(error, 'update');
      try {
        await this.options.client.send(new CreateScheduleCommand(input));
      } catch (createError) {
        // Created meanwhile by a concurrent call: ours is the newer intent, so update once more.
        if (createError instanceof ConflictException) await this.options.client.send(new UpdateScheduleCommand(input)).catch((again: unknown) => Promise.reject(unavailable(again, 'update')));
        else throw unavailable(createError, 'create');
      }
    }
  }

  async remove(scheduleId: string): Promise<void> {
    try {
      await this.options.client.send(new DeleteScheduleCommand({ Name: scheduleId, GroupName: this.options.groupName }));
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return;
      throw unavailable(error, 'delete');
    }
  }
}

function unavailable(error: unknown, operation: string): StorageError {
  const name = (error as Error).name ?? 'unknown';
  return new StorageError('scheduler_failed', `EventBridge Scheduler could not ${operation} the schedule (${name}); the change is saved and the call can be repeated`, { retryable: true, cause: error });
}
