/**
 * BN running statistics against a TypeScript reference of PyTorch's rule (momentum update, unbiased
 * batch variance, mean 0 / var 1 at the start) after training-mode forwards on both backends, and
 * eval mode normalising with them (not with the batch's statistics), at wgnas's eps 1e-5 and at
 * ProxylessNAS's 1e-3 (on data whose variance is ~1e-3, where the eps is half the normaliser).
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { BnRunningStats, foldBatch } from '../../src/nn/bn-running.js';
import { Param, Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';
import { expectClose } from '../helpers/gpu.js';

const backends = await bothBackends();

/** PyTorch: running = (1-m) running + m batch, variance unbiased (count / (count - 1)). */
function torchReference(
  batches: Float64Array[],
  shape: readonly number[],
  momentum: number,
): { mean: Float64Array; var: Float64Array } {
  const [N, C] = shape;
  const HW = shape.length === 4 ? shape[2] * shape[3] : 1;
  const M = N * HW;
  const mean = new Float64Array(C);
  const vr = new Float64Array(C).fill(1);
  for (const x of batches) {
    for (let c = 0; c < C; c++) {
      let s = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) s += x[(n * C + c) * HW + i];
      const m = s / M;
      let q = 0;
      for (let n = 0; n < N; n++) for (let i = 0; i < HW; i++) q += (x[(n * C + c) * HW + i] - m) ** 2;
      mean[c] = (1 - momentum) * mean[c] + momentum * m;
      vr[c] = (1 - momentum) * vr[c] + momentum * (q / (M - 1));
    }
  }
  return { mean, var: vr };
}

function affine(be: Backend, C: number, rng: Rng): { gamma: Param; beta: Param; g: Float32Array; b: Float32Array } {
  const g = Float32Array.from(rng.normals(C), (v) => 1 + 0.2 * v);
  const b = Float32Array.from(rng.normals(C));
  return {
    gamma: new Param(be.upload(g, [C]), 'blk.bn.gamma', 'bn_gamma'),
    beta: new Param(be.upload(b, [C]), 'blk.bn.beta', 'bn_beta'),
    g,
    b,
  };
}

describe('foldBatch', () => {
  it('is the PyTorch update from a batch mean and invStd (the biased variance recovered, then made unbiased)', () => {
    const s = { mean: new Float32Array([0, 1]), var: new Float32Array([1, 2]) };
    const eps = 1e-5;
    // Batch mean (3, -1), biased variance (4, 0.25) over 5 values per channel.
    foldBatch(s, [3, -1], [1 / Math.sqrt(4 + eps), 1 / Math.sqrt(0.25 + eps)], 5, 0.1, eps);
    expect(s.mean[0]).toBeCloseTo(0.3, 6);
    expect(s.mean[1]).toBeCloseTo(0.9 - 0.1, 6);
    expect(s.var[0]).toBeCloseTo(0.9 + 0.1 * 4 * 1.25, 5);
    expect(s.var[1]).toBeCloseTo(1.8 + 0.1 * 0.25 * 1.25, 5);
  });
});

describe.each(backends)('BN running statistics on $name', ({ backend }) => {
  it.skipIf(!backend).each([
    { eps: 1e-5, scale: 1 },
    { eps: 1e-3, scale: 0.02 },
  ])('train-mode forwards update them as PyTorch does; eval mode normalises with them (eps $eps)', async ({ eps, scale }) => {
    const be = backend!;
    const rng = new Rng(7);
    for (const shape of [
      [4, 3, 5, 3],
      [6, 5],
    ] as const) {
      const C = shape[1];
      const size = shape.reduce((a, b) => a * b, 1);
      const { gamma, beta, g, b } = affine(be, C, rng);
      const stats = new BnRunningStats(be, { momentum: 0.2 });
      const batches: Float64Array[] = [];
      for (let step = 0; step < 3; step++) {
        // Offset and scaled per step so the averages move.
        const x = Float64Array.from(rng.normals(size), (v) => scale * (2 + step + (1 + step) * v));
        batches.push(x);
        const t = new Tape(be, { bnBatchStats: true });
        const xt = be.upload(Float32Array.from(x), shape);
        t.batchNorm(t.input(xt), gamma, beta, 'tape-name', undefined, eps);
        expect(t.bnBatches.map((r) => [r.name, r.eps])).toEqual([['blk.bn', eps]]);
        await stats.update(t.bnBatches);
        t.dispose();
        xt.dispose();
      }
      const ref = torchReference(batches, shape, 0.2);
      const got = stats.get('blk.bn', C);
      expectClose(got.mean, ref.mean, { atol: 1e-5 * scale, rtol: 1e-5 });
      expectClose(got.var, ref.var, { atol: 1e-4 * scale * scale, rtol: 1e-4 });

      // Eval: a batch with other statistics is normalised with the running ones, at the BN's eps.
      const x = Float32Array.from(rng.normals(size), (v) => scale * (10 + 5 * v));
      const xt = be.upload(x, shape);
      const HW = size / (shape[0] * C);
      const evalAt = async (e: number) => {
        const t = new Tape(be, { noGrad: true, bnEval: stats });
        try {
          return await t.batchNorm(t.input(xt), gamma, beta, 'bn', undefined, e).value.read();
        } finally {
          t.dispose();
        }
      };
      const wantAt = (e: number) =>
        Float64Array.from(x, (v, i) => {
          const c = Math.floor(i / HW) % C;
          return ((v - ref.mean[c]) / Math.sqrt(ref.var[c] + e)) * g[c] + b[c];
        });
      expectClose(await evalAt(eps), wantAt(eps), { atol: 2e-4, rtol: 2e-4 });
      // The device copy is remade for another eps, not reused.
      expectClose(await evalAt(eps * 10), wantAt(eps * 10), { atol: 2e-4, rtol: 2e-4 });
      xt.dispose();
      stats.dispose();
      gamma.value.dispose();
      beta.value.dispose();
    }
  });

  it.skipIf(!backend)('round-trips through toTensors / load, and eval without statistics is refused', async () => {
    const be = backend!;
    const stats = new BnRunningStats(be);
    stats.get('a.bn', 2).mean.set([1, 2]);
    const copy = new BnRunningStats(be);
    copy.load(stats.toTensors());
    expect(Array.from(copy.get('a.bn', 2).mean)).toEqual([1, 2]);
    expect(Array.from(copy.get('a.bn', 2).var)).toEqual([1, 1]);
    expect(() => copy.statsFor('b.bn', 2, 1e-5)).toThrow(/no running statistics/);
    expect(() => copy.statsFor('a.bn', 3, 1e-5)).toThrow(/2 channels, the layer has 3/);
    expect(() => new Tape(be, { bnEval: copy })).toThrow(/noGrad/);
    copy.dispose();
    stats.dispose();
  });
});
