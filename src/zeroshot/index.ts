/** The zero-shot method on NAS-Bench-201: a fixed minibatch, a cell scorer, aggregators on top. */
export { PROXY_INPUTS, type ProxyInputs, proxyBatch, withInputs } from './batch.js';
export { GROUP_MODES, type GroupMode } from './group-size.js';
export { packedGroups, packGroups, stackedGroupBytes } from './stacked-memory.js';
export { type PoolPeak, scoringProcessBytes } from './process-memory.js';
export {
  addAggregates,
  addVote,
  expandProxyNames,
  nb201NetFor,
  type ScoreOptions,
  type ScoredCell,
  scoreAll,
  scoreCell,
  wantsVote,
  ZERO_SHOT_DEFAULTS,
  type ZeroShotOptions,
  ZeroShotScorer,
} from './scorer.js';
