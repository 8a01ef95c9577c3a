import { useState } from 'preact/hooks';

import { call } from '../api.js';
import { ErrorBanner, Field, Loading, Notice, PageTitle, Section, SelectField, StatusBadge } from '../components/ui.js';
import { AuditTable } from '../components/audit-table.js';
import { AUDIT_EXPORT_FORMATS } from '../enums.js';
import { actorName, localInputToIso } from '../format.js';
import { useAction, useLoad } from '../hooks.js';
import type { AuditEntry, Page } from '../types.js';

interface ChainCheck {
  ok: boolean;
  entries: number;
  head_seq?: number;
  broken_seq?: number;
  reason?: string;
  message?: string;
}

/** Saves a response as a file: the export needs the bearer token, so a plain link cannot fetch it. */
async function download(response: Response): Promise<string> {
  const disposition = response.headers.get('content-disposition') ?? '';
  const name = /filename="([^"]+)"/.exec(disposition)?.[1] ?? 'audit-export';
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement('a');
  link.href = url;
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

export function AuditPage() {
  const [range, setRange] = useState({ from: '', to: '' });
  const [applied, setApplied] = useState(range);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [search, setSearch] = useState('');
  const cursor = cursors[cursors.length - 1];
  const entries = useLoad(() => call<Page<AuditEntry>>('GET', '/api/v1/backup/audit/entries', { query: { limit: 100, cursor, from: localInputToIso(applied.from), to: localInputToIso(applied.to) } }), [applied, cursor]);
  const [days, setDays] = useState('30');
  const [format, setFormat] = useState<string>('json');
  const [saved, setSaved] = useState<string>();
  const exported = useAction(async () => setSaved(await download(await call<Response>('GET', '/api/v1/backup/audit', { query: { days, format }, raw: true }))));
  const [chain, setChain] = useState<ChainCheck>();
  const verify = useAction(async () => setChain(await call<ChainCheck>('GET', '/api/v1/backup/audit/verify')));
  const needle = search.trim().toLowerCase();
  const shown = (entries.data?.items ?? []).filter((entry) => !needle || [actorName(entry.actor), entry.action, entry.target ?? '', entry.result, entry.source].some((text) => text.toLowerCase().includes(needle)));
  return (
    <>
      <PageTitle>Audit trail</PageTitle>
      <div class="grid-2">
        <Section title="Export">
          <form
            class="form-grid"
            onSubmit={(event) => {
              event.preventDefault();
              void exported.run();
            }}
          >
            <Field id="export-days" label="Last (days)" type="number" min="1" max="3660" required value={days} onInput={(event) => setDays(event.currentTarget.value)} />
            <SelectField id="export-format" label="Format" value={format} options={AUDIT_EXPORT_FORMATS.map((value) => ({ value, label: value === 'pdf' ? 'PDF compliance summary' : value.toUpperCase() }))} onChange={setFormat} />
            <div class="field-actions">
              <button type="submit" disabled={exported.busy}>
                Download export
              </button>
            </div>
          </form>
          {saved && <Notice tone="success">Saved {saved}.</Notice>}
          <ErrorBanner message={exported.error} />
        </Section>
        <Section title="Chain integrity">
          <p>Checks every entry's hash link, from the first to the newest.</p>
          <button type="button" onClick={() => void verify.run()} disabled={verify.busy}>
            Verify chain
          </button>
          {chain && (
            <p role="status" class="chain-result">
              <StatusBadge status={chain.ok ? 'ok' : 'fail'} /> {chain.ok ? `Intact: ${chain.entries} entries, head #${chain.head_seq}.` : `Broken at #${chain.broken_seq}: ${chain.message ?? chain.reason}`}
            </p>
          )}
          <ErrorBanner message={verify.error} />
        </Section>
      </div>
      <Section title="Entries">
        <form
          class="filters"
          aria-label="Filter audit entries"
          onSubmit={(event) => {
            event.preventDefault();
            setApplied(range);
            setCursors([undefined]);
          }}
        >
          <div class="field">
            <label for="audit-from">From</label>
            <input id="audit-from" type="datetime-local" value={range.from} onInput={(event) => setRange({ ...range, from: event.currentTarget.value })} />
          </div>
          <div class="field">
            <label for="audit-to">To</label>
            <input id="audit-to" type="datetime-local" value={range.to} onInput={(event) => setRange({ ...range, to: event.currentTarget.value })} />
          </div>
          <div class="field-actions">
            <button type="submit" class="secondary">
              Show range
            </button>
          </div>
          <div class="field">
            <label for="audit-search">Search this page</label>
            <input id="audit-search" type="search" value={search} onInput={(event) => setSearch(event.currentTarget.value)} />
          </div>
        </form>
        <ErrorBanner message={entries.error} />
        {entries.loading && !entries.data && <Loading what="audit entries" />}
        {entries.data && shown.length === 0 && <p class="muted">No entries.</p>}
        {shown.length > 0 && (
          <AuditTable entries={shown} label="Audit entries" />
        )}
        <nav class="pager" aria-label="Audit pages">
          <button type="button" class="secondary" disabled={cursors.length <= 1} onClick={() => setCursors(cursors.slice(0, -1))}>
            Previous page
          </button>
          <span>Page {cursors.length} (oldest first)</span>
          <button type="button" class="secondary" disabled={!entries.data?.next_cursor} onClick={() => setCursors([...cursors, entries.data?.next_cursor ?? undefined])}>
            Next page
          </button>
        </nav>
      </Section>
    </>
  );
}
