import { readFile } from 'node:fs/promises';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { ValidationError } from '../domain/errors.js';
import { bindAwsSdkTask, isAwsSdkTask, type AwsSdkClients } from './aws-sdk-tasks.js';
import { runStep } from './steps.js';
import { LAMBDA_FUNCTIONS, STATE_MACHINES, WORKER, type DefinitionSubstitutions, type FunctionKey, type WorkflowName } from './substitutions.js';
import { runWorkerJob } from './worker-job.js';
import type { WorkflowRuntime } from './workflow-runtime.js';

/**
 * Runs the state machines of statemachines/ locally with aws-local-stepfunctions: the same ASL files the
 * CDK stack deploys, with every `${…}` key substituted by a local stand-in ARN, every Lambda Task bound by
 * that ARN to its step in steps.ts, the ECS `runTask.sync` Task bound to the worker's job function
 * (worker-job.ts, what containers/worker/main.ts runs on Fargate), in-process, and AWS SDK Tasks (the
 * RDS calls of a managed restore) sent through the clients given (aws-sdk-tasks.ts). Steps run over whatever
 * runtime is given: the local one (folder repository, SQLite catalog, key file) in the embedded mode.
 */

// aws-local-stepfunctions calls Promise.withResolvers (Node 22+); Node 20 lacks it.
installPromiseWithResolvers();

/** Stand-in values for every substitution key: ARNs of the right shape, never called. */
export const LOCAL_SUBSTITUTIONS: DefinitionSubstitutions = {
  PrepareFunctionArn: localFunctionArn('prepare'),
  RecordFunctionArn: localFunctionArn('record'),
  RecordFailureFunctionArn: localFunctionArn('record-failure'),
  VerifyFunctionArn: localFunctionArn('verify'),
  ReplicateFunctionArn: localFunctionArn('replicate'),
  RetentionFunctionArn: localFunctionArn('retention'),
  NotifyFunctionArn: localFunctionArn('notify'),
  ReleaseFunctionArn: localFunctionArn('release'),
  ClusterArn: 'arn:aws:ecs:us-east-1:000000000000:cluster/chrono-backup-local',
  WorkerTaskDefinitionArn: 'arn:aws:ecs:us-east-1:000000000000:task-definition/chrono-backup-worker:1',
  WorkerContainerName: 'worker',
  SubnetIds: 'subnet-local-a,subnet-local-b',
  SecurityGroupIds: 'sg-local',
};

const ECS_RUN_TASK_SYNC = 'arn:aws:states:::ecs:runTask.sync';
const KEY_PATTERN = /\$\{([A-Za-z0-9_]+)\}/g;
const STATEMACHINES_DIR = new URL('../../statemachines/', import.meta.url);

/** The text of a state machine file as deployed, before substitution. */
export function readDefinitionText(workflow: WorkflowName): Promise<string> {
  return readFile(new URL(STATE_MACHINES[workflow].file, STATEMACHINES_DIR), 'utf8');
}

/** The `${…}` keys a definition text uses. */
export function substitutionKeysIn(text: string): Set<string> {
  return new Set([...text.matchAll(KEY_PATTERN)].map((match) => match[1]!));
}

/** Substitutes every key as `definitionSubstitutions` does; a key without a value is an error, as at deploy. */
export function substitute(text: string, values: Readonly<Record<string, string>>): string {
  return text.replace(KEY_PATTERN, (_match, key: string) => {
    const value = values[key];
    if (value === undefined) throw new ValidationError(`the state machine uses \${${key}}, which has no substitution`, key);
    // Values land inside JSON strings.
    return JSON.stringify(value).slice(1, -1);
  });
}

export interface LocalRunOptions {
  runtime: WorkflowRuntime;
  /** The execution name, i.e. the run id (the scheduler's `plan-<plan>-<occurrence>`). */
  executionName: string;
  /** Wait this long before every retry instead of the definition's backoff (tests). */
  retryDelayMs?: number;
  /** Clients of the AWS SDK Tasks (the RDS calls of a managed restore); absent: real clients from the environment. */
  awsClients?: AwsSdkClients;
}

export interface LocalRunResult {
  status: 'succeeded' | 'failed';
  output?: unknown;
  /** The execution's error, as Step Functions reports it. */
  error?: { Error: string; Cause: string };
  /** Every state entered, retried and caught, in order. */
  events: { type: string; state?: string; error?: string }[];
}

