/** Cost models with units (ms or MAdds) and their three builders. */
export {
  type CostModel,
  type CostSource,
  type CostUnit,
  archCost,
  costRange,
  costUnderProbs,
  describeCost,
  expectedCost,
  formatCost,
  formatCostRange,
  pairCostGrad,
  pairExpectedCost,
} from './model.js';
export {
  cellTableCost,
  imagenetPositionsCost,
  imagenetTwinArch,
  imagenetTwinLayout,
  spaceTableCost,
  type TableCostOptions,
  type TableCostResult,
  tableCost,
} from './table.js';
export { maddsCost } from './madds.js';
export { type PriceOptions, cellNativeOps, measuredCost, skeletonNativeOps } from './measured.js';
