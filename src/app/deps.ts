import type { Catalog, RunRecord } from '../ports/catalog.js';
import type { Clock } from '../ports/clock.js';
import type { KeyProvider } from '../ports/key-provider.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import type { Logger } from '../ports/logger.js';
import type { Progress } from '../ports/progress.js';
import type { RecoveryWindowStore } from '../ports/recovery-window-store.js';

/** What every use case gets from its driver (CLI, server, Lambda). Built by a composition root. */
export interface AppDeps {
  storage: ObjectStorage;
  keys: KeyProvider;
  catalog: Catalog;
  clock: Clock;
  progress: Progress;
  hostname: string;
  /** Diagnostics (run start and end, retries); silent when absent. */
  logger?: Logger;
  /** Worker threads for chunking, compression and encryption (default: one per core). */
  workers?: number;
  /**
   * Packs a backup uploads at once (`max_parallel_uploads`; default 2). More hides the latency of a
   * remote backend; each upload in flight holds one staging file and one connection.
   */
  maxParallelUploads?: number;
  /** Told the run record as soon as it is written (the API links its job to the run). */
  observeRun?: (run: RunRecord) => void;
  /**
   * Where computed PostgreSQL recoverability windows are recorded (the catalog's store beside it), for
   * the metrics to report without listing the repository; absent: windows are computed, not recorded.
   */
  recoveryWindowStore?: RecoveryWindowStore;
}
