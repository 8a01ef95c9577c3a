import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { ErrorBanner, Loading, PageTitle, SelectField, StatusBadge, TableWrap } from '../components/ui.js';
import { HISTORY_STATUSES, PLAN_RUN_TYPES } from '../enums.js';
import { bytes, duration, localInputToIso, ratio, time } from '../format.js';
import { useLoad } from '../hooks.js';
import { href, onLinkClick } from '../router.js';
import type { HistoryItem, Page } from '../types.js';

type SortKey = 'started_at' | 'duration_ms' | 'total_bytes' | 'dedup_ratio';
const SORTS: { value: SortKey; label: string }[] = [
  { value: 'started_at', label: 'Start time' },
  { value: 'duration_ms', label: 'Duration' },
  { value: 'total_bytes', label: 'Size' },
  { value: 'dedup_ratio', label: 'Deduplication ratio' },
];

interface Filters {
  status: string;
  type: string;
  plan: string;
  since: string;
  until: string;
  limit: string;
}

const NO_FILTERS: Filters = { status: '', type: '', plan: '', since: '', until: '', limit: '25' };

/** The backup history: filtered by the API, paged with its cursor, sorted within the page. */
export function HistoryPage() {
  const [draft, setDraft] = useState<Filters>(NO_FILTERS);
  const [filters, setFilters] = useState<Filters>(NO_FILTERS);
  // The cursors of the pages before the current one, to go back.
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [sort, setSort] = useState<{ key: SortKey; descending: boolean }>({ key: 'started_at', descending: true });
  const cursor = cursors[cursors.length - 1];
  const page = useLoad(
    () =>
      call<Page<HistoryItem>>('GET', '/api/v1/backup/history', {
        query: { limit: filters.limit, cursor, status: filters.status, type: filters.type, plan: filters.plan.trim(), since: localInputToIso(filters.since), until: localInputToIso(filters.until) },
      }),
    [filters, cursor],
  );
  const items = [...(page.data?.items ?? [])].sort((a, b) => {
    const left = a[sort.key] ?? -Infinity;
    const right = b[sort.key] ?? -Infinity;
    const order = left < right ? -1 : left > right ? 1 : 0;
    return sort.descending ? -order : order;
  });
  const set = (field: keyof Filters) => (value: string) => setDraft({ ...draft, [field]: value });
  return (
    <>
      <PageTitle>Backup history</PageTitle>
      <form
        class="filters card"
        aria-label="Filter backups"
        onSubmit={(event) => {
          event.preventDefault();
          setFilters(draft);
          setCursors([undefined]);
        }}
      >
        <SelectField id="filter-status" label="Status" value={draft.status} options={[{ value: '', label: 'any' }, ...HISTORY_STATUSES]} onChange={set('status')} />
        <SelectField id="filter-type" label="Type" value={draft.type} options={[{ value: '', label: 'any' }, ...PLAN_RUN_TYPES]} onChange={set('type')} />
        <div class="field">
          <label for="filter-plan">Plan</label>
          <input id="filter-plan" value={draft.plan} onInput={(event) => set('plan')(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="filter-since">From</label>
          <input id="filter-since" type="datetime-local" value={draft.since} onInput={(event) => set('since')(event.currentTarget.value)} />
        </div>
        <div class="field">
          <label for="filter-until">Until</label>
          <input id="filter-until" type="datetime-local" value={draft.until} onInput={(event) => set('until')(event.currentTarget.value)} />
        </div>
        <SelectField id="filter-limit" label="Per page" value={draft.limit} options={['10', '25', '50', '100']} onChange={set('limit')} />
        <div class="field-actions">
          <button type="submit">Filter</button>
          <button
            type="button"
            class="secondary"
            onClick={() => {
              setDraft(NO_FILTERS);
              setFilters(NO_FILTERS);
              setCursors([undefined]);
            }}
          >
            Clear
          </button>
        </div>
      </form>
      <div class="toolbar">
        <SelectField id="sort-key" label="Sort this page by" value={sort.key} options={SORTS} onChange={(key) => setSort({ ...sort, key: key as SortKey })} />
        <SelectField id="sort-order" label="Order" value={sort.descending ? 'desc' : 'asc'} options={[{ value: 'desc', label: 'descending' }, { value: 'asc', label: 'ascending' }]} onChange={(order) => setSort({ ...sort, descending: order === 'desc' })} />
      </div>
      <ErrorBanner message={page.error} />
      {page.loading && !page.data && <Loading what="backups" />}
      {page.data && items.length === 0 && <p class="muted">No backups match.</p>}
      {items.length > 0 && (
        <TableWrap label="Backups">
          <thead>
            <tr>
              <th scope="col">Backup</th>
              <th scope="col">Plan</th>
              <th scope="col">Type</th>
              <th scope="col">Status</th>
              <th scope="col">Started</th>
              <th scope="col">Duration</th>
              <th scope="col">Size</th>
              <th scope="col">Dedup</th>
            </tr>
          </thead>
          <tbody>
            {items.map((item) => (
              <tr>
                <td>
                  <a href={href(`history/${encodeURIComponent(item.backup_id)}`)} onClick={onLinkClick}>
                    {item.backup_id}
                  </a>
                </td>
                <td>{item.plan ?? '—'}</td>
                <td>{item.backup_type ?? '—'}</td>
                <td>
                  <StatusBadge status={item.status} />
                </td>
                <td>{time(item.started_at)}</td>
                <td>{duration(item.duration_ms)}</td>
                <td>{bytes(item.total_bytes)}</td>
                <td>{ratio(item.dedup_ratio)}</td>
              </tr>
            ))}
          </tbody>
        </TableWrap>
      )}
      <nav class="pager" aria-label="Pages">
        <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" class="secondary" disabled={!page.data?.next_cursor} onClick={() => setCursors([...cursors, page.data?.next_cursor ?? undefined])}>
          Next page
        </button>
      </nav>
    </>
  );
}
