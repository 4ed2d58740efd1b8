import { describe, expect, it } from 'vitest';
import { randomSearch, regularizedEvolution, reinforce, type Scorer, type SearchResult } from '../../src/search/index.js';
import { cellIndex, formatArch, nb201Space, type Nb201Cell } from '../../src/spaces/nb201.js';
import { categoricalSpace } from '../../src/spaces/space.js';
import { Rng } from '../../src/util/rng.js';

/** Toy objective on NB201 with a unique optimum: the number of nor_conv_3x3 edges (max 6). */
const conv3Count = (c: Nb201Cell) => c.edges.filter((e) => e === 'nor_conv_3x3').length;
const ALL_CONV3 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|';

/** A scorer that records each call's batch. */
function recording<A>(f: (a: A) => number): { scorer: Scorer<A>; calls: A[][] } {
  const calls: A[][] = [];
  return {
    calls,
    scorer: async (archs) => {
      calls.push(archs);
      await Promise.resolve();
      return archs.map(f);
    },
  };
}

const trace = <A>(r: SearchResult<A>, fmt: (a: A) => string) => r.history.map((h) => `${fmt(h.arch)}=${h.score}`);

describe('randomSearch', () => {
  it('finds the optimum of a small synthetic space and is reproducible', async () => {
    const toy = categoricalSpace('toy', [2, 3, 2]); // 12 archs, optimum [1,2,1] = 4
    const score = (a: number[]) => a[0] + a[1] + a[2];
    const { scorer, calls } = recording(score);
    const r = await randomSearch(toy, scorer, { budget: 100, rng: new Rng(0), batchSize: 8 });
    expect(r.best).toEqual([1, 2, 1]);
    expect(r.bestScore).toBe(4);
    expect(r.history.length).toBe(100);
    expect(r.history.map((h) => h.step)).toEqual([...Array(100).keys()]);
    expect(calls.every((c) => c.length <= 8)).toBe(true);
    // The cache sends each architecture to the scorer once.
    expect(r.evaluations).toBe(calls.flat().length);
    expect(new Set(calls.flat().map((a) => a.join())).size).toBe(r.evaluations);
    expect(r.evaluations).toBeLessThanOrEqual(12);
    const again = await randomSearch(toy, recording(score).scorer, { budget: 100, rng: new Rng(0), batchSize: 8 });
    expect(trace(again, toy.format)).toEqual(trace(r, toy.format));
    const other = await randomSearch(toy, recording(score).scorer, { budget: 100, rng: new Rng(1), batchSize: 8 });
    expect(trace(other, toy.format)).not.toEqual(trace(r, toy.format));
  });

  it('without the cache scores every proposal, and skips NaN scores for the incumbent', async () => {
    const toy = categoricalSpace('toy', [3, 3]);
    // The optimum [2,2] scores NaN (a failed proxy): the best finite one, 3, wins.
    const r = await randomSearch(toy, async (as) => as.map((a) => (a[0] === 2 && a[1] === 2 ? NaN : a[0] + a[1])), {
      budget: 60,
      rng: new Rng(5),
      batchSize: 7,
      cache: false,
    });
    expect(r.evaluations).toBe(60);
    expect(r.history.some((h) => Number.isNaN(h.score))).toBe(true);
    expect(r.bestScore).toBe(3);
  });

  it('validates options and scorer output', async () => {
    const toy = categoricalSpace('toy', [3]);
    const ok = async (as: number[][]) => as.map(() => 1);
    await expect(randomSearch(toy, ok, { budget: 0, rng: new Rng(0) })).rejects.toThrow(/budget must be a positive integer/);
    await expect(randomSearch(toy, ok, { budget: 3, rng: new Rng(0), batchSize: 0 })).rejects.toThrow(/batchSize/);
    await expect(randomSearch(toy, async () => [1, 2, 3], { budget: 2, rng: new Rng(0), cache: false })).rejects.toThrow(
      /returned 3 scores for 1/,
    );
  });
});

