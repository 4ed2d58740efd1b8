export { regularizedEvolution, type EvolutionOptions } from './evolution.js';
export { AsyncRegularizedEvolution, type AsyncEvolutionOptions, type Proposal } from './async-evolution.js';
export { randomSearch } from './random.js';
export { reinforce, type ReinforceOptions, type ReinforceResult } from './reinforce.js';
export { softmax } from '../util/softmax.js';
export { Evaluator, isBetter, type HistoryEntry, type Scorer, type SearchOptions, type SearchResult } from './types.js';
export { finalBest, PopulationScorer, type PopulationRule, type ScoredArch, type ScoreRow } from './population.js';
