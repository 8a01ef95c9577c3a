import { describe, expect, it } from '@jest/globals';
import { ValidationError } from '../../../src/domain/errors.js';
import { describeCaught } from '../../../src/workflows/steps.js';
import { parseJob } from '../../../src/workflows/workflow-jobs.js';

describe('describeCaught', () => {
  it('reads the message of a Lambda error, an ECS task and plain text', () => {
    const lambda = JSON.stringify({ errorType: 'StorageError', errorMessage: 'bucket unreachable', trace: ['at x'] });
    expect(describeCaught({ Error: 'StorageError', Cause: lambda })).toEqual({ code: 'workflow.StorageError', message: 'bucket unreachable' });
    const ecs = JSON.stringify({ StoppedReason: 'Essential container in task exited', Containers: [{ ExitCode: 1 }] });
    expect(describeCaught({ Error: 'States.TaskFailed', Cause: ecs })).toEqual({ code: 'workflow.States.TaskFailed', message: 'Essential container in task exited' });
    expect(describeCaught({ Error: 'States.Timeout', Cause: 'timed out' })).toEqual({ code: 'workflow.States.Timeout', message: 'timed out' });
    expect(describeCaught(undefined)).toEqual({ code: 'workflow.States.Unknown', message: 'step failed with States.Unknown' });
  });
});

describe('parseJob', () => {
  const field = (action: () => unknown) => {
    try {
      action();
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      return (error as ValidationError).details?.field;
    }
    throw new Error('expected a ValidationError');
  };

  it('resolves each workflow\'s input with defaults and a lease scope', () => {
    expect(parseJob('backup', 'r1', { plan: 'web' })).toEqual({ workflow: 'backup', runId: 'r1', scope: 'backup:web', plan: 'web', type: 'full', replicas: [], replicate: false });
    expect(parseJob('verify', 'r2', {})).toEqual({ workflow: 'verify', runId: 'r2', scope: 'verify', level: 'read', onWorker: false, snapshotId: null });
    expect(parseJob('replicate', 'r3', { destinations: ['s3://b/p'] })).toMatchObject({ destinations: ['s3://b/p'], snapshots: [] });
  });

  it('names the bad field', () => {
    expect(field(() => parseJob('backup', 'r', {}))).toBe('plan');
    expect(field(() => parseJob('backup', 'r', { plan: 'web', type: 'weekly' }))).toBe('type');
    expect(field(() => parseJob('restore', 'r', { snapshotId: 'x', only: ['disk'] }))).toBe('only');
    expect(field(() => parseJob('verify', 'r', { level: 'deep' }))).toBe('level');
    expect(field(() => parseJob('retention', 'r', { policy: { keep_lots: 3 } }))).toBe('policy.keep_lots');
    expect(field(() => parseJob('replicate', 'r', { destinations: [] }))).toBe('destinations');
  });
});
