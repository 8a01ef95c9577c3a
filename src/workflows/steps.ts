import { backupFailedAlert, raiseAlerts, verificationFailedAlert } from '../alerts/raise-alerts.js';
import type { AlertInput } from '../alerts/alert-dispatcher.js';
import { cleanup } from '../app/cleanup.js';
import type { AppDeps } from '../app/deps.js';
import { replicateRepository } from '../app/replicate-repository.js';
import { openOrCreate } from '../app/repository-session.js';
import { verifyRepository, type VerifyLevel } from '../app/verify-repository.js';
import { asBackupError, BackupError, ConflictError, IntegrityError, NotFoundError, ValidationError } from '../domain/errors.js';
import type { RunRecord } from '../ports/catalog.js';
import { isRetryableError } from '../storage/retrying-object-storage.js';
import { adoptRunCatalog } from './adopted-run-catalog.js';
import { checkRdsTargetTime } from './rds-restore-job.js';
import type { StepName, WorkflowName } from './substitutions.js';
import { acquireWorkflowLease, releaseWorkflowLease } from './workflow-lease.js';
import { parseJob, parseRunId, parseWorkflowName, WORKFLOW_RUN_KINDS, type RetentionJob, type WorkflowJob } from './workflow-jobs.js';
import { withStepDeps, type WorkflowRuntime } from './workflow-runtime.js';

/**
 * The steps of the state machines as functions `(runtime, input) => output`: the Lambda entry points
 * (functions/*.ts) and the local runner call exactly these. Inputs are what the ASL `Parameters` build;
 * outputs are plain JSON.
 *
 * Errors leave a step as thrown: a BackupError subclass keeps its class name as `name`, which Lambda
 * reports as the error type and Step Functions matches in `Retry`/`Catch` (`StorageError`,
 * `LockedError`, …). Whoever holds the error records it: a step that fails while the workflow's run is
 * still open finishes the run as failed with the domain error's code ({@link runStep}); the
 * *recordFailure* state only fills in what no step could (a worker killed, a timeout).
 */
export type StepInput = Record<string, unknown>;

/** A caught ASL error as Catch writes it (`ResultPath: "$.error"`). */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

/** Opens the run record, takes the workflow lease and resolves the execution input into the job. */
export async function prepare(runtime: WorkflowRuntime, input: StepInput): Promise<WorkflowJob> {
  const workflow = parseWorkflowName(input.workflow);
  const job = parseJob(workflow, parseRunId(input.runId), input.request);
  return withStepDeps(runtime, { mayCreate: workflow === 'backup' }, async (deps) => {
    const existing = await deps.catalog.getRun(job.runId);
    // A retried prepare finds its own open run; a finished one, or one of another workflow (execution names
    // are unique per state machine only), means the name was reused.
    if (existing && existing.kind !== WORKFLOW_RUN_KINDS[workflow]) throw new ConflictError('run_exists', `run ${job.runId} already exists as a ${existing.kind} run`);
    if (existing && existing.status !== 'running') throw new ConflictError('run_finished', `run ${job.runId} has already finished (${existing.status})`);
    if (job.workflow === 'backup' && (await deps.catalog.getPlan(job.plan)) === undefined) throw new NotFoundError('plan', job.plan);
    if ('rds' in job) checkRdsTargetTime(job.rds, deps.clock.now());
    // Opening the repository checks the key before a worker starts; the first backup creates it. A managed
    // (RDS) restore reads nothing from it, and its run is labelled with the storage location instead.
    const repositoryId = 'rds' in job ? deps.storage.location : (await openOrCreate(deps, workflow === 'backup', { loadIndex: false })).config.id;
    if (!existing) {
      await deps.catalog.startRun({ id: job.runId, kind: WORKFLOW_RUN_KINDS[workflow], repository: repositoryId, status: 'running', startedAt: deps.clock.now().toISOString(), summary: runLabels(job) });
    }
    await acquireWorkflowLease(deps.storage, { workflow, runId: job.runId, scope: job.scope, ttlMs: runtime.leaseTtlMs, clock: deps.clock });
    return job;
  });
}

