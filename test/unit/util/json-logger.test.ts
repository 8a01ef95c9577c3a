import { expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { jsonLogger } from '../../../src/util/json-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>));
      done();
    },
  });
  return { lines, stream };
}

it('writes JSON lines from the configured level up, with the fields', async () => {
  const { lines, stream } = capture();
  const logger = jsonLogger('info', stream);
  logger.debug('hidden');
  logger.info('run started', { run: 'backup-1', kind: 'backup' });
  logger.error('run failed', { code: 'storage.busy' });
  await new Promise((resolve) => setImmediate(resolve));
  expect(lines.map((line) => [line.level, line.msg])).toEqual([
    ['info', 'run started'],
    ['error', 'run failed'],
  ]);
  expect(lines[0]).toMatchObject({ run: 'backup-1', kind: 'backup' });
  expect(typeof lines[0]!.time).toBe('string');
});

it('at debug level writes everything, at error level only errors', async () => {
  const all = capture();
  const errorsOnly = capture();
  for (const [logger] of [[jsonLogger('debug', all.stream)], [jsonLogger('error', errorsOnly.stream)]] as const) {
    logger.debug('d');
    logger.info('i');
    logger.warn('w');
    logger.error('e');
  }
  await new Promise((resolve) => setImmediate(resolve));
  expect(all.lines.map((line) => line.level)).toEqual(['debug', 'info', 'warn', 'error']);
  expect(errorsOnly.lines.map((line) => line.level)).toEqual(['error']);
});
