/**
 * VKDNW: the softmax-covariance factor, the Fisher matrix and the decile entropy on hand-computed
 * cases, the QL eigen-solver against Jacobi, and the device pass against an independent reference
 * (each image alone through the tape's weight gradients, one backward per image and seed row) on
 * both backends.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { nb201Factory } from '../../src/nn/nb201-net.js';
import { Tape } from '../../src/nn/tape.js';
import { symmetricEigenvalues, symmetricEigenvaluesQl } from '../../src/proxies/linalg.js';
import { vkdnwPass } from '../../src/proxies/vkdnw.js';
import { decileEntropy, fisherFromRows, softmaxCovFactors, vkdnwScore } from '../../src/proxies/vkdnw-math.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';

describe('VKDNW math on hand-computed cases', () => {
  it('the factor L is lower-triangular with L L^T = diag(p) - p p^T of the smoothed softmax', () => {
    const rng = new Rng(2);
    for (const c of [2, 4, 10]) {
      const z = Array.from({ length: 2 * c }, () => 3 * rng.normal());
      const l = softmaxCovFactors(z, 2, c);
      for (let s = 0; s < 2; s++) {
        const zs = z.slice(s * c, (s + 1) * c);
        const e = zs.map((v) => Math.exp(v - Math.max(...zs)));
        const p = e.map((v) => (v / e.reduce((a, b) => a + b, 0)) * 0.95 + 0.05 / c);
        for (let i = 0; i < c; i++) {
          for (let j = 0; j < c; j++) {
            if (j > i) expect(l[s * c * c + i * c + j]).toBe(0);
            let v = 0;
            for (let k = 0; k < c; k++) v += l[s * c * c + i * c + k] * l[s * c * c + j * c + k];
            expect(v, `c=${c} [${i},${j}]`).toBeCloseTo((i === j ? p[i] : 0) - p[i] * p[j], 12);
          }
        }
      }
    }
    // Two classes, equal logits: p = (1/2, 1/2), Sigma = [[1/4, -1/4], [-1/4, 1/4]], L = [[1/2, 0], [-1/2, 0]].
    expect(Array.from(softmaxCovFactors([0, 0], 1, 2)).map((v) => +v.toFixed(12))).toEqual([0.5, 0, -0.5, 0]);
  });

  it('Fisher = G^T G / n; decile entropy: ln 9 for equal eigenvalues, 0 when one dominates', () => {
    expect(Array.from(fisherFromRows(Float64Array.from([1, 2, 3, 4]), 2, 2, 2))).toEqual([5, 7, 7, 10]);
    expect(decileEntropy(new Array(20).fill(3))).toBeCloseTo(Math.log(9), 8);
    expect(decileEntropy([0, 0, 0, 0, 0, 0, 0, 0, 0, 5])).toBeCloseTo(0, 6);
    // Eigenvalues 1..10: deciles 1.9, 2.8, ..., 9.1 (torch.quantile's linear interpolation).
    const q = Array.from({ length: 9 }, (_, k) => 1 + 0.9 * (k + 1));
    const t = q.map((v) => v / q.reduce((a, b) => a + b, 0));
    expect(decileEntropy([10, 9, 8, 7, 6, 5, 4, 3, 2, 1])).toBeCloseTo(-t.reduce((h, v) => h + v * Math.log(v), 0), 8);
    expect(vkdnwScore(100, 2.19)).toBeLessThan(vkdnwScore(101, 0));
  });

  it('QL eigenvalues match cyclic Jacobi', () => {
    const rng = new Rng(9);
    for (const n of [1, 2, 5, 33]) {
      const a = new Float64Array(n * n);
      for (let i = 0; i < n; i++) for (let j = 0; j <= i; j++) a[i * n + j] = a[j * n + i] = rng.normal();
      const x = symmetricEigenvalues(a, n);
      symmetricEigenvaluesQl(a, n).forEach((v, i) => expect(v).toBeCloseTo(x[i], 10));
    }
  });
});

/**
 * Reference: each image alone (batch 1), one backward per seed row. Conv and linear columns are the
 * first elements of the tape's weight gradients; eval-mode BN (the identity at init, so the tape's
 * bnIdentity drops its parameters) has dgamma_0 = sum g[0] x[0] and dbeta_0 = sum g[0], taken on the
 * host from the BN input and its gradient.
 */
