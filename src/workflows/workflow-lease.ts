import { LockedError, NotFoundError } from '../domain/errors.js';
import type { Clock } from '../ports/clock.js';
import type { ObjectStorage } from '../ports/object-storage.js';
import { LAYOUT } from '../repository/layout.js';

/**
 * Workflow leases: the lock a workflow execution holds from its *prepare* step to its *release* step.
 *
 * A repository lease (src/repository/locks.ts) lives as long as the process that renews it, which a
 * workflow does not have: prepare and release are separate Lambda invocations, possibly hours apart. So
 * this lease is not renewed; it carries an expiry long enough for the whole execution (the state
 * machine's own timeout), after which a crashed or aborted execution stops blocking anybody.
 *
 * Leases live in the repository's storage, beside the repository (the repository is the truth and needs
 * no other service), one object per run, `workflow-locks/<workflow>/<run id>`, outside `locks/`: repository leases keep
 * their own meaning (the backup inside the worker still takes its shared lease, prune its exclusive one),
 * and a retention workflow's lease can never block its own prune.
 *
 * Exclusion: a run writes its lease, then reads the live leases of its scope (listing every lease: there
 * are as many as executions in flight). If another run's live lease is there, this run deletes its own
 * and fails with LockedError naming the holder. Of two runs that write at the same moment, each may see
 * the other and both back off: never two holders, at worst two fast failures (the alternative, "the
 * older wins", lets both proceed when the older one writes last). Taking the lease again with the same
 * run id (a retried prepare) keeps its creation time and does not conflict with itself.
 * Release deletes only the run's own lease, by its exact key (no listing, so the release step needs
 * nothing but DeleteObject on `workflow-locks/*`), and a run that failed to take the lease never touches
 * the holder's.
 */
export const WORKFLOW_LEASE_PREFIX = LAYOUT.workflowLocks;

export interface WorkflowLeaseInfo {
  runId: string;
  /** What the lease excludes: two runs with the same scope never hold leases at once. */
  scope: string;
  workflow: string;
  created: string;
  expires: string;
}

/** Which lease: execution names (run ids) are unique per state machine only, so the workflow is part of it. */
export interface LeaseOwner {
  workflow: string;
  runId: string;
}

export interface AcquireLeaseOptions {
  runId: string;
  scope: string;
  workflow: string;
  ttlMs: number;
  clock: Clock;
}

export async function acquireWorkflowLease(storage: ObjectStorage, options: AcquireLeaseOptions): Promise<WorkflowLeaseInfo> {
  const key = leaseKey(options);
  const now = options.clock.now();
  const previous = await readLease(storage, key);
  const lease: WorkflowLeaseInfo = {
    runId: options.runId,
    scope: options.scope,
    workflow: options.workflow,
    created: previous?.created ?? now.toISOString(),
    expires: new Date(now.getTime() + options.ttlMs).toISOString(),
  };
  await storage.put(key, Buffer.from(JSON.stringify(lease)));
  const holder = (await listWorkflowLeases(storage, options.clock)).find((other) => other.scope === lease.scope && leaseKey(other) !== key);
  if (holder) {
    await storage.delete(key);
    // Not retryable: the other run may take hours, so the execution fails fast instead of waiting.
    throw new LockedError(`${options.workflow} is already running for ${options.scope}: run ${holder.runId} holds the workflow lease until ${holder.expires}`, {
      retryable: false,
      details: { holder: holder.runId, scope: options.scope, expires: holder.expires },
    });
  }
  return lease;
}

/** Drops this run's lease; releasing a lease the run does not hold (it lost the race) changes nothing. */
export async function releaseWorkflowLease(storage: ObjectStorage, owner: LeaseOwner): Promise<void> {
  await storage.delete(leaseKey(owner));
}

/** Live leases of every scope, e.g. for health output and tests. Expired ones are removed on the way. */
export async function listWorkflowLeases(storage: ObjectStorage, clock: Clock): Promise<WorkflowLeaseInfo[]> {
  const now = clock.now().toISOString();
  const live: WorkflowLeaseInfo[] = [];
  for await (const object of storage.list(WORKFLOW_LEASE_PREFIX)) {
    const lease = await readLease(storage, object.key);
    if (lease === undefined) continue;
    if (lease.expires > now) live.push(lease);
    else await storage.delete(object.key);
  }
  return live;
}

async function readLease(storage: ObjectStorage, key: string): Promise<WorkflowLeaseInfo | undefined> {
  try {
    return JSON.parse((await storage.get(key)).toString('utf8')) as WorkflowLeaseInfo;
  } catch (error) {
    if (error instanceof NotFoundError) return undefined; // released while we listed
    throw error;
  }
}

/** Workflow names and run ids are checked to be key segments (workflow-jobs.ts). */
function leaseKey(owner: LeaseOwner): string {
  return `${WORKFLOW_LEASE_PREFIX}${owner.workflow}/${owner.runId}`;
}
