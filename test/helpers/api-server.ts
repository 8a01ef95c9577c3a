/**
 * Starts the local server (`npm start`'s code, in this process) on 127.0.0.1 and a free port, with a
 * temporary home, and gives tests a small HTTP client. Every server and directory it creates is removed
 * by {@link ApiTestServer.stop}.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { startLocalServer, type LocalServer } from '../../src/local/local-server.js';
import type { Logger, LogFields } from '../../src/ports/logger.js';
import type { Role } from '../../src/domain/user.js';

export const ADMIN_EMAIL = 'admin@example.com';
export const ADMIN_PASSWORD = 'correct horse battery staple';

export interface ApiCall {
  status: number;
  headers: Headers;
  /** Parsed JSON when the response is JSON, else undefined (see `text`). */
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- responses are asserted field by field
  text: string;
}

export interface RequestOptions {
  token?: string;
  body?: unknown;
  /** Sent as is instead of JSON (malformed bodies, other content types). */
  rawBody?: string | Buffer;
  headers?: Record<string, string>;
}

export class ApiTestServer {
  readonly logLines: string[] = [];

  private constructor(
    readonly home: string,
    private readonly server: LocalServer,
    readonly env: NodeJS.ProcessEnv,
    logLines: string[],
  ) {
    this.logLines = logLines;
  }

  static async start(extraEnv: NodeJS.ProcessEnv = {}): Promise<ApiTestServer> {
    const home = await mkdtemp(join(tmpdir(), 'chrono-api-'));
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      CHRONO_BACKUP_HOME: home,
      CHRONO_BACKUP_ADMIN_EMAIL: ADMIN_EMAIL,
      CHRONO_BACKUP_ADMIN_PASSWORD: ADMIN_PASSWORD,
      ...extraEnv,
    };
    const lines: string[] = [];
    const server = await startLocalServer({ env, port: 0, host: '127.0.0.1', logger: collectingLogger(lines), announce: (line) => lines.push(line) });
    return new ApiTestServer(home, server, env, lines);
  }

  get url(): string {
    return this.server.url;
  }

  async request(method: string, path: string, options: RequestOptions = {}): Promise<ApiCall> {
    const headers: Record<string, string> = { ...options.headers };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    let body: string | Buffer | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    const response = await fetch(`${this.url}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    const isJson = response.headers.get('content-type')?.includes('application/json') ?? false;
    return { status: response.status, headers: response.headers, body: isJson && text ? JSON.parse(text) : undefined, text };
  }

  async login(email: string, password: string): Promise<string> {
    const response = await this.request('POST', '/api/v1/auth/login', { body: { email, password } });
    if (response.status !== 200) throw new Error(`login as ${email} failed: ${response.status} ${response.text}`);
    return response.body.access_token as string;
  }

  /** A user of each role (the admin exists already), with their tokens. */
  async tokensByRole(adminToken: string): Promise<Record<Role, string>> {
    const tokens: Partial<Record<Role, string>> = { admin: adminToken };
    for (const role of ['operator', 'viewer', 'auditor'] as const) {
      const email = `${role}-${Math.random().toString(16).slice(2, 8)}@example.com`;
      const created = await this.request('POST', '/api/v1/users', { token: adminToken, body: { email, role, password: `${role} password 123` } });
      if (created.status !== 201) throw new Error(`creating ${role} failed: ${created.status} ${created.text}`);
      tokens[role] = await this.login(email, `${role} password 123`);
    }
    return tokens as Record<Role, string>;
  }

  /** Polls a job until it is final; fails after `timeoutMs`. */
  async waitForJob(token: string, jobId: string, timeoutMs = 60_000): Promise<any> { // eslint-disable-line @typescript-eslint/no-explicit-any
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const job = await this.request('GET', `/api/v1/backup/jobs/${jobId}`, { token });
      if (job.status !== 200) throw new Error(`polling ${jobId}: ${job.status} ${job.text}`);
      if (['succeeded', 'failed', 'interrupted'].includes(job.body.status)) return job.body;
      if (Date.now() > deadline) throw new Error(`job ${jobId} still ${job.body.status} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  /** Waits until no job of this server is queued or running (jobs hold repository locks). */
  async waitForIdle(token: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const jobs = await this.request('GET', '/api/v1/backup/jobs', { token });
      const busy = (jobs.body.items as { status: string }[]).filter((job) => job.status === 'queued' || job.status === 'running');
      if (busy.length === 0) return;
      if (Date.now() > deadline) throw new Error(`${busy.length} jobs still busy after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  async stop(graceMs = 30_000): Promise<{ interrupted: number }> {
    try {
      return await this.server.close(graceMs);
    } finally {
      await rm(this.home, { recursive: true, force: true });
    }
  }
}

function collectingLogger(lines: string[]): Logger {
  const write = (level: string) => (message: string, fields?: LogFields) => {
    lines.push(JSON.stringify({ level, message, ...fields }));
  };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}
