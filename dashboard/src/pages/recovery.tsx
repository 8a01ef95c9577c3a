import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { JobProgress, type Job } from '../components/job-progress.js';
import { CheckField, ErrorBanner, Field, Loading, Notice, PageTitle, Section, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { RECOVERY_TYPES } from '../enums.js';
import { time } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { useCan } from '../session-context.js';
import type { HistoryItem, Page, RunItem } from '../types.js';

/** What must be typed to confirm an overwrite: a deliberate act, not a stray click. */
const OVERWRITE_WORD = 'OVERWRITE';

export function RecoveryPage() {
  const can = useCan();
  const backups = useLoad(async () => (can('recovery.new_target') ? (await call<Page<HistoryItem>>('GET', '/api/v1/backup/history', { query: { status: 'succeeded', limit: 100 } })).items : []), []);
  const history = useLoad(() => call<Page<RunItem>>('GET', '/api/v1/backup/recovery/history', { query: { limit: 50 } }), []);
  const [form, setForm] = useState({ backup: '', type: 'full_restore', directory: '', postgres: '', redis: '', include: '', validate: true, overwrite: false, confirmation: '' });
  const [job, setJob] = useState<Job>();
  const set = <K extends keyof typeof form>(key: K) => (value: (typeof form)[K]) => setForm({ ...form, [key]: value });
  const chosen = form.backup || backups.data?.[0]?.backup_id || '';
  const confirmed = !form.overwrite || form.confirmation === OVERWRITE_WORD;
  const start = useAction(async () => {
    const include = form.include.split('\n').map((line) => line.trim()).filter(Boolean);
    const body = {
      recovery_type: form.type,
      backup_id: chosen,
      overwrite: form.overwrite,
      validate_after_restore: form.validate,
      ...(form.directory.trim() ? { target_directory: form.directory.trim() } : {}),
      ...(form.postgres.trim() ? { target_postgres: form.postgres.trim() } : {}),
      ...(form.redis.trim() ? { target_redis: form.redis.trim() } : {}),
      ...(include.length > 0 ? { include } : {}),
    };
    setJob(await call<Job>('POST', '/api/v1/backup/recovery', { body }));
  });
  const running = job !== undefined && (job.status === 'queued' || job.status === 'running');
  return (
    <>
      <PageTitle>Recovery</PageTitle>
      {can('recovery.new_target') && (
        <Section title="Restore a backup">
          {backups.loading && !backups.data && <Loading what="backups" />}
          {backups.data && backups.data.length === 0 && <Notice>There is no successful backup to restore yet.</Notice>}
          <form
            class="form-grid"
            onSubmit={(event) => {
              event.preventDefault();
              if (confirmed) void start.run();
            }}
          >
            <SelectField
              id="recovery-backup"
              label="Backup"
              value={chosen}
              options={(backups.data ?? []).map((item) => ({ value: item.backup_id, label: `${item.backup_id} — ${item.plan ?? 'no plan'}, ${time(item.started_at)}` }))}
              onChange={set('backup')}
            />
            <SelectField id="recovery-type" label="What to restore" value={form.type} options={RECOVERY_TYPES} onChange={set('type')} />
            <Field id="recovery-directory" label="Target directory (files)" value={form.directory} placeholder="/srv/restore/2024-06-01" onInput={(event) => set('directory')(event.currentTarget.value)} hint="An absolute path; a new or empty directory unless overwriting." />
            <Field id="recovery-postgres" label="Target PostgreSQL server" value={form.postgres} placeholder="postgres://user@host:5432/" onInput={(event) => set('postgres')(event.currentTarget.value)} hint="No password in the URL: the server takes it from its environment." />
            <Field id="recovery-redis" label="Target Redis server" value={form.redis} placeholder="redis://host:6379" onInput={(event) => set('redis')(event.currentTarget.value)} />
            <div class="field field-wide">
              <label for="recovery-include">Only these paths (one per line, optional)</label>
              <textarea id="recovery-include" rows={2} value={form.include} onInput={(event) => set('include')(event.currentTarget.value)} />
            </div>
            <CheckField id="recovery-validate" label="Validate after restoring" checked={form.validate} onChange={set('validate')} hint="Checks that every file and byte of the backup arrived." />
            {can('recovery.overwrite') && (
              <CheckField id="recovery-overwrite" label="Overwrite what is in the targets" checked={form.overwrite} onChange={(value) => setForm({ ...form, overwrite: value, confirmation: '' })} hint="Replaces a non-empty directory, an existing database or existing keys." />
            )}
            {form.overwrite && (
              <div class="field field-wide danger-zone">
                <label for="recovery-confirm">
                  Type {OVERWRITE_WORD} to confirm that existing data in the targets will be replaced
                </label>
                <input id="recovery-confirm" value={form.confirmation} autoComplete="off" onInput={(event) => set('confirmation')(event.currentTarget.value)} aria-invalid={!confirmed} />
              </div>
            )}
            <div class="field-actions">
              <button type="submit" data-mutating class={form.overwrite ? 'danger' : undefined} disabled={!chosen || !confirmed || start.busy || running}>
                {form.overwrite ? 'Overwrite and restore' : 'Start restore'}
              </button>
            </div>
          </form>
          <ErrorBanner message={start.error ?? backups.error} />
          {job && (
            <JobProgress
              initial={job}
              onDone={(done) => {
                setJob(done);
                history.reload();
              }}
            />
          )}
        </Section>
      )}
      <Section title="Recovery history">
        <ErrorBanner message={history.error} />
        {history.data && history.data.items.length === 0 && <p class="muted">No restores yet.</p>}
        {history.data && history.data.items.length > 0 && (
          <TableWrap label="Recovery history">
            <thead>
              <tr>
                <th scope="col">Run</th>
                <th scope="col">Backup</th>
                <th scope="col">Status</th>
                <th scope="col">Started</th>
                <th scope="col">Finished</th>
              </tr>
            </thead>
            <tbody>
              {history.data.items.map((run) => (
                <tr>
                  <td>
                    <code>{run.run_id}</code>
                  </td>
                  <td>{run.snapshot_id ?? '—'}</td>
                  <td>
                    <StatusBadge status={run.status} />
                  </td>
                  <td>{time(run.started_at)}</td>
                  <td>{time(run.finished_at)}</td>
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </Section>
    </>
  );
}