/** What the run record says from its start, so a failed run still tells what it was (as runBackup's labels). */
function runLabels(job: WorkflowJob): Record<string, unknown> {
  const labels: Record<string, unknown> = { workflow: job.workflow };
  if (job.workflow === 'backup') Object.assign(labels, { type: job.type, plan: job.plan });
  if (job.workflow === 'verify') labels.level = job.level;
  if ('rds' in job) labels.rds = { engine: job.rds.engine, source: job.rds.source, target: job.rds.target, targetTime: job.rds.targetTime ?? 'latest' };
  return labels;
}

/**
 * Reads back what the main step recorded. The worker and the use-case steps finish the run themselves
 * (through the adopted catalog); a run still open here (replication, whose Map iterations record their
 * own runs) is finished as succeeded with the results handed in.
 */
export async function record(runtime: WorkflowRuntime, input: StepInput) {
  const runId = parseRunId(input.runId);
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    let run = await deps.catalog.getRun(runId);
    if (!run) throw new NotFoundError('run', runId);
    if (run.status === 'running') {
      await deps.catalog.finishRun(runId, { status: 'succeeded', finishedAt: deps.clock.now().toISOString(), summary: { ...run.summary, ...(input.results !== undefined ? { results: input.results } : {}) } });
      run = (await deps.catalog.getRun(runId))!;
    }
    if (run.status !== 'succeeded') throw new BackupError(run.error?.code ?? 'workflow.failed', run.error?.message ?? `run ${runId} ended ${run.status}`);
    const snapshots = run.summary?.snapshots;
    return { runId, status: run.status, snapshotId: run.snapshotId ?? null, snapshots: Array.isArray(snapshots) ? snapshots : [] };
  });
}

/** Finishes the run as failed from a caught error, unless a step already recorded its final status. */
export async function recordFailure(runtime: WorkflowRuntime, input: StepInput) {
  const workflow = parseWorkflowName(input.workflow);
  const runId = parseRunId(input.runId);
  const failure = describeCaught(input.error);
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    const before = await deps.catalog.getRun(runId);
    if (before && before.kind !== WORKFLOW_RUN_KINDS[workflow]) {
      // Another workflow's run of the same name (prepare refused it): not this execution's to finish.
      return { runId, status: 'failed', error: failure, recordedBy: 'none' };
    }
    if (!before) {
      // Failed before prepare could open the record (bad input, a missing plan or key).
      await deps.catalog.startRun({ id: runId, kind: WORKFLOW_RUN_KINDS[workflow], repository: deps.storage.location, status: 'running', startedAt: deps.clock.now().toISOString(), summary: { workflow } });
    }
    if (!before || before.status === 'running') await finishFailed(deps, runId, failure);
    const run = (await deps.catalog.getRun(runId))!;
    return { runId, status: run.status, error: run.error ?? failure, recordedBy: !before || before.status === 'running' ? 'recordFailure' : 'step' };
  });
}

/**
 * Verifies the repository: after a backup, its new snapshots at `read` level (structure + a sampled
 * read); in the verify workflow, what the request asked. Damage is an IntegrityError, so the workflow
 * alerts. In the verify workflow the verify run is the workflow's run.
 */
export async function verify(runtime: WorkflowRuntime, input: StepInput) {
  const workflow = parseWorkflowName(input.workflow);
  const runId = parseRunId(input.runId);
  const level = (typeof input.level === 'string' ? input.level : 'read') as VerifyLevel;
  const snapshotId = typeof input.snapshotId === 'string' ? input.snapshotId : undefined;
  return withStepDeps(runtime, { mayCreate: false }, (deps) => verifyAs(workflow === 'verify' ? adopt(deps, runId, 'verify') : deps, level, snapshotId));
}

/** Verifies and turns damage into an IntegrityError; shared by the verify step and the worker. */
export async function verifyAs(deps: AppDeps, level: VerifyLevel, snapshotId: string | null | undefined) {
  const result = await verifyRepository(deps, { level, ...(snapshotId ? { snapshotId } : {}) });
  if (!result.ok) {
    throw new IntegrityError('verify_failed', `verification (${level}) found ${result.problems.length} problem(s); damaged snapshots: ${result.damagedSnapshots.join(', ') || 'none'}`, {
      details: { damagedSnapshots: result.damagedSnapshots, problems: result.problems.length },
    });
  }
  return { ok: true, level, snapshotsChecked: result.snapshotsChecked, packsChecked: result.packsChecked, blobsChecked: result.blobsChecked, bytesRead: result.bytesRead };
}

