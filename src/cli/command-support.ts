import type { Command } from 'commander';
import type { AppDeps } from '../app/deps.js';
import type { Snapshot } from '../domain/snapshot.js';
import { silentProgress } from '../ports/progress.js';
import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { localSettings, type LocalSettings } from '../runtime/local-settings.js';
import { localRuntime } from '../runtime/local-runtime.js';
import { TerminalProgress } from './terminal-progress.js';

/** What every command shares: how to build its dependencies and how to print its result. */
export interface GlobalOptions {
  repo?: string;
  json?: boolean;
  progress?: boolean;
}

export const collect = (value: string, previous: string[] = []) => [...previous, value];

/**
 * Builds the dependencies for one command, runs it, and always closes the catalog. `fallbackRepository`
 * (a plan's repository) applies when --repo is not given.
 */
export async function withDeps<T>(command: Command, mayCreate: boolean, work: (deps: AppDeps, options: GlobalOptions) => Promise<T>, fallbackRepository?: string): Promise<T> {
  const options = command.optsWithGlobals<GlobalOptions>();
  const interactive = !options.json && options.progress !== false && process.stderr.isTTY === true;
  const repository = options.repo ?? fallbackRepository;
  const settings = localSettings(process.env, repository ? { repository } : {});
  const deps = await localRuntime(settings, { progress: interactive ? new TerminalProgress() : silentProgress, mayCreate });
  try {
    return await work(deps, options);
  } finally {
    await deps.catalog.close();
  }
}

/** Runs `work` with the local catalog alone (users, schedules, policies): no repository, storage or key. */
export async function withCatalog<T>(work: (catalog: SqliteCatalog, settings: LocalSettings) => Promise<T>): Promise<T> {
  const settings = localSettings(process.env);
  const catalog = SqliteCatalog.open(settings.catalogPath);
  try {
    return await work(catalog, settings);
  } finally {
    await catalog.close();
  }
}

export function print(options: GlobalOptions, json: unknown, human: () => string): void {
  process.stdout.write(`${options.json ? JSON.stringify(json, null, 2) : human()}\n`);
}

export function snapshotJson(snapshot: Snapshot) {
  return { ...snapshot, size: snapshot.stats.totalBytes };
}

