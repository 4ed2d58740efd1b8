/**
 * The zero-shot search over a cell space under a MAdds budget (`wgnas search --space-file
 * --budget-madds`) finds a known optimum on the budget's edge: on a 3-layer hand-designed space,
 * small enough to enumerate, the target is the costliest architecture within the budget and the
 * score a separable distance to it; evolution and random search must reach it from several seeds,
 * and no proposal may leave the budget. (A score that simply grows with MAdds, as proxies tend to,
 * is a knapsack: single mutations under the budget have local optima there, which regularized
 * evolution escapes only sometimes, so no exact assertion is made on it.)
 */
import { describe, expect, it } from 'vitest';
import { cellSearchSpace } from '../../src/autospace/search-space.js';
import { archMadds } from '../../src/mobilenet/madds.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { randomSearch, regularizedEvolution, type Scorer } from '../../src/search/index.js';
import { Rng } from '../../src/util/rng.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';

describe('budgeted zero-shot search finds the constrained optimum', () => {
  const space = spaceFromLayout(TINY_CIFAR_LAYOUT);
  const sizes = space.cells.map((c) => c.length);
  const all: number[][] = [];
  const walk = (prefix: number[]) => {
    if (prefix.length === sizes.length) all.push(prefix);
    else for (let j = 0; j < sizes[prefix.length]; j++) walk([...prefix, j]);
  };
  walk([]);
  const madds = all.map((a) => archMadds(space, a));
  // The budget: the median MAdds of the space, moved up to one no other architecture shares.
  const sorted = [...madds].sort((x, y) => x - y);
  let at = Math.floor(sorted.length / 2);
  while (madds.filter((m) => m === sorted[at]).length > 1) at++;
  const budget = sorted[at];
  // The target sits on the budget: the costliest architecture within it (a unique one).
  const target = all[madds.indexOf(budget)];
  // Per layer, how far a cell's MAdds are from the target's there: separable, so a single change of
  // a layer towards the target always helps, and (the target being within the budget) some such
  // change always fits: no local optimum, even at the budget's edge.
  const cellMadds = (b: number, j: number) =>
    archMadds(
      space,
      target.map((t, k) => (k === b ? j : t)),
    ) - archMadds(space, target);
  const score = (a: number[]) => -a.reduce((s, j, b) => s + Math.abs(cellMadds(b, j)) + (j === target[b] ? 0 : 1), 0);

  it('the toy is what the test assumes', () => {
    expect(all.length).toBeGreaterThan(100);
    expect(madds.filter((m) => m > budget).length).toBeGreaterThan(all.length / 5);
    expect(all.filter((a) => score(a) === 0)).toEqual([target]);
  });

  for (const strategy of ['evolution', 'random'] as const) {
    it(`${strategy}: the target from 4 seeds, every proposal within the budget`, async () => {
      const ss = cellSearchSpace(space, budget);
      for (const seed of [0, 1, 2, 3]) {
        const seen: number[][] = [];
        const scorer: Scorer<number[]> = async (archs) => {
          seen.push(...archs);
          return archs.map(score);
        };
        const rng = new Rng(seed);
        const r =
          strategy === 'evolution'
            ? // searchCellSpace's population and tournament sizes
              await regularizedEvolution(ss, scorer, { budget: 200, rng, populationSize: 8, sampleSize: 3 })
            : await randomSearch(ss, scorer, { budget: 600, rng });
        expect(r.best, `seed ${seed}`).toEqual(target);
        for (const a of seen) expect(archMadds(space, a)).toBeLessThanOrEqual(budget);
      }
    });
  }
});