async function referenceEigenvalues(
  be: Backend,
  arch: string,
  x: Float32Array,
  n: number,
  seed: number,
): Promise<{ dim: number; ev: Float64Array }> {
  const cfg = { channels: 3, cellsPerStage: 1, numClasses: 10 };
  const net = nb201Factory(be, parseArch(arch), cfg).build('kaiming', new Rng(seed));
  try {
    const per = 3 * 32 * 32;
    const rows: number[][] = [];
    for (let i = 0; i < n; i++) {
      const xi = be.upload(x.subarray(i * per, (i + 1) * per), [1, 3, 32, 32]);
      const probe = new Tape(be, { bnIdentity: true, noGrad: true });
      const l = softmaxCovFactors(await net.forward(probe, probe.input(xi)).logits.value.read(), 1, 10);
      probe.dispose();
      for (let r = 0; r < 10; r++) {
        const tape = new Tape(be, { bnIdentity: true, recordParamUses: true });
        const { logits } = net.forward(tape, tape.input(xi, true));
        const s = be.upload(
          Float32Array.from({ length: 10 }, (_, c) => l[r * 10 + c]),
          [1, 10],
        );
        tape.backward(logits, s);
        const row: number[] = [];
        for (const u of tape.paramUses) {
          if (u.kind === 'conv') row.push(u.weight.grad ? (await u.weight.grad.read())[0] : 0);
          else if (u.kind === 'linear') {
            row.push((await u.weight.grad!.read())[0]);
            if (u.bias) row.push((await u.bias.grad!.read())[0]);
          } else {
            const hw = u.input.shape[2] * u.input.shape[3];
            const g = u.input.grad ? await u.input.grad.read() : new Float32Array(hw);
            const xv = await u.input.value.read();
            let dg = 0;
            let db = 0;
            for (let k = 0; k < hw; k++) {
              dg += g[k] * xv[k];
              db += g[k];
            }
            if (u.gamma) row.push(dg);
            if (u.beta) row.push(db);
          }
        }
        rows[r * n + i] = row;
        tape.dispose();
        s.dispose();
        net.zeroGrad();
      }
      xi.dispose();
    }
    const p = rows[0].length;
    return { dim: p, ev: symmetricEigenvalues(fisherFromRows(Float64Array.from(rows.flat()), 10 * n, p, n), p) };
  } finally {
    net.dispose();
  }
}

describe('the VKDNW pass against per-image weight gradients, on both backends', async () => {
  const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';
  for (const { name, backend: be } of await bothBackends()) {
    it(`${name}: same eigenvalues and dimension`, async ({ skip }) => {
      if (!be) return skip();
      const n = 3;
      const rng = new Rng(5);
      const xData = rng.normals(n * 3 * 32 * 32);
      const factory = nb201Factory(be, parseArch(ARCH), { channels: 3, cellsPerStage: 1, numClasses: 10 });
      const net = factory.build('pytorch', new Rng(4));
      const x = be.upload(xData, [n, 3, 32, 32]);
      const y = be.upload(new Float32Array(n), [n]);
      try {
        const got = await vkdnwPass.run(
          { backend: be, factory, net, batch: { x: xData, y: new Float32Array(n), n }, x, y, seed: 4 },
          {},
        );
        const ref = await referenceEigenvalues(be, ARCH, xData, n, 4);
        expect(got.dim).toBe(ref.dim);
        expect(got.dim).toBe(net.params.length);
        expect(got.eigenvalues[got.eigenvalues.length - 1]).toBeGreaterThan(0);
        const top = ref.ev[ref.ev.length - 1];
        got.eigenvalues.forEach((v, i) =>
          expect(Math.abs(v - ref.ev[i]), `eigenvalue ${i}: ${v} vs ${ref.ev[i]}`).toBeLessThanOrEqual(1e-4 * top),
        );
      } finally {
        net.dispose();
        x.dispose();
        y.dispose();
      }
    }, 120_000);
  }
});
