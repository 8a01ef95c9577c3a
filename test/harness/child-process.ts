import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

/** A server process started by a harness, and how to stop it. */
export interface ChildHandle {
  child: ChildProcess;
  /** What the process has written so far (stdout and stderr), for failure messages. */
  output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has exited. */
  stop: (graceMs?: number) => Promise<void>;
}

/**
 * Spawns `command` and resolves once `ready(output)` returns a value, or rejects when the process exits
 * or `timeoutMs` passes first (the process is then killed). The child never outlives the test run: it
 * is stopped by its own handle, never by name.
 */
export async function spawnUntilReady<T>(command: string, args: string[], ready: (output: string) => T | undefined | Promise<T | undefined>, options: SpawnOptions & { timeoutMs?: number } = {}): Promise<{ handle: ChildHandle; value: T }> {
  const child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const exited = new Promise<void>((done) => child.once('exit', () => done()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const handle: ChildHandle = {
    child,
    output: () => output,
    stop: async (graceMs = 5000) => {
      if (hasExited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  while (true) {
    const value = await ready(output);
    if (value !== undefined) return { handle, value };
    if (hasExited) throw new Error(`${command} exited before it was ready (code ${child.exitCode}):\n${output.slice(-4000)}`);
    if (Date.now() > deadline) {
      await handle.stop(1000);
      throw new Error(`${command} was not ready in time:\n${output.slice(-4000)}`);
    }
    await new Promise((done) => setTimeout(done, 25));
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago (for servers that cannot report a port 0 bind). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', done);
  });
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}
