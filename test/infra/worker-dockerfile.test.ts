import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { expect, test } from '@jest/globals';
import { WORKER } from '../../src/workflows/substitutions.js';
import { WORKER_DOCKERFILE, WORKER_IMAGE_CONTEXT } from '../../infra/constructs/worker-image.js';

const REPOSITORY_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');

/*
 * The worker image is not built here (no Docker daemon): these checks lint the Dockerfile's properties
 * that matter for running it on Fargate.
 */
const dockerfile = readFileSync(path.join(REPOSITORY_ROOT, WORKER_DOCKERFILE), 'utf8');
/** Instructions with continuation lines joined and comments dropped. */
const instructions = dockerfile
  .replace(/\\\n/g, ' ')
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line !== '' && !line.startsWith('#'));
const stages = instructions.filter((line) => /^FROM\s/i.test(line));
const finalStage = instructions.slice(instructions.lastIndexOf(stages[stages.length - 1]!));

test('multi-stage: a build stage with the toolchain, a slim runtime stage that copies only its output', () => {
  expect(stages.length).toBeGreaterThanOrEqual(2);
  expect(stages[0]).toMatch(/\sAS\s+build$/i);
  expect(stages[stages.length - 1]).toMatch(/-slim\s+AS\s+runtime$/i);
  expect(finalStage.filter((line) => /^COPY\s/i.test(line)).every((line) => line.includes('--from=build'))).toBe(true);
  expect(finalStage.join('\n')).not.toMatch(/\b(g\+\+|make|python3)\b/);
});

test('the runtime runs as a non-root user', () => {
  const users = finalStage.filter((line) => /^USER\s/i.test(line));
  expect(users.length).toBeGreaterThan(0);
  const user = users[users.length - 1]!.split(/\s+/)[1]!;
  expect(['root', '0', '0:0']).not.toContain(user);
});

test('the PostgreSQL client matches the server major (build arg, default 15), with redis-tools', () => {
  const pgArg = finalStage.find((line) => /^ARG\s+PG_MAJOR\b/i.test(line));
  expect(pgArg).toBe('ARG PG_MAJOR=15');
  const install = finalStage.find((line) => line.includes('apt-get install') && line.includes('postgresql-client-'));
  expect(install).toContain('postgresql-client-${PG_MAJOR}');
  expect(install).toMatch(/\bredis-tools\b/);
});

test('the entry point is the compiled worker entry, and the build context holds what the build copies', () => {
  const entry = finalStage.find((line) => /^ENTRYPOINT\s/i.test(line))!;
  const compiled = WORKER.entry.replace(/\.ts$/, '.js');
  expect(JSON.parse(entry.replace(/^ENTRYPOINT\s+/i, ''))).toEqual(['node', '--enable-source-maps', `build/${compiled}`]);
  const copied = instructions.filter((line) => /^COPY\s/i.test(line) && !line.includes('--from=')).flatMap((line) => line.split(/\s+/).slice(1, -1));
  for (const source of copied) expect(WORKER_IMAGE_CONTEXT.some((entry) => source === entry || source.startsWith(`${entry}/`))).toBe(true);
});
