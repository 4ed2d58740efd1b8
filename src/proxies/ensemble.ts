/**
 * The training-free ensemble: AZ-NAS's non-linear rank aggregation (sum of log(rank / m)) over
 * WRCor, AZ-NAS expressivity, progressivity and trainability, FLOPs, the parameter count and
 * jacob_cov. The members were chosen as the best-ranking subset containing WRCor within 3x WRCor's
 * CPU time per cell (ce, az_nas and jacobian passes: 2.51x; VKDNW's pass alone is 2.03x) on the 2621
 * NAS-Bench-201 cells scored in rounds two and three (docs/results.md, "Round four";
 * bench/results/ranking/2026-12-05/protocol.md, selection.txt; scripts/ranking-select.ts), and fixed
 * before the fresh cells it is evaluated on were scored. Round two's choice (the same without
 * progressivity, picked on 169 cells) is ENSEMBLE_R2_MEMBERS. No weights, nothing fitted to
 * accuracies: a zero-shot score.
 */
import { logRankAggregator } from './rank-aggregate.js';

export const ENSEMBLE_MEMBERS = [
  'wrcor',
  'az_nas_expressivity',
  'az_nas_progressivity',
  'az_nas_trainability',
  'az_nas_complexity',
  'params',
  'jacob_cov',
] as const;

/** Round two's members (bench/results/ranking/2026-12-04-2/selection.txt), for comparisons. */
export const ENSEMBLE_R2_MEMBERS = ENSEMBLE_MEMBERS.filter((m) => m !== 'az_nas_progressivity');

export const ensemble = logRankAggregator({
  name: 'ensemble',
  description: `training-free rank ensemble: sum of log(rank/m) of ${ENSEMBLE_MEMBERS.join(', ')}`,
  members: ENSEMBLE_MEMBERS,
});
