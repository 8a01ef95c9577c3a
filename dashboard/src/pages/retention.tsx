import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { ErrorBanner, Field, Section, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { RETENTION_RULES } from '../enums.js';
import { time } from '../format.js';
import { useAction, type Loaded } from '../hooks.js';
import { useCan } from '../session-context.js';
import type { CleanupAnswer, Page, RetentionPolicyItem } from '../types.js';

type Rules = Record<string, string>;

const RULE_LABELS: Record<string, string> = {
  retention_days: 'Keep everything for (days)',
  keep_daily_for_days: 'Keep one a day for (days)',
  keep_weekly_for_weeks: 'Keep one a week for (weeks)',
  keep_monthly_for_months: 'Keep one a month for (months)',
  keep_yearly_for_years: 'Keep one a year for (years)',
  min_backups_to_keep: 'Always keep at least (backups)',
  keep_last: 'Keep the newest (backups)',
};

function numbers(rules: Rules): Record<string, number> {
  return Object.fromEntries(Object.entries(rules).filter(([, value]) => value.trim() !== '').map(([key, value]) => [key, Number(value)]));
}

/** Retention policies (list, create, edit) and the cleanup dry run with its reasons. */
export function RetentionSection({ policies }: { policies: Loaded<Page<RetentionPolicyItem> | undefined> }) {
  const can = useCan();
  const [name, setName] = useState('');
  const [rules, setRules] = useState<Rules>({ retention_days: '30', min_backups_to_keep: '3' });
  const [source, setSource] = useState('');
  const [preview, setPreview] = useState<{ answer: CleanupAnswer; applied: boolean }>();
  const save = useAction(async () => {
    await call('POST', '/api/v1/backup/retention-policies', { body: { name: name.trim(), ...numbers(rules) } });
    policies.reload();
  });
  const cleanup = useAction(async (confirm: boolean) => {
    if (confirm && !window.confirm(`Remove ${preview?.answer.remove.length ?? 0} backups for good? This cannot be undone.`)) return;
    const body = { ...(source ? { policy: source } : { rules: numbers(rules) }), confirm };
    setPreview({ answer: await call<CleanupAnswer>('POST', '/api/v1/backup/cleanup', { body }), applied: confirm });
  });
  const items = policies.data?.items ?? [];
  if (!can('policies.read') && !can('cleanup.preview')) return null;
  return (
    <>
      {can('policies.read') && (
        <Section title="Retention policies">
          <ErrorBanner message={policies.error} />
          {policies.data && items.length === 0 && <p class="muted">No retention policies yet.</p>}
          {items.length > 0 && (
            <TableWrap label="Retention policies">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Rules</th>
                  <th scope="col">Updated</th>
                  {can('policies.write') && <th scope="col">Actions</th>}
                </tr>
              </thead>
              <tbody>
                {items.map((policy) => (
                  <tr>
                    <td>{policy.name}</td>
                    <td>
                      {RETENTION_RULES.filter((rule) => policy[rule] !== undefined)
                        .map((rule) => `${rule}: ${String(policy[rule])}`)
                        .join(', ')}
                    </td>
                    <td>{time(policy.updated_at)}</td>
                    {can('policies.write') && (
                      <td class="actions">
                        <button
                          type="button"
                          data-mutating
                          class="secondary"
                          aria-label={`Edit policy ${policy.name}`}
                          onClick={() => {
                            setName(policy.name);
                            setRules(Object.fromEntries(RETENTION_RULES.filter((rule) => policy[rule] !== undefined).map((rule) => [rule, String(policy[rule])])));
                          }}
                        >
                          Edit
                        </button>
                      </td>
                    )}
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          )}
        </Section>
      )}
      <Section title="Retention rules and dry run">
        <form
          class="form-grid"
          onSubmit={(event) => {
            event.preventDefault();
            void cleanup.run(false);
          }}
        >
          {RETENTION_RULES.map((rule) => (
            <Field id={`rule-${rule}`} label={RULE_LABELS[rule] ?? rule} type="number" min="0" inputMode="numeric" value={rules[rule] ?? ''} onInput={(event) => setRules({ ...rules, [rule]: event.currentTarget.value })} />
          ))}
          {can('policies.write') && (
            <div class="field field-row field-wide">
              <Field id="policy-name" label="Save these rules as policy" value={name} onInput={(event) => setName(event.currentTarget.value)} />
              <button type="button" data-mutating class="secondary" disabled={save.busy || !name.trim()} onClick={() => void save.run()}>
                Save policy
              </button>
            </div>
          )}
          <SelectField id="cleanup-source" label="Preview with" value={source} options={[{ value: '', label: 'the rules above' }, ...items.map((policy) => ({ value: policy.name, label: `policy ${policy.name}` }))]} onChange={setSource} />
          <div class="field-actions">
            <button type="submit" disabled={cleanup.busy}>
              Preview retention
            </button>
            {can('cleanup.run') && preview && !preview.applied && preview.answer.remove.length > 0 && (
              <button type="button" data-mutating class="danger" disabled={cleanup.busy} onClick={() => void cleanup.run(true)}>
                Apply: remove {preview.answer.remove.length}
              </button>
            )}
          </div>
        </form>
        <ErrorBanner message={save.error ?? cleanup.error} />
        {preview && <CleanupResult answer={preview.answer} applied={preview.applied} />}
      </Section>
    </>
  );
}

function CleanupResult({ answer, applied }: { answer: CleanupAnswer; applied: boolean }) {
  const rows = [...answer.keep.map((item) => ({ ...item, decision: 'keep', why: item.reasons.join(', ') })), ...answer.remove.map((item) => ({ ...item, decision: 'remove', why: item.reason }))].sort((a, b) => b.time.localeCompare(a.time));
  return (
    <div class="cleanup-result">
      <p role="status">
        {applied ? 'Applied' : 'Dry run'}: keep {answer.keep.length}, {applied ? 'removed' : 'remove'} {answer.remove.length} snapshots.
      </p>
      {rows.length > 0 && (
        <TableWrap label="Retention decisions">
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Snapshot</th>
              <th scope="col">Time</th>
              <th scope="col">Decision</th>
              <th scope="col">Why</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr>
                <td>{row.backupId}</td>
                <td>
                  <code>{row.id.slice(0, 12)}</code>
                </td>
                <td>{time(row.time)}</td>
                <td>
                  <StatusBadge status={row.decision} />
                </td>
                <td>{row.why}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
    </div>
  );
}
