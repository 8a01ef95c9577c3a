import { pathToFileURL } from 'node:url';
import { asBackupError } from '../../src/domain/errors.js';
import { awsWorkflowRuntime } from '../../src/runtime/aws-runtime.js';
import { WORKER } from '../../src/workflows/substitutions.js';
import { runWorkerJob } from '../../src/workflows/worker-job.js';

/**
 * The Fargate worker: runs the job the state machine put in `CHRONO_WORKER_JOB` (a backup of a plan, a
 * restore, a full verify) over the AWS runtime — S3, DynamoDB, KMS from the task's environment and role —
 * streaming straight between the sources and S3, so the task's small disk never holds a dump. The
 * outcome is in the catalog's run record; the exit code tells ECS (and so Step Functions) whether the
 * task succeeded. The local runner calls the same `runWorkerJob` in-process.
 */
export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  try {
    const job = env[WORKER.jobVariable];
    if (job === undefined || job.trim() === '') throw new Error(`${WORKER.jobVariable} is not set: the worker runs a job handed over by the state machine`);
    const result = await runWorkerJob(awsWorkflowRuntime(env), job);
    process.stdout.write(`${JSON.stringify({ level: 'info', msg: 'worker job done', ...result })}\n`);
    return 0;
  } catch (error) {
    const failure = asBackupError(error);
    process.stderr.write(`${JSON.stringify({ level: 'error', msg: 'worker job failed', code: failure.code, error: failure.message })}\n`);
    return 1;
  }
}

// Run when executed as the container's entry point (not when imported, e.g. by tests or bundlers' checks).
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
