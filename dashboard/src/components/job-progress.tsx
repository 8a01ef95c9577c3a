import { useEffect, useState } from 'preact/hooks';

import { call, describeError } from '../api.js';
import { bytes } from '../format.js';
import { ErrorBanner, StatusBadge } from './ui.js';

/** A job as `GET /api/v1/backup/jobs/{id}` returns it. */
export interface Job {
  job_id: string;
  kind: string;
  status: 'queued' | 'running' | 'succeeded' | 'failed' | 'interrupted';
  progress: { phase: string; bytes_done: number; bytes_total: number | null; items_done: number; items_total: number | null; notes: string[] } | null;
  result: Record<string, unknown> | null;
  error: { code: string; message: string } | null;
}

const FINAL = new Set(['succeeded', 'failed', 'interrupted']);
const POLL_MS = 500;

/** Polls a job until it is final, showing its phase and progress; calls `onDone` once at the end. */
export function JobProgress({ initial, onDone }: { initial: Job; onDone?: (job: Job) => void }) {
  const [job, setJob] = useState(initial);
  const [error, setError] = useState<string>();
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const poll = async () => {
      try {
        const next = await call<Job>('GET', `/api/v1/backup/jobs/${initial.job_id}`);
        if (stopped) return;
        setJob(next);
        if (FINAL.has(next.status)) onDone?.(next);
        else timer = setTimeout(poll, POLL_MS);
      } catch (caught) {
        if (!stopped) setError(describeError(caught));
      }
    };
    if (FINAL.has(initial.status)) onDone?.(initial);
    else timer = setTimeout(poll, POLL_MS);
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, [initial.job_id]); // one poller per job; onDone may change identity on every render
  const progress = job.progress;
  const total = progress?.bytes_total ?? null;
  return (
    <div class="job" aria-live="polite" data-job-status={job.status}>
      <p>
        Job <code>{job.job_id}</code> ({job.kind}): <StatusBadge status={job.status} />
        {progress && <span class="muted"> — {progress.phase}</span>}
      </p>
      {progress && (
        <div class="job-bar">
          <progress max={total ?? undefined} value={total ? Math.min(progress.bytes_done, total) : undefined} aria-label={`${job.kind} progress`} />
          <span>
            {bytes(progress.bytes_done)}
            {total ? ` of ${bytes(total)}` : ''} · {progress.items_done}
            {progress.items_total ? ` of ${progress.items_total}` : ''} items
          </span>
        </div>
      )}
      {progress && progress.notes.length > 0 && (
        <ul class="notes">
          {progress.notes.map((note) => (
            <li>{note}</li>
          ))}
        </ul>
      )}
      {job.error && <ErrorBanner message={`${job.kind} failed: ${job.error.message}`} />}
      {job.status === 'succeeded' && job.result && (
        <details class="result">
          <summary>Result</summary>
          <pre>{JSON.stringify(job.result, null, 2)}</pre>
        </details>
      )}
      <ErrorBanner message={error} />
    </div>
  );
}
