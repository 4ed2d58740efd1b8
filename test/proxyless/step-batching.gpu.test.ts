/**
 * The ProxylessNAS steps with their batched ops (sgdStepMany, relu6(batch norm) in one op each way,
 * gateDotMany, adamStepRows, readMany) against the same steps one item at a time
 * (test/helpers/per-item-backend.ts: what the steps ran before), on both backends, bit for bit:
 * weight steps' losses and accuracies, an architecture step's CE and new α, the gate gradients at
 * the updated weights, every parameter and momentum buffer. On the CPU the native fused batch norm
 * + ReLU6 (within f32 rounding of its composition) runs on both sides.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { batchSource } from '../../src/data/batch-stream.js';
import { sampleGates } from '../../src/kernels/binarize.js';
import { AlphaAdam, WeightSgd } from '../../src/nn/optim.js';
import { Tape } from '../../src/nn/tape.js';
import { initialAlpha } from '../../src/proxyless/search.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig } from '../../src/proxyless/search-config.js';
import { gradientArchStep, type SearchParts, weightStep } from '../../src/proxyless/search-steps.js';
import { ProxylessSupernet } from '../../src/proxyless/supernet.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';
import { TOY_LAYOUT } from '../helpers/cases.js';
import { gaussianImages } from '../helpers/images.js';
import { perItemBackend } from '../helpers/per-item-backend.js';

const backends = await bothBackends();

async function steps(be: Backend) {
  const cfg: ProxylessSearchConfig = {
    ...DEFAULT_SEARCH,
    layout: TOY_LAYOUT,
    costLoss: null,
    batchSize: 6,
    valBatchSize: 6,
    seed: 3,
  };
  const net = new ProxylessSupernet(be, TOY_LAYOUT, new Rng(4), { bnEps: cfg.bnEps });
  const sgd = new WeightSgd(be, net.params, { momentum: cfg.momentum, nesterov: cfg.nesterov, weightDecay: cfg.weightDecay });
  const adam = new AlphaAdam(be, net.choiceSizes, { ...cfg.arch, lr: 0.1 });
  const p: SearchParts = {
    backend: be,
    cfg,
    net,
    cost: null,
    sgd,
    adam,
    trainStream: batchSource(gaussianImages(24, 5, 8), 6, 1),
    valStream: batchSource(gaussianImages(12, 6, 8), 6, 2),
  };
  try {
    let alpha = initialAlpha(net.choiceSizes, 0.5, 3);
    const w0 = await weightStep(p, alpha, 0.05, 0);
    const w1 = await weightStep(p, alpha, 0.05, 1);
    const a = await gradientArchStep(p, alpha, 0);
    alpha = a.alpha;
    const w2 = await weightStep(p, alpha, 0.05, 2);
    // The gate gradients themselves (2 paths), at the weights three steps moved.
    const gates = alpha.map((r) => sampleGates(r, new Rng(8), 2));
    const t = new Tape(be, { paramGrads: 'none' });
    const x = be.upload(new Rng(9).normals(6 * 3 * 8 * 8), [6, 3, 8, 8]);
    const y = be.upload(Float32Array.from({ length: 6 }, (_, i) => i % 10));
    let gateGrads: Array<number[] | null>;
    try {
      const { logits, records } = net.forward(t, t.input(x), gates, { inactive: true });
      t.backward(t.crossEntropy(logits, y));
      gateGrads = await net.gateGradients(records);
    } finally {
      t.dispose();
      x.dispose();
      y.dispose();
    }
    const params = await be.readMany(net.params.map((q) => q.value));
    const momentum = await be.readMany([...sgd.buffers.values()]);
    return {
      weightSteps: [w0, w1, w2],
      arch: { ce: a.ce, objective: a.objective, alpha: a.alpha.map((r) => Array.from(r)) },
      gateGrads,
      adam: await adam.state(),
      params: params.map((v) => Array.from(v)),
      momentum: momentum.map((v) => Array.from(v)),
    };
  } finally {
    net.dispose();
    sgd.dispose();
    adam.dispose();
  }
}

describe('ProxylessNAS steps, batched and one item at a time', () => {
  for (const { name, backend } of backends) {
    it(`give the same bits (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const per = perItemBackend(backend, { composeBnRelu6: name === 'webgpu' });
      try {
        const [batched, oneByOne] = [await steps(backend), await steps(per.backend)];
        expect(batched).toEqual(oneByOne);
        // The steps did something: finite losses, some gate gradient, moved α.
        expect(batched.weightSteps.every((s) => Number.isFinite(s.loss))).toBe(true);
        expect(batched.gateGrads.flat().some((g) => g !== null && g !== 0)).toBe(true);
        expect(batched.adam.steps.some((s) => s > 0)).toBe(true);
      } finally {
        per.dispose();
      }
    });
  }
});