/** Copies the repository's snapshots to one replica location (one iteration of the Map). */
export async function replicate(runtime: WorkflowRuntime, input: StepInput) {
  if (typeof input.destination !== 'string' || input.destination === '') throw new ValidationError('destination must name a replica location', 'destination');
  const destination = input.destination;
  const snapshots = Array.isArray(input.snapshots) ? input.snapshots.filter((id): id is string => typeof id === 'string') : undefined;
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    const replica = await runtime.openReplica(destination, deps.catalog);
    try {
      const result = await replicateRepository(deps, replica.storage, snapshots && snapshots.length > 0 ? { snapshots } : {});
      return { destination: result.destination.location, snapshotsCopied: result.snapshots.filter((s) => s.status === 'copied').length, blobsCopied: result.blobsCopied, bytesCopied: result.bytesCopied, walFilesCopied: result.walFilesCopied, walBytesCopied: result.walBytesCopied };
    } finally {
      await replica.close();
    }
  });
}

/** Applies a retention policy: forget, then prune. The prune run is the workflow's run. */
export async function retention(runtime: WorkflowRuntime, input: StepInput) {
  const job = parseJob('retention', parseRunId(input.runId), input) as RetentionJob;
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    const result = await cleanup(adopt(deps, job.runId, 'prune'), { policy: job.policy, confirm: true, holds: job.holds });
    return { removed: result.remove.length, kept: result.keep.length, packsDeleted: result.pruned?.packsDeleted ?? 0, bytesFreed: result.pruned?.bytesFreed ?? 0 };
  });
}

/**
 * Raises the workflow's alert through the channels of the environment: a failure (or a backup with
 * failed sources) alerts; a success announces the recovery of an open alert of the same condition.
 * Never fails the workflow because of a channel (raiseAlerts logs and carries on).
 */
export async function notify(runtime: WorkflowRuntime, input: StepInput) {
  const workflow = parseWorkflowName(input.workflow);
  const runId = parseRunId(input.runId);
  const caught = input.error === undefined || input.error === null ? undefined : describeCaught(input.error);
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    const found = await deps.catalog.getRun(runId);
    const run = found?.kind === WORKFLOW_RUN_KINDS[workflow] ? found : undefined;
    const what = conditionName(workflow, run);
    const location = deps.storage.location;
    const alerts: AlertInput[] = [];
    const failures = Array.isArray(run?.summary?.failures) ? (run.summary.failures as { source: string; message: string }[]) : [];
    if (caught) {
      const error = run?.status === 'failed' && run.error ? run.error : caught;
      const details = { repository: location, run: runId, code: error.code, error: error.message };
      alerts.push(failureAlert(workflow, what, run, caught, location, details));
    } else if (failures.length > 0) {
      alerts.push(backupFailedAlert(what, { repository: location, run: runId, saved: Array.isArray(run?.summary?.snapshots) ? run.summary.snapshots.length : 0, ...Object.fromEntries(failures.map((f) => [`failed ${f.source}`, f.message])) }));
    }
    const resolved = alerts.length === 0 ? [backupFailedAlert(what, {}).key] : [];
    await raiseAlerts(alerts, deps.logger, { env: runtime.env, resolved });
    return { alerts: alerts.map((alert) => alert.type), resolved: resolved.length };
  });
}

/** Drops this run's workflow lease. A run that never took one (it lost the race) releases nothing. */
export async function release(runtime: WorkflowRuntime, input: StepInput) {
  const owner = { workflow: parseWorkflowName(input.workflow), runId: parseRunId(input.runId) };
  return withStepDeps(runtime, { mayCreate: false }, async (deps) => {
    await releaseWorkflowLease(deps.storage, owner);
    return { ...owner, released: true };
  });
}

/**
 * The alert of a failed execution. A run that succeeded before a later step failed is not a failed
 * backup: damage found by the verify step is a verification alert, a replica that could not be written a
 * storage alert.
 */
