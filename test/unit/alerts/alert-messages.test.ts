import { describe, expect, it } from '@jest/globals';
import { alertText } from '../../../src/alerts/alert-format.js';
import { slackMessage } from '../../../src/alerts/slack-channel.js';
import type { Alert } from '../../../src/ports/alert-channel.js';

const FIRING: Alert = { type: 'backup_failed', severity: 'critical', state: 'firing', key: 'backup_failed:plan=<!channel>', title: 'Backup failed for plan <!channel>', details: { plan: '<!channel>', code: 'source.unreachable' }, time: '2026-03-01T10:00:00.000Z' };

type Block = { type: string; text?: { text: string }; fields?: { text: string }[]; elements?: { text: string }[] };

describe('alert messages', () => {
  it('renders a Slack message with severity, escaped title and details as fields', () => {
    const message = slackMessage(FIRING);
    const blocks = message.blocks as Block[];
    expect(blocks[0]!.text!.text).toBe(':rotating_light: *CRITICAL:* Backup failed for plan &lt;!channel&gt;');
    expect(blocks[1]!.fields!.map((field) => field.text)).toEqual(['*plan*\n&lt;!channel&gt;', '*code*\nsource.unreachable']);
    expect(JSON.stringify(blocks)).not.toContain('<!channel>');
    expect(message.text).toContain('[CRITICAL] Backup failed');
  });

  it('says "resolved" and counts suppressed repeats on recovery, splitting many details over sections', () => {
    const details = Object.fromEntries(Array.from({ length: 12 }, (_, index) => [`metric${index}`, index]));
    const message = slackMessage({ ...FIRING, state: 'resolved', suppressedCount: 3, details });
    const blocks = message.blocks as Block[];
    expect(blocks[0]!.text!.text).toMatch(/^:white_check_mark: \*Resolved:\*/);
    expect(blocks.filter((block) => block.fields).map((block) => block.fields!.length)).toEqual([10, 2]);
    expect(blocks.at(-1)!.elements!.map((element) => element.text)).toContain('3 repeated alerts were suppressed since the previous message.');
    expect(alertText({ ...FIRING, state: 'resolved' })).toContain('[RESOLVED] Backup failed');
  });
});
