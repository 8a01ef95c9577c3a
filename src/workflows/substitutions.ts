/**
 * The `${Key}` placeholders of the state machine definitions (statemachines/*.asl.json). The CDK stack
 * passes these as `definitionSubstitutions`; the local runner (src/workflows/local-runner.ts) substitutes
 * the same keys with local stand-in ARNs. One list, imported by both, so the three never drift apart
 * (test/statemachines/substitutions.test.ts checks the ASL files, this module and the local runner).
 *
 * Every value is a plain string: list-valued settings (subnets, security groups) are comma-separated and
 * split by the definition itself with `States.StringSplit`, so the ASL files stay valid JSON.
 */
export const SUBSTITUTION_DOCS = {
  PrepareFunctionArn: 'Lambda functions/prepare.ts: opens the run record, takes the workflow lease, resolves the job.',
  RecordFunctionArn: 'Lambda functions/record.ts: reads back what the main step recorded and finishes the run when it did not.',
  RecordFailureFunctionArn: 'Lambda functions/record-failure.ts: finishes the run as failed (unless already final) from the caught error.',
  VerifyFunctionArn: 'Lambda functions/verify.ts: verifies the repository (structure, sampled read) and the new snapshots.',
  ReplicateFunctionArn: 'Lambda functions/replicate.ts: copies the repository to one replica location (one Map iteration).',
  RetentionFunctionArn: 'Lambda functions/retention.ts: applies a retention policy (forget, then prune).',
  NotifyFunctionArn: 'Lambda functions/notify.ts: raises the alert of a failed (or, when asked, finished) workflow.',
  ReleaseFunctionArn: 'Lambda functions/release.ts: drops the workflow lease taken by prepare (only this run\'s own).',
  ClusterArn: 'ECS cluster that runs the Fargate worker.',
  WorkerTaskDefinitionArn: 'Fargate task definition built from containers/worker (entry containers/worker/main.ts).',
  WorkerContainerName: 'Name of the worker container in that task definition (its environment carries the job).',
  SubnetIds: 'Comma-separated private subnet ids for the worker task (awsvpc).',
  SecurityGroupIds: 'Comma-separated security group ids for the worker task.',
} as const satisfies Record<string, string>;

export type SubstitutionKey = keyof typeof SUBSTITUTION_DOCS;

/** Every key, in a stable order. */
export const SUBSTITUTION_KEYS = Object.keys(SUBSTITUTION_DOCS) as readonly SubstitutionKey[];

/** A value for every key: what `definitionSubstitutions` must be. */
export type DefinitionSubstitutions = Readonly<Record<SubstitutionKey, string>>;

/** The state machines, by file name under statemachines/, with the keys each one uses. */
export const STATE_MACHINES = {
  backup: { file: 'backup.asl.json', keys: ['PrepareFunctionArn', 'RecordFunctionArn', 'RecordFailureFunctionArn', 'VerifyFunctionArn', 'ReplicateFunctionArn', 'NotifyFunctionArn', 'ReleaseFunctionArn', 'ClusterArn', 'WorkerTaskDefinitionArn', 'WorkerContainerName', 'SubnetIds', 'SecurityGroupIds'] },
  restore: { file: 'restore.asl.json', keys: ['PrepareFunctionArn', 'RecordFunctionArn', 'RecordFailureFunctionArn', 'NotifyFunctionArn', 'ReleaseFunctionArn', 'ClusterArn', 'WorkerTaskDefinitionArn', 'WorkerContainerName', 'SubnetIds', 'SecurityGroupIds'] },
  verify: { file: 'verify.asl.json', keys: ['PrepareFunctionArn', 'RecordFunctionArn', 'RecordFailureFunctionArn', 'VerifyFunctionArn', 'NotifyFunctionArn', 'ReleaseFunctionArn', 'ClusterArn', 'WorkerTaskDefinitionArn', 'WorkerContainerName', 'SubnetIds', 'SecurityGroupIds'] },
  retention: { file: 'retention.asl.json', keys: ['PrepareFunctionArn', 'RecordFunctionArn', 'RecordFailureFunctionArn', 'RetentionFunctionArn', 'NotifyFunctionArn', 'ReleaseFunctionArn'] },
  replicate: { file: 'replicate.asl.json', keys: ['PrepareFunctionArn', 'RecordFunctionArn', 'RecordFailureFunctionArn', 'ReplicateFunctionArn', 'NotifyFunctionArn', 'ReleaseFunctionArn'] },
} as const satisfies Record<string, { file: string; keys: readonly SubstitutionKey[] }>;

export type WorkflowName = keyof typeof STATE_MACHINES;

/** Which step each Lambda runs, and its entry file (handler export: `handler`). */
export const LAMBDA_FUNCTIONS = {
  PrepareFunctionArn: { step: 'prepare', entry: 'functions/prepare.ts' },
  RecordFunctionArn: { step: 'record', entry: 'functions/record.ts' },
  RecordFailureFunctionArn: { step: 'recordFailure', entry: 'functions/record-failure.ts' },
  VerifyFunctionArn: { step: 'verify', entry: 'functions/verify.ts' },
  ReplicateFunctionArn: { step: 'replicate', entry: 'functions/replicate.ts' },
  RetentionFunctionArn: { step: 'retention', entry: 'functions/retention.ts' },
  NotifyFunctionArn: { step: 'notify', entry: 'functions/notify.ts' },
  ReleaseFunctionArn: { step: 'release', entry: 'functions/release.ts' },
} as const satisfies Partial<Record<SubstitutionKey, { step: string; entry: string }>>;

export type FunctionKey = keyof typeof LAMBDA_FUNCTIONS;
export type StepName = (typeof LAMBDA_FUNCTIONS)[FunctionKey]['step'];

/** The Fargate worker: entry file and the container environment variable carrying its job (JSON). */
export const WORKER = { entry: 'containers/worker/main.ts', jobVariable: 'CHRONO_WORKER_JOB' } as const;
