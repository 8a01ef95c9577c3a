import type { Progress } from '../ports/progress.js';
import { formatBytes, formatDuration } from './format.js';

/**
 * Progress on a terminal: one line redrawn at most ten times a second with percentage, rate and ETA
 * (once totals are known), written to stderr so stdout stays clean for output and `--json`.
 */
export class TerminalProgress implements Progress {
  private name = '';
  private total = { bytes: 0, items: 0 };
  private done_ = { bytes: 0, items: 0 };
  private started = Date.now();
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly stream: NodeJS.WriteStream = process.stderr) {}

  phase(name: string, total?: { bytes?: number; items?: number }): void {
    this.finishLine();
    this.name = name;
    this.total = { bytes: total?.bytes ?? 0, items: total?.items ?? 0 };
    this.done_ = { bytes: 0, items: 0 };
    this.started = Date.now();
  }

  grow(total: { bytes?: number; items?: number }): void {
    this.total.bytes += total.bytes ?? 0;
    this.total.items += total.items ?? 0;
  }

  advance(done: { bytes?: number; items?: number }): void {
    this.done_.bytes += done.bytes ?? 0;
    this.done_.items += done.items ?? 0;
    const now = Date.now();
    if (now - this.lastDraw >= 100) {
      this.lastDraw = now;
      this.draw(now);
    }
  }

  note(message: string): void {
    this.clear();
    this.stream.write(`${message}\n`);
  }

  done(): void {
    this.draw(Date.now());
    this.finishLine();
  }

  private draw(now: number): void {
    const seconds = Math.max(0.001, (now - this.started) / 1000);
    const rate = this.done_.bytes / seconds;
    const parts = [this.name];
    if (this.total.bytes > 0) {
      const fraction = Math.min(1, this.done_.bytes / this.total.bytes);
      const width = 24;
      const filled = Math.round(fraction * width);
      parts.push(`[${'='.repeat(filled)}${' '.repeat(width - filled)}] ${(fraction * 100).toFixed(1)}%`);
      parts.push(`${formatBytes(this.done_.bytes)}/${formatBytes(this.total.bytes)}`);
      if (rate > 0 && fraction < 1) parts.push(`ETA ${formatDuration(((this.total.bytes - this.done_.bytes) / rate) * 1000)}`);
    } else if (this.done_.bytes > 0) parts.push(formatBytes(this.done_.bytes));
    parts.push(`${formatBytes(rate)}/s`);
    if (this.done_.items > 0) parts.push(`${this.done_.items}${this.total.items > 0 ? `/${this.total.items}` : ''} items`);
    this.stream.write(`\r\x1b[2K${parts.join('  ')}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K');
  }

  private finishLine(): void {
    if (this.drawn) this.stream.write('\n');
    this.drawn = false;
  }
}
