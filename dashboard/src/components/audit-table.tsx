import { actorName, time } from '../format.js';
import type { AuditEntry } from '../types.js';
import { StatusBadge, TableWrap } from './ui.js';

/**
 * Audit entries as a table: the audit page shows every column; a backup's details leave out the target
 * (it is that backup) and the source address (`brief`).
 */
export function AuditTable({ entries, label, brief = false }: { entries: readonly AuditEntry[]; label: string; brief?: boolean }) {
  return (
    <TableWrap label={label}>
      <thead>
        <tr>
          <th scope="col">#</th>
          <th scope="col">Time</th>
          <th scope="col">Actor</th>
          <th scope="col">Action</th>
          {!brief && <th scope="col">Target</th>}
          <th scope="col">Result</th>
          {!brief && <th scope="col">Source</th>}
        </tr>
      </thead>
      <tbody>
        {entries.map((entry) => (
          <tr>
            <td>{entry.seq}</td>
            <td>{time(entry.time)}</td>
            <td>{actorName(entry.actor)}</td>
            <td>{entry.action}</td>
            {!brief && <td>{entry.target ?? '—'}</td>}
            <td>
              <StatusBadge status={entry.result} />
            </td>
            {!brief && <td>{entry.source}</td>}
          </tr>
        ))}
      </tbody>
    </TableWrap>
  );
}
