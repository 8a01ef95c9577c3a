/**
 * The state machines of statemachines/ executed by aws-local-stepfunctions (src/workflows/local-runner.ts),
 * every Task bound to the real step code over the local runtime: a folder repository, the SQLite catalog,
 * a key file, the worker's job function in place of the Fargate task, alerts to a signed webhook on
 * 127.0.0.1. Retry waits are shortened; everything else is as deployed.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebhookPayload } from '../../src/alerts/webhook-channel.js';
import { SqliteCatalog } from '../../src/catalog/sqlite-catalog.js';
import { StorageError } from '../../src/domain/errors.js';
import { validatePlan } from '../../src/domain/plan.js';
import { systemClock } from '../../src/ports/clock.js';
import type { ObjectStorage } from '../../src/ports/object-storage.js';
import { LocalObjectStorage } from '../../src/storage/local-object-storage.js';
import { localSettings, type LocalSettings } from '../../src/runtime/local-settings.js';
import { runLocalWorkflow } from '../../src/workflows/local-runner.js';
import { localWorkflowRuntime } from '../../src/workflows/local-workflow-runtime.js';
import { acquireWorkflowLease, listWorkflowLeases, releaseWorkflowLease, WORKFLOW_LEASE_PREFIX } from '../../src/workflows/workflow-lease.js';
import type { WorkflowRuntime } from '../../src/workflows/workflow-runtime.js';
import { startHttpReceiver, type HttpReceiver } from '../harness/alert-receivers.js';
import { freePort } from '../harness/child-process.js';
import { assertTreesEqual } from '../helpers/compare-trees.js';
import { writeRandomFile } from '../helpers/fixture-tree.js';
import { InterceptingObjectStorage } from '../helpers/storage-faults.js';
import type { StorageOperation } from '../../src/storage/retrying-object-storage.js';

const SECRET = 'workflow-webhook-secret-0123456789';
let root: string;
let data: string;
let settings: LocalSettings;
let webhook: HttpReceiver;
let runtime: WorkflowRuntime;
let catalog: SqliteCatalog;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'chrono-workflows-'));
  data = join(root, 'data');
  await mkdir(join(data, 'sub', 'deeper'), { recursive: true });
  await writeFile(join(data, 'a.txt'), 'alpha\n');
  await writeRandomFile(join(data, 'sub', 'big.bin'), 3 * 1024 * 1024 + 17, 7);
  await writeRandomFile(join(data, 'sub', 'deeper', 'small.bin'), 40_000, 8);
  await symlink('../a.txt', join(data, 'sub', 'link'));
  webhook = await startHttpReceiver({ secret: SECRET });
  const env = { CHRONO_BACKUP_HOME: join(root, 'home'), BACKUP_LOG_LEVEL: 'error', BACKUP_ALERT_WEBHOOK_URL: webhook.url, BACKUP_ALERT_WEBHOOK_SECRET: SECRET };
  settings = localSettings(env);
  runtime = localWorkflowRuntime(settings, { env });
  await mkdir(settings.home, { recursive: true });
  catalog = SqliteCatalog.open(settings.catalogPath);
  await catalog.putPlan(validatePlan('web', { files: { paths: [data] } }));
  // A source that is down: nothing listens on this port.
  await catalog.putPlan(validatePlan('cache', { redis: { url: `redis://127.0.0.1:${await freePort()}` } }));
}, 30_000);

afterAll(async () => {
  await catalog?.close();
  await webhook?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

const repository = (): ObjectStorage => new LocalObjectStorage(settings.repository);
const alerts = () => webhook.received.map((request) => (request.json as WebhookPayload).alert);
const statesEntered = (events: { type: string; state?: string }[]) => events.filter((event) => event.type === 'StateEntered').map((event) => event.state);

describe('local execution of the state machines', () => {
  it('backs up a plan end to end (prepare → worker → record → verify → replicate → notify → release), and the snapshot restores byte-identical', async () => {
    const replica = join(root, 'replica');
    const result = await runLocalWorkflow('backup', { plan: 'web', type: 'full', replicas: [replica] }, { runtime, executionName: 'plan-web-20261128T020000Z' });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(statesEntered(result.events)).toEqual(['Prepare', 'Backup', 'Record', 'Verify', 'ReplicateChoice', 'Replicate', 'ReplicateTo', 'Notify', 'Release', 'Done']);

    // One run record for the execution: the worker's backup run was adopted by it.
    const run = await catalog.getRun('plan-web-20261128T020000Z');
    expect(run).toMatchObject({ kind: 'backup', status: 'succeeded', summary: expect.objectContaining({ plan: 'web', type: 'full' }) });
    const backups = await catalog.listRuns({ kind: 'backup' });
    expect(backups.map((each) => each.id)).toEqual(['plan-web-20261128T020000Z']);
    const verified = await catalog.listRuns({ kind: 'verify' });
    expect(verified).toHaveLength(1);
    expect(verified[0]).toMatchObject({ status: 'succeeded', summary: expect.objectContaining({ level: 'read' }) });
    const snapshotId = run!.snapshotId!;
    expect(snapshotId).toMatch(/^full_\d{8}_\d{6}$/);
    expect(await catalog.getSnapshot(run!.repository, snapshotId)).toMatchObject({ id: snapshotId, paths: [data] });
    expect(await readdir(join(replica, 'snapshots'))).toEqual([snapshotId]);
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
    expect(alerts()).toEqual([]);

    // The restore workflow streams the snapshot back out through the same worker entry.
    const target = join(root, 'restored');
    const restored = await runLocalWorkflow('restore', { snapshotId, target }, { runtime, executionName: 'restore-web-1' });
    expect(restored.error).toBeUndefined();
    expect(await catalog.getRun('restore-web-1')).toMatchObject({ kind: 'restore', status: 'succeeded' });
    // A files snapshot restores each backed-up path under its base name.
    // Contents, modes, links and times; times through utimes keep microseconds, as in the round-trip tests.
    await assertTreesEqual(data, join(target, 'data'), { mtimeToleranceNs: 999n });
  });

  it('replicates to several locations through the Map and applies a retention policy', async () => {
    const second = await runLocalWorkflow('backup', { plan: 'web', type: 'incremental' }, { runtime, executionName: 'plan-web-20261128T021500Z' });
    expect(second.status).toBe('succeeded');
    const copies = [join(root, 'copy-a'), join(root, 'copy-b')];
    const replicated = await runLocalWorkflow('replicate', { destinations: copies }, { runtime, executionName: 'replicate-1' });
    expect(replicated.error).toBeUndefined();
    expect(replicated.events.filter((event) => event.type === 'MapIterationSucceeded')).toHaveLength(2);
    const snapshots = (await catalog.listRuns({ kind: 'backup', status: 'succeeded' })).map((run) => run.snapshotId).sort();
    for (const copy of copies) expect((await readdir(join(copy, 'snapshots'))).sort()).toEqual(snapshots);
    const replicationRun = await catalog.getRun('replicate-1');
    expect(replicationRun).toMatchObject({ kind: 'replicate', status: 'succeeded' });
    expect((replicationRun!.summary!.results as { destination: string }[]).map((each) => each.destination).sort()).toEqual(copies.map((copy) => expect.stringContaining(copy)));

    const retained = await runLocalWorkflow('retention', { policy: { keep_last: 1 } }, { runtime, executionName: 'retention-1' });
    expect(retained.error).toBeUndefined();
    expect(await catalog.getRun('retention-1')).toMatchObject({ kind: 'prune', status: 'succeeded' });
    const newest = (await catalog.getRun('plan-web-20261128T021500Z'))!.snapshotId;
    expect(await readdir(join(settings.repository, 'snapshots'))).toEqual([newest]);
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
  });

  it('a full verify runs on the worker, and its verify run is the workflow run', async () => {
    const result = await runLocalWorkflow('verify', { level: 'full' }, { runtime, executionName: 'verify-full-1' });
    expect(result.error).toBeUndefined();
    expect(statesEntered(result.events)).toEqual(['Prepare', 'WhereToVerify', 'VerifyOnWorker', 'Record', 'Notify', 'Release', 'Done']);
    const run = await catalog.getRun('verify-full-1');
    expect(run).toMatchObject({ kind: 'verify', status: 'succeeded', summary: expect.objectContaining({ level: 'full', ok: true, problems: 0 }) });
  });

  it('a replica that cannot be written fails the execution after the backup succeeded, with a storage alert', async () => {
    const before = webhook.received.length;
    const result = await runLocalWorkflow('backup', { plan: 'web', type: 'incremental', replicas: ['nope://replica'] }, { runtime, executionName: 'plan-web-20261128T023000Z', retryDelayMs: 1 });
    expect(result.status).toBe('failed');
    expect(result.error?.Error).toBe('ValidationError');
    expect(statesEntered(result.events)).toEqual(['Prepare', 'Backup', 'Record', 'Verify', 'ReplicateChoice', 'Replicate', 'ReplicateTo', 'ReplicaFailed', 'RecordFailure', 'NotifyFailure', 'ReleaseAfterFailure', 'Failed']);
    // The backup itself stands.
    expect(await catalog.getRun('plan-web-20261128T023000Z')).toMatchObject({ status: 'succeeded' });
    expect(alerts().slice(before)).toEqual([expect.objectContaining({ type: 'storage_issue', key: 'workflow_step_failed:plan web' })]);
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
  });

  it('a failing worker ends in a recorded failure and an alert, with the lock released', async () => {
    const before = webhook.received.length;
    const result = await runLocalWorkflow('backup', { plan: 'cache' }, { runtime, executionName: 'plan-cache-20261128T020000Z', retryDelayMs: 1 });
    expect(result.status).toBe('failed');
    expect(result.error?.Error).toBe('States.TaskFailed');
    expect(statesEntered(result.events)).toEqual(['Prepare', 'Backup', 'RecordFailure', 'NotifyFailure', 'ReleaseAfterFailure', 'Failed']);
    // The worker recorded its own error code; recordFailure left it as it was.
    const run = await catalog.getRun('plan-cache-20261128T020000Z');
    expect(run).toMatchObject({ kind: 'backup', status: 'failed', error: { code: expect.stringMatching(/^source\.redis/) } });
    const alert = alerts().slice(before);
    expect(alert).toHaveLength(1);
    expect(alert[0]).toMatchObject({ type: 'backup_failed', key: 'backup_failed:plan cache', details: expect.objectContaining({ run: 'plan-cache-20261128T020000Z', code: run!.error!.code }) });
    expect(webhook.badSignatures).toBe(0);
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
  });

  it('retries a transient failure of prepare, which leaves the run open for the retry', async () => {
    // The lease write fails once after the run record was opened: the retried prepare picks the run up.
    const flaky = failOnce(runtime, 'put', WORKFLOW_LEASE_PREFIX);
    const result = await runLocalWorkflow('verify', { level: 'structure' }, { runtime: flaky, executionName: 'verify-structure-0', retryDelayMs: 1 });
    expect(result.error).toBeUndefined();
    expect(result.events.filter((event) => event.type === 'StateRetried').map((event) => event.state)).toEqual(['Prepare']);
    expect(await catalog.getRun('verify-structure-0')).toMatchObject({ kind: 'verify', status: 'succeeded' });
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
  });

  it('retries a retryable error and then succeeds', async () => {
    // The lease's delete fails once with a transient StorageError, below any storage-level retry.
    const flaky = failOnce(runtime, 'delete', WORKFLOW_LEASE_PREFIX);
    const result = await runLocalWorkflow('verify', { level: 'structure' }, { runtime: flaky, executionName: 'verify-structure-1', retryDelayMs: 1 });
    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(result.events.filter((event) => event.type === 'StateRetried').map((event) => event.state)).toEqual(['Release']);
    expect(result.events.some((event) => event.type === 'StateFailed' && event.state === 'Release' && event.error === 'StorageError')).toBe(true);
    expect(await catalog.getRun('verify-structure-1')).toMatchObject({ kind: 'verify', status: 'succeeded', summary: expect.objectContaining({ level: 'structure' }) });
    expect(await listWorkflowLeases(repository(), systemClock)).toEqual([]);
  });

  it('an execution of another workflow with the same name touches neither that run nor its lease', async () => {
    const backupRun = (await catalog.listRuns({ kind: 'backup', status: 'succeeded' }))[0]!;
    const clash = await runLocalWorkflow('verify', { level: 'structure' }, { runtime, executionName: backupRun.id, retryDelayMs: 1 });
    expect(clash.status).toBe('failed');
    expect(clash.error).toEqual({ Error: 'ConflictError', Cause: expect.stringContaining('already exists as a backup run') });
    expect(await catalog.getRun(backupRun.id)).toEqual(backupRun);

    const held = await acquireWorkflowLease(repository(), { workflow: 'backup', runId: 'same-name', scope: 'backup:other', ttlMs: 60_000, clock: systemClock });
    try {
      const verified = await runLocalWorkflow('verify', { level: 'structure' }, { runtime, executionName: 'same-name' });
      expect(verified.status).toBe('succeeded');
      expect(await listWorkflowLeases(repository(), systemClock)).toEqual([held]);
    } finally {
      await releaseWorkflowLease(repository(), held);
    }
  });

  it('a lock held by another run fails the execution fast with a recorded LockedError, leaving that lock alone', async () => {
    const held = await acquireWorkflowLease(repository(), { runId: 'plan-web-20261128T010000Z', scope: 'backup:web', workflow: 'backup', ttlMs: 60 * 60_000, clock: systemClock });
    try {
      const result = await runLocalWorkflow('backup', { plan: 'web' }, { runtime, executionName: 'plan-web-20261128T030000Z', retryDelayMs: 1 });
      expect(result.status).toBe('failed');
      expect(result.error?.Error).toBe('LockedError');
      expect(statesEntered(result.events)).toEqual(['Prepare', 'RecordFailure', 'NotifyFailure', 'ReleaseAfterFailure', 'Failed']);
      expect(result.events.filter((event) => event.type === 'StateRetried')).toEqual([]);
      expect(await catalog.getRun('plan-web-20261128T030000Z')).toMatchObject({ status: 'failed', error: { code: 'locked', message: expect.stringContaining('plan-web-20261128T010000Z') } });
      expect(await listWorkflowLeases(repository(), systemClock)).toEqual([held]);
    } finally {
      await releaseWorkflowLease(repository(), held);
    }
  });
});

/** The runtime with a repository storage whose first `operation` on a key under `prefix` fails, retryably. */
function failOnce(inner: WorkflowRuntime, operation: StorageOperation, prefix: string): WorkflowRuntime {
  let failed = false;
  class FailOnce extends InterceptingObjectStorage {
    protected around<T>(op: StorageOperation, key: string, call: () => Promise<T>): Promise<T> {
      if (!failed && op === operation && key.startsWith(prefix)) {
        failed = true;
        return Promise.reject(new StorageError('unavailable', 'storage briefly unavailable (injected)', { retryable: true }));
      }
      return call();
    }
  }
  return {
    ...inner,
    async open(options) {
      const step = await inner.open(options);
      return { ...step, deps: { ...step.deps, storage: new FailOnce(step.deps.storage) } };
    },
  };
}
