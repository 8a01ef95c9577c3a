import { call } from '../api.js';
import { ErrorBanner, Figures, Loading, PageTitle, Section, StatusBadge, TableWrap } from '../components/ui.js';
import { bytes, duration, percent, ratio, time } from '../format.js';
import { useLoad } from '../hooks.js';
import { href, onLinkClick } from '../router.js';
import { useCan } from '../session-context.js';
import type { HealthReport, HistoryItem, Page, Schedule, Statistics } from '../types.js';
import { Trends } from './trends.js';

export function OverviewPage() {
  const can = useCan();
  const stats = useLoad(() => call<Statistics>('GET', '/api/v1/backup/statistics', { query: { days: 30 } }), []);
  const history = useLoad(() => call<Page<HistoryItem>>('GET', '/api/v1/backup/history', { query: { limit: 200 } }), []);
  const schedules = useLoad(async () => (can('schedules.read') ? call<Page<Schedule>>('GET', '/api/v1/backup/schedules') : undefined), []);
  const health = useLoad(async () => (can('health.read') ? call<HealthReport>('GET', '/api/v1/backup/health') : undefined), []);
  const s = stats.data;
  const upcoming = (schedules.data?.items ?? []).flatMap((schedule) => schedule.next_runs.slice(0, 1).map((at) => ({ schedule, at }))).sort((a, b) => a.at.localeCompare(b.at));
  const problems = (health.data?.checks ?? []).filter((check) => check.status !== 'ok');
  return (
    <>
      <PageTitle>Overview</PageTitle>
      <ErrorBanner message={stats.error ?? history.error ?? schedules.error ?? health.error} />
      {s ? (
        <Figures
          items={[
            { label: `Success rate (${s.window_days} days)`, value: percent(s.success_rate), tone: s.success_rate === null ? '' : s.success_rate >= 0.9 ? 'good' : 'bad' },
            { label: 'Backups', value: `${s.backups.succeeded} ok · ${s.backups.failed} failed` },
            { label: 'Storage used (written)', value: bytes(s.bytes.stored) },
            { label: 'Deduplication', value: ratio(s.dedup_ratio) },
            { label: 'Average duration', value: duration(s.duration_ms.average) },
          ]}
        />
      ) : (
        <Loading what="statistics" />
      )}
      <div class="grid-2">
        <Section title="Last run per plan">
          {s && s.last_backup_per_plan.length === 0 && <p class="muted">No backups yet.</p>}
          {s && s.last_backup_per_plan.length > 0 && (
            <TableWrap label="Last run per plan">
              <thead>
                <tr>
                  <th scope="col">Plan</th>
                  <th scope="col">Status</th>
                  <th scope="col">Started</th>
                  <th scope="col">Backup</th>
                </tr>
              </thead>
              <tbody>
                {s.last_backup_per_plan.map((last) => (
                  <tr>
                    <td>{last.plan}</td>
                    <td>
                      <StatusBadge status={last.status} />
                    </td>
                    <td>{time(last.started_at)}</td>
                    <td>
                      <a href={href(`history/${encodeURIComponent(last.backup_id)}`)} onClick={onLinkClick}>
                        {last.backup_id}
                      </a>
                    </td>
                  </tr>
                ))}
              </tbody>
            </TableWrap>
          )}
        </Section>
        {can('schedules.read') && (
          <Section title="Next scheduled runs">
            {schedules.data && upcoming.length === 0 && <p class="muted">No enabled schedules.</p>}
            <ul class="plain">
              {upcoming.slice(0, 8).map(({ schedule, at }) => (
                <li>
                  <strong>{time(at)}</strong> — {schedule.name} ({schedule.kind}
                  {schedule.plan ? `, plan ${schedule.plan}` : ''})
                </li>
              ))}
            </ul>
          </Section>
        )}
        {can('health.read') && (
          <Section title="Active health problems">
            {health.loading && !health.data && <Loading what="health checks" />}
            {health.data && problems.length === 0 && <p>All {health.data.checks.length} checks pass.</p>}
            <ul class="plain">
              {problems.map((check) => (
                <li>
                  <StatusBadge status={check.status} /> <strong>{check.name}</strong>: {check.message}
                </li>
              ))}
            </ul>
          </Section>
        )}
      </div>
      <Section title="Trends">{history.data ? <Trends items={history.data.items} /> : <Loading what="history" />}</Section>
    </>
  );
}