/** Runs one execution of `workflow` to its end. */
export async function runLocalWorkflow(workflow: WorkflowName, input: unknown, options: LocalRunOptions): Promise<LocalRunResult> {
  const definition = JSON.parse(substitute(await readDefinitionText(workflow), LOCAL_SUBSTITUTIONS)) as StateMachineDefinition;
  const tasks = taskStates(definition);
  const handlers = Object.fromEntries(tasks.map(([name, resource]) => [name, bindResource(resource, options.runtime, options.awsClients ?? {})]));
  const retryIntervalOverrides = options.retryDelayMs === undefined ? undefined : Object.fromEntries(tasks.map(([name]) => [name, options.retryDelayMs!]));
  const execution = new StateMachine(definition).run(input as never, {
    overrides: { taskResourceLocalHandlers: handlers, ...(retryIntervalOverrides ? { retryIntervalOverrides } : {}) },
    context: { Execution: { Name: options.executionName } },
  });
  const events: LocalRunResult['events'] = [];
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      const state = 'state' in event ? event.state.name : undefined;
      const error = 'Error' in event ? event.Error : undefined;
      events.push({ type: event.type, ...(state ? { state } : {}), ...(error ? { error } : {}) });
    }
  })();
  try {
    const output = await execution.result;
    await collecting;
    return { status: 'succeeded', output, events };
  } catch (error) {
    await collecting.catch(() => undefined);
    if (!(error instanceof ExecutionError)) throw error;
    const cause = error.cause as Error;
    return { status: 'failed', error: { Error: cause.name, Cause: cause.message }, events };
  }
}

/** Every Task state of the definition (Map and Parallel bodies included), as [state name, resource]. */
function taskStates(definition: Pick<StateMachineDefinition, 'States'>): [string, string][] {
  return Object.entries(definition.States).flatMap(([name, state]): [string, string][] => {
    if (state.Type === 'Task') return [[name, state.Resource]];
    if (state.Type === 'Map') {
      const body = state.ItemProcessor ?? state.Iterator;
      return body ? taskStates(body) : [];
    }
    if (state.Type === 'Parallel') return state.Branches.flatMap(taskStates);
    return [];
  });
}

type Handler = (input: unknown) => Promise<never>;

function bindResource(resource: string, runtime: WorkflowRuntime, awsClients: AwsSdkClients): Handler {
  if (resource === ECS_RUN_TASK_SYNC) return (input) => runWorkerTask(runtime, input) as Promise<never>;
  if (isAwsSdkTask(resource)) return bindAwsSdkTask(resource, awsClients) as Handler;
  const key = (Object.keys(LAMBDA_FUNCTIONS) as FunctionKey[]).find((candidate) => LOCAL_SUBSTITUTIONS[candidate] === resource);
  if (key === undefined) throw new ValidationError(`no local binding for the Task resource ${resource}`, 'Resource');
  const step = LAMBDA_FUNCTIONS[key].step;
  // Outputs cross a JSON boundary in Lambda too: undefined fields vanish, dates become strings.
  return async (input) => JSON.parse(JSON.stringify((await runStep(runtime, step, input)) ?? null)) as never;
}

/**
 * What `ecs:runTask.sync` does with the worker: the job comes from the container override's
 * environment, and a worker that fails makes the task state fail with `States.TaskFailed`, whatever the
 * domain error (the container only has an exit code): the worker has recorded the error in the run.
 */
async function runWorkerTask(runtime: WorkflowRuntime, input: unknown): Promise<unknown> {
  const override = (input as { Overrides?: { ContainerOverrides?: { Name?: string; Environment?: { Name: string; Value: string }[] }[] } }).Overrides?.ContainerOverrides?.[0];
  const job = override?.Environment?.find((variable) => variable.Name === WORKER.jobVariable)?.Value;
  if (job === undefined) throw new ValidationError(`the worker task has no ${WORKER.jobVariable} override`, WORKER.jobVariable);
  const container = override?.Name ?? 'worker';
  try {
    await runWorkerJob(runtime, job);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw Object.assign(new Error(JSON.stringify({ StoppedReason: 'Essential container in task exited', Containers: [{ Name: container, ExitCode: 1, Reason: reason.slice(0, 255) }] })), { name: 'States.TaskFailed' });
  }
  return { LastStatus: 'STOPPED', StopCode: 'EssentialContainerExited', Containers: [{ Name: container, ExitCode: 0 }] };
}

function localFunctionArn(name: string): string {
  return `arn:aws:lambda:us-east-1:000000000000:function:chrono-backup-${name}`;
}

function installPromiseWithResolvers(): void {
  const promise = Promise as unknown as { withResolvers?: () => unknown };
  if (typeof promise.withResolvers === 'function') return;
  promise.withResolvers = function withResolvers<T>() {
    let resolve!: (value: T | PromiseLike<T>) => void;
    let reject!: (reason?: unknown) => void;
    const created = new Promise<T>((onResolve, onReject) => {
      resolve = onResolve;
      reject = onReject;
    });
    return { promise: created, resolve, reject };
  };
}

/** The keys the local runner substitutes (the tests compare them with the ASL files and substitutions.ts). */
export const LOCAL_SUBSTITUTION_KEYS: readonly string[] = Object.keys(LOCAL_SUBSTITUTIONS);
