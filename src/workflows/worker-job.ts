import { planRun } from '../app/plan-sources.js';
import { runBackup } from '../app/run-backup.js';
import { runRestore } from '../app/run-restore.js';
import { NotFoundError, ValidationError } from '../domain/errors.js';
import { adoptRunCatalog } from './adopted-run-catalog.js';
import { recordIfOpen, verifyAs } from './steps.js';
import { parseJob, parseRunId, parseWorkflowName, WORKFLOW_RUN_KINDS, type WorkflowJob } from './workflow-jobs.js';
import { withStepDeps, type WorkflowRuntime } from './workflow-runtime.js';

/**
 * The heavy part of a workflow, run on the Fargate worker (containers/worker/main.ts) and, in the local
 * runner, in-process in place of the ECS task: a backup streams every source of the plan straight into
 * the repository (the use case keeps memory and local disk bounded, whatever the size of the dumps),
 * a restore streams the snapshot out, a full verify reads every pack.
 *
 * The use case's run is the workflow's run (see adopted-run-catalog.ts), so its status, error code and
 * summary are in the catalog when the task stops: that is how the record step learns the outcome, since
 * the output of an ECS task does not reach Step Functions. A failure before the use case opened its run
 * (a plan whose password variable is missing) is recorded here with its code.
 */
export async function runWorkerJob(runtime: WorkflowRuntime, raw: unknown): Promise<Record<string, unknown>> {
  const job = workerJob(raw);
  try {
    return await runJob(runtime, job);
  } catch (error) {
    await recordIfOpen(runtime, job, error);
    throw error;
  }
}

/** Parses the job the state machine handed over (`$.job` as JSON); it is re-validated, not trusted. */
export function workerJob(raw: unknown): WorkflowJob {
  const value = typeof raw === 'string' ? (JSON.parse(raw) as unknown) : raw;
  if (value === null || typeof value !== 'object') throw new ValidationError('the worker job must be a JSON object', 'job');
  const fields = value as Record<string, unknown>;
  return parseJob(parseWorkflowName(fields.workflow), parseRunId(fields.runId), fields);
}

async function runJob(runtime: WorkflowRuntime, job: WorkflowJob): Promise<Record<string, unknown>> {
  const kind = WORKFLOW_RUN_KINDS[job.workflow];
  return withStepDeps(runtime, { mayCreate: job.workflow === 'backup' }, async (opened) => {
    const deps = { ...opened, catalog: adoptRunCatalog(opened.catalog, { id: job.runId, kind }) };
    switch (job.workflow) {
      case 'backup': {
        const plan = await deps.catalog.getPlan(job.plan);
        if (!plan) throw new NotFoundError('plan', job.plan);
        const run = planRun(plan, job.type, runtime.env);
        const result = await runBackup(deps, { type: run.backupType, label: run.label, plan: plan.name, sources: run.sources, compression: run.compression ?? 'zstd' });
        return { backupId: result.backupId, snapshots: result.snapshots.map((snapshot) => snapshot.id), failures: result.failures.length };
      }
      case 'restore': {
        if ('rds' in job) throw new ValidationError('a managed (RDS) restore runs in the state machine, not on the worker', 'rds');
        const result = await runRestore(deps, {
          snapshotId: job.snapshotId, force: job.force, env: runtime.env,
          ...(job.target !== undefined ? { target: job.target } : {}), ...(job.only ? { only: job.only } : {}), ...(job.include ? { include: job.include } : {}),
        });
        return { snapshots: result.snapshots, sources: result.sources.length };
      }
      case 'verify':
        return verifyAs(deps, job.level, job.snapshotId);
      default:
        throw new ValidationError(`the ${job.workflow} workflow has no worker task`, 'workflow');
    }
  });
}
