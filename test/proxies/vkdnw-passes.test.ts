/**
 * VKDNW with C - 1 one-hot backward passes and firstElementGrad: L J formed on the host equals the
 * L-seeded rows it replaces (the factor's last column is zero), and on the CPU backend the scores of
 * NB201 cells at batch 64 equal those of the previous implementation (C L-seeded passes, one-hot conv
 * extraction): bench/results/ranking/2026-12-04/eval-vkdnw-scores.csv on the shared subset, and its
 * scores on the committed fixture for a clone without ../shared.
 */
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../../src/data/cifar10.js';
import { factorRows } from '../../src/proxies/vkdnw.js';
import { softmaxCovFactors } from '../../src/proxies/vkdnw-math.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { proxyBatch, scoreCell } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';

describe('VKDNW: L J from C - 1 Jacobian rows', () => {
  it('equals sum over all C classes of L[r, c] J[c] (L[:, C - 1] = 0)', () => {
    const rng = new Rng(11);
    for (const [n, c, p] of [
      [1, 2, 1],
      [3, 10, 7],
      [5, 4, 13],
    ]) {
      const factors = softmaxCovFactors(rng.normals(n * c, 3), n, c);
      for (let i = 0; i < n; i++) for (let r = 0; r < c; r++) expect(factors[i * c * c + r * c + c - 1]).toBe(0);
      const jac = Array.from({ length: c }, () => rng.normals(n * p));
      const want = new Float64Array(c * n * p);
      for (let r = 0; r < c; r++)
        for (let i = 0; i < n; i++)
          for (let j = 0; j < p; j++)
            for (let k = 0; k < c; k++) want[(r * n + i) * p + j] += factors[i * c * c + r * c + k] * jac[k][i * p + j];
      const got = factorRows(factors, jac.slice(0, c - 1), n, c, p);
      got.forEach((v, k) => expect(v).toBeCloseTo(want[k], 12));
    }
  });
});

describe('VKDNW scores unchanged against the previous implementation (CPU backend, batch 64, seed 0)', () => {
  // vkdnw = parameter tensors + entropy / 10, by the previous implementation (C L-seeded passes,
  // commit 22ffb0f) on the batch that proxyBatch(64, 0) draws from the training file found: the
  // 5000-image subset of ../shared/data (eval-vkdnw-scores.csv, commit a47386a), or the committed
  // 1000-image fixture of a clone without it (test/fixtures/cifar10-mini: its first 1000 records).
  const STORED: Record<number, Array<[string, number]>> = {
    5000: [
      ['|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|', 111.03912295366018],
      ['|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|', 66.06148114984734],
      ['|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|', 66.09442424099409],
    ],
    1000: [
      ['|skip_connect~0|+|none~0|none~1|+|nor_conv_1x1~0|nor_conv_1x1~1|none~2|', 111.04117539382679],
      ['|avg_pool_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_3x3~1|skip_connect~2|', 66.05620335362602],
      ['|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|', 66.09857965680548],
    ],
  };
  const images = loadCifar10('train').count;
  const rows = STORED[images];
  it('has the previous scores for the training file found', () => {
    expect(rows, `no stored VKDNW rows for a ${images}-image cifar10/train_5000.bin`).toBeDefined();
  });
  const be = cpuTestBackend();
  const batch = proxyBatch(64, 0);
  for (const [arch, vkdnw] of rows ?? []) {
    it(
      arch,
      async ({ skip }) => {
        if (!be) return skip();
        const { scores } = await scoreCell(be, parseArch(arch), ['vkdnw'], batch);
        expect(Math.floor(scores.vkdnw)).toBe(Math.floor(vkdnw));
        // The entropy in f32 device sums: agreement to ~1e-8 seen, 1e-6 asked.
        expect(Math.abs(scores.vkdnw_entropy - (vkdnw - Math.floor(vkdnw)) * 10)).toBeLessThan(1e-6);
      },
      120_000,
    );
  }
});
