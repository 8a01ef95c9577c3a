import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { JobProgress, type Job } from '../components/job-progress.js';
import { CheckField, ErrorBanner, PageTitle, Section, SelectField } from '../components/ui.js';
import { PLAN_RUN_TYPES } from '../enums.js';
import { useAction, useLoad } from '../hooks.js';
import { href, onLinkClick } from '../router.js';
import { useCan } from '../session-context.js';
import type { Page, Schedule, Statistics, StorageBackend } from '../types.js';

/**
 * Plans the dashboard knows of: those with backups in the last year and those schedules name. (The API
 * has no plan listing; a plan can also be typed.)
 */
async function knownPlans(canSchedules: boolean): Promise<string[]> {
  const [stats, schedules] = await Promise.all([
    call<Statistics>('GET', '/api/v1/backup/statistics', { query: { days: 365 } }),
    canSchedules ? call<Page<Schedule>>('GET', '/api/v1/backup/schedules') : Promise.resolve({ items: [] as Schedule[] }),
  ]);
  const names = [...stats.last_backup_per_plan.map((last) => last.plan), ...schedules.items.flatMap((schedule) => (schedule.plan ? [schedule.plan] : []))];
  return [...new Set(names.filter((name) => name !== '(no plan)'))].sort();
}

export function ManualBackupPage() {
  const can = useCan();
  const plans = useLoad(() => knownPlans(can('schedules.read')), []);
  const backends = useLoad(async () => (can('backends.read') ? (await call<Page<StorageBackend>>('GET', '/api/v1/backup/storage-backends')).items : []), []);
  const [plan, setPlan] = useState('');
  const [type, setType] = useState<string>('full');
  const [backend, setBackend] = useState('');
  const [verify, setVerify] = useState(false);
  const [job, setJob] = useState<Job>();
  const start = useAction(async () => {
    const body = { backup_type: type, verify_integrity: verify, ...(plan.trim() ? { plan: plan.trim() } : {}), ...(backend ? { storage_backend_id: Number(backend) } : {}) };
    setJob(await call<Job>('POST', '/api/v1/backup/manual', { body }));
  });
  const running = job !== undefined && (job.status === 'queued' || job.status === 'running');
  return (
    <>
      <PageTitle>Manual backup</PageTitle>
      <Section title="Start a backup">
        <form
          class="form-grid"
          onSubmit={(event) => {
            event.preventDefault();
            void start.run();
          }}
        >
          <div class="field">
            <label for="backup-plan">Plan</label>
            <input id="backup-plan" list="known-plans" value={plan} onInput={(event) => setPlan(event.currentTarget.value)} aria-describedby="backup-plan-hint" />
            <datalist id="known-plans">
              {(plans.data ?? []).map((name) => (
                <option value={name} />
              ))}
            </datalist>
            <p id="backup-plan-hint" class="hint">
              Leave empty when there is only one plan.{plans.data && plans.data.length > 0 ? ` Known: ${plans.data.join(', ')}.` : ''}
            </p>
          </div>
          <SelectField id="backup-type" label="Backup type" value={type} options={PLAN_RUN_TYPES} onChange={setType} />
          <SelectField
            id="backup-backend"
            label="Storage backend"
            value={backend}
            options={[{ value: '', label: "the plan's repository" }, ...(backends.data ?? []).map((item) => ({ value: String(item.id), label: `${item.name} (${item.backend_type})` }))]}
            onChange={setBackend}
          />
          <CheckField id="backup-verify" label="Verify integrity after the backup" checked={verify} onChange={setVerify} hint="Reads back every pack the backup wrote." />
          <p class="hint">Every backup is encrypted; this cannot be turned off.</p>
          <div class="field-actions">
            <button type="submit" data-mutating disabled={start.busy || running}>
              {running ? 'Backup running…' : 'Start backup'}
            </button>
          </div>
        </form>
        <ErrorBanner message={start.error ?? plans.error ?? backends.error} />
      </Section>
      {job && (
        <Section title="Progress">
          <JobProgress initial={job} onDone={setJob} />
          {job.status === 'succeeded' && typeof job.result?.backup_id === 'string' && (
            <p>
              <a href={href(`history/${encodeURIComponent(job.result.backup_id)}`)} onClick={onLinkClick}>
                Open backup {job.result.backup_id}
              </a>
            </p>
          )}
        </Section>
      )}
    </>
  );
}
