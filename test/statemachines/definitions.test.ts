/**
 * The state machine files as deployed: valid ASL (asl-validator, before and after substitution), every
 * Task state with a Retry and a Catch, and one set of `${…}` keys shared by the ASL files, the
 * substitutions module (which the CDK stack imports) and the local runner.
 */
import { describe, expect, it } from '@jest/globals';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { LOCAL_SUBSTITUTION_KEYS, LOCAL_SUBSTITUTIONS, readDefinitionText, substitute, substitutionKeysIn } from '../../src/workflows/local-runner.js';
import { LAMBDA_FUNCTIONS, STATE_MACHINES, SUBSTITUTION_KEYS, WORKER, type WorkflowName } from '../../src/workflows/substitutions.js';
import { STEPS } from '../../src/workflows/steps.js';

type Validate = (definition: unknown, options?: { checkPaths?: boolean; checkArn?: boolean }) => { isValid: boolean; errorsText: (separator?: string) => string };
const validate = createRequire(import.meta.url)('asl-validator') as Validate;
const WORKFLOWS = Object.keys(STATE_MACHINES) as WorkflowName[];
const ROOT = new URL('../../', import.meta.url).pathname;

interface State {
  Type: string;
  Retry?: { ErrorEquals: string[] }[];
  Catch?: { ErrorEquals: string[]; Next: string }[];
  ItemProcessor?: { States: Record<string, State> };
  Resource?: string;
}

function allStates(states: Record<string, State>): [string, State][] {
  return Object.entries(states).flatMap(([name, state]) => [[name, state] as [string, State], ...(state.ItemProcessor ? allStates(state.ItemProcessor.States) : [])]);
}

describe('statemachines/*.asl.json', () => {
  it('holds exactly the five workflows', async () => {
    const files = (await readdir(join(ROOT, 'statemachines'))).filter((file) => file.endsWith('.asl.json')).sort();
    expect(files).toEqual(WORKFLOWS.map((workflow) => STATE_MACHINES[workflow].file).sort());
  });

  it.each(WORKFLOWS)('%s is valid ASL as written and after substitution', async (workflow) => {
    const text = await readDefinitionText(workflow);
    const raw = validate(JSON.parse(text));
    expect(raw.errorsText()).toBe('');
    expect(raw.isValid).toBe(true);
    const substituted = validate(JSON.parse(substitute(text, LOCAL_SUBSTITUTIONS)));
    expect(substituted.errorsText()).toBe('');
    expect(substituted.isValid).toBe(true);
  });

  it.each(WORKFLOWS)('%s: every Task state retries transient errors and catches everything', async (workflow) => {
    const definition = JSON.parse(await readDefinitionText(workflow)) as { States: Record<string, State>; TimeoutSeconds?: number };
    const tasks = allStates(definition.States).filter(([, state]) => state.Type === 'Task');
    expect(tasks.length).toBeGreaterThan(4);
    for (const [name, state] of tasks) {
      const retried = (state.Retry ?? []).flatMap((retrier) => retrier.ErrorEquals);
      expect({ name, retries: retried.length > 0 }).toEqual({ name, retries: true });
      expect({ name, catchesAll: (state.Catch ?? []).some((catcher) => catcher.ErrorEquals.includes('States.ALL')) }).toEqual({ name, catchesAll: true });
      // A retry of everything would retry bad input and held leases too: only named, transient errors.
      expect(retried).not.toContain('States.ALL');
      if (state.Resource?.includes('Function')) expect(retried).toEqual(expect.arrayContaining(['StorageError', 'ServiceUnavailableError', 'Lambda.ServiceException']));
    }
    // A lease held by another run fails the execution fast: prepare does not retry LockedError.
    const prepare = definition.States.Prepare!;
    expect(prepare.Retry!.flatMap((retrier) => retrier.ErrorEquals)).not.toContain('LockedError');
    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
  });

  it('the backup workflow runs the worker on ECS and the sequence of the design', async () => {
    const definition = JSON.parse(await readDefinitionText('backup')) as { StartAt: string; States: Record<string, State & { Next?: string; Default?: string }> };
    const path: string[] = [];
    for (let name: string | undefined = definition.StartAt; name; ) {
      path.push(name);
      const state: State & { Next?: string; Default?: string } = definition.States[name]!;
      name = state.Next ?? (state.Type === 'Choice' ? 'Replicate' : undefined);
    }
    expect(path).toEqual(['Prepare', 'Backup', 'Record', 'Verify', 'ReplicateChoice', 'Replicate', 'Notify', 'Release', 'Done']);
    expect(definition.States.Backup!.Resource).toBe('arn:aws:states:::ecs:runTask.sync');
    expect(definition.States.Replicate!.Type).toBe('Map');
  });
});

describe('substitution keys', () => {
  it('the ASL files, src/workflows/substitutions.ts and the local runner use one set of keys', async () => {
    const used = new Set<string>();
    for (const workflow of WORKFLOWS) {
      const keys = substitutionKeysIn(await readDefinitionText(workflow));
      expect([...keys].sort()).toEqual([...STATE_MACHINES[workflow].keys].sort());
      for (const key of keys) used.add(key);
    }
    expect([...used].sort()).toEqual([...SUBSTITUTION_KEYS].sort());
    expect([...LOCAL_SUBSTITUTION_KEYS].sort()).toEqual([...SUBSTITUTION_KEYS].sort());
  });

  it('the CDK code takes its definitionSubstitutions keys from the same module', async () => {
    const sources = await infraSources();
    const substituting = sources.filter((source) => source.text.includes('definitionSubstitutions'));
    // Until the CDK app loads the state machines there is nothing to compare; once it does, every file
    // that passes definitionSubstitutions must import the shared keys.
    for (const source of substituting) expect({ file: source.file, imports: /workflows\/substitutions(\.js)?['"]/.test(source.text) }).toEqual({ file: source.file, imports: true });
  });
});

async function infraSources(): Promise<{ file: string; text: string }[]> {
  const files = await readdir(join(ROOT, 'infra'), { recursive: true }).catch(() => [] as string[]);
  return Promise.all(files.filter((file) => file.endsWith('.ts') && !file.includes('node_modules') && !file.startsWith('cdk.out')).map(async (file) => ({ file, text: await readFile(join(ROOT, 'infra', file), 'utf8') })));
}

describe('entry points', () => {
  it.each(Object.entries(LAMBDA_FUNCTIONS).map(([key, fn]) => [key, fn.entry, fn.step]))('%s: %s exports the handler of step %s', async (_key, entry, step) => {
    const module = (await import(join(ROOT, entry))) as { handler?: unknown };
    expect(typeof module.handler).toBe('function');
    expect(Object.keys(STEPS)).toContain(step);
  });

  it('every step has its Lambda entry point', () => {
    expect(Object.values(LAMBDA_FUNCTIONS).map((fn) => fn.step).sort()).toEqual(Object.keys(STEPS).sort());
  });

  it('the worker exits non-zero without a job, before touching AWS', async () => {
    const worker = (await import(join(ROOT, WORKER.entry))) as { main: (env: NodeJS.ProcessEnv) => Promise<number> };
    const written: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string) => written.push(chunk) > 0) as typeof process.stderr.write;
    try {
      expect(await worker.main({})).toBe(1);
    } finally {
      process.stderr.write = write;
    }
    expect(written.join('')).toContain('CHRONO_WORKER_JOB is not set');
  });
});
