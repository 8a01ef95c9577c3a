import { awsWorkflowRuntime } from '../runtime/aws-runtime.js';
import { runStep } from './steps.js';
import type { StepName } from './substitutions.js';
import type { WorkflowRuntime } from './workflow-runtime.js';

/**
 * A Lambda handler for one workflow step over the AWS runtime, built on the first invocation and kept
 * for the warm ones. A thrown error keeps its domain class name (`StorageError`, `LockedError`, …):
 * the Node.js runtime reports `error.name` as the error type, which is what the state machines' Retry
 * and Catch match.
 */
export function lambdaStep(step: StepName): (event: unknown) => Promise<unknown> {
  let runtime: WorkflowRuntime | undefined;
  return (event) => {
    runtime ??= awsWorkflowRuntime(process.env);
    return runStep(runtime, step, event);
  };
}
