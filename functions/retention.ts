import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *retention*: applies a retention policy (forget, then prune).
 * Logic: `retention` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('retention');
