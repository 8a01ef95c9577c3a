import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { AuditTable } from '../components/audit-table.js';
import { JobProgress, type Job } from '../components/job-progress.js';
import { ErrorBanner, Figures, Loading, PageTitle, Section, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { VERIFY_LEVELS } from '../enums.js';
import { bytes, duration, ratio, time } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { href, onLinkClick } from '../router.js';
import { useCan } from '../session-context.js';
import type { AuditEntry, HistoryItem, Page, RunItem } from '../types.js';

interface BackupDetails extends HistoryItem {
  snapshot_details: { id: string; source: string; type: string; paths: string[]; time: string; stats: { items: number; totalBytes: number; bytesRead: number; bytesAdded: number; bytesStored: number; durationMs: number } }[];
  failures: unknown[];
  verifications: RunItem[];
  replicas: { snapshot_id: string; destination: string; time: string; verified: boolean }[];
}

/** Audit pages read, at most, when collecting one backup's trail (the API filters by time only). */
const MAX_AUDIT_PAGES = 5;

/**
 * The audit entries about one backup. The API filters entries by time only, so they are read from a
 * minute before the backup started and matched here: entries whose target is the backup or one of its
 * snapshots, and the manual-backup request for its plan within a minute of its start (the request is
 * recorded when it returns, so possibly just after the run began).
 */
async function auditOf(backup: BackupDetails): Promise<AuditEntry[]> {
  const ids = new Set([backup.backup_id, backup.run_id, ...backup.snapshots]);
  const started = Date.parse(backup.started_at);
  const from = new Date(started - 60_000).toISOString();
  const found: AuditEntry[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < MAX_AUDIT_PAGES; page++) {
    const answer = await call<Page<AuditEntry>>('GET', '/api/v1/backup/audit/entries', { query: { from, limit: 1000, cursor } });
    for (const entry of answer.items) {
      const requested = entry.action === 'backup.manual' && entry.target === `plan:${backup.plan}` && Math.abs(Date.parse(entry.time) - started) <= 60_000;
      if ((entry.target !== undefined && ids.has(entry.target)) || requested) found.push(entry);
    }
    if (!answer.next_cursor) break;
    cursor = answer.next_cursor;
  }
  return found;
}

export function BackupDetailsPage({ backupId }: { backupId: string }) {
  const can = useCan();
  const details = useLoad(() => call<BackupDetails>('GET', `/api/v1/backup/history/${encodeURIComponent(backupId)}`), [backupId]);
  const audit = useLoad(async () => (can('audit.read') && details.data ? auditOf(details.data) : undefined), [details.data]);
  const [level, setLevel] = useState<string>('read');
  const [job, setJob] = useState<Job>();
  const verify = useAction(async () => setJob(await call<Job>('POST', `/api/v1/backup/history/${encodeURIComponent(backupId)}/verify`, { body: { level } })));
  const backup = details.data;
  return (
    <>
      <p class="breadcrumb">
        <a href={href('history')} onClick={onLinkClick}>
          Backup history
        </a>{' '}
        / {backupId}
      </p>
      <PageTitle>Backup {backupId}</PageTitle>
      <ErrorBanner message={details.error} />
      {!backup && details.loading && <Loading what="the backup" />}
      {backup && (
        <>
          <Figures
            items={[
              { label: 'Status', value: backup.status, tone: backup.status === 'succeeded' ? 'good' : backup.status === 'failed' ? 'bad' : '' },
              { label: 'Plan / type', value: `${backup.plan ?? '—'} / ${backup.backup_type ?? '—'}` },
              { label: 'Duration', value: duration(backup.duration_ms) },
              { label: 'Source size', value: bytes(backup.total_bytes) },
              { label: 'Stored', value: bytes(backup.bytes_stored) },
              { label: 'Dedup ratio', value: ratio(backup.dedup_ratio) },
            ]}
          />
          <p class="muted">
            Started {time(backup.started_at)}, finished {time(backup.finished_at)} · repository <code>{backup.repository}</code>
          </p>
          {backup.error && <ErrorBanner message={`This backup failed: ${typeof backup.error === 'string' ? backup.error : (backup.error.message ?? backup.error.code ?? '')}`} />}
          <Section title="Sources">
            {backup.snapshot_details.length === 0 ? (
              <p class="muted">No snapshots were saved.</p>
            ) : (
              <TableWrap label="Sources of this backup">
                <thead>
                  <tr>
                    <th scope="col">Source</th>
                    <th scope="col">Snapshot</th>
                    <th scope="col">Items</th>
                    <th scope="col">Size</th>
                    <th scope="col">Read</th>
                    <th scope="col">Added</th>
                    <th scope="col">Stored</th>
                    <th scope="col">Duration</th>
                  </tr>
                </thead>
                <tbody>
                  {backup.snapshot_details.map((snapshot) => (
                    <tr>
                      <td>
                        {snapshot.source} <span class="muted">({snapshot.type})</span>
                      </td>
                      <td>
                        <code>{snapshot.id}</code>
                      </td>
                      <td>{snapshot.stats.items}</td>
                      <td>{bytes(snapshot.stats.totalBytes)}</td>
                      <td>{bytes(snapshot.stats.bytesRead)}</td>
                      <td>{bytes(snapshot.stats.bytesAdded)}</td>
                      <td>{bytes(snapshot.stats.bytesStored)}</td>
                      <td>{duration(snapshot.stats.durationMs)}</td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
            )}
          </Section>
          <Section title="Verifications">
            {backup.verifications.length === 0 && <p class="muted">Not verified yet.</p>}
            {backup.verifications.length > 0 && (
              <TableWrap label="Verifications">
                <thead>
                  <tr>
                    <th scope="col">Run</th>
                    <th scope="col">Status</th>
                    <th scope="col">Started</th>
                    <th scope="col">Findings</th>
                  </tr>
                </thead>
                <tbody>
                  {backup.verifications.map((run) => (
                    <tr>
                      <td>
                        <code>{run.run_id}</code>
                      </td>
                      <td>
                        <StatusBadge status={run.status} />
                      </td>
                      <td>{time(run.started_at)}</td>
                      <td>{summaryText(run.summary)}</td>
                    </tr>
                  ))}
                </tbody>
              </TableWrap>
            )}
            {can('backups.verify') && backup.snapshots.length > 0 && (
              <form
                class="inline-form"
                onSubmit={(event) => {
                  event.preventDefault();
                  void verify.run();
                }}
              >
                <SelectField id="verify-level" label="Verification level" value={level} options={VERIFY_LEVELS} onChange={setLevel} hint="structure: indexes only; read: a sample of packs; full: every pack" />
                <button type="submit" data-mutating disabled={verify.busy || (job !== undefined && !['succeeded', 'failed', 'interrupted'].includes(job.status))}>
                  Verify now
                </button>
              </form>
            )}
            <ErrorBanner message={verify.error} />
            {job && (
              <JobProgress
                initial={job}
                onDone={(done) => {
                  setJob(done);
                  details.reload();
                }}
              />
            )}
          </Section>
          {backup.replicas.length > 0 && (
            <Section title="Replicas">
              <ul class="plain">
                {backup.replicas.map((replica) => (
                  <li>
                    {replica.snapshot_id} → {replica.destination} ({time(replica.time)}, {replica.verified ? 'verified' : 'not verified'})
                  </li>
                ))}
              </ul>
            </Section>
          )}
          {can('audit.read') && (
            <Section title="Audit trail of this backup">
              <ErrorBanner message={audit.error} />
              {audit.data && audit.data.length === 0 && <p class="muted">No audit entries name this backup.</p>}
              {audit.data && audit.data.length > 0 && (
                <AuditTable entries={audit.data} label="Audit entries of this backup" brief />
              )}
            </Section>
          )}
        </>
      )}
    </>
  );
}

function summaryText(summary: Record<string, unknown>): string {
  const parts = ['level', 'problems', 'packsChecked', 'packs_checked', 'bytesRead'].filter((key) => summary[key] !== undefined).map((key) => `${key}: ${String(summary[key])}`);
  return parts.join(', ') || '—';
}
