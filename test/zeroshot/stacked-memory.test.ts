/**
 * --group auto for stacked groups: the plan's estimate (stackedGroupBytes) against the peak the CPU
 * backend measures, packing within the budget, and boundaries a resume keeps.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { nb201StackedFactory } from '../../src/nn/nb201-stacked.js';
import { scoreNetsStacked } from '../../src/proxies/index.js';
import { cellFromIndex, formatArch, sampleCell } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { packGroups, scoreAll, stackedGroupBytes, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';

const net = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 2 };
const rng = new Rng(7);
const GROUPS = {
  random4: Array.from({ length: 4 }, () => sampleCell(rng)),
  random8: Array.from({ length: 8 }, () => sampleCell(rng)),
  consecutive8: Array.from({ length: 8 }, (_, i) => cellFromIndex(4000 + i)),
  consecutive12: Array.from({ length: 12 }, (_, i) => cellFromIndex(11000 + i)),
};

describe('stacked group memory: the estimate and --group auto packing', () => {
  // Above the peak, and by at most half of it (the backward bound is loose where groups share ops).
  for (const proxies of [['wrcor'], ['naswot']]) {
    for (const [name, cells] of Object.entries(GROUPS)) {
      it(`${proxies[0]}, ${name}: measured peak <= estimate <= 1.5 x peak (CPU backend)`, async ({ skip }) => {
        const b = cpuTestBackend();
        if (!b) return skip();
        const scorer = new ZeroShotScorer(b, proxies, { batchSize: 8, seed: 0, net });
        await b.sync();
        const base = b.stats().bytesInUse;
        b.resetPeak();
        await scoreNetsStacked(b, nb201StackedFactory(b, cells, net), proxies, scorer.batch, 0);
        await b.sync();
        const peak = b.stats().peakBytesInUse - base;
        const est = stackedGroupBytes(cells, net, 8, { backward: proxies[0] === 'wrcor' });
        expect(est, `estimate ${est} vs peak ${peak}`).toBeGreaterThanOrEqual(peak);
        expect(est, `estimate ${est} vs peak ${peak}`).toBeLessThanOrEqual(1.5 * peak);
      });
    }
  }

  it('packGroups: consecutive groups covering every cell, each within the budget and maximal', () => {
    const cells = Array.from({ length: 200 }, (_, i) => cellFromIndex(7 * i + 3));
    const bytes = (a: number, b: number) => stackedGroupBytes(cells.slice(a, b), net, 8, { backward: true });
    for (const [budget, max] of [
      [40e6, 64],
      [150e6, 64],
      [1e12, 16],
    ] as const) {
      const groups = packGroups(cells.length, bytes, budget, max);
      expect(groups[0][0]).toBe(0);
      expect(groups.at(-1)![1]).toBe(cells.length);
      groups.forEach(([a, b], i) => {
        if (i) expect(a).toBe(groups[i - 1][1]);
        expect(b - a).toBeLessThanOrEqual(max);
        if (b - a > 1) expect(bytes(a, b)).toBeLessThanOrEqual(budget);
        if (b < cells.length && b - a < max) expect(bytes(a, b + 1)).toBeGreaterThan(budget);
      });
      expect(new Set(groups.map(([a, b]) => b - a)).size, `budget ${budget}`).toBeGreaterThan(budget === 1e12 ? 0 : 1);
    }
    // One cell over the budget still runs, alone.
    expect(packGroups(3, () => 10, 5, 64)).toEqual([
      [0, 1],
      [1, 2],
      [2, 3],
    ]);
  });

  it('scoreAll with stacked auto groups: rows in selection order, a resume keeps the boundaries and the scores', async ({
    skip,
  }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    // The CPU backend gains nothing from grouping (auto stays 1): seen as a GPU here, with a budget.
    const b: Backend = { ...cpu, device: 'gpu', isSoftware: false };
    const cells = Array.from({ length: 14 }, (_, i) => cellFromIndex(9000 + 3 * i));
    const opts = { batchSize: 4, seed: 1, net, group: 'auto' as const, groupMode: 'stacked' as const, memoryShare: 1 };
    const scorer = new ZeroShotScorer(b, ['wrcor', 'naswot'], opts);
    expect(scorer.packsStacked).toBe(true);
    expect(scorer.needsProbe).toBe(false);
    const bytes = (a: number, z: number) => stackedGroupBytes(cells.slice(a, z), net, 4, { backward: true });
    // A budget that splits the selection into groups of several sizes.
    const budget = bytes(0, 5);
    const prev = process.env.WGNAS_GPU_MEMORY_BYTES;
    process.env.WGNAS_GPU_MEMORY_BYTES = String(budget);
    try {
      const groups = [...scorer.stackedGroups(cells)];
      expect(groups.length).toBeGreaterThan(2);
      const sizes: number[] = [];
      const spy = (s: ZeroShotScorer) => {
        const many = s.scoreMany.bind(s);
        s.scoreMany = (cs) => (sizes.push(cs.length), many(cs));
        return s;
      };
      const full = await scoreAll(spy(scorer), cells);
      expect(sizes).toEqual(groups.map(([a, z]) => z - a));
      expect(full.map((r) => r.arch)).toEqual(cells.map(formatArch));
      // Resumed inside the second group: its rest, then the first run's boundaries.
      const from = groups[1][0] + 1;
      sizes.length = 0;
      const resumed = await scoreAll(spy(new ZeroShotScorer(b, ['wrcor', 'naswot'], opts)), cells, undefined, undefined, from);
      expect(sizes).toEqual([groups[1][1] - from, ...groups.slice(2).map(([a, z]) => z - a)]);
      resumed.forEach((r, i) => {
        expect(r.arch).toBe(full[from + i].arch);
        for (const p of ['wrcor', 'naswot']) {
          const [x, y] = [r.scores[p], full[from + i].scores[p]];
          if (Number.isFinite(y)) expect(Math.abs(x - y)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(y)));
          else expect(x).toBe(y);
        }
      });
    } finally {
      if (prev === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
      else process.env.WGNAS_GPU_MEMORY_BYTES = prev;
    }
  });
});
