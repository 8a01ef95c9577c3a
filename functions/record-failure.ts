import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *recordFailure*: finishes the run as failed from the caught error, unless a step recorded its own.
 * Logic: `recordFailure` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('recordFailure');
