/**
 * The training-free ensemble: AZ-NAS's non-linear rank aggregation (sum of log(rank / m)) over
 * WRCor, AZ-NAS expressivity and trainability, FLOPs, the parameter count and jacob_cov. The members
 * were chosen once, as the best-ranking subset containing WRCor within 3x WRCor's CPU time per cell
 * (ce, az_nas and jacobian passes: 2.51x; VKDNW's pass alone is 2.03x) on the NAS-Bench-201
 * selection cells (docs/results.md, "Ensemble selection"; bench/results/ranking/2026-12-04-2/
 * selection.txt; scripts/ranking-select.ts), and then fixed before it was evaluated. No weights,
 * nothing fitted to accuracies: a zero-shot score.
 */
import { logRankSum } from './az-nas-math.js';
import { defineAggregator } from './define.js';

export const ENSEMBLE_MEMBERS = [
  'wrcor',
  'az_nas_expressivity',
  'az_nas_trainability',
  'az_nas_complexity',
  'params',
  'jacob_cov',
] as const;

export const ensemble = defineAggregator({
  name: 'ensemble',
  description: `training-free rank ensemble: sum of log(rank/m) of ${ENSEMBLE_MEMBERS.join(', ')}`,
  members: ENSEMBLE_MEMBERS,
  aggregate: (rows) => logRankSum(ENSEMBLE_MEMBERS.map((m) => rows.map((r) => r[m]))),
});
