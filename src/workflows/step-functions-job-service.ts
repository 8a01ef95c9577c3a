import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';

import type { BackupJobRequest, Job, JobKind, JobService, ManagedRestoreJobRequest, RestoreJobRequest, VerifyJobRequest } from '../api/job-service.js';
import { checkRdsTargetTime, parseRdsRestore } from './rds-restore-job.js';
import { ConflictError, NotFoundError, StorageError, ValidationError } from '../domain/errors.js';
import { randomId } from '../domain/ids.js';
import type { Catalog, RunRecord } from '../ports/catalog.js';
import type { Clock } from '../ports/clock.js';

export interface StepFunctionsJobServiceOptions {
  client: SFNClient;
  catalog: Catalog;
  clock: Clock;
  /** State machine ARNs by workflow. */
  stateMachines: { backup: string; restore: string; verify: string };
}

/**
 * The API's long work in AWS: each job is a Step Functions execution whose name is the job id and the
 * catalog run id (`api-<workflow>-<random>`), started with the input the workflows' *prepare* step parses
 * (src/workflows/workflow-jobs.ts). A job's state is its run record once *prepare* has written it, and the
 * execution's status before that (queued) or when it failed before recording anything.
 */
export class StepFunctionsJobService implements JobService {
  constructor(private readonly options: StepFunctionsJobServiceOptions) {}

  async startBackup(request: BackupJobRequest): Promise<Job> {
    // The workflow backs up to the deployment's repository; named backends are a local-server feature.
    // Its verify state always reads back what the backup wrote, so `verify` needs no flag here.
    if (request.storageBackendId !== undefined) throw unsupportedBackend();
    return this.start('backup', request.requestedBy, { plan: request.plan, type: request.type });
  }

  async startRestore(request: RestoreJobRequest): Promise<Job> {
    if (request.storageBackendId !== undefined) throw unsupportedBackend();
    if (request.targetPostgres !== undefined || request.targetRedis !== undefined) {
      throw new ValidationError('in AWS, database restores are planned with the plan\'s restore targets; give target_directory for files and dumps', 'body.target_postgres');
    }
    return this.start('restore', request.requestedBy, {
      snapshotId: request.backupId,
      force: request.overwrite,
      ...(request.targetDirectory ? { target: request.targetDirectory } : {}),
      ...(request.only ? { only: request.only } : {}),
      ...(request.include ? { include: request.include } : {}),
    });
  }

  async startManagedRestore(request: ManagedRestoreJobRequest): Promise<Job> {
    // Checked here too, so a bad request is a 400 now rather than a failed execution later.
    checkRdsTargetTime(parseRdsRestore(request.rds, 'api-restore-check'), this.options.clock.now());
    return this.start('restore', request.requestedBy, { rds: request.rds });
  }

  async startVerify(request: VerifyJobRequest): Promise<Job> {
    if (request.storageBackendId !== undefined) throw unsupportedBackend();
    return this.start('verify', request.requestedBy, { snapshotId: request.backupId, level: request.level });
  }

  async getJob(id: string): Promise<Job | undefined> {
    const run = await this.options.catalog.getRun(id);
    if (run) return jobOfRun(run);
    // Not recorded yet (queued), or failed before prepare recorded it: the execution tells which. The
    // job id names its workflow, so one state machine is asked.
    const kind = kindOfJobId(id);
    if (kind === undefined) return undefined;
    try {
      const execution = await this.options.client.send(new DescribeExecutionCommand({ executionArn: executionArn(this.options.stateMachines[kind], id) }));
      const requestedBy = parseRequester(execution.input);
      const createdAt = (execution.startDate ?? this.options.clock.now()).toISOString();
      if (execution.status === 'RUNNING') return { id, kind, status: 'queued', createdAt, requestedBy };
      return { id, kind, status: execution.status === 'SUCCEEDED' ? 'succeeded' : 'failed', createdAt, requestedBy, ...(execution.stopDate ? { finishedAt: execution.stopDate.toISOString() } : {}), ...(execution.status === 'SUCCEEDED' ? {} : { error: { code: execution.error ?? 'workflow.failed', message: execution.cause ?? `the execution ended ${execution.status}` } }) };
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw new StorageError('workflow_unavailable', `Step Functions could not be asked about job ${id} (${(error as Error).name})`, { retryable: true, cause: error });
    }
  }

  /** The newest runs the workflows recorded (the catalog is the history; executions are not listed). */
  async listJobs(): Promise<Job[]> {
    const runs = await Promise.all((['backup', 'restore', 'verify'] as const).map((kind) => this.options.catalog.listRuns({ kind, limit: 50 })));
    return runs
      .flat()
      .filter((run) => run.id.startsWith('api-'))
      .sort((a, b) => b.startedAt.localeCompare(a.startedAt))
      .map(jobOfRun);
  }

  private async start(kind: JobKind, requestedBy: string, request: Record<string, unknown>): Promise<Job> {
    const id = `api-${kind}-${randomId(8)}`;
    try {
      // The execution input is the request itself (the ASL hands `$` to prepare as the request, and the
      // execution name as the run id); `requestedBy` rides along for the job's own report.
      await this.options.client.send(new StartExecutionCommand({ stateMachineArn: this.options.stateMachines[kind], name: id, input: JSON.stringify({ ...request, requestedBy }) }));
    } catch (error) {
      if (error instanceof ExecutionAlreadyExists) throw new ConflictError('job_exists', `job ${id} exists already`);
      throw new StorageError('workflow_unavailable', `Step Functions could not start the ${kind} workflow (${(error as Error).name})`, { retryable: true, cause: error });
    }
    return { id, kind, status: 'queued', createdAt: this.options.clock.now().toISOString(), requestedBy };
  }
}

/** The workflow a job id names (`api-verify-…` → verify); undefined for ids this service never made. */
function kindOfJobId(id: string): JobKind | undefined {
  const kind = /^api-(backup|restore|verify)-[0-9a-f]{16}$/.exec(id)?.[1];
  return kind as JobKind | undefined;
}

function jobOfRun(run: RunRecord): Job {
  const kind: JobKind = run.kind === 'restore' ? 'restore' : run.kind === 'verify' ? 'verify' : 'backup';
  const status = run.status === 'running' ? 'running' : run.status;
  return {
    id: run.id,
    kind,
    status,
    createdAt: run.startedAt,
    startedAt: run.startedAt,
    requestedBy: typeof run.summary?.requestedBy === 'string' ? run.summary.requestedBy : 'unknown',
    runId: run.id,
    ...(run.finishedAt ? { finishedAt: run.finishedAt } : {}),
    ...(run.status === 'succeeded' ? { result: { ...(run.snapshotId ? { backup_id: run.snapshotId } : {}), ...run.summary } } : {}),
    ...(run.error ? { error: run.error } : {}),
  };
}

/** `arn:aws:states:r:a:stateMachine:name` → `arn:aws:states:r:a:execution:name:<execution>`. */
function executionArn(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function parseRequester(input: string | undefined): string {
  try {
    const value = JSON.parse(input ?? '{}') as { requestedBy?: unknown };
    return typeof value.requestedBy === 'string' ? value.requestedBy : 'unknown';
  } catch {
    return 'unknown';
  }
}

function unsupportedBackend(): NotFoundError {
  return new NotFoundError('storage backend', 'storage_backend_id (the AWS deployment backs up to its own bucket; named backends belong to the local server)', { details: { field: 'body.storage_backend_id' } });
}
