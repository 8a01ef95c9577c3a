import type { JobProgress } from '../api/job-service.js';
import type { Progress } from '../ports/progress.js';

const MAX_NOTES = 20;

/** A Progress that keeps the latest figures of one job for pollers, instead of drawing them. */
export class JobProgressRecorder implements Progress {
  readonly state: JobProgress = { phase: 'starting', bytesDone: 0, itemsDone: 0, notes: [] };

  phase(name: string, total?: { bytes?: number; items?: number }): void {
    this.state.phase = name;
    this.state.bytesDone = 0;
    this.state.itemsDone = 0;
    delete this.state.bytesTotal;
    delete this.state.itemsTotal;
    this.grow(total ?? {});
  }

  grow(total: { bytes?: number; items?: number }): void {
    if (total.bytes !== undefined) this.state.bytesTotal = (this.state.bytesTotal ?? 0) + total.bytes;
    if (total.items !== undefined) this.state.itemsTotal = (this.state.itemsTotal ?? 0) + total.items;
  }

  advance(done: { bytes?: number; items?: number }): void {
    this.state.bytesDone += done.bytes ?? 0;
    this.state.itemsDone += done.items ?? 0;
  }

  note(message: string): void {
    // The newest notes matter most; a run with thousands of skipped files must not grow without end.
    this.state.notes.push(message);
    if (this.state.notes.length > MAX_NOTES) this.state.notes.shift();
  }

  done(): void {
    this.state.phase = 'done';
  }
}
