import type { ChildProcess } from 'node:child_process';
import { SourceError } from '../domain/errors.js';

/** How much of a child's stderr an error quotes: enough for the cause, not a flood. */
const STDERR_TAIL = 2000;

/** Collects the tail of a child's stderr for error messages. */
export function stderrTail(child: ChildProcess): () => string {
  let text = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    text = (text + chunk.toString('utf8')).slice(-STDERR_TAIL);
  });
  return () => text.trim();
}

/** Resolves when the child has exited, with its code or the signal that ended it. */
export function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/** Resolves when the child exited with code 0; otherwise rejects with a SourceError quoting its stderr. */
export async function childSucceeded(child: ChildProcess, what: string, code: string): Promise<void> {
  const stderr = stderrTail(child);
  let status;
  try {
    status = await exited(child);
  } catch (error) {
    throw new SourceError(code, `${what}: could not run (${(error as Error).message})`, { cause: error });
  }
  if (status.code !== 0) throw failure(what, code, status, stderr());
}

function failure(what: string, code: string, status: { code: number | null; signal: NodeJS.Signals | null }, stderr: string): SourceError {
  const how = status.signal ? `was killed (${status.signal})` : `exited with code ${status.code}`;
  return new SourceError(code, `${what} ${how}${stderr ? `: ${stderr}` : ''}`);
}

/**
 * A child's stdout as a stream that fails at its end when the child failed: a dump that exits non-zero
 * or is killed mid-way must never be stored as if complete. Stopping early (the consumer threw) kills
 * the child. `what` names the source in errors (never a secret).
 */
export async function* childStdout(child: ChildProcess, what: string, code: string): AsyncGenerator<Buffer> {
  const stderr = stderrTail(child);
  const exit = exited(child);
  // A spawn failure (binary missing) arrives as 'error'; keep it for the end rather than crashing.
  exit.catch(() => undefined);
  let complete = false;
  try {
    for await (const chunk of child.stdout!) yield chunk as Buffer;
    complete = true;
  } finally {
    if (!complete) child.kill('SIGKILL');
  }
  let status;
  try {
    status = await exit;
  } catch (error) {
    throw new SourceError(code, `${what}: could not run (${(error as Error).message})`, { cause: error });
  }
  if (status.code !== 0) throw failure(what, code, status, stderr());
}
