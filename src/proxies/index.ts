/**
 * Zero-cost proxies: the registry (registry.ts, one file per proxy), the pass runner that scores
 * networks with them (runner.ts), and the vote. Networks plug in through nn/scorable's NetFactory.
 */
export type { NetFactory, ScorableNet } from '../nn/scorable.js';
export type { AggregatorDef, NetContext, PassDef, PassNeeds, ProxyBatch, ProxyUnit } from './define.js';
export { defineAggregator, definePass, defineProxy, defineProxyFamily } from './define.js';
export {
  AGGREGATORS,
  checkPerNetwork,
  GROUPABLE_PROXIES,
  PopulationProxyError,
  PROXIES,
  type ProxyInfo,
  requestedAggregators,
  resolveProxies,
  UnknownProxyError,
  VOTE_MEMBERS,
} from './registry.js';
export { type CellScores, scoreNet, scoreNetsGrouped, scoreNetsStacked } from './runner.js';
export { voteScores } from './vote.js';
