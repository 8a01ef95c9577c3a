import type { Catalog, RunKind, RunRecord, RunResult } from '../ports/catalog.js';

/**
 * A catalog through which a use case's run becomes the workflow's run.
 *
 * A workflow's run record is opened by its *prepare* step (id = the execution name, so every step and
 * the failure path can name it) before any use case runs; the use case's session (`withRepository`)
 * then opens a run record of its own. Through this decorator the first run of the workflow's kind is
 * *adopted*: its start is not written again (the workflow's record already says `running`), and its
 * finish, with the use case's own status, error code and summary, is written to the workflow's record.
 * So one execution leaves one run record, with the real error code when it failed, and the catalog
 * stays the hand-off between steps (the Fargate worker's output does not reach Step Functions).
 * Runs of other kinds (the verify run after a backup, the forget run before a prune) pass through.
 */
export interface AdoptOptions {
  /**
   * Write the use case's failure to the workflow's run (default true). The worker does: nothing retries
   * it. A Lambda step does not: Step Functions may retry it, and a run already finished as failed could not
   * then succeed (DynamoDB finishes a run once); the step's driver records what is not retried
   * (`runStep` in steps.ts, then the recordFailure state).
   */
  finishFailures?: boolean;
}

export function adoptRunCatalog(catalog: Catalog, workflowRun: { id: string; kind: RunKind }, options: AdoptOptions = {}): Catalog {
  let adopted: string | undefined;
  const overrides: Partial<Catalog> = {
    startRun: async (run: RunRecord) => {
      if (adopted === undefined && run.kind === workflowRun.kind) {
        adopted = run.id;
        return;
      }
      await catalog.startRun(run);
    },
    finishRun: async (id: string, result: RunResult) => {
      if (id !== adopted) return catalog.finishRun(id, result);
      if (result.status === 'failed' && options.finishFailures === false) return;
      await catalog.finishRun(workflowRun.id, result);
    },
    getRun: (id: string) => catalog.getRun(id === adopted ? workflowRun.id : id),
  };
  // A Proxy rather than a class listing every method: the Catalog port grows (plans, receipts, …) and
  // everything but the three run calls above must reach the real catalog unchanged.
  return new Proxy(catalog, {
    get(target, property, receiver) {
      const override = overrides[property as keyof Catalog];
      if (override !== undefined) return override;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
