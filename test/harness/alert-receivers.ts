import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { SIGNATURE_HEADER, verifyWebhookSignature } from '../../src/alerts/webhook-channel.js';
import { freePort } from './child-process.js';

/** A message the SMTP sink accepted, with the text body decoded. */
export interface ReceivedMail {
  from: string;
  to: string[];
  subject: string;
  text: string;
}

export interface SmtpSink {
  port: number;
  messages: ReceivedMail[];
  /** Logins the sink refused (wrong user or password). */
  refusedLogins: number;
  stop: () => Promise<void>;
}

/**
 * A local SMTP server on 127.0.0.1 (a free port) that keeps every message it receives. Without `auth`
 * it accepts anyone; with it, it requires that login (over plain SMTP: the sink is loopback-only, so
 * STARTTLS is switched off rather than trusting a self-signed certificate in the client).
 */
export async function startSmtpSink(options: { auth?: { user: string; password: string } } = {}): Promise<SmtpSink> {
  const sink: Omit<SmtpSink, 'port' | 'stop'> = { messages: [], refusedLogins: 0 };
  const { auth } = options;
  const server = new SMTPServer({
    disabledCommands: auth ? ['STARTTLS'] : ['STARTTLS', 'AUTH'],
    authOptional: !auth,
    allowInsecureAuth: true,
    logger: false,
    onAuth(login, _session, callback) {
      if (auth && login.username === auth.user && login.password === auth.password) return callback(null, { user: login.username });
      sink.refusedLogins++;
      return callback(new Error('invalid login'));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        const { envelope } = session;
        sink.messages.push({ from: envelope.mailFrom === false ? '' : envelope.mailFrom.address, to: envelope.rcptTo.map((rcpt) => rcpt.address), ...parseMail(Buffer.concat(chunks).toString('utf8')) });
        callback();
      });
    },
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.server.address() as AddressInfo;
  return {
    port,
    messages: sink.messages,
    get refusedLogins() {
      return sink.refusedLogins;
    },
    stop: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/** The subject and the decoded text body of a single-part RFC 5322 message (what nodemailer sends for `text`). */
function parseMail(raw: string): { subject: string; text: string } {
  const split = raw.indexOf('\r\n\r\n');
  const head = raw.slice(0, split).replace(/\r\n[ \t]+/g, ' ');
  const body = raw.slice(split + 4);
  const header = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(head)?.[1]?.trim() ?? '';
  const encoding = header('Content-Transfer-Encoding').toLowerCase();
  let text = body;
  if (encoding === 'quoted-printable') {
    text = Buffer.from(body.replace(/=\r\n/g, '').replace(/=([0-9A-F]{2})/gi, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1').toString('utf8');
  } else if (encoding === 'base64') {
    text = Buffer.from(body, 'base64').toString('utf8');
  }
  return { subject: header('Subject'), text: text.replace(/\r\n/g, '\n').replace(/\n$/, '') };
}

/** A request an HTTP receiver accepted. */
export interface ReceivedRequest {
  headers: IncomingHttpHeaders;
  body: string;
  json: unknown;
}

export interface HttpReceiver {
  url: string;
  /** Requests answered 200, in order. */
  received: ReceivedRequest[];
  /** Every request, including the ones answered with the failure status or refused for a bad signature. */
  attempts: number;
  /** Requests refused with 401 because their signature did not verify. */
  badSignatures: number;
  stop: () => Promise<void>;
}

export interface HttpReceiverOptions {
  /** Verify `X-Chrono-Signature` with this secret, answering 401 when it does not match (a webhook receiver). */
  secret?: string;
  /** Answer the first `failTimes` requests with `failStatus` (default 503) before accepting. */
  failTimes?: number;
  failStatus?: number;
}

/**
 * A Slack-like or webhook receiver on 127.0.0.1 that records the bodies it accepts. With `secret` it
 * checks each request's signature over the raw body, as a real receiver must.
 */
export async function startHttpReceiver(options: HttpReceiverOptions = {}): Promise<HttpReceiver> {
  const state = { received: [] as ReceivedRequest[], attempts: 0, badSignatures: 0 };
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      state.attempts++;
      const raw = Buffer.concat(chunks);
      if (state.attempts <= (options.failTimes ?? 0)) {
        response.writeHead(options.failStatus ?? 503).end('try later');
        return;
      }
      const signature = request.headers[SIGNATURE_HEADER.toLowerCase()];
      if (options.secret !== undefined && !verifyWebhookSignature(options.secret, raw, typeof signature === 'string' ? signature : undefined)) {
        state.badSignatures++;
        response.writeHead(401).end('bad signature');
        return;
      }
      const body = raw.toString('utf8');
      state.received.push({ headers: request.headers, body, json: JSON.parse(body) as unknown });
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => done());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/T000/B000/token-not-for-logs`,
    get received() { return state.received; },
    get attempts() { return state.attempts; },
    get badSignatures() { return state.badSignatures; },
    stop: () => {
      server.closeAllConnections();
      return new Promise<void>((done) => server.close(() => done()));
    },
  };
}

/** A URL on 127.0.0.1 where nothing listens (a port that was free a moment ago): connections are refused. */
export async function unreachableUrl(): Promise<string> {
  return `http://127.0.0.1:${await freePort()}/unreachable`;
}
