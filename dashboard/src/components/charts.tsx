import type { ComponentChildren } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/**
 * Small SVG charts, drawn by hand: a time series chart (one line per series) and a bar chart. They scale
 * to their container (viewBox), label their extremes, and describe themselves to screen readers.
 */

export interface Point {
  /** Epoch milliseconds. */
  x: number;
  y: number;
}

export interface Series {
  name: string;
  points: Point[];
}

const HEIGHT = 220;
const PAD = { left: 64, right: 12, top: 12, bottom: 28 };
/** Narrow screens get a narrower drawing, so its 12-unit labels stay readable when scaled down. */
const NARROW_QUERY = '(max-width: 480px)';

function useWidth(): number {
  const [narrow, setNarrow] = useState(() => window.matchMedia(NARROW_QUERY).matches);
  useEffect(() => {
    const query = window.matchMedia(NARROW_QUERY);
    const update = () => setNarrow(query.matches);
    query.addEventListener('change', update);
    return () => query.removeEventListener('change', update);
  }, []);
  return narrow ? 340 : 600;
}
/** Colour-blind safe, all at least 3:1 against white. */
const COLOURS = ['#1d4f91', '#b35900', '#2e7d32', '#8e24aa', '#c62828', '#00796b'];

function scale(domain: [number, number], range: [number, number]) {
  const [d0, d1] = domain;
  const span = d1 - d0 || 1;
  return (value: number) => range[0] + ((value - d0) / span) * (range[1] - range[0]);
}

function day(ms: number): string {
  return new Date(ms).toLocaleDateString(undefined, { month: 'short', day: 'numeric' });
}

export function TimeChart({ title, series, format }: { title: string; series: Series[]; format: (value: number) => string }) {
  const width = useWidth();
  const all = series.flatMap((line) => line.points);
  if (all.length === 0) return <ChartFrame title={title} summary="no data yet" />;
  const xs = all.map((point) => point.x);
  const ys = all.map((point) => point.y);
  const [minX, maxX] = [Math.min(...xs), Math.max(...xs)];
  const maxY = Math.max(...ys, 0) || 1;
  // One instant only (a single backup): centre it in a day's span rather than pinning it to the axis.
  const span: [number, number] = maxX === minX ? [minX - 43_200_000, maxX + 43_200_000] : [minX, maxX];
  const x = scale(span, [PAD.left, width - PAD.right]);
  const y = scale([0, maxY], [HEIGHT - PAD.bottom, PAD.top]);
  const summary = series.map((line) => `${line.name}: ${line.points.length} points, latest ${format(line.points[line.points.length - 1]?.y ?? 0)}`).join('; ');
  return (
    <ChartFrame title={title} summary={summary} legend={series.map((line) => line.name)} width={width}>
      <Axes width={width} maxLabel={format(maxY)} left={day(minX)} right={maxX === minX ? '' : day(maxX)} />
      {series.map((line, index) => {
        const colour = COLOURS[index % COLOURS.length];
        const path = line.points.map((point, at) => `${at === 0 ? 'M' : 'L'}${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`).join(' ');
        return (
          <g>
            <path d={path} fill="none" stroke={colour} stroke-width="2" />
            {line.points.map((point) => (
              <circle cx={x(point.x)} cy={y(point.y)} r="3" fill={colour}>
                <title>{`${line.name}, ${new Date(point.x).toLocaleString()}: ${format(point.y)}`}</title>
              </circle>
            ))}
          </g>
        );
      })}
    </ChartFrame>
  );
}

export interface Bar {
  label: string;
  value: number;
  /** A second, overlaid value (stored bytes over total bytes). */
  inner?: number;
}

export function BarChart({ title, bars, format, max, legend }: { title: string; bars: Bar[]; format: (value: number) => string; max?: number; legend?: string[] }) {
  const width = useWidth();
  if (bars.length === 0) return <ChartFrame title={title} summary="no data yet" />;
  const top = max ?? (Math.max(...bars.map((bar) => bar.value), 0) || 1);
  const y = scale([0, top], [HEIGHT - PAD.bottom, PAD.top]);
  const slot = (width - PAD.left - PAD.right) / bars.length;
  const barWidth = Math.max(2, Math.min(40, slot * 0.7));
  const summary = bars.map((bar) => `${bar.label}: ${format(bar.value)}${bar.inner !== undefined ? ` (${format(bar.inner)})` : ''}`).join('; ');
  return (
    <ChartFrame title={title} summary={summary} legend={legend} width={width}>
      <Axes width={width} maxLabel={format(top)} left={bars[0]?.label ?? ''} right={bars.length > 1 ? (bars[bars.length - 1]?.label ?? '') : ''} />
      {bars.map((bar, index) => {
        const left = PAD.left + slot * index + (slot - barWidth) / 2;
        return (
          <g>
            <rect x={left} y={y(bar.value)} width={barWidth} height={y(0) - y(bar.value)} fill={COLOURS[0]}>
              <title>{`${bar.label}: ${format(bar.value)}`}</title>
            </rect>
            {bar.inner !== undefined && (
              <rect x={left + barWidth / 4} y={y(bar.inner)} width={barWidth / 2} height={y(0) - y(bar.inner)} fill={COLOURS[1]}>
                <title>{`${bar.label}: ${format(bar.inner)}`}</title>
              </rect>
            )}
          </g>
        );
      })}
    </ChartFrame>
  );
}

function Axes({ width, maxLabel, left, right }: { width: number; maxLabel: string; left: string; right: string }) {
  return (
    <g class="axes">
      <line x1={PAD.left} y1={HEIGHT - PAD.bottom} x2={width - PAD.right} y2={HEIGHT - PAD.bottom} stroke="#555" />
      <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={HEIGHT - PAD.bottom} stroke="#555" />
      <text x={PAD.left - 6} y={PAD.top + 10} text-anchor="end">
        {maxLabel}
      </text>
      <text x={PAD.left - 6} y={HEIGHT - PAD.bottom} text-anchor="end">
        0
      </text>
      <text x={PAD.left} y={HEIGHT - 8}>
        {left}
      </text>
      <text x={width - PAD.right} y={HEIGHT - 8} text-anchor="end">
        {right}
      </text>
    </g>
  );
}

function ChartFrame({ title, summary, legend, width = 600, children }: { title: string; summary: string; legend?: string[] | undefined; width?: number; children?: ComponentChildren }) {
  return (
    <figure class="chart">
      <figcaption>{title}</figcaption>
      {children ? (
        <svg viewBox={`0 0 ${width} ${HEIGHT}`} role="img" aria-label={`${title}: ${summary}`} preserveAspectRatio="xMidYMid meet">
          {children}
        </svg>
      ) : (
        <p class="muted">No data yet.</p>
      )}
      {legend && legend.length > 0 && (
        <ul class="legend">
          {legend.map((name, index) => (
            <li>
              <span class="swatch" data-colour={index % COLOURS.length} aria-hidden="true" />
              {name}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}
