import { call } from '../api.js';
import { ErrorBanner, Loading, PageTitle, Section, StatusBadge, TableWrap } from '../components/ui.js';
import { time } from '../format.js';
import { useLoad } from '../hooks.js';
import type { HealthReport } from '../types.js';

/** Every health check with the numbers behind its verdict. */
export function HealthPage() {
  const report = useLoad(() => call<HealthReport>('GET', '/api/v1/backup/health'), []);
  return (
    <>
      <PageTitle>Health</PageTitle>
      <ErrorBanner message={report.error} />
      {report.loading && !report.data && <Loading what="health checks (this writes a small test object to storage)" />}
      {report.data && (
        <>
          <p>
            Overall: <StatusBadge status={report.data.status} /> <span class="muted">checked {time(report.data.time)}</span>{' '}
            <button type="button" class="secondary" onClick={report.reload} disabled={report.loading}>
              Check again
            </button>
          </p>
          <div class="checks">
            {report.data.checks.map((check) => (
              <Section title={check.name.replace(/_/g, ' ')}>
                <p>
                  <StatusBadge status={check.status} /> {check.message}
                </p>
                <TableWrap label={`Numbers of ${check.name}`}>
                  <tbody>
                    {Object.entries(check.values).map(([name, value]) => (
                      <tr>
                        <th scope="row">{name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase()}</th>
                        <td>{value === null ? '—' : String(value)}</td>
                      </tr>
                    ))}
                  </tbody>
                </TableWrap>
              </Section>
            ))}
          </div>
        </>
      )}
    </>
  );
}
