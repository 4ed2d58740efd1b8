/**
 * SWAP on the WGSL kernels (lavapipe here): the packed patterns and counts equal the TypeScript
 * reference and the CPU backend's exactly, on records at awkward batch sizes, on a stacked
 * record, and on whole (tiny) NB201 networks.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { swapCountsMany, swapPatternsMany } from '../../src/proxies/swap-patterns.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { proxyBatch, scoreCell } from '../../src/zeroshot/index.js';
import { cpuTestBackend, gpuBackend } from '../helpers/backend.js';
import { swapRecords, swapReference, swapTestMatrices } from '../helpers/swap-reference.js';

const live: Tensor[] = [];
afterAll(() => live.forEach((t) => t.dispose()));

async function backends(): Promise<[Backend, Backend] | null> {
  const [g, c] = [await gpuBackend(), cpuTestBackend()];
  return g && c ? [g, c] : null;
}

describe('SWAP on the GPU', () => {
  for (const n of [1, 7, 33, 64, 65]) {
    it(`patterns and count equal the CPU backend's and the reference at batch ${n}`, async ({ skip }) => {
      const bs = await backends();
      if (!bs) return skip();
      const mats = swapTestMatrices(n, [1, 3, 17, 64, 300], 20 + n);
      const [gp, cp] = await Promise.all(
        bs.map(async (be) => {
          const recs = swapRecords(be, mats, n);
          recs.forEach((r) => live.push(r.input));
          return (await swapPatternsMany(be, [recs], n))[0];
        }),
      );
      expect(Array.from(gp)).toEqual(Array.from(cp));
      const g = bs[0];
      const recs = swapRecords(g, mats, n);
      recs.forEach((r) => live.push(r.input));
      expect(await swapCountsMany(g, [recs], n)).toEqual([swapReference(mats, n)]);
    });
  }

  it('a stacked record counts as its own slice', async ({ skip }) => {
    const g = await gpuBackend();
    if (!g) return skip();
    const [n, G, d] = [33, 2, 24];
    const mats = swapTestMatrices(n, [d, d], 5);
    const stackedX = new Float32Array(n * G * d);
    mats.forEach(({ x }, k) => {
      for (let i = 0; i < n; i++) stackedX.set(x.subarray(i * d, (i + 1) * d), (i * G + k) * d);
    });
    const t = g.upload(stackedX, [n, G * d]);
    live.push(t);
    const stacked = mats.map((_, k) => [{ name: 's', block: 0, module: 0, input: t, stacked: { groups: G, index: k } }]);
    expect(await swapCountsMany(g, stacked, n)).toEqual(mats.map((m) => swapReference([m], n)));
  });

  it('whole NB201 networks: the same swap and reg_swap on both backends', async ({ skip }) => {
    const bs = await backends();
    if (!bs) return skip();
    const net = { channels: 4, cellsPerStage: 1, numClasses: 10 };
    const batch = proxyBatch(8, 1);
    for (const arch of [
      '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|',
      '|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|skip_connect~2|',
    ]) {
      const [gs, cs] = await Promise.all(
        bs.map(async (be) => (await scoreCell(be, parseArch(arch), ['swap', 'reg_swap'], batch, { net, seed: 2 })).scores),
      );
      // The same on lavapipe; a hardware GPU's other rounding may flip a sign within ~1e-7 of 0.
      const flips = bs[0].isSoftware ? 0 : 2;
      expect(Math.abs(gs.swap - cs.swap), `${arch}: ${gs.swap} vs ${cs.swap}`).toBeLessThanOrEqual(flips);
      if (flips === 0) expect(gs.reg_swap, arch).toBe(cs.reg_swap);
      expect(gs.swap).toBeGreaterThan(100);
    }
  });
});
