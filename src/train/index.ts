/** Training found networks from scratch (`wgnas train`). */
export { measureLatencyMs, measureOpChainMs, networkOpChain, type LatencyResult } from './latency.js';
export { smoothedCrossEntropy } from '../nn/loss.js';
export { buildNetwork, networkInputSize, networkMadds, withClasses } from './network.js';
export { learningCurveSvg } from './plot.js';
export { nb201CosineLr, warmupCosineLr } from './schedule.js';
export { NB201_RECIPE, TRAIN_RECIPES, type TrainRecipe } from './settings.js';
export {
  type EpochRecord,
  TRAIN_DEFAULTS,
  type TrainData,
  checkTrainCheckpoint,
  Trainer,
  type TrainOutcome,
  type TrainRunOptions,
  type TrainSettings,
} from './trainer.js';