describe('regularizedEvolution', () => {
  it('finds the all-conv3x3 cell within 300 proposals for several seeds, reproducibly', async () => {
    for (const seed of [0, 1, 2, 3]) {
      const r = await regularizedEvolution(nb201Space, recording(conv3Count).scorer, {
        budget: 300,
        rng: new Rng(seed),
        batchSize: 4,
      });
      expect(formatArch(r.best), `seed ${seed}`).toBe(ALL_CONV3);
      expect(r.bestScore).toBe(6);
      expect(r.history.length).toBe(300);
    }
    const a = await regularizedEvolution(nb201Space, recording(conv3Count).scorer, {
      budget: 120,
      rng: new Rng(9),
      batchSize: 3,
    });
    const b = await regularizedEvolution(nb201Space, recording(conv3Count).scorer, {
      budget: 120,
      rng: new Rng(9),
      batchSize: 3,
    });
    expect(trace(a, formatArch)).toEqual(trace(b, formatArch));
  });

  it('mutates the best of the P most recent members (aging) when S = P', async () => {
    const P = 8;
    // Unique scores so the tournament winner is unambiguous.
    const r = await regularizedEvolution(nb201Space, recording((c: Nb201Cell) => cellIndex(c)).scorer, {
      budget: 80,
      rng: new Rng(4),
      populationSize: P,
      sampleSize: P,
      cache: false,
    });
    for (let t = P; t < r.history.length; t++) {
      const window = r.history.slice(t - P, t);
      const parent = window.reduce((best, h) => (h.score > best.score ? h : best));
      const child = r.history[t].arch;
      const diff = child.edges.filter((e, k) => e !== parent.arch.edges[k]).length;
      expect(diff, `step ${t}`).toBe(1);
    }
  });

  it('with a sample of 1 it is a random walk of single mutations from a random population', async () => {
    const r = await regularizedEvolution(nb201Space, recording(conv3Count).scorer, {
      budget: 40,
      rng: new Rng(2),
      populationSize: 10,
      sampleSize: 1,
      batchSize: 5,
    });
    for (let t = 10; t < 40; t++) {
      const pop = r.history
        .slice(0, t - ((t - 10) % 5))
        .slice(-10)
        .map((h) => h.arch);
      const child = r.history[t].arch;
      expect(
        pop.some((p) => p.edges.filter((e, k) => e !== child.edges[k]).length === 1),
        `step ${t}`,
      ).toBe(true);
    }
    await expect(
      regularizedEvolution(nb201Space, recording(conv3Count).scorer, { budget: 5, rng: new Rng(0), populationSize: 0 }),
    ).rejects.toThrow(/populationSize/);
  });
});

describe('reinforce', () => {
  it('finds the optimum and concentrates the policy (Adam), reproducibly', async () => {
    for (const seed of [0, 1, 2]) {
      const r = await reinforce(nb201Space, recording(conv3Count).scorer, { budget: 300, rng: new Rng(seed), batchSize: 4 });
      expect(formatArch(r.best), `seed ${seed}`).toBe(ALL_CONV3);
      // choice index 3 = nor_conv_3x3 in NB201_OPS order
      for (const p of r.policy) expect(p[3]).toBeGreaterThan(0.8);
    }
    const a = await reinforce(nb201Space, recording(conv3Count).scorer, { budget: 100, rng: new Rng(5), batchSize: 4 });
    const b = await reinforce(nb201Space, recording(conv3Count).scorer, { budget: 100, rng: new Rng(5), batchSize: 4 });
    expect(trace(a, formatArch)).toEqual(trace(b, formatArch));
    expect(a.policy).toEqual(b.policy);
  });

  it('works with SGD and an entropy bonus, and on a synthetic space', async () => {
    const sgd = await reinforce(nb201Space, recording(conv3Count).scorer, {
      budget: 300,
      rng: new Rng(1),
      batchSize: 4,
      optimizer: 'sgd',
      learningRate: 0.2,
    });
    expect(sgd.bestScore).toBe(6);
    const toy = categoricalSpace('toy', [4, 4, 4, 4]);
    const target = [3, 0, 2, 1];
    const ent = await reinforce(toy, recording((a: number[]) => -a.reduce((s, v, i) => s + Math.abs(v - target[i]), 0)).scorer, {
      budget: 200,
      rng: new Rng(3),
      batchSize: 5,
      entropyWeight: 0.01,
    });
    expect(ent.best).toEqual(target);
    await expect(reinforce(toy, async (as) => as.map(() => 0), { budget: 5, rng: new Rng(0), baselineDecay: 1 })).rejects.toThrow(
      /baselineDecay/,
    );
  });
});
