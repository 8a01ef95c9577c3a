/** Shapes of the API answers the dashboard reads (see GET /api/v1/openapi.json). */

export interface HistoryItem {
  backup_id: string;
  run_id: string;
  status: 'running' | 'succeeded' | 'failed' | 'interrupted';
  backup_type: string | null;
  plan: string | null;
  repository: string;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  snapshots: string[];
  total_bytes: number | null;
  bytes_read: number | null;
  bytes_added: number | null;
  bytes_stored: number | null;
  dedup_ratio: number | null;
  error: { code?: string; message?: string } | string | null;
}

export interface Page<T> {
  items: T[];
  next_cursor?: string | null;
}

export interface RunItem {
  run_id: string;
  kind: string;
  status: string;
  snapshot_id: string | null;
  started_at: string;
  finished_at: string | null;
  summary: Record<string, unknown>;
  error: unknown;
}

export interface Statistics {
  window_days: number;
  backups: { total: number; running: number; succeeded: number; failed: number; interrupted: number };
  success_rate: number | null;
  bytes: { total: number; added: number; stored: number };
  dedup_ratio: number | null;
  duration_ms: { average: number | null; max: number | null };
  last_backup_per_plan: { plan: string; backup_id: string; status: string; started_at: string; finished_at: string | null }[];
}

export interface HealthCheck {
  name: string;
  status: 'ok' | 'warn' | 'fail';
  message: string;
  values: Record<string, number | string | null>;
}

export interface HealthReport {
  status: 'ok' | 'warn' | 'fail';
  time: string;
  checks: HealthCheck[];
}

export interface Schedule {
  id: string;
  name: string;
  kind: 'backup' | 'retention';
  plan?: string;
  backup_type?: string;
  retention_policy?: string;
  cron_expression: string;
  time_zone: string;
  enabled: boolean;
  missed_run_policy: 'skip' | 'catch_up_once';
  next_runs: string[];
  last_occurrence: { occurrence: string; outcome: string; status: string; reason?: string } | null;
}

export interface StorageBackend {
  id: number;
  name: string;
  backend_type: string;
  config_data: Record<string, unknown>;
  created_at: string;
}

export interface StorageTest {
  location: string;
  ok: boolean;
  sizeBytes: number;
  steps: { step: string; status: 'ok' | 'failed' | 'skipped'; latencyMs?: number; bytes?: number; bytesPerSecond?: number; error?: { code: string; message: string } }[];
  error?: { code: string; message: string };
}

/** Who acted: a signed-in user, or the system (scheduler, CLI). */
export type AuditActor = { kind: 'user'; id: string; email: string; role: string } | { kind: 'system'; name: string };

export interface AuditEntry {
  seq: number;
  time: string;
  actor: AuditActor;
  action: string;
  target?: string;
  source: string;
  result: string;
  details?: Record<string, unknown>;
}

export interface RetentionPolicyItem {
  name: string;
  updated_at: string;
  [rule: string]: number | string | undefined;
}

export interface CleanupAnswer {
  dry_run: boolean;
  keep: { id: string; backupId: string; time: string; reasons: string[] }[];
  remove: { id: string; backupId: string; time: string; reason: string }[];
}

export interface User {
  id: string;
  email: string;
  role: string;
  created_at: string;
  updated_at: string;
}
