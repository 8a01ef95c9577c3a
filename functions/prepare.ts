import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *prepare* of every workflow: opens the run record (id = execution name), takes the workflow lease, resolves the job.
 * Logic: `prepare` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('prepare');
