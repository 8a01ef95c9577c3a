import type { Role } from '../domain/user.js';

/** One call as the API reports it to the audit trail. */
export interface AuditEvent {
  action: string;
  /** Absent for calls made before anyone authenticated (a failed login, a request without a token). */
  actor?: { id: string; email: string; role: Role };
  target?: string;
  sourceAddress: string;
  result: 'success' | 'failure' | 'denied';
  details?: Record<string, unknown>;
}

/**
 * AuditSink: where the API records every audited call. Contract: `record` resolves once the event is
 * durably appended to the tamper-evident trail; it never receives secrets (passwords, tokens, keys).
 */
export interface AuditSink {
  record(event: AuditEvent): Promise<void>;
}
