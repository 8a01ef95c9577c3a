import type { Alert } from '../ports/alert-channel.js';

/** The one-line summary every channel leads with: `[CRITICAL] Backup failed: plan shop` / `[RESOLVED] …`. */
export function alertHeadline(alert: Alert): string {
  const label = alert.state === 'resolved' ? 'RESOLVED' : alert.severity.toUpperCase();
  return `[${label}] ${alert.title}`;
}

/** The sentence about throttled repeats, or undefined when nothing was suppressed. */
export function suppressedNote(alert: Alert): string | undefined {
  const count = alert.suppressedCount ?? 0;
  if (count <= 0) return undefined;
  return `${count} repeated ${count === 1 ? 'alert was' : 'alerts were'} suppressed since the previous message.`;
}

/** A plain-text rendering (email body, Slack fallback text): headline, state, details, time. */
export function alertText(alert: Alert): string {
  const lines = [alertHeadline(alert), ''];
  lines.push(alert.state === 'resolved' ? 'The condition has cleared.' : `Severity: ${alert.severity}`);
  lines.push(`Alert: ${alert.type} (${alert.key})`);
  const details = Object.entries(alert.details);
  if (details.length > 0) lines.push('', ...details.map(([name, value]) => `${name}: ${value}`));
  const note = suppressedNote(alert);
  if (note) lines.push('', note);
  lines.push('', `Time: ${alert.time}`);
  return lines.join('\n');
}
