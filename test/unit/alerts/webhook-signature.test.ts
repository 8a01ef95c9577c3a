import { describe, expect, it } from '@jest/globals';
import { createHmac } from 'node:crypto';
import { signatureHeader, verifyWebhookSignature } from '../../../src/alerts/webhook-channel.js';

const SECRET = 'shared-secret-for-tests';
const BODY = '{"version":1,"sentAt":"2026-03-01T10:00:00.000Z","alert":{"type":"backup_failed"}}';

describe('webhook signatures', () => {
  it('is sha256= and the hex HMAC-SHA256 of the raw body, as a receiver would compute it', () => {
    // RFC 4231 test case 2, so the format is pinned to a published vector, not to our own code.
    expect(signatureHeader('Jefe', 'what do ya want for nothing?')).toBe('sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843');
    expect(signatureHeader(SECRET, BODY)).toBe(`sha256=${createHmac('sha256', SECRET).update(BODY).digest('hex')}`);
    expect(signatureHeader(SECRET, Buffer.from(BODY))).toBe(signatureHeader(SECRET, BODY));
  });

  it('verifies the right signature and refuses a changed body, another secret or a malformed header', () => {
    const header = signatureHeader(SECRET, BODY);
    expect(verifyWebhookSignature(SECRET, BODY, header)).toBe(true);
    expect(verifyWebhookSignature(SECRET, Buffer.from(BODY), header)).toBe(true);
    expect(verifyWebhookSignature(SECRET, BODY.replace('backup_failed', 'storage_issue'), header)).toBe(false);
    expect(verifyWebhookSignature('another-secret-entirely', BODY, header)).toBe(false);
    expect(verifyWebhookSignature(SECRET, BODY, header.replace('sha256=', ''))).toBe(false);
    expect(verifyWebhookSignature(SECRET, BODY, `${header}00`)).toBe(false);
    expect(verifyWebhookSignature(SECRET, BODY, undefined)).toBe(false);
  });
});
