/**
 * The training-free ensemble: AZ-NAS's non-linear rank aggregation (sum of log(rank / m)) over
 * WRCor and the AZ-NAS components. The members were chosen once on 200 NAS-Bench-201 cells
 * (docs/results.md, "Ensemble selection") and then fixed; nothing here is fitted to accuracies.
 */
import { logRankSum } from './az-nas-math.js';
import { defineAggregator } from './define.js';

export const ENSEMBLE_MEMBERS = ['wrcor', 'az_nas_expressivity', 'az_nas_progressivity', 'az_nas_trainability', 'az_nas_complexity'] as const;

export const ensemble = defineAggregator({
  name: 'ensemble',
  description: `training-free rank ensemble: sum of log(rank/m) of ${ENSEMBLE_MEMBERS.join(', ')}`,
  members: ENSEMBLE_MEMBERS,
  aggregate: (rows) => logRankSum(ENSEMBLE_MEMBERS.map((m) => rows.map((r) => r[m]))),
});
