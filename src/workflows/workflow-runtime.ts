import type { AppDeps } from '../app/deps.js';
import type { Catalog } from '../ports/catalog.js';
import type { ObjectStorage } from '../ports/object-storage.js';

/** The dependencies of one step, and how to let go of what was opened for it. */
export interface StepDeps {
  deps: AppDeps;
  close(): Promise<void>;
}

/**
 * What the workflow steps and the worker get from their driver: the AWS runtime in Lambda and on
 * Fargate (src/runtime/aws-runtime.ts), the local runtime in the local runner (local-workflow-runtime.ts).
 * Steps are functions `(runtime, input) => output` over this, so the same code runs in both places.
 */
export interface WorkflowRuntime {
  /** The environment a step runs in: plan secrets (`password_env`), alert channels. Never logged. */
  readonly env: NodeJS.ProcessEnv;
  /** How long a workflow lease lasts unless released: at least the state machines' own timeout. */
  readonly leaseTtlMs: number;
  /**
   * The repository's storage, the key provider and the catalog. `mayCreate`: the step may create the
   * repository (the first backup), so a local runtime may create its default key file.
   */
  open(options: { mayCreate: boolean }): Promise<StepDeps>;
  /** A replica location (URL, folder or `@backend` of the catalog) for replication. */
  openReplica(location: string, catalog: Catalog): Promise<{ storage: ObjectStorage; close(): Promise<void> }>;
}

/** Default lease length: the longest state machine's TimeoutSeconds (13 h, statemachines/backup.asl.json). */
export const DEFAULT_LEASE_TTL_MS = 13 * 60 * 60 * 1000;

/** Opens the step's dependencies, runs `work`, and always closes them. */
export async function withStepDeps<T>(runtime: WorkflowRuntime, options: { mayCreate: boolean }, work: (deps: AppDeps) => Promise<T>): Promise<T> {
  const step = await runtime.open(options);
  try {
    return await work(step.deps);
  } finally {
    await step.close();
  }
}
