/**
 * docs/grafana-dashboard.json is valid JSON, and every PromQL expression in it (panel targets and
 * template variable queries) refers only to metrics the registry exports: a renamed metric fails here
 * instead of leaving an empty panel.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SqliteCatalog } from '../../../src/catalog/sqlite-catalog.js';
import { createBackupMetricsRegistry } from '../../../src/metrics/backup-metrics.js';
import { PROJECT_ROOT } from '../../integration/cli-harness.js';

interface Panel {
  title: string;
  targets?: { expr: string }[];
}

let catalog: SqliteCatalog;
let dashboard: { panels: Panel[]; templating: { list: { query?: unknown; definition?: string }[] } };
let exported: Set<string>;

beforeAll(async () => {
  dashboard = JSON.parse(await readFile(join(PROJECT_ROOT, 'docs', 'grafana-dashboard.json'), 'utf8')) as typeof dashboard;
  catalog = SqliteCatalog.open(':memory:');
  // Metric families are listed even without samples, so an empty catalog names every metric.
  exported = new Set((await createBackupMetricsRegistry({ catalog }).getMetricsAsJSON()).map((metric) => metric.name));
});

afterAll(() => catalog.close());

/** Series names in a PromQL text: chrono_backup_* identifiers, with histogram suffixes folded. */
function referencedMetrics(expr: string): string[] {
  return [...expr.matchAll(/\bchrono_backup_[a-z0-9_]+/g)].map(([name]) => (exported.has(name) ? name : name.replace(/_(bucket|sum|count)$/, '')));
}

describe('the Grafana dashboard', () => {
  it('covers what operators look at, with one expression at least per panel', () => {
    const titles = dashboard.panels.map((panel) => panel.title.toLowerCase()).join(' | ');
    for (const topic of ['success rate', 'duration', 'bytes', 'dedup', 'since last successful', 'storage used', 'verification failures']) expect(titles).toContain(topic);
    for (const panel of dashboard.panels) expect(panel.targets?.length).toBeGreaterThan(0);
  });

  it('references only exported metric names', () => {
    const expressions = [
      ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => target.expr)),
      ...dashboard.templating.list.flatMap((variable) => [variable.definition ?? '', typeof variable.query === 'object' && variable.query !== null ? String((variable.query as { query?: string }).query ?? '') : String(variable.query ?? '')]),
    ];
    const referenced = expressions.flatMap(referencedMetrics);
    expect(referenced.length).toBeGreaterThan(15);
    expect(referenced.filter((name) => !exported.has(name))).toEqual([]);
    // And the other way round: the dashboard uses most of what is exported.
    expect(new Set(referenced).size).toBeGreaterThanOrEqual(exported.size / 2);
  });
});
