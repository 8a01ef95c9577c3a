/**
 * `npm start` as a process: the first-run admin, users added by the CLI, and a clean shutdown on
 * SIGTERM and SIGINT — a job still running after the grace period ends `interrupted`, in the job and
 * in the catalog, never left `running`.
 */
import { afterAll, describe, expect, it } from '@jest/globals';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { validatePlan } from '../../src/domain/plan.js';
import { cleanupAll, expectExit, makeTempDir, PROJECT_ROOT, runCli, writeRandomFile } from './cli-harness.js';

const SERVER = join(PROJECT_ROOT, 'dist', 'local', 'main.js');
const children = new Set<ChildProcess>();

interface ServerProcess {
  child: ChildProcess;
  url: string;
  output: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts the server on a free port and waits for its "listening" line. */
async function startServer(env: NodeJS.ProcessEnv): Promise<ServerProcess> {
  const child = spawn(process.execPath, [SERVER], { env: { ...env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => {
    children.delete(child);
    resolve({ code, signal });
  }));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const found = /API on (http:\/\/127\.0\.0\.1:\d+)\/api\/v1/.exec(output);
    if (found) return { child, url: found[1] as string, output: () => output, exit };
    if (Date.now() > deadline || child.exitCode !== null) throw new Error(`server did not start:\n${output}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function login(url: string, email: string, password: string): Promise<string> {
  const response = await fetch(`${url}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { access_token: string }).access_token;
}

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await cleanupAll();
});

describe('npm start', () => {
  it('prints a generated admin password once, accepts CLI-made users, and stops on SIGINT', async () => {
    const home = await makeTempDir('chrono-server-');
    const env = { PATH: process.env.PATH, HOME: home, CHRONO_BACKUP_HOME: home, OPS_PASSWORD: 'operator password 1' };
    expectExit(await runCli(['users', 'add', 'ops@example.com', '--role', 'operator', '--password-env', 'OPS_PASSWORD'], { env }), 0);
    // A user exists, so no admin is generated on this first start; remove it to see the first-run path.
    expectExit(await runCli(['users', 'remove', 'ops@example.com'], { env }), 0);

    const first = await startServer(env);
    const generated = /created admin (\S+) with password (\S+)/.exec(first.output());
    expect(generated).not.toBeNull();
    await login(first.url, generated![1] as string, generated![2] as string);
    first.child.kill('SIGINT');
    expect(await first.exit).toEqual({ code: 0, signal: null });

    expectExit(await runCli(['users', 'add', 'ops@example.com', '--role', 'operator', '--password-env', 'OPS_PASSWORD'], { env }), 0);
    const second = await startServer(env);
    expect(second.output()).not.toContain('created admin');
    const token = await login(second.url, 'ops@example.com', 'operator password 1');
    const me = await fetch(`${second.url}/api/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(await me.json()).toMatchObject({ email: 'ops@example.com', role: 'operator' });
    second.child.kill('SIGINT');
    expect((await second.exit).code).toBe(0);
  });

  it('on SIGTERM, a job still running after the grace period is marked interrupted, never left running', async () => {
    const home = await makeTempDir('chrono-server-');
    const data = join(home, 'data');
    await mkdir(data);
    // 1 Mbit/s to storage: these 6 MiB take about 50 s, far longer than the grace period.
    await writeRandomFile(join(data, 'big.bin'), 6 * 1024 * 1024);
    await writeFile(join(data, 'small.txt'), 'x');
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      CHRONO_BACKUP_HOME: home,
      CHRONO_BACKUP_ADMIN_EMAIL: 'admin@example.com',
      CHRONO_BACKUP_ADMIN_PASSWORD: 'admin password 12',
      CHRONO_BACKUP_BANDWIDTH_LIMIT_MBPS: '1',
      CHRONO_BACKUP_SHUTDOWN_GRACE: '1',
    };
    await mkdir(home, { recursive: true });
    const catalog = SqliteCatalog.open(join(home, 'catalog.sqlite'));
    await catalog.putPlan(validatePlan('slow', { files: { paths: [data] } }));
    await catalog.close();

    const server = await startServer(env);
    const token = await login(server.url, 'admin@example.com', 'admin password 12');
    const started = await fetch(`${server.url}/api/v1/backup/manual`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ plan: 'slow' }) });
    expect(started.status).toBe(202);
    const jobUrl = `${server.url}${((await started.json()) as { poll_url: string }).poll_url}`;
    // Wait until the run record exists (the repository is open and the upload under way).
    for (let tries = 0; ; tries++) {
      const job = (await (await fetch(jobUrl, { headers: { authorization: `Bearer ${token}` } })).json()) as { run_id: string | null; status: string };
      if (job.run_id !== null) break;
      if (tries > 200) throw new Error(`the job never started: ${JSON.stringify(job)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    server.child.kill('SIGTERM');
    expect(await server.exit).toEqual({ code: 0, signal: null });
    expect(server.output()).toContain('1 job(s) marked interrupted');

    const after = SqliteCatalog.open(join(home, 'catalog.sqlite'));
    const runs = await after.listRuns({ kind: 'backup' });
    await after.close();
    expect(runs.map((run) => run.status)).toEqual(['interrupted']);
  }, 60_000);
});
