/**
 * The training-free ensemble: AZ-NAS's non-linear rank aggregation (sum of log(rank / m)) over
 * WRCor, AZ-NAS expressivity and trainability, and FLOPs. The members were chosen once, as the
 * best-ranking subset containing WRCor of the ce and az_nas passes' scores on 200 NAS-Bench-201
 * cells (docs/results.md, "Ensemble selection"; scripts/ranking-select.ts), and then fixed before
 * any evaluation cell was looked at. No weights, nothing fitted to accuracies: a zero-shot score.
 */
import { logRankSum } from './az-nas-math.js';
import { defineAggregator } from './define.js';

export const ENSEMBLE_MEMBERS = ['wrcor', 'az_nas_expressivity', 'az_nas_trainability', 'az_nas_complexity'] as const;

export const ensemble = defineAggregator({
  name: 'ensemble',
  description: `training-free rank ensemble: sum of log(rank/m) of ${ENSEMBLE_MEMBERS.join(', ')}`,
  members: ENSEMBLE_MEMBERS,
  aggregate: (rows) => logRankSum(ENSEMBLE_MEMBERS.map((m) => rows.map((r) => r[m]))),
});
