import { BarChart, TimeChart, type Series } from '../components/charts.js';
import { bytes, duration, percent } from '../format.js';
import type { HistoryItem } from '../types.js';

/** Per plan, the finished backups as points of a value over time (oldest first). */
function perPlan(items: HistoryItem[], value: (item: HistoryItem) => number | null): Series[] {
  const byPlan = new Map<string, Series>();
  for (const item of [...items].reverse()) {
    const y = value(item);
    if (y === null || item.status !== 'succeeded') continue;
    const name = item.plan ?? '(no plan)';
    if (!byPlan.has(name)) byPlan.set(name, { name, points: [] });
    byPlan.get(name)!.points.push({ x: Date.parse(item.started_at), y });
  }
  return [...byPlan.values()];
}

/** Success rate of finished backups per day, oldest first. */
function successByDay(items: HistoryItem[]) {
  const days = new Map<string, { ok: number; all: number }>();
  for (const item of [...items].reverse()) {
    if (item.status === 'running') continue;
    const day = new Date(item.started_at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
    const counts = days.get(day) ?? { ok: 0, all: 0 };
    counts.all++;
    if (item.status === 'succeeded') counts.ok++;
    days.set(day, counts);
  }
  return [...days.entries()].map(([label, counts]) => ({ label, value: counts.ok / counts.all }));
}

/** Bytes written to storage, accumulated over time: how the repository grows. */
function storageGrowth(items: HistoryItem[]): Series[] {
  let total = 0;
  const points = [...items]
    .reverse()
    .filter((item) => item.status === 'succeeded' && item.bytes_stored !== null)
    .map((item) => {
      total += item.bytes_stored ?? 0;
      return { x: Date.parse(item.started_at), y: total };
    });
  return [{ name: 'stored', points }];
}

/** The charts of the overview, drawn from the newest page of the history. */
export function Trends({ items }: { items: HistoryItem[] }) {
  const recent = items.filter((item) => item.status === 'succeeded' && item.total_bytes !== null).slice(0, 20).reverse();
  return (
    <div class="charts">
      <TimeChart title="Backup duration per plan" series={perPlan(items, (item) => item.duration_ms)} format={duration} />
      <TimeChart title="Backup size per plan" series={perPlan(items, (item) => item.total_bytes)} format={bytes} />
      <BarChart title="Success rate per day" bars={successByDay(items)} format={percent} max={1} />
      <TimeChart title="Storage growth (bytes written, cumulative)" series={storageGrowth(items)} format={bytes} />
      <BarChart
        title="Deduplication savings (source size vs bytes stored, last 20 backups)"
        bars={recent.map((item) => ({ label: new Date(item.started_at).toLocaleDateString(undefined, { month: 'short', day: 'numeric' }), value: item.total_bytes ?? 0, inner: item.bytes_stored ?? 0 }))}
        format={bytes}
        legend={['source size', 'stored']}
      />
    </div>
  );
}
