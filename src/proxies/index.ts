/**
 * Zero-cost proxies: the registry (registry.ts, one file per proxy; registerProxy /
 * registerAggregator for a library user's), the pass runner that scores networks with them
 * (runner.ts), the shared passes a new proxy can read, and the vote. Networks plug in through
 * nn/scorable's NetFactory.
 */
export type { NetFactory, ScorableNet } from '../nn/scorable.js';
export type { AggregatorDef, NetContext, PassDef, PassNeeds, ProxyBatch, ProxyDef, ProxyFamilyDef, ProxyUnit } from './define.js';
export { defineAggregator, definePass, defineProxy, defineProxyFamily } from './define.js';
export { cePass, type CePassResult, staticPass, weightParams } from './passes.js';
export {
  AGGREGATORS,
  checkPerNetwork,
  GROUPABLE_PROXIES,
  PopulationProxyError,
  populationScorer,
  PROXIES,
  type ProxyInfo,
  registerAggregator,
  registerProxy,
  requestedAggregators,
  resolveProxies,
  UnknownProxyError,
  VOTE_MEMBERS,
} from './registry.js';
export { type CellScores, scoreNet, scoreNetsGrouped, scoreNetsStacked } from './runner.js';
export { voteMajorityScores, voteScores } from './vote.js';
