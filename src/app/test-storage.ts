import { randomBytes } from 'node:crypto';
import { asBackupError, IntegrityError, StorageError, ValidationError } from '../domain/errors.js';
import type { AppDeps } from './deps.js';

/**
 * Canary objects are named `.canary-<random>` at the top of the storage. The staging prefix (`.~tmp-`)
 * cannot be used: `~` is outside the key alphabet, so `put` refuses such a name and `list` never shows
 * it, and the test must do both. No repository operation looks at the top level (they list `data/`,
 * `index/`, `snapshots/`, … only; `stats` counts everything), so a canary is never mistaken for part of
 * the repository, and one left by an interrupted test is removed by the next test after an hour.
 */
export const CANARY_PREFIX = '.canary-';

export const DEFAULT_CANARY_BYTES = 8 * 1024 * 1024;
const MAX_CANARY_BYTES = 1024 * 1024 * 1024;
const STALE_CANARY_MS = 60 * 60_000;

export const STORAGE_TEST_STEPS = ['write', 'read', 'list', 'delete'] as const;
export type StorageTestStep = (typeof STORAGE_TEST_STEPS)[number];

export interface StorageTestStepResult {
  step: StorageTestStep;
  /** `skipped` when an earlier step failed and this one could not run (nothing to read or list). */
  status: 'ok' | 'failed' | 'skipped';
  /** Wall time of the step's storage calls. */
  latencyMs?: number;
  /** Bytes moved (write: up, read: down). */
  bytes?: number;
  bytesPerSecond?: number;
  /** The failure's code and message (a StorageError's message names the key, never credentials). */
  error?: { code: string; message: string };
}

export interface StorageTestResult {
  location: string;
  ok: boolean;
  canary: string;
  sizeBytes: number;
  steps: StorageTestStepResult[];
  /** Canaries older than an hour, left by interrupted tests, removed along the way. */
  staleCanariesRemoved: number;
  /** Set when the storage could not even be opened (bad credentials, unknown host); every step is then skipped. */
  error?: { code: string; message: string };
}

/** The result for a location that could not be opened, shaped like any other so reports stay uniform. */
export function unopenedStorageResult(location: string, error: unknown, sizeBytes = DEFAULT_CANARY_BYTES): StorageTestResult {
  const failure = asBackupError(error);
  return {
    location,
    ok: false,
    canary: '',
    sizeBytes,
    steps: STORAGE_TEST_STEPS.map((step) => ({ step, status: 'skipped' })),
    staleCanariesRemoved: 0,
    error: { code: failure.code, message: failure.message },
  };
}

export interface StorageTestInput {
  /** Size of the canary object. Default 8 MiB. */
  sizeBytes?: number;
  /** Milliseconds on a monotonic clock; injectable for tests. Default performance.now. */
  now?: () => number;
}

/**
 * Writes a canary object of random bytes, reads it back and compares, lists it, deletes it and checks it
 * is gone, timing each step. A failed step is reported with its error and the test goes on where it can
 * (a failed read still deletes the canary); `ok` is true only when every step passed.
 */
export async function testStorage(deps: Pick<AppDeps, 'storage'>, input: StorageTestInput = {}): Promise<StorageTestResult> {
  const size = input.sizeBytes ?? DEFAULT_CANARY_BYTES;
  if (!Number.isSafeInteger(size) || size < 1 || size > MAX_CANARY_BYTES) throw new ValidationError(`canary size must be a whole number of bytes from 1 to ${MAX_CANARY_BYTES}`, 'size');
  const now = input.now ?? (() => performance.now());
  const storage = deps.storage;
  const canary = `${CANARY_PREFIX}${randomBytes(8).toString('hex')}`;
  const data = randomBytes(size);
  const stale: string[] = [];

  const timed = async (step: StorageTestStep, bytes: number | undefined, work: () => Promise<void>): Promise<StorageTestStepResult> => {
    const started = now();
    try {
      await work();
      const latencyMs = now() - started;
      return { step, status: 'ok', latencyMs, ...(bytes !== undefined ? { bytes, bytesPerSecond: latencyMs > 0 ? (bytes * 1000) / latencyMs : bytes * 1000 } : {}) };
    } catch (error) {
      const failure = asBackupError(error);
      return { step, status: 'failed', latencyMs: now() - started, error: { code: failure.code, message: failure.message } };
    }
  };
  const skipped = (step: StorageTestStep): StorageTestStepResult => ({ step, status: 'skipped' });

  const write = await timed('write', size, () => storage.put(canary, data));
  const written = write.status === 'ok';
  const read = written
    ? await timed('read', size, async () => {
        const back = await storage.get(canary);
        if (!back.equals(data)) throw new IntegrityError('canary_mismatch', `read back ${back.length} bytes of object ${canary} that differ from the ${size} bytes written`);
      })
    : skipped('read');
  const list = written
    ? await timed('list', undefined, async () => {
        let listed: number | undefined;
        const cutoff = Date.now() - STALE_CANARY_MS;
        for await (const object of storage.list(CANARY_PREFIX)) {
          if (object.key === canary) listed = object.size;
          else if (object.modified.getTime() < cutoff) stale.push(object.key);
        }
        if (listed === undefined) throw new StorageError('list_incomplete', `object ${canary} was written but is not listed`);
        if (listed !== size) throw new StorageError('list_incomplete', `object ${canary} is listed with ${listed} bytes instead of ${size}`);
      })
    : skipped('list');
  const remove = written
    ? await timed('delete', undefined, async () => {
        await storage.delete(canary);
        if ((await storage.head(canary)) !== undefined) throw new StorageError('delete_ineffective', `object ${canary} still exists after it was deleted`);
      })
    : skipped('delete');

  let staleCanariesRemoved = 0;
  for (const key of stale) {
    // Best effort: a canary that cannot be removed now is tried again by the next test.
    if (await storage.delete(key).then(() => true, () => false)) staleCanariesRemoved++;
  }
  const steps = [write, read, list, remove];
  return { location: storage.location, ok: steps.every((step) => step.status === 'ok'), canary, sizeBytes: size, steps, staleCanariesRemoved };
}
