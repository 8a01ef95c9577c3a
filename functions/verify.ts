import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *verify*: structure + sampled read after a backup; the verify workflow's levels structure and read.
 * Logic: `verify` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('verify');
