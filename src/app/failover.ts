import { BackupError, StorageError } from '../domain/errors.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT, lastSegment } from '../repository/layout.js';
import type { AppDeps } from './deps.js';

/**
 * StorageError codes that mean "the storage cannot be reached right now" rather than "the request was
 * wrong": dropped or refused connections, timeouts, 5xx answers, throttling that outlasted the retries,
 * and a host that does not resolve. Access denied, a missing bucket or a bad key are not among them: a
 * replica would hide a configuration error that needs fixing, not an outage.
 */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set(['storage.network', 'storage.timeout', 'storage.unavailable', 'storage.throttled', 'storage.host_not_found']);

/** True when `error` says the storage is unreachable (see {@link UNREACHABLE_CODES}). */
export function isUnreachable(error: unknown): boolean {
  return error instanceof StorageError && UNREACHABLE_CODES.has(error.code);
}

/** A replica location, opened only when it is needed. */
export interface Replica {
  /** Fit to show (no credentials). */
  readonly location: string;
  open(): Promise<{ storage: ObjectStorage; close?: () => Promise<void> }>;
}

/** Which storage serves a request, told to the work before it starts so it can say so in its result. */
export interface Served {
  /** The storage location that serves the request. */
  servedBy: string;
  failedOver: boolean;
  /** Why a replica serves it, for the person who asked (stderr, a JSON field). */
  notice?: string;
}

export interface FailoverOutcome<T> extends Served {
  result: T;
}

/**
 * Runs a read-only use case (snapshots, verify, restore) on the primary storage, or on a replica when the
 * primary is unreachable. Reachability is probed once, before the work starts: a failure in the middle of
 * the work is reported as it is, because switching storage half-way (a restore half written) would mix
 * two sources. The replica chosen is the first, in the order given, that answers and holds every
 * requested snapshot (`latest`, a snapshot id, or a backup id); replicas that fail or lack one are skipped.
 *
 * @throws the primary's error when it is not an unreachable one or no replicas are given; a StorageError
 *   `storage.unreachable` naming each replica tried and why it was passed over when none can serve.
 */
export async function withFailover<T>(deps: AppDeps, replicas: readonly Replica[], wanted: { snapshots?: string[] }, work: (deps: AppDeps, served: Served) => Promise<T>): Promise<FailoverOutcome<T>> {
  let primaryError: StorageError | undefined;
  try {
    await deps.storage.head(LAYOUT.config);
  } catch (error) {
    if (!isUnreachable(error) || replicas.length === 0) throw error;
    primaryError = error as StorageError;
  }
  if (primaryError === undefined) {
    const served: Served = { servedBy: deps.storage.location, failedOver: false };
    return { result: await work(deps, served), ...served };
  }

  const passedOver: string[] = [];
  for (const replica of replicas) {
    let opened: Awaited<ReturnType<Replica['open']>> | undefined;
    try {
      opened = await replica.open();
      const missing = await missingSnapshots(opened.storage, wanted.snapshots ?? []);
      if (missing !== undefined) throw new StorageError('replica_lacks_snapshot', missing);
    } catch (error) {
      await opened?.close?.().catch(() => undefined);
      if (!(error instanceof BackupError)) throw error;
      passedOver.push(`${replica.location}: ${error.message}`);
      continue;
    }
    const storage = opened.storage;
    const served: Served = {
      servedBy: storage.location,
      failedOver: true,
      notice: `primary storage ${deps.storage.location} is unreachable (${primaryError.code}); served by replica ${storage.location}`,
    };
    deps.logger?.warn('failover to a replica', { primary: deps.storage.location, replica: storage.location, code: primaryError.code });
    try {
      return { result: await work({ ...deps, storage }, served), ...served };
    } finally {
      await opened.close?.();
    }
  }
  throw new StorageError('unreachable', `primary storage ${deps.storage.location} is unreachable (${primaryError.message}) and no replica can serve: ${passedOver.join('; ')}`, {
    cause: primaryError,
    retryable: true,
    details: { primary: deps.storage.location, replicas: passedOver },
  });
}

/** Undefined when the storage holds a repository with every wanted snapshot, else what is missing. */
async function missingSnapshots(storage: ObjectStorage, wanted: readonly string[]): Promise<string | undefined> {
  if ((await storage.head(LAYOUT.config)) === undefined) return 'no repository there';
  const ids: string[] = [];
  for await (const object of storage.list(LAYOUT.snapshots)) ids.push(lastSegment(object.key));
  // The same rules as resolveSnapshots: `latest`, an exact snapshot id, or the id of a backup run.
  const lacking = wanted.filter((id) => (id === 'latest' ? ids.length === 0 : !ids.some((candidate) => candidate === id || candidate.startsWith(`${id}.`))));
  return lacking.length === 0 ? undefined : `does not hold ${lacking.join(', ')}`;
}

