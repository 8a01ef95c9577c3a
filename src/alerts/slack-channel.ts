import type { Alert, AlertChannel } from '../ports/alert-channel.js';
import { alertHeadline, alertText, suppressedNote } from './alert-format.js';
import { postWithRetry, type HttpDeliveryOptions } from './http-delivery.js';

export interface SlackChannelOptions extends HttpDeliveryOptions {
  /** The incoming-webhook URL (`SLACK_WEBHOOK_URL`). Secret: it carries the token, so it is never logged. */
  webhookUrl: string;
}

/** Slack renders at most 10 fields per section block. */
const FIELDS_PER_SECTION = 10;

/** Posts alerts to a Slack incoming webhook as a short Block Kit message with a plain-text fallback. */
export class SlackChannel implements AlertChannel {
  readonly name = 'slack';

  constructor(private readonly options: SlackChannelOptions) {}

  async send(alert: Alert): Promise<void> {
    const body = JSON.stringify(slackMessage(alert));
    await postWithRetry(this.name, this.options.webhookUrl, () => ({ body, headers: { 'content-type': 'application/json' } }), this.options);
  }
}

/** The Slack payload for `alert`: an emoji headline, details as fields, the suppressed count and time. */
export function slackMessage(alert: Alert): { text: string; blocks: unknown[] } {
  const emoji = alert.state === 'resolved' ? ':white_check_mark:' : alert.severity === 'critical' ? ':rotating_light:' : ':warning:';
  const title = escapeMrkdwn(alert.title);
  const lead = alert.state === 'resolved' ? `${emoji} *Resolved:* ${title}` : `${emoji} *${alert.severity.toUpperCase()}:* ${title}`;
  const fields = Object.entries(alert.details).map(([name, value]) => ({ type: 'mrkdwn', text: `*${escapeMrkdwn(name)}*\n${escapeMrkdwn(String(value))}` }));
  const blocks: unknown[] = [{ type: 'section', text: { type: 'mrkdwn', text: lead } }];
  for (let start = 0; start < fields.length; start += FIELDS_PER_SECTION) blocks.push({ type: 'section', fields: fields.slice(start, start + FIELDS_PER_SECTION) });
  const context = [`${alert.type} · ${alert.key} · ${alert.time}`, suppressedNote(alert)].filter((part): part is string => part !== undefined);
  blocks.push({ type: 'context', elements: context.map((text) => ({ type: 'mrkdwn', text: escapeMrkdwn(text) })) });
  // `text` is what notifications and clients without blocks show.
  return { text: `${emoji} ${alertHeadline(alert)}\n${alertText(alert)}`, blocks };
}

/** Slack's three control characters; without escaping, a plan named `<!channel>` would ping everyone. */
function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
