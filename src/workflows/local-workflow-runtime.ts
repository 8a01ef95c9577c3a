import { silentProgress } from '../ports/progress.js';
import { localRuntime, openLocalStorage } from '../runtime/local-runtime.js';
import type { LocalSettings } from '../runtime/local-settings.js';
import { jsonLogger } from '../util/json-logger.js';
import { DEFAULT_LEASE_TTL_MS, type WorkflowRuntime } from './workflow-runtime.js';

/**
 * The workflow runtime of the embedded mode: each step opens the local runtime (a folder or URL
 * repository, the SQLite catalog, the local key) as the CLI does, and closes it afterwards, as a Lambda
 * invocation would.
 */
export function localWorkflowRuntime(settings: LocalSettings, options: { env?: NodeJS.ProcessEnv; leaseTtlMs?: number } = {}): WorkflowRuntime {
  const env = options.env ?? process.env;
  return {
    env,
    leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    async open({ mayCreate }) {
      const deps = await localRuntime(settings, { progress: silentProgress, mayCreate, env });
      return { deps, close: () => deps.catalog.close() };
    },
    openReplica(location, catalog) {
      return openLocalStorage(location, settings, jsonLogger(settings.logLevel), env, catalog);
    },
  };
}
