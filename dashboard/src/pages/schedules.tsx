import { useEffect, useState } from 'preact/hooks';

import { call, describeError } from '../api.js';
import { CheckField, ErrorBanner, Field, Loading, PageTitle, Section, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { MISSED_RUN_POLICIES, PLAN_RUN_TYPES, SCHEDULE_KINDS } from '../enums.js';
import { time } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import { useCan } from '../session-context.js';
import type { Page, RetentionPolicyItem, Schedule } from '../types.js';
import { RetentionSection } from './retention.js';

interface ScheduleForm {
  id?: string;
  name: string;
  kind: string;
  plan: string;
  backup_type: string;
  retention_policy: string;
  cron_expression: string;
  time_zone: string;
  missed_run_policy: string;
  enabled: boolean;
}

const EMPTY: ScheduleForm = { name: '', kind: 'backup', plan: '', backup_type: 'full', retention_policy: '', cron_expression: '0 2 * * *', time_zone: 'UTC', missed_run_policy: 'skip', enabled: true };

function formOf(schedule: Schedule): ScheduleForm {
  return {
    id: schedule.id,
    name: schedule.name,
    kind: schedule.kind,
    plan: schedule.plan ?? '',
    backup_type: schedule.backup_type ?? 'full',
    retention_policy: schedule.retention_policy ?? '',
    cron_expression: schedule.cron_expression,
    time_zone: schedule.time_zone,
    missed_run_policy: schedule.missed_run_policy,
    enabled: schedule.enabled,
  };
}

/** The request body of a form: fields that do not apply to its kind are null (removed on edit). */
function bodyOf(form: ScheduleForm) {
  const backup = form.kind === 'backup';
  return {
    name: form.name.trim(),
    kind: form.kind,
    plan: form.plan.trim() || null,
    backup_type: backup ? form.backup_type : null,
    retention_policy: backup ? null : form.retention_policy || null,
    cron_expression: form.cron_expression.trim(),
    time_zone: form.time_zone.trim() || 'UTC',
    missed_run_policy: form.missed_run_policy,
    enabled: form.enabled,
  };
}

export function SchedulesPage() {
  const can = useCan();
  const schedules = useLoad(() => call<Page<Schedule>>('GET', '/api/v1/backup/schedules'), []);
  const policies = useLoad(async () => (can('policies.read') ? call<Page<RetentionPolicyItem>>('GET', '/api/v1/backup/retention-policies') : undefined), []);
  const [form, setForm] = useState<ScheduleForm>(EMPTY);
  const toggle = useAction(async (schedule: Schedule) => {
    await call('PUT', `/api/v1/backup/schedules/${schedule.id}`, { body: { enabled: !schedule.enabled } });
    schedules.reload();
  });
  const remove = useAction(async (schedule: Schedule) => {
    if (!window.confirm(`Delete schedule "${schedule.name}"?`)) return;
    await call('DELETE', `/api/v1/backup/schedules/${schedule.id}`);
    schedules.reload();
  });
  const writable = can('schedules.write');
  return (
    <>
      <PageTitle>Schedules and retention</PageTitle>
      <Section title="Schedules">
        <ErrorBanner message={schedules.error ?? toggle.error ?? remove.error} />
        {schedules.loading && !schedules.data && <Loading what="schedules" />}
        {schedules.data && schedules.data.items.length === 0 && <p class="muted">No schedules yet.</p>}
        {schedules.data && schedules.data.items.length > 0 && (
          <TableWrap label="Schedules">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">What</th>
                <th scope="col">When</th>
                <th scope="col">State</th>
                <th scope="col">Next run</th>
                <th scope="col">Last occurrence</th>
                {writable && <th scope="col">Actions</th>}
              </tr>
            </thead>
            <tbody>
              {schedules.data.items.map((schedule) => (
                <tr>
                  <td>{schedule.name}</td>
                  <td>{schedule.kind === 'backup' ? `backup ${schedule.plan ?? ''} (${schedule.backup_type ?? 'full'})` : `retention ${schedule.retention_policy ?? ''}`}</td>
                  <td>
                    <code>{schedule.cron_expression}</code> {schedule.time_zone}
                  </td>
                  <td>
                    <StatusBadge status={schedule.enabled ? 'enabled' : 'paused'} />
                  </td>
                  <td>{time(schedule.next_runs[0])}</td>
                  <td>{schedule.last_occurrence ? `${time(schedule.last_occurrence.occurrence)} (${schedule.last_occurrence.outcome}, ${schedule.last_occurrence.status})` : '—'}</td>
                  {writable && (
                    <td class="actions">
                      <button type="button" data-mutating class="secondary" onClick={() => setForm(formOf(schedule))} aria-label={`Edit ${schedule.name}`}>
                        Edit
                      </button>
                      <button type="button" data-mutating class="secondary" onClick={() => void toggle.run(schedule)} aria-label={`${schedule.enabled ? 'Pause' : 'Resume'} ${schedule.name}`}>
                        {schedule.enabled ? 'Pause' : 'Resume'}
                      </button>
                      <button type="button" data-mutating class="secondary danger-text" onClick={() => void remove.run(schedule)} aria-label={`Delete ${schedule.name}`}>
                        Delete
                      </button>
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </TableWrap>
        )}
      </Section>
      <ScheduleEditor
        form={form}
        setForm={setForm}
        writable={writable}
        policies={(policies.data?.items ?? []).map((policy) => policy.name)}
        onSaved={() => {
          setForm(EMPTY);
          schedules.reload();
        }}
      />
      <RetentionSection policies={policies} />
    </>
  );
}

/** Create or edit a schedule; viewers get the cron preview alone, to try expressions. */
function ScheduleEditor({ form, setForm, writable, policies, onSaved }: { form: ScheduleForm; setForm: (form: ScheduleForm) => void; writable: boolean; policies: string[]; onSaved: () => void }) {
  const set = <K extends keyof ScheduleForm>(key: K) => (value: ScheduleForm[K]) => setForm({ ...form, [key]: value });
  const save = useAction(async () => {
    if (form.id) await call('PUT', `/api/v1/backup/schedules/${form.id}`, { body: bodyOf(form) });
    else {
      const { plan, retention_policy, backup_type, ...rest } = bodyOf(form);
      await call('POST', '/api/v1/backup/schedules', { body: { ...rest, ...(plan ? { plan } : {}), ...(retention_policy ? { retention_policy } : {}), ...(backup_type ? { backup_type } : {}) } });
    }
    onSaved();
  });
  return (
    <Section title={!writable ? 'Cron preview' : form.id ? `Edit schedule ${form.name}` : 'New schedule'}>
      <form
        class="form-grid"
        onSubmit={(event) => {
          event.preventDefault();
          if (writable) void save.run();
        }}
      >
        {writable && (
          <>
            <Field id="schedule-name" label="Name" required value={form.name} onInput={(event) => set('name')(event.currentTarget.value)} />
            <SelectField id="schedule-kind" label="Kind" value={form.kind} options={SCHEDULE_KINDS} onChange={set('kind')} />
            <Field id="schedule-plan" label={form.kind === 'backup' ? 'Plan' : 'Plan (optional: its repository)'} required={form.kind === 'backup'} value={form.plan} onInput={(event) => set('plan')(event.currentTarget.value)} />
            {form.kind === 'backup' ? (
              <SelectField id="schedule-type" label="Backup type" value={form.backup_type} options={PLAN_RUN_TYPES} onChange={set('backup_type')} />
            ) : (
              <SelectField id="schedule-policy" label="Retention policy" value={form.retention_policy} options={[{ value: '', label: 'choose…' }, ...policies]} onChange={set('retention_policy')} required />
            )}
          </>
        )}
        <Field id="schedule-cron" label="Cron expression" required value={form.cron_expression} onInput={(event) => set('cron_expression')(event.currentTarget.value)} hint="5 fields (minute hour day month weekday) or AWS cron(…)" />
        <Field id="schedule-zone" label="Time zone" value={form.time_zone} onInput={(event) => set('time_zone')(event.currentTarget.value)} hint="IANA name, such as Europe/Berlin" />
        {writable && (
          <>
            <SelectField id="schedule-missed" label="Missed runs" value={form.missed_run_policy} options={MISSED_RUN_POLICIES} onChange={set('missed_run_policy')} />
            <CheckField id="schedule-enabled" label="Enabled (unchecked: paused)" checked={form.enabled} onChange={set('enabled')} />
          </>
        )}
        <CronPreview cron={form.cron_expression} zone={form.time_zone} />
        {writable && (
          <div class="field-actions">
            <button type="submit" data-mutating disabled={save.busy}>
              {form.id ? 'Save schedule' : 'Create schedule'}
            </button>
            {form.id && (
              <button type="button" class="secondary" onClick={() => setForm(EMPTY)}>
                Cancel editing
              </button>
            )}
          </div>
        )}
      </form>
      <ErrorBanner message={save.error} />
    </Section>
  );
}

const PREVIEW_DELAY_MS = 300;

/** The next five run times of the expression, asked of the API as the user types (debounced). */
function CronPreview({ cron, zone }: { cron: string; zone: string }) {
  const [state, setState] = useState<{ runs?: string[]; error?: string; pending?: boolean }>({});
  useEffect(() => {
    if (!cron.trim()) return setState({});
    let current = true;
    setState((previous) => ({ ...previous, pending: true }));
    const timer = setTimeout(() => {
      call<{ next_runs: string[] }>('GET', '/api/v1/backup/schedules/preview', { query: { cron_expression: cron.trim(), time_zone: zone.trim() || 'UTC', count: 5 } }).then(
        (answer) => current && setState({ runs: answer.next_runs }),
        (error: unknown) => current && setState({ error: describeError(error) }),
      );
    }, PREVIEW_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [cron, zone]);
  return (
    <div class="field field-wide cron-preview" aria-live="polite">
      <h3>Next five runs</h3>
      {state.pending && !state.runs && !state.error && <Loading what="the next runs" />}
      {state.error && <p class="field-error">{state.error}</p>}
      {state.runs && (
        <ol class="next-runs">
          {state.runs.map((run) => (
            <li>
              <time dateTime={run}>{time(run)}</time> <span class="muted">({run})</span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
