/**
 * Asynchronous regularized evolution (the search behind `wgnas search --redis`), simulated with W
 * workers finishing in a seeded random order: it finds the optimum of a toy space, and the same
 * seed with the same completion order proposes exactly the same children (the resume guarantee).
 */
import { describe, expect, it } from 'vitest';
import { AsyncRegularizedEvolution } from '../../src/search/index.js';
import { categoricalSpace } from '../../src/spaces/space.js';
import { Rng } from '../../src/util/rng.js';

const space = categoricalSpace('toy', [4, 4, 4, 4, 4, 4]);
const fitness = (a: number[]) => a.reduce((s, x) => s + x, 0); // optimum: all 3s, 18

/**
 * Runs the search with `workers` children out at once; `order` picks which of them finishes next
 * (index into the in-flight list sorted by step), or a seeded random pick. Returns the completion
 * order (steps) and the proposals.
 */
function simulate(seed: number, workers: number, budget: number, pick: (inFlight: number, i: number) => number) {
  const algo = new AsyncRegularizedEvolution(space, { budget, rng: new Rng(seed), populationSize: 20, sampleSize: 5 });
  const inFlight: Array<{ step: number; arch: number[] }> = [];
  const proposals: string[] = [];
  const completions: number[] = [];
  const fill = () => {
    while (inFlight.length < workers) {
      const p = algo.propose();
      if (!p) return;
      proposals.push(space.key(p.arch));
      inFlight.push(p);
    }
  };
  fill();
  for (let i = 0; inFlight.length; i++) {
    const [p] = inFlight.splice(pick(inFlight.length, i), 1);
    algo.report(p.step, p.arch, fitness(p.arch));
    completions.push(p.step);
    fill();
  }
  return { algo, proposals, completions };
}

describe('AsyncRegularizedEvolution', () => {
  it('finds the optimum of a toy space with 4 workers finishing in random order', () => {
    const order = new Rng(7);
    const { algo } = simulate(1, 4, 400, (n) => order.int(n));
    expect(algo.finished).toBe(true);
    expect(algo.history.length).toBe(400);
    expect(algo.bestScore).toBe(18);
    expect(algo.best).toEqual([3, 3, 3, 3, 3, 3]);
  });

  it('the same seed and completion order propose the same children; another order other children', () => {
    const o1 = new Rng(3);
    const a = simulate(5, 3, 120, (n) => o1.int(n));
    // Replay: complete in the recorded order (as positions in the in-flight list, proposal order).
    const pendingIndex = new Map<number, number>();
    {
      const inFlight: number[] = [];
      let next = 0;
      const fill = () => {
        while (inFlight.length < 3 && next < 120) inFlight.push(next++);
      };
      fill();
      a.completions.forEach((step, i) => {
        const j = inFlight.indexOf(step);
        pendingIndex.set(i, j);
        inFlight.splice(j, 1);
        fill();
      });
    }
    const replayed = simulate(5, 3, 120, (_n, i) => pendingIndex.get(i)!);
    expect(replayed.proposals).toEqual(a.proposals);
    expect(replayed.completions).toEqual(a.completions);
    const other = simulate(5, 3, 120, () => 0); // oldest first: another order
    expect(other.proposals.slice(0, 20)).toEqual(a.proposals.slice(0, 20)); // the random seed population
    expect(other.proposals).not.toEqual(a.proposals);
  });

  it('proposes nothing past its budget and refuses a report for a step never proposed', () => {
    const algo = new AsyncRegularizedEvolution(space, { budget: 2, rng: new Rng(0), populationSize: 4, sampleSize: 2 });
    expect(() => algo.report(0, [0, 0, 0, 0, 0, 0], 0)).toThrow(/never proposed/);
    expect(algo.propose()?.step).toBe(0);
    expect(algo.propose()?.step).toBe(1);
    expect(algo.propose()).toBeNull();
    // A score that is not a number (a worker's undefined) is refused, not made the best.
    expect(() => algo.report(0, [0, 0, 0, 0, 0, 0], undefined as unknown as number)).toThrow(
      'AsyncRegularizedEvolution: score of step 0 must be a number (NaN for a failure), got undefined',
    );
    algo.report(1, [0, 0, 0, 0, 0, 0], NaN);
    expect(() => new AsyncRegularizedEvolution(space, { budget: 0, rng: new Rng(0), populationSize: 4, sampleSize: 2 })).toThrow(
      /budget/,
    );
  });
});