function failureAlert(workflow: WorkflowName, what: string, run: RunRecord | undefined, caught: { code: string }, location: string, details: Record<string, string>): AlertInput {
  if (caught.code === 'workflow.IntegrityError' || workflow === 'verify') return verificationFailedAlert(location, details);
  if (run?.status !== 'succeeded') return backupFailedAlert(what, details);
  return { type: 'storage_issue', severity: 'critical', key: `workflow_step_failed:${what}`, title: `${what}: run ${run.id} succeeded, but a later step failed (${caught.code})`, details };
}

/** The alert condition of a workflow: a backup's is its plan, as for `backup --plan` and the scheduler. */
function conditionName(workflow: WorkflowName, run: RunRecord | undefined): string {
  const plan = run?.summary?.plan;
  if (workflow === 'backup' && typeof plan === 'string') return `plan ${plan}`;
  return `${workflow} workflow`;
}

export const STEPS: Readonly<Record<StepName, (runtime: WorkflowRuntime, input: StepInput) => Promise<unknown>>> = {
  prepare,
  record,
  recordFailure,
  verify,
  replicate,
  retention,
  notify,
  release,
};

/**
 * Runs one step. When it fails with an error that is not retryable and the workflow's run is still
 * open, the run is finished as failed with the domain error's code and message (best effort: the step's
 * own error is what is thrown). A retryable error leaves the run open for the state's Retry; when the
 * retries run out, the recordFailure state records it.
 */
export async function runStep(runtime: WorkflowRuntime, step: StepName, event: unknown): Promise<unknown> {
  const input = (event ?? {}) as StepInput;
  try {
    return await STEPS[step](runtime, input);
  } catch (error) {
    const workflow = typeof input.workflow === 'string' && Object.hasOwn(WORKFLOW_RUN_KINDS, input.workflow) ? (input.workflow as WorkflowName) : undefined;
    if (step !== 'recordFailure' && workflow !== undefined && typeof input.runId === 'string' && !isRetryableError(error)) await recordIfOpen(runtime, { workflow, runId: input.runId }, error);
    throw error;
  }
}

/**
 * Finishes the workflow's run as failed with `error` if it is still open (and is this workflow's: run ids
 * are execution names, unique per state machine only); never throws (the caller rethrows `error`).
 */
export async function recordIfOpen(runtime: WorkflowRuntime, owner: { workflow: WorkflowName; runId: string }, error: unknown): Promise<void> {
  try {
    await withStepDeps(runtime, { mayCreate: false }, async (deps) => {
      const run = await deps.catalog.getRun(owner.runId);
      if (run?.status === 'running' && run.kind === WORKFLOW_RUN_KINDS[owner.workflow]) await finishFailed(deps, owner.runId, asBackupError(error));
    });
  } catch {
    // The recordFailure state records what this could not.
  }
}

async function finishFailed(deps: AppDeps, runId: string, error: { code: string; message: string }): Promise<void> {
  await deps.catalog.finishRun(runId, { status: 'failed', finishedAt: deps.clock.now().toISOString(), error: { code: error.code, message: error.message.slice(0, 2000) } });
}

/** The step's deps with the workflow's run adopted; failures are left to {@link runStep} (the step may be retried). */
function adopt(deps: AppDeps, runId: string, kind: RunRecord['kind']): AppDeps {
  return { ...deps, catalog: adoptRunCatalog(deps.catalog, { id: runId, kind }, { finishFailures: false }) };
}

/**
 * The code and message of an error Step Functions caught. `Cause` is the Lambda error as JSON
 * (`errorMessage`), an ECS task description (`StoppedReason`), or plain text (local runner, Fail states).
 */
export function describeCaught(raw: unknown): { code: string; message: string } {
  const caught = (raw ?? {}) as Partial<CaughtError>;
  const name = typeof caught.Error === 'string' && caught.Error !== '' ? caught.Error : 'States.Unknown';
  let message = typeof caught.Cause === 'string' ? caught.Cause : '';
  try {
    const cause = JSON.parse(message) as { errorMessage?: unknown; StoppedReason?: unknown };
    if (typeof cause.errorMessage === 'string') message = cause.errorMessage;
    else if (typeof cause.StoppedReason === 'string') message = cause.StoppedReason;
  } catch {
    // plain text
  }
  return { code: `workflow.${name}`, message: message === '' ? `step failed with ${name}` : message };
}
