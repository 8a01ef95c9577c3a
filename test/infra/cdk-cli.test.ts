import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, expect, test } from '@jest/globals';
import { App, Stack } from 'aws-cdk-lib';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import { BUNDLING, FUNCTION_RUNTIME } from '../../infra/constructs/workflow-functions.js';
import { REPOSITORY_ROOT, TEST_API_ENTRY } from './synth-stage.js';

const run = promisify(execFile);
const scratch = mkdtempSync(path.join(tmpdir(), 'chrono-cdk-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** An environment in which any use of Docker or the network-facing CDK features fails or is off. */
const OFFLINE_ENV = {
  ...process.env,
  CDK_DISABLE_CLI_TELEMETRY: 'true',
  CDK_DOCKER: '/bin/false',
  DOCKER_HOST: 'unix:///nonexistent/docker.sock',
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_PROFILE: '',
  AWS_EC2_METADATA_DISABLED: 'true',
};

test('`npx cdk synth -c stage=dev` works offline through the CLI (cdk.json → infra/synth.mjs), with CloudFormation schema validation and cdk-nag', async () => {
  const out = path.join(scratch, 'cdk.out');
  // Lambda bundling is skipped here (it is covered below); the worker image is never built at synth.
  const args = ['cdk', 'synth', '-c', 'stage=dev', '-c', `apiEntry=${TEST_API_ENTRY}`, '-o', out, '--no-notices', '--quiet'];
  await run('npx', args, { cwd: REPOSITORY_ROOT, env: { ...OFFLINE_ENV, CHRONO_SYNTH_SKIP_BUNDLING: '1' }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 });
  const template = JSON.parse(readFileSync(path.join(out, 'ChronoBackup-dev.template.json'), 'utf8')) as { Resources: Record<string, { Type: string }> };
  expect(Object.values(template.Resources).filter((resource) => resource.Type === 'AWS::StepFunctions::StateMachine')).toHaveLength(5);
  const assets = JSON.parse(readFileSync(path.join(out, 'ChronoBackup-dev.assets.json'), 'utf8')) as { dockerImages: Record<string, { source: { directory: string; dockerFile?: string } }> };
  const images = Object.values(assets.dockerImages);
  expect(images).toHaveLength(1);
  expect(images[0]!.source.dockerFile).toBe('containers/worker/Dockerfile');
  // The staged build context holds only what the image needs.
  expect(readdirSync(path.join(out, images[0]!.source.directory)).sort()).toEqual(['containers', 'package-lock.json', 'package.json', 'src', 'tsconfig.json']);
}, 180_000);

test('Lambda bundling runs locally with esbuild: one ESM bundle with the native addons and the blob worker beside it, loadable by Node', async () => {
  const app = new App({ outdir: path.join(scratch, 'bundle') });
  const stack = new Stack(app, 'Bundle');
  new nodejs.NodejsFunction(stack, 'Verify', {
    entry: path.join(REPOSITORY_ROOT, 'functions', 'verify.ts'),
    projectRoot: REPOSITORY_ROOT,
    depsLockFilePath: path.join(REPOSITORY_ROOT, 'package-lock.json'),
    runtime: FUNCTION_RUNTIME,
    bundling: BUNDLING,
  });
  const assembly = app.synth();
  const bundles = readdirSync(assembly.directory).filter((name) => name.startsWith('asset.') && existsSync(path.join(assembly.directory, name, 'index.mjs')));
  expect(bundles).toHaveLength(1);
  const dir = path.join(assembly.directory, bundles[0]!);
  const files = readdirSync(dir);
  expect(files).toEqual(expect.arrayContaining(['index.mjs', 'blob-worker.js', 'package.json']));
  expect(files.filter((name) => name.endsWith('.node')).length).toBeGreaterThanOrEqual(1);
  expect(JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8'))).toEqual({ type: 'module' });
  // Load both files in a fresh Node, outside the repository: nothing may resolve from node_modules.
  const probe =
    `const m = await import(${JSON.stringify(path.join(dir, 'index.mjs'))}); const { Worker } = await import('node:worker_threads');` +
    // A key set like a repository's, so the worker's start-up (key tables, gear table, codec) runs; then it waits for jobs.
    `const k = new Uint8Array(32).fill(7); const workerData = { dataKeys: [{ id: 1, key: k }], writeKeyId: 1, idKey: k, chunkerSecret: k, chunker: {}, compression: 'auto', zstdLevel: 3 };` +
    `const w = new Worker(${JSON.stringify(path.join(dir, 'blob-worker.js'))}, { workerData, execArgv: [] });` +
    `const worker = await new Promise((resolve) => { w.once('error', (e) => resolve('error: ' + e.message)); setTimeout(() => resolve('running'), 1000); });` +
    `await w.terminate(); console.log(typeof m.handler, worker);`;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', probe], { cwd: tmpdir(), env: { PATH: process.env.PATH ?? '' } });
  expect(stdout.trim()).toBe('function running');
}, 120_000);
