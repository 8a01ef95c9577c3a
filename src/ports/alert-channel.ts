/** The conditions Chrono Backup alerts on (SPEC.md "Alert Types", plus failed verification). */
export type AlertType = 'backup_failed' | 'low_success_rate' | 'storage_issue' | 'overdue_backup' | 'performance_degradation' | 'verification_failed';

export const ALERT_TYPES: readonly AlertType[] = ['backup_failed', 'low_success_rate', 'storage_issue', 'overdue_backup', 'performance_degradation', 'verification_failed'];

/**
 * One alert message. `key` names the condition (`backup_failed:plan=shop`), so repeats of the same
 * condition can be throttled and its recovery announced; `details` are the numbers and names behind it
 * (plan, error code, success rate), never credentials or file contents.
 */
export interface Alert {
  type: AlertType;
  severity: 'warning' | 'critical';
  /** `firing` while the condition holds; `resolved` once, when it clears. */
  state: 'firing' | 'resolved';
  key: string;
  title: string;
  details: Record<string, string | number>;
  /** ISO 8601 time the alert was raised (or resolved). */
  time: string;
  /** How many repeats of this condition were throttled since the previous message; absent when none. */
  suppressedCount?: number;
}

/**
 * AlertChannel: delivers alerts to one destination (an SMTP relay, a Slack incoming webhook, a custom
 * webhook). Contract:
 * - `name` identifies the channel in results and logs (`email`, `slack`, `webhook`); it is not secret.
 * - `send` resolves once the destination has accepted the alert. Transient failures (network errors,
 *   5xx, 429, SMTP 4xx) are retried inside the channel with backoff; it rejects with an
 *   `AlertDeliveryError` (src/alerts/alert-delivery-error.ts) once attempts are used up or at once on a
 *   permanent refusal (4xx, bad recipient).
 * - Error messages and logs name the channel, the destination host and status codes only: never
 *   webhook URLs (Slack's carry a token), passwords or signing secrets.
 * - A channel keeps no per-alert state: throttling and recovery messages are the dispatcher's job.
 */
export interface AlertChannel {
  readonly name: string;
  send(alert: Alert): Promise<void>;
}
