/** ProxylessNAS on the WGSL core: public API. */
export { CIFAR_LAYOUT, IMAGENET_LAYOUT, LAYOUTS, type ProxylessLayout, candidateName, getLayout, layoutSpace, searchPositions } from './layout.js';
export { type BlockRecord, type MBConvModule, ProxylessSupernet, type SupernetOptions } from './supernet.js';
export {
  type CombinedLoss,
  type LatencyLossConfig,
  type LatencyLossKind,
  type SearchLatency,
  choicesLatencyMs,
  combineLoss,
  expectedLatency,
  imagenetProxyLatency,
  latencyRange,
  layoutLatency,
  reinforceReward,
} from './latency-loss.js';
export {
  DEFAULT_SEARCH,
  type ProgressEvent,
  type ProxylessSearchConfig,
  ProxylessSearch,
  type SearchResult,
  accuracy,
  pairLatencyGrad,
} from './search.js';
export { AlphaAdam, type AdamConfig, type SgdConfig, WeightSgd } from './optimizers.js';
export { choicesFromNetConfig, toNetConfig } from './net-config.js';
export { BatchStream, type SearchData, cifarSearchSplit } from './data.js';
export { hasCheckpoint, loadCheckpoint, saveCheckpoint } from './checkpoint.js';
export { type TrainOptions, type TrainResult, trainFixed } from './train.js';
export * from './plot.js';
