import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockedError } from '../../../src/domain/errors.js';
import type { Clock } from '../../../src/ports/clock.js';
import { LocalObjectStorage } from '../../../src/storage/local-object-storage.js';
import { acquireWorkflowLease, listWorkflowLeases, releaseWorkflowLease } from '../../../src/workflows/workflow-lease.js';

let root: string;
let storage: LocalObjectStorage;
let now: Date;
const clock: Clock = { now: () => new Date(now) };
const lease = (runId: string, scope = 'backup:web', ttlMs = 60_000) => acquireWorkflowLease(storage, { runId, scope, workflow: 'backup', ttlMs, clock });

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'chrono-lease-'));
  storage = new LocalObjectStorage(root);
  now = new Date('2026-11-28T02:00:00Z');
});

afterEach(() => rm(root, { recursive: true, force: true }));

describe('workflow leases', () => {
  it('a second run of the same scope gets LockedError naming the holder; other scopes are free', async () => {
    await lease('run-a');
    now = new Date(now.getTime() + 1000);
    const refused = await lease('run-b').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(LockedError);
    expect((refused as LockedError).message).toContain('run-a');
    expect((refused as LockedError).details).toMatchObject({ holder: 'run-a', scope: 'backup:web' });
    await lease('run-c', 'backup:shop');
    expect((await listWorkflowLeases(storage, clock)).map((each) => each.runId).sort()).toEqual(['run-a', 'run-c']);
  });

  it('two runs that wrote at the same moment never both proceed; after the refusal the other may', async () => {
    // run-b's lease is already written (its check still to come) when run-a checks.
    await storage.put('workflow-locks/backup/run-b', Buffer.from(JSON.stringify({ runId: 'run-b', scope: 'backup:web', workflow: 'backup', created: now.toISOString(), expires: new Date(now.getTime() + 60_000).toISOString() })));
    await expect(lease('run-a')).rejects.toBeInstanceOf(LockedError);
    // run-a removed only its own lease, so run-b's check finds nobody else.
    await expect(lease('run-b')).resolves.toMatchObject({ runId: 'run-b' });
    expect((await listWorkflowLeases(storage, clock)).map((each) => each.runId)).toEqual(['run-b']);
  });

  it('taking the lease again with the same run id keeps its creation time; release drops only that run', async () => {
    const first = await lease('run-a');
    now = new Date(now.getTime() + 30_000);
    const again = await lease('run-a');
    expect(again.created).toBe(first.created);
    expect(again.expires > first.expires).toBe(true);
    await releaseWorkflowLease(storage, { workflow: 'backup', runId: 'run-other' });
    await releaseWorkflowLease(storage, { workflow: 'restore', runId: 'run-a' });
    expect((await listWorkflowLeases(storage, clock)).map((each) => each.runId)).toEqual(['run-a']);
    await releaseWorkflowLease(storage, { workflow: 'backup', runId: 'run-a' });
    expect(await listWorkflowLeases(storage, clock)).toEqual([]);
  });

  it('an expired lease (an execution that died without release) no longer blocks, and is cleaned up', async () => {
    await lease('run-a', 'backup:web', 1000);
    now = new Date(now.getTime() + 1001);
    await expect(lease('run-b')).resolves.toMatchObject({ runId: 'run-b' });
    expect((await listWorkflowLeases(storage, clock)).map((each) => each.runId)).toEqual(['run-b']);
  });
});

describe('scheduled execution names', () => {
  it('are the same for the same occurrence, valid run ids, and at most 80 characters', async () => {
    const { parseRunId, scheduledExecutionName } = await import('../../../src/workflows/workflow-jobs.js');
    const at = new Date('2026-11-28T02:00:00.000Z');
    expect(scheduledExecutionName('shop', at)).toBe('plan-shop-20261128T020000Z');
    expect(scheduledExecutionName('shop', new Date(at))).toBe(scheduledExecutionName('shop', at));
    const long = 'p'.repeat(64);
    const name = scheduledExecutionName(long, at);
    expect(name.length).toBeLessThanOrEqual(80);
    expect(parseRunId(name)).toBe(name);
    expect(name).not.toBe(scheduledExecutionName(`${'p'.repeat(63)}q`, at));
  });
});
