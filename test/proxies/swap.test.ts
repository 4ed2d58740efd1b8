/**
 * SWAP on the CPU backend: the device-packed patterns and the host's exact count against the plain
 * TypeScript reference (awkward batch sizes, N > 64 included), repeated and stacked records, the
 * regulariser, and whole networks scored alone and grouped.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/backend/index.js';
import type { CorrRecord } from '../../src/proxies/correlation-proxies.js';
import { countDistinct, packMatrix, swapCountsMany, swapPatternsMany } from '../../src/proxies/swap-patterns.js';
import { SWAP_REG_MU_K, SWAP_REG_SIGMA_K2, swapRegularFactor } from '../../src/proxies/swap.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { swapRecords, swapReference, swapTestMatrices } from '../helpers/swap-reference.js';

const live: Tensor[] = [];
afterAll(() => live.forEach((t) => t.dispose()));
const track = (rs: CorrRecord[]) => (rs.forEach((r) => live.push(r.input)), rs);

describe('countDistinct', () => {
  it('counts keys of one, two and three words exactly', () => {
    expect(countDistinct(new Uint32Array([]), 2)).toBe(0);
    expect(countDistinct(Uint32Array.from([5, 5, 6, 0, 0xffffffff, 5]), 1)).toBe(4);
    // (1, 2) twice, (2, 1) differs from it: the words' order counts.
    expect(countDistinct(Uint32Array.from([1, 2, 2, 1, 1, 2, 0, 0]), 2)).toBe(3);
    expect(countDistinct(Uint32Array.from([1, 2, 3, 1, 2, 4, 1, 2, 3]), 3)).toBe(2);
    // Many keys that collide in the table's low bits.
    const k = Uint32Array.from({ length: 40000 }, (_, i) => (i % 10000) << 16);
    expect(countDistinct(k, 1)).toBe(10000);
    expect(() => countDistinct(new Uint32Array(3), 2)).toThrow(RangeError);
  });

  it('packMatrix puts sample i at bit i mod 8 of column i / 8', () => {
    expect(Array.from(packMatrix(3))).toEqual([1, 2, 4]);
    const p = packMatrix(9); // [9, 2]
    expect(Array.from(p)).toEqual([1, 0, 2, 0, 4, 0, 8, 0, 16, 0, 32, 0, 64, 0, 128, 0, 0, 1]);
  });
});

describe('SWAP on the CPU backend', () => {
  for (const n of [1, 7, 33, 64, 65, 100]) {
    it(`equals the TypeScript reference at batch ${n}`, async ({ skip }) => {
      const be = cpuTestBackend();
      if (!be) return skip();
      const mats = swapTestMatrices(n, [1, 3, 17, 64, 300], 10 + n);
      const want = swapReference(mats, n);
      const [got] = await swapCountsMany(be, [track(swapRecords(be, mats, n))], n);
      expect(got).toBe(want);
      // The zero and repeated columns leave fewer patterns than neurons (but more than a handful).
      if (n >= 7) expect(want).toBeLessThan(385);
      if (n >= 7) expect(want).toBeGreaterThan(50);
    });
  }

  it('packs sample i at bit i mod 32 of word i / 32', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const n = 40;
    // One neuron, positive at samples 0, 9, 31, 32 and 39.
    const x = new Float32Array(n).fill(-1);
    for (const i of [0, 9, 31, 32, 39]) x[i] = 2;
    const [p] = await swapPatternsMany(be, [track([{ name: 'r', block: 0, module: 0, input: be.upload(x, [n, 1]) }])], n);
    expect(Array.from(p)).toEqual([(1 | (1 << 9) | (1 << 31)) >>> 0, 1 | (1 << 7)]);
  });

  it('repeated records count once and several architectures score apart', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const n = 33;
    const mats = swapTestMatrices(n, [5, 40, 9], 3);
    const recs = track(swapRecords(be, mats, n));
    const other = track(swapRecords(be, swapTestMatrices(n, [12], 4), n));
    const got = await swapCountsMany(be, [[...recs, recs[1], recs[0]], other, []], n);
    expect(got).toEqual([swapReference(mats, n), swapReference(swapTestMatrices(n, [12], 4), n), 0]);
  });

  it('a stacked record counts as its own slice', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const [n, G, d] = [7, 3, 10];
    const mats = swapTestMatrices(n, Array<number>(G).fill(d), 8);
    // [n, G*d]: sample i's group g at (i*G + g)*d.
    const stackedX = new Float32Array(n * G * d);
    mats.forEach(({ x }, g) => {
      for (let i = 0; i < n; i++) stackedX.set(x.subarray(i * d, (i + 1) * d), (i * G + g) * d);
    });
    const t = be.upload(stackedX, [n, G * d]);
    live.push(t);
    const stacked = mats.map((_, g) => [{ name: 's', block: 0, module: 0, input: t, stacked: { groups: G, index: g } }]);
    const got = await swapCountsMany(be, stacked, n);
    expect(got).toEqual(mats.map((m) => swapReference([m], n)));
  });

  it('refuses a record that is not n samples', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const t = be.upload(new Float32Array(10), [10]);
    live.push(t);
    await expect(swapCountsMany(be, [[{ name: 'odd', block: 0, module: 0, input: t }]], 4)).rejects.toThrow(/odd/);
  });
});

describe('reg_swap', () => {
  it("is the authors' exp(-(p - mu)^2 / sigma) with p in thousands of parameters", () => {
    expect(swapRegularFactor(SWAP_REG_MU_K)).toBe(1);
    expect(swapRegularFactor(802.426)).toBeCloseTo(Math.exp(-((802.426 - 1500) ** 2) / 1.5e6), 15);
    expect(swapRegularFactor(100, 100, 1)).toBe(1);
    expect(swapRegularFactor(101, 100, 4)).toBeCloseTo(Math.exp(-0.25), 15);
    expect(SWAP_REG_SIGMA_K2).toBe(1.5e6);
  });
});

describe('swap and reg_swap on NB201 networks', () => {
  const NET = { channels: 4, cellsPerStage: 1, numClasses: 10 };
  const CELLS = [
    '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
    '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|',
    '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  ];

  it('the same scores alone, grouped and stacked', async ({ skip }) => {
    const be = cpuTestBackend();
    if (!be) return skip();
    const one = new ZeroShotScorer(be, ['swap', 'reg_swap', 'params'], { batchSize: 16, seed: 2, net: NET });
    const alone = (await one.scoreMany(CELLS.map(parseArch))).map((r) => r.scores);
    for (const scores of alone) {
      expect(Number.isInteger(scores.swap)).toBe(true);
      expect(scores.reg_swap).toBeCloseTo(scores.swap * swapRegularFactor(scores.params * 1e3), 9);
    }
    // The dead cell: only the ReLUs before it and the last one (on a constant map) count.
    expect(alone[2].swap).toBeLessThan(alone[0].swap);
    for (const groupMode of ['separate', 'stacked'] as const) {
      const scorer = new ZeroShotScorer(be, ['swap', 'reg_swap', 'params'], {
        batchSize: 16,
        seed: 2,
        net: NET,
        group: 3,
        groupMode,
      });
      const rows = await scorer.scoreMany(CELLS.map(parseArch));
      rows.forEach((r, i) => {
        expect(r.scores.swap, `${groupMode} ${CELLS[i]}`).toBe(alone[i].swap);
        expect(r.scores.reg_swap, `${groupMode} ${CELLS[i]}`).toBe(alone[i].reg_swap);
      });
    }
  });
});
