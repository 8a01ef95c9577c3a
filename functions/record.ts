import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *record*: reads back the outcome the main step recorded in the catalog.
 * Logic: `record` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('record');
