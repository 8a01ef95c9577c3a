import type { PlanRunType } from '../domain/plan.js';
import type { SourceKind } from '../domain/snapshot.js';
import type { VerifyLevel } from '../app/verify-repository.js';

export type JobKind = 'backup' | 'restore' | 'verify';
export type JobStatus = 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';

/** Long work started by the API: polled at `/api/v1/backup/jobs/{id}` until it is final. */
export interface Job {
  id: string;
  kind: JobKind;
  status: JobStatus;
  createdAt: string;
  startedAt?: string;
  finishedAt?: string;
  /** Email of the user who asked for it. */
  requestedBy: string;
  /** The catalog run record of the work, once the repository is open. */
  runId?: string;
  progress?: JobProgress;
  /** What the work produced (backup id and sizes, restored targets, verification findings). */
  result?: Record<string, unknown>;
  error?: { code: string; message: string };
}

export interface JobProgress {
  phase: string;
  bytesDone: number;
  bytesTotal?: number;
  itemsDone: number;
  itemsTotal?: number;
  notes: string[];
}

export interface BackupJobRequest {
  plan: string;
  type: PlanRunType;
  /** Back up to this storage backend's repository instead of the plan's (or the default one). */
  storageBackendId?: number;
  /** Read back every pack the backup wrote, once it is saved. */
  verify: boolean;
  requestedBy: string;
}

export interface RestoreJobRequest {
  backupId: string;
  storageBackendId?: number;
  only?: SourceKind[];
  targetDirectory?: string;
  targetPostgres?: string;
  targetRedis?: string;
  include?: string[];
  /** Replace what is in the targets (non-empty directory, existing database or keys). */
  overwrite: boolean;
  /** Check after the restore that every file and byte of the snapshots arrived. */
  validate: boolean;
  requestedBy: string;
}

/**
 * A point-in-time restore of a managed database (RDS instance or Aurora cluster) by the service, into a
 * new one: the `rds` input of the restore workflow (src/workflows/rds-restore-job.ts), in its names.
 */
export interface ManagedRestoreJobRequest {
  rds: Record<string, unknown>;
  requestedBy: string;
}

export interface VerifyJobRequest {
  backupId: string;
  storageBackendId?: number;
  level: VerifyLevel;
  requestedBy: string;
}

/**
 * JobService: runs the API's long work in the background and reports on it.
 *
 * Contract: `start*` validate what can be checked at once (the plan, backend and backup exist; a
 * NotFoundError or ValidationError otherwise), then return a queued or running job without waiting for
 * the work. `getJob` returns undefined for an unknown id. A job always ends `succeeded`, `failed` or,
 * when the service shuts down before it finishes, `interrupted` — never left running.
 */
export interface JobService {
  startBackup(request: BackupJobRequest): Promise<Job>;
  startRestore(request: RestoreJobRequest): Promise<Job>;
  /** Starts the restore workflow's managed branch; the request is checked (ValidationError naming `rds.<field>`) before anything starts. */
  startManagedRestore(request: ManagedRestoreJobRequest): Promise<Job>;
  startVerify(request: VerifyJobRequest): Promise<Job>;
  getJob(id: string): Promise<Job | undefined>;
  listJobs(): Promise<Job[]>;
}
