import type { Alert } from './alert-channel.js';

/** What the dispatcher remembers about a condition that has fired and not yet cleared. */
export interface AlertCondition {
  /** When the last message for it went out (ms since the epoch). */
  lastSentAt: number;
  /** Repeats throttled since then. */
  suppressed: number;
  lastAlert: Alert;
}

/**
 * AlertStateStore: the open alert conditions, so throttling and recovery messages work across
 * processes and restarts (each `chrono-backup health` run from cron is a new process).
 *
 * Contract: `get` returns what `put` stored for the key, or undefined; `put` replaces; `delete` of a
 * missing key succeeds; `keys` lists the open conditions. Values hold no secrets (alerts never do).
 */
export interface AlertStateStore {
  get(key: string): Promise<AlertCondition | undefined>;
  put(key: string, condition: AlertCondition): Promise<void>;
  delete(key: string): Promise<void>;
  keys(): Promise<string[]>;
}

/** Conditions held in this process only: the default when no catalog is at hand. */
export function memoryAlertStateStore(): AlertStateStore {
  const conditions = new Map<string, AlertCondition>();
  return {
    get: async (key) => conditions.get(key),
    put: async (key, condition) => void conditions.set(key, condition),
    delete: async (key) => void conditions.delete(key),
    keys: async () => [...conditions.keys()],
  };
}
