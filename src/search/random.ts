/** Random search: i.i.d. samples from the space, scored in batches. */
import type { SearchSpace } from '../spaces/space.js';
import { checkSearchOptions, Evaluator, type Scorer, type SearchOptions, type SearchResult } from './types.js';

export async function randomSearch<A>(
  space: SearchSpace<A>,
  scorer: Scorer<A>,
  opts: SearchOptions<A>,
): Promise<SearchResult<A>> {
  const { batchSize } = checkSearchOptions('randomSearch', opts);
  const ev = new Evaluator(space, scorer, opts);
  while (ev.remaining > 0) {
    const n = Math.min(batchSize, ev.remaining);
    await ev.evaluate(Array.from({ length: n }, () => space.sample(opts.rng)));
  }
  return ev.result();
}
