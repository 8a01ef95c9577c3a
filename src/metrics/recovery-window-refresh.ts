import type { RecoveryWindowRecord, RecoveryWindowStore } from '../ports/recovery-window-store.js';

/** How long a scrape waits for a refresh it started before answering with the records it has. */
export const DEFAULT_REFRESH_WAIT_MS = 2000;

export interface RecoveryWindowRefreshOptions {
  store: RecoveryWindowStore;
  /** Computes the windows and records them in `store` (`refreshArchivedWindows` on the repository). */
  refresh: () => Promise<unknown>;
  /** Records older than this (ms) are refreshed at a scrape; at most one attempt per this period. 0: every scrape. */
  maxAgeMs: number;
  /**
   * How long a scrape waits for the refresh it started (ms; default {@link DEFAULT_REFRESH_WAIT_MS},
   * `Infinity`: until it is done). Past it, the scrape answers with the records as they are and the
   * refresh goes on, so a slow repository never makes a scrape time out.
   */
  waitMs?: number;
  /** Milliseconds since the epoch; injectable for tests. */
  now?: () => number;
  /** Called when a refresh fails; the records stay as they were (their computed time tells their age). */
  onError?: (error: unknown) => void;
}

/**
 * The recorded recoverability windows for the metrics' `recoveryWindows` option, kept fresh. A scrape
 * reads the records (one catalog query); when the oldest is older than `maxAgeMs`, or there is none, it
 * starts one refresh (never two at a time, and at most one attempt per `maxAgeMs`, so a repository that
 * archives nothing costs one listing call per period) and waits up to `waitMs` for it. Records written
 * by anyone else (`pitr-status`, the API, the hourly health check) count as fresh too.
 */
export function refreshingRecoveryWindows(options: RecoveryWindowRefreshOptions): () => Promise<RecoveryWindowRecord[]> {
  const now = options.now ?? Date.now;
  const waitMs = options.waitMs ?? DEFAULT_REFRESH_WAIT_MS;
  let running: Promise<void> | undefined;
  let attemptedAt = Number.NEGATIVE_INFINITY;
  return async () => {
    const records = await options.store.listWindows();
    const at = now();
    const oldest = Math.min(...records.map((record) => Date.parse(record.computedAt)));
    const stale = records.length === 0 || !(at - oldest < options.maxAgeMs);
    if (running === undefined && stale && at - attemptedAt >= options.maxAgeMs) {
      attemptedAt = at;
      const current = options.refresh().then(
        () => undefined,
        (error: unknown) => options.onError?.(error),
      );
      running = current;
      void current.finally(() => {
        if (running === current) running = undefined;
      });
    }
    if (running === undefined) return records;
    return (await settlesWithin(running, waitMs)) ? options.store.listWindows() : records;
  };
}

/** True when `work` settles within `ms` (it never rejects here); false when the time ran out first. */
async function settlesWithin(work: Promise<void>, ms: number): Promise<boolean> {
  if (ms === Number.POSITIVE_INFINITY) {
    await work;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((done) => (timer = setTimeout(() => done(false), ms)));
  try {
    return await Promise.race([work.then(() => true as const), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
