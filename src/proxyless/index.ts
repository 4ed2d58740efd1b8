/** ProxylessNAS on the WGSL core: public API. */
export { type BlockRecord, ProxylessSupernet, type SupernetOptions } from './supernet.js';
export {
  type CombinedLoss,
  type CostLossConfig,
  type CostLossKind,
  combineLoss,
  DEFAULT_LAMBDA,
  reinforceReward,
} from './objective.js';
export { DEFAULT_SEARCH, type ProgressEvent, type ProxylessSearchConfig, type SearchResult } from './search-config.js';
export { ProxylessSearch } from './search.js';
export { choicesFromNetConfig, toNetConfig } from './net-config.js';
export {
  CheckpointError,
  hasCheckpoint,
  loadCheckpoint,
  readCheckpoint,
  readCheckpointState,
  saveCheckpoint,
} from '../nn/checkpoint.js';
export { checkResumable, ResumeMismatchError } from './resume-state.js';
export * from './plot.js';
