/**
 * Tape option paramGrads: skipping weight gradients must leave every activation gradient (what
 * WRCor, jacob_cov and the architecture steps read) bit-identical, and give no parameter a gradient
 * outside the chosen set.
 */
import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { ParamStore } from '../../src/nn/init.js';
import { Param, Tape, type TapeOptions } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('Tape paramGrads', () => {
  it("'none' and a set give the same activation gradients as 'all', and only the chosen parameter grads", async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const store = new ParamStore(onGpu(g), new Rng(3));
    const w1 = store.weight('w1', [4, 3, 3, 3]);
    const gamma = store.constant('g', 'bn_gamma', 4, 1.5);
    const beta = store.constant('b', 'bn_beta', 4, 0.1);
    const w2 = store.weight('w2', [4, 1, 3, 3]);
    const fc = store.weight('fc', [5, 4], 'linear');
    const fb = store.bias('fb', 5, 4);
    const phi = new Param(g.upload(Float32Array.from([0.2, -0.4]), [2]), 'phi', 'bias');
    const x = g.upload(new Rng(4).normals(2 * 3 * 7 * 7), [2, 3, 7, 7]);
    const labels = g.upload(Float32Array.from([1, 3]));

    const run = async (opts: TapeOptions, inputGrad: boolean) => {
      const t = new Tape(onGpu(g), { recordRelus: true, ...opts });
      try {
        const h = t.relu(
          t.batchNorm(t.conv(t.input(x, inputGrad), w1, { stride: 1, pad: 1 }), gamma, beta),
          { block: 0, module: 0 },
          'r1',
        );
        const a = t.relu(t.conv(h, w2, { stride: 1, pad: 1, groups: 4 }), { block: 1, module: 1 }, 'r2', true);
        const m = t.mixture([a, h], phi);
        const logits = t.linear(t.globalAvgPool(m), fc, fb);
        t.backward(t.crossEntropy(logits, labels));
        const reluGrads = await Promise.all(t.relus.map((r) => r.gradInput?.read() ?? null));
        const grads = new Map(store.params.concat(phi).map((p) => [p.name, p.grad !== null]));
        const phiGrad = phi.grad ? Array.from(await phi.grad.read()) : null;
        store.zeroGrad();
        phi.zeroGrad();
        return { reluGrads, grads, phiGrad };
      } finally {
        t.dispose();
      }
    };
    const all = await run({}, false);
    expect([...all.grads.values()].every(Boolean)).toBe(true);
    const none = await run({ paramGrads: 'none' }, true);
    const only = await run({ paramGrads: new Set([phi]) }, false);
    none.reluGrads.forEach((gr, i) => expect(Array.from(gr!)).toEqual(Array.from(all.reluGrads[i]!)));
    expect([...none.grads.values()].some(Boolean)).toBe(false);
    // Only φ: the backward stops at the mixture (nothing before it needs a gradient), φ's gradient is unchanged.
    expect([...only.grads.entries()].filter(([, v]) => v).map(([k]) => k)).toEqual(['phi']);
    expect(only.reluGrads.every((gr) => gr === null)).toBe(true);
    expect(only.phiGrad).toEqual(all.phiGrad);
    store.dispose();
    phi.value.dispose();
    x.dispose();
    labels.dispose();
  });
});
