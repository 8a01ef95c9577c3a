import { SqliteCatalog } from '../catalog/sqlite-catalog.js';
import { SqliteRunStatistics } from '../catalog/sqlite-run-statistics.js';
import { newestRunIds, runFacts, tallyRuns } from '../domain/run-statistics.js';
import type { Catalog, RunKind, RunRecord } from '../ports/catalog.js';
import { hasRunStatistics, type LatestRunsQuery, type RunStatistics, type RunTally, type SnapshotTotals } from '../ports/run-statistics.js';

/**
 * The cheapest run statistics a catalog offers: its own when it implements the port, the incremental
 * reader of the SQLite catalog, else {@link catalogRunStatistics}. Keep the result for later scrapes:
 * the SQLite reader remembers what it has read.
 */
export function runStatisticsFor(catalog: Catalog): RunStatistics {
  if (hasRunStatistics(catalog)) return catalog;
  if (catalog instanceof SqliteCatalog) return catalog.sibling((db) => new SqliteRunStatistics(db));
  return catalogRunStatistics(catalog);
}

/**
 * Run statistics for any Catalog, computed from `listRuns` and `listSnapshots`: every call reads the
 * whole history, so this is the fallback for catalogs without a cheaper way (and the reference the
 * SQLite reader is tested against). Snapshot totals cover the repositories that have runs.
 */
export function catalogRunStatistics(catalog: Catalog): RunStatistics {
  return {
    async tallyRuns(kinds: readonly RunKind[]): Promise<RunTally[]> {
      return tallyRuns((await catalog.listRuns()).map(runFacts), kinds);
    },

    async latestRuns(query: LatestRunsQuery): Promise<RunRecord[]> {
      const runs = await catalog.listRuns({ kind: query.kind });
      const byId = new Map(runs.map((run) => [run.id, run]));
      return newestRunIds(runs.map(runFacts), query).map((id) => byId.get(id)!);
    },

    async snapshotTotals(): Promise<SnapshotTotals[]> {
      const repositories = [...new Set((await catalog.listRuns()).map((run) => run.repository))].sort();
      const totals: SnapshotTotals[] = [];
      for (const repository of repositories) {
        const snapshots = await catalog.listSnapshots(repository);
        if (snapshots.length === 0) continue;
        const sum = (field: 'totalBytes' | 'bytesAdded' | 'bytesStored') => snapshots.reduce((total, snapshot) => total + snapshot.stats[field], 0);
        totals.push({ repository, snapshots: snapshots.length, totalBytes: sum('totalBytes'), bytesAdded: sum('bytesAdded'), bytesStored: sum('bytesStored') });
      }
      return totals;
    },
  };
}
