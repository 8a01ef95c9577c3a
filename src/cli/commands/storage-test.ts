import { resolve } from 'node:path';
import type { Command } from 'commander';
import { testStorage, unopenedStorageResult, type StorageTestResult, type StorageTestStepResult } from '../../app/test-storage.js';
import { ValidationError } from '../../domain/errors.js';
import { localSettings } from '../../runtime/local-settings.js';
import { openLocalStorage } from '../../runtime/local-runtime.js';
import { isStorageUrl, parseStorageLocation, redactLocation } from '../../storage/open-storage.js';
import { jsonLogger } from '../../util/json-logger.js';
import { type GlobalOptions, print } from '../command-support.js';
import { EXIT } from '../exit-codes.js';
import { formatBytes, formatTable } from '../format.js';

/**
 * `storage test [LOCATIONS...]`: checks that each location (default: the repository) accepts a write,
 * returns the same bytes, lists and deletes, through the same decorators a backup uses (retries, the
 * bandwidth limit), and reports latency and throughput per step. Exits 8 when any step failed anywhere.
 */
export function registerStorageTestCommand(storage: Command): void {
  storage
    .command('test')
    .description('write, read back, list and delete a canary object; report latency and throughput')
    .argument('[locations...]', 'folders or storage URLs (default: the repository)')
    .option('--size <MiB>', 'size of the canary object in MiB', '8')
    .action(async (locations: string[], opts: { size: string }, command: Command) => {
      const options = command.optsWithGlobals<GlobalOptions>();
      const mib = Number(opts.size);
      if (!Number.isFinite(mib) || mib <= 0 || mib > 1024) throw new ValidationError(`--size must be a number of MiB above 0 and at most 1024 (got ${JSON.stringify(opts.size)})`, 'size');
      const sizeBytes = Math.max(1, Math.round(mib * 1024 * 1024));
      const settings = localSettings(process.env, options.repo ? { repository: options.repo } : {});
      const targets = locations.length > 0 ? locations : [settings.repository];
      // Every location is checked before any is tested: a typo is a usage error, not a storage failure.
      for (const location of targets) if (isStorageUrl(location)) parseStorageLocation(location, 'location');
      const logger = jsonLogger(settings.logLevel);
      const results: StorageTestResult[] = [];
      for (const location of targets) {
        let opened: Awaited<ReturnType<typeof openLocalStorage>> | undefined;
        try {
          opened = await openLocalStorage(location, settings, logger, process.env);
          results.push(await testStorage({ storage: opened.storage }, { sizeBytes }));
        } catch (error) {
          results.push(unopenedStorageResult(isStorageUrl(location) ? redactLocation(location) : resolve(location), error, sizeBytes));
        } finally {
          await opened?.close().catch(() => undefined);
        }
      }
      print(options, results, () => results.map(describeResult).join('\n\n'));
      if (results.some((result) => !result.ok)) process.exitCode = EXIT.storage;
    });
}

function describeResult(result: StorageTestResult): string {
  const heading = `storage test of ${result.location} (${formatBytes(result.sizeBytes)} canary): ${result.ok ? 'ok' : 'FAILED'}`;
  if (result.error) return `${heading}\n  could not open the storage: ${result.error.message} [${result.error.code}]`;
  const rows = result.steps.map((step) => [step.step, step.status, step.latencyMs === undefined ? '' : `${step.latencyMs.toFixed(1)} ms`, throughput(step), step.error ? `${step.error.message} [${step.error.code}]` : '']);
  const stale = result.staleCanariesRemoved > 0 ? `\nremoved ${result.staleCanariesRemoved} stale canary objects left by interrupted tests` : '';
  return `${heading}\n${formatTable(['STEP', 'STATUS', 'LATENCY', 'THROUGHPUT', 'ERROR'], rows)}${stale}`;
}

function throughput(step: StorageTestStepResult): string {
  if (step.status !== 'ok' || step.bytesPerSecond === undefined) return '';
  const mbps = (step.bytesPerSecond * 8) / 1_000_000;
  return `${formatBytes(step.bytesPerSecond)}/s (${mbps.toFixed(1)} Mbit/s) ${step.step === 'write' ? 'up' : 'down'}`;
}
