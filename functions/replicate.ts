import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *replicate*: one Map iteration, copying the repository to one replica location.
 * Logic: `replicate` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('replicate');
