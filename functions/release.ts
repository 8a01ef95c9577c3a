import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *release*: drops this run's workflow lease.
 * Logic: `release` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('release');
