import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { EMF_DIMENSIONS, EMF_NAMESPACE } from '../../src/metrics/embedded-metric-format.js';
import type { StageConfig } from '../config/stages.js';

/** A Metrics Insights query over every series of one EMF metric (all plans, types and statuses). */
export function emfQuery(aggregate: 'SUM' | 'AVG' | 'MAX', metric: string, where = ''): string {
  const schema = `SCHEMA("${EMF_NAMESPACE}", ${EMF_DIMENSIONS.join(', ')})`;
  return `SELECT ${aggregate}(${metric}) FROM ${schema}${where ? ` WHERE ${where}` : ''}`;
}

export interface MonitoringProps {
  readonly config: StageConfig;
  readonly topic: sns.ITopic;
  readonly backup: sfn.IStateMachine;
  readonly functions: readonly lambda.IFunction[];
}

/**
 * Alarms and the operations dashboard.
 *
 * The run metrics are the EMF records of src/metrics/embedded-metric-format.ts (namespace ChronoBackup,
 * dimensions plan/type/status): a plan's series exist only once it has run, so the queries aggregate
 * them with Metrics Insights. Metrics Insights alarms evaluate only the last three hours, so:
 * - "backup failed" is an EMF alarm: any BackupFailures in the last hour, one contributor per plan;
 * - the daily views (failures per day, success rate, overdue) count executions of the backup state
 *   machine (AWS/States), which are exactly the backup runs and can be evaluated over a day.
 */
export class Monitoring extends Construct {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { alarms: limits, stage } = props.config;
    const day = Duration.days(1);
    const runs = (metric: string, period: Duration): cloudwatch.Metric => props.backup.metric(metric, { statistic: 'Sum', period });
    const ended = (period: Duration): cloudwatch.MathExpression =>
      new cloudwatch.MathExpression({
        expression: 'ok + failed + timedOut + aborted',
        usingMetrics: { ok: runs('ExecutionsSucceeded', period), failed: runs('ExecutionsFailed', period), timedOut: runs('ExecutionsTimedOut', period), aborted: runs('ExecutionsAborted', period) },
        period,
        label: 'backup runs ended',
      });

    const failed = new cloudwatch.MathExpression({
      expression: emfQuery('SUM', 'BackupFailures'),
      period: Duration.hours(1),
      label: 'failed backups (EMF)',
    });
    this.add(
      failed.createAlarm(this, 'BackupFailed', {
        alarmName: `chrono-backup-${stage}-backup-failed`,
        alarmDescription: 'A backup run failed in the last hour (ChronoBackup BackupFailures, any plan).',
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      props.topic,
    );
    const failuresPerDay = new cloudwatch.MathExpression({
      expression: 'failed + timedOut + aborted',
      usingMetrics: { failed: runs('ExecutionsFailed', day), timedOut: runs('ExecutionsTimedOut', day), aborted: runs('ExecutionsAborted', day) },
      period: day,
      label: 'backup runs not succeeded per day',
    });
    this.add(
      failuresPerDay.createAlarm(this, 'FailuresPerDay', {
        alarmName: `chrono-backup-${stage}-failures-per-day`,
        alarmDescription: `At least ${limits.maxFailuresPerDay} backup runs failed, timed out or were aborted in a day.`,
        threshold: limits.maxFailuresPerDay,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      props.topic,
    );
    const successRate = new cloudwatch.MathExpression({
      expression: 'IF(total > 0, 100 * ok / total)',
      usingMetrics: { ok: runs('ExecutionsSucceeded', day), total: ended(day) },
      period: day,
      label: 'backup success rate (%)',
    });
    this.add(
      successRate.createAlarm(this, 'LowSuccessRate', {
        alarmName: `chrono-backup-${stage}-low-success-rate`,
        alarmDescription: `Fewer than ${limits.minSuccessRatePercent}% of the backup runs of the last day succeeded.`,
        threshold: limits.minSuccessRatePercent,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      }),
      props.topic,
    );
    const overduePeriod = Duration.hours(limits.overdueHours);
    this.add(
      runs('ExecutionsSucceeded', overduePeriod).createAlarm(this, 'BackupOverdue', {
        alarmName: `chrono-backup-${stage}-backup-overdue`,
        alarmDescription: `No backup run succeeded in the last ${limits.overdueHours} hours.`,
        threshold: 1,
        evaluationPeriods: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
        // No data at all means no successful run: that is the condition being watched.
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      }),
      props.topic,
    );

    const emf = (label: string, query: string, period = Duration.hours(1)): cloudwatch.MathExpression => new cloudwatch.MathExpression({ expression: query, period, label });
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: `chrono-backup-${stage}`,
      defaultInterval: Duration.days(7),
      widgets: [
        [
          new cloudwatch.GraphWidget({ title: 'Backup runs and failures', left: [emf('runs', emfQuery('SUM', 'BackupRuns')), emf('failures', emfQuery('SUM', 'BackupFailures'))], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Backup duration (s, max)', left: [emf('duration', emfQuery('MAX', 'BackupDuration'))], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Bytes read / added / stored', left: [emf('read', emfQuery('SUM', 'BytesRead')), emf('added', emfQuery('SUM', 'BytesAdded')), emf('stored', emfQuery('SUM', 'BytesStored'))], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Dedup ratio (avg)', left: [emf('dedup', emfQuery('AVG', 'DedupRatio'))], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Verification runs and failures', left: [emf('runs', emfQuery('SUM', 'VerificationRuns')), emf('failures', emfQuery('SUM', 'VerificationFailures'))], width: 12 }),
          new cloudwatch.GraphWidget({ title: 'Backup success rate (%, per day)', left: [successRate], width: 12 }),
        ],
        [
          new cloudwatch.GraphWidget({ title: 'Lambda errors', left: props.functions.map((fn) => fn.metricErrors({ period: Duration.hours(1) })), width: 12 }),
          new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: this.alarms, width: 12 }),
        ],
      ],
    });
  }

  private add(alarm: cloudwatch.Alarm, topic: sns.ITopic): void {
    alarm.addAlarmAction(new actions.SnsAction(topic));
    alarm.addOkAction(new actions.SnsAction(topic));
    this.alarms.push(alarm);
  }
}
