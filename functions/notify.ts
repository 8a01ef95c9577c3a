import { lambdaStep } from '../src/workflows/lambda-step.js';

/**
 * Lambda entry point. Step *notify*: raises the workflow's alert (or announces a recovery) through the configured channels.
 * Logic: `notify` in src/workflows/steps.ts; environment and permissions: src/runtime/aws-runtime.ts.
 */
export const handler = lambdaStep('notify');
