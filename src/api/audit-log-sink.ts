import type { AuditDetailValue } from '../domain/audit.js';
import type { AuditLog } from '../ports/audit-log.js';
import type { AuditEvent, AuditSink } from './audit-sink.js';

/** Records the API's audited calls in an {@link AuditLog}; calls made before authentication have no user. */
export function auditLogSink(log: AuditLog): AuditSink {
  return {
    async record(event: AuditEvent): Promise<void> {
      await log.append({
        actor: event.actor ? { kind: 'user', ...event.actor } : { kind: 'system', name: 'unauthenticated' },
        action: event.action,
        ...(event.target ? { target: event.target } : {}),
        source: event.sourceAddress,
        result: event.result,
        // Plain JSON only: whatever a handler put in details is reduced to JSON values.
        ...(event.details ? { details: JSON.parse(JSON.stringify(event.details)) as Record<string, AuditDetailValue> } : {}),
      });
    },
  };
}
