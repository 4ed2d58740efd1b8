/** The log-rank aggregators (AZ-NAS, VKDNW_agg, the ensemble): one definition, the offline and online forms. */
import { logRankSum, logRankSumLatest } from './az-nas-math.js';
import { type AggregatorDef, defineAggregator } from './define.js';

/**
 * An aggregator whose value is the sum over `members` of log(rank / m) among the m rows (logRankSum);
 * a search steers by the newest row's rank among those seen so far (logRankSumLatest).
 */
export function logRankAggregator(def: { name: string; description: string; members: readonly string[] }): AggregatorDef {
  const columns = (rows: ReadonlyArray<Readonly<Record<string, number>>>) => def.members.map((m) => rows.map((r) => r[m]));
  return defineAggregator({
    ...def,
    aggregate: (rows) => logRankSum(columns(rows)),
    online: (rows) => logRankSumLatest(columns(rows)),
  });
}
