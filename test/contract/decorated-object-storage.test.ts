import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { MeteredObjectStorage } from '../../src/storage/metered-object-storage.js';
import { RetryingObjectStorage } from '../../src/storage/retrying-object-storage.js';
import { ThrottledObjectStorage } from '../../src/storage/throttled-object-storage.js';
import { describeObjectStorageContract } from './object-storage.contract.js';

/**
 * The decorators keep the port's contract: the whole suite runs on the stack the runtime builds (limit
 * around retries with an attempt timeout around the adapter), with metering on the outside and inside.
 * The limit is high enough (2 Gbit/s) that the suite's 5 MiB objects pass without noticeable waits.
 */
describeObjectStorageContract('Metered(Throttled(Retrying(Metered(LocalObjectStorage))))', async () => {
  const base = await mkdtemp(join(tmpdir(), 'chrono-decorated-contract-'));
  const retrying = new RetryingObjectStorage(new MeteredObjectStorage(new LocalObjectStorage(base)), { attemptTimeoutMs: 30_000 });
  const storage = new MeteredObjectStorage(new ThrottledObjectStorage(retrying, { mbps: 2000 }));
  return { storage, cleanup: () => rm(base, { recursive: true, force: true }) };
});
