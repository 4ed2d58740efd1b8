/**
 * The tape's fused pairs on both backends, bit for bit against their compositions:
 * - Tape.reluConv, the ReLU-Conv pair as one op (NAS-Bench-201's edges): outputs, every gradient
 *   (the input's, the weights', each ReLU record's) and the records themselves equal those of relu()
 *   then conv(), with weight gradients on and off, and with the input feeding two pairs (its
 *   gradient a sum). recordParamUses composes the pair (it needs the conv's input as a Var).
 * - Tape.batchNormRelu6 (the MBConv pair) against batchNorm then relu6 on a two-layer chain.
 * - softmaxCrossEntropy's label smoothing against the host's smoothedCrossEntropy (within rounding),
 *   and the label's gradient of rows the network is sure of (softmax within 2e-8 of 1).
 * - Tape.batchNorm with a residual (a node sum folded into the batch norm) against
 *   add(residual, batchNorm(x)): output and the gradients of x, gamma, beta and the residual, with
 *   the residual needing no gradient, and under bnIdentity.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { ParamStore } from '../../src/nn/init.js';
import { smoothedCrossEntropy } from '../../src/nn/loss.js';
import { Param, Tape, type TapeOptions, type Var } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';

const backends = await bothBackends();

async function run(be: Backend, fused: boolean, opts: TapeOptions) {
  const store = new ParamStore(be, new Rng(5));
  const w1 = store.weight('w1', [4, 3, 3, 3]);
  const w2 = store.weight('w2', [4, 3, 1, 1]);
  const x = be.upload(new Rng(6).normals(2 * 3 * 6 * 6), [2, 3, 6, 6]);
  const seed = be.upload(new Rng(7).normals(2 * 4 * 6 * 6), [2, 4, 6, 6]);
  const t = new Tape(be, { recordRelus: true, ...opts });
  try {
    const xin = t.input(x, true);
    const at = { block: 1, module: 4 };
    const pair = (v: Var, w: typeof w1, pad: number, name: string) =>
      fused ? t.reluConv(v, w, { stride: 1, pad }, at, name) : t.conv(t.relu(v, at, name), w, { stride: 1, pad });
    const y = t.add(pair(xin, w1, 1, 'e0.relu'), pair(xin, w2, 0, 'e1.relu'));
    t.backward(y, seed);
    const read = async (v: { read(): Promise<Float32Array> } | null | undefined) => (v ? Array.from(await v.read()) : null);
    return {
      y: await read(y.value),
      dx: await read(xin.grad),
      dw: [await read(w1.grad), await read(w2.grad)],
      relus: await Promise.all(
        t.relus.map(async (r) => ({
          name: r.name,
          block: r.block,
          module: r.module,
          input: await read(r.input),
          grad: await read(r.gradInput),
        })),
      ),
      paramUses: t.paramUses.length,
    };
  } finally {
    t.dispose();
    store.dispose();
    x.dispose();
    seed.dispose();
  }
}

describe('Tape.reluConv', () => {
  for (const { name, backend } of backends) {
    it(`equals relu then conv bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      for (const opts of [{}, { paramGrads: 'none' as const }]) {
        const [fused, composed] = [await run(backend, true, opts), await run(backend, false, opts)];
        expect(fused).toEqual(composed);
        expect(fused.relus.map((r) => r.name)).toEqual(['e0.relu', 'e1.relu']);
        expect(fused.relus.every((r) => r.grad !== null)).toBe(true);
        expect(fused.dw.every((g) => g !== null)).toBe(opts.paramGrads === undefined);
      }
      const uses = await run(backend, true, { recordParamUses: true });
      expect(uses).toEqual(await run(backend, false, { recordParamUses: true }));
      expect(uses.paramUses).toBe(2);
    });
  }
});

async function runBn(be: Backend, fused: boolean, opts: TapeOptions, residualGrad: boolean) {
  const rng = new Rng(11);
  const shape = [3, 4, 5, 5];
  const gamma = new Param(
    be.upload(
      rng.normals(4).map((v) => 1 + 0.2 * v),
      [4],
    ),
    'bn.gamma',
    'bn_gamma',
  );
  const beta = new Param(be.upload(rng.normals(4), [4]), 'bn.beta', 'bn_beta');
  const x = be.upload(rng.normals(300, 2), shape);
  const r = be.upload(rng.normals(300), shape);
  const seed = be.upload(rng.normals(300), shape);
  const t = new Tape(be, opts);
  try {
    const [xin, rin] = [t.input(x, true), t.input(r, residualGrad)];
    const y = fused ? t.batchNorm(xin, gamma, beta, 'bn', rin) : t.add(rin, t.batchNorm(xin, gamma, beta, 'bn'));
    t.backward(y, seed);
    const read = async (v: { read(): Promise<Float32Array> } | null | undefined) => (v ? Array.from(await v.read()) : null);
    return {
      y: await read(y.value),
      grads: await Promise.all([xin.grad, rin.grad, gamma.grad, beta.grad].map(read)),
    };
  } finally {
    t.dispose();
    for (const v of [gamma.value, beta.value, gamma.grad, beta.grad, x, r, seed]) v?.dispose();
  }
}

describe('Tape.batchNorm with a residual', () => {
  for (const { name, backend } of backends) {
    it(`equals add(residual, batchNorm(x)) bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      for (const [opts, residualGrad] of [
        [{}, true],
        [{}, false],
        [{ paramGrads: 'none' as const }, true],
        [{ bnIdentity: true }, true],
      ] as const) {
        const [fused, composed] = [
          await runBn(backend, true, opts, residualGrad),
          await runBn(backend, false, opts, residualGrad),
        ];
        expect(fused).toEqual(composed);
        expect(fused.grads.map((g) => g !== null)).toEqual([
          true,
          residualGrad,
          !opts.paramGrads && !opts.bnIdentity,
          !opts.paramGrads && !opts.bnIdentity,
        ]);
      }
    });
  }
});

/** conv -> relu6(batch norm) -> depthwise conv -> relu6(batch norm) -> seed: output and every gradient. */
async function runBnRelu6(be: Backend, fused: boolean, shape: number[]) {
  const store = new ParamStore(be, new Rng(13));
  const C = 5;
  const w1 = store.weight('w1', [C, shape[1], 1, 1]);
  const w2 = store.weight('w2', [C, 1, 3, 3]);
  const rng = new Rng(17);
  const bn = (k: number) => [
    new Param(
      be.upload(
        rng.normals(C).map((v) => 3 + v),
        [C],
      ),
      `bn${k}.gamma`,
      'bn_gamma',
    ),
    new Param(
      be.upload(
        rng.normals(C).map((v) => 2 + v),
        [C],
      ),
      `bn${k}.beta`,
      'bn_beta',
    ),
  ];
  const [[g1, b1], [g2, b2]] = [bn(1), bn(2)];
  const x = be.upload(
    rng.normals(
      shape.reduce((a, b) => a * b, 1),
      2,
    ),
    shape,
  );
  const seed = be.upload(rng.normals(shape[0] * C * shape[2] * shape[3]), [shape[0], C, shape[2], shape[3]]);
  // recordRelus makes the tape compose the pair (it records the ReLU6's input); the values do not depend on it.
  const t = new Tape(be, { recordRelus: !fused });
  try {
    const xin = t.input(x, true);
    const h = t.batchNormRelu6(t.conv(xin, w1, { stride: 1, pad: 0 }), g1, b1, { block: 0, module: 0 }, 'bn1', 'r1', 1e-3);
    const y = t.batchNormRelu6(
      t.conv(h, w2, { stride: 1, pad: 1, groups: C }),
      g2,
      b2,
      { block: 0, module: 0 },
      'bn2',
      'r2',
      1e-3,
    );
    t.backward(y, seed);
    const read = async (v: { read(): Promise<Float32Array> } | null | undefined) => (v ? Array.from(await v.read()) : null);
    return {
      y: await read(y.value),
      grads: await Promise.all([xin.grad, w1.grad, w2.grad, g1.grad, b1.grad, g2.grad, b2.grad].map(read)),
    };
  } finally {
    t.dispose();
    store.dispose();
    for (const p of [g1, b1, g2, b2]) {
      p.value.dispose();
      p.zeroGrad();
    }
    x.dispose();
    seed.dispose();
  }
}

describe('Tape.batchNormRelu6', () => {
  for (const { name, backend } of backends) {
    // The GPU's fused kernels are bit for bit the composition; the CPU's native ones within f32 rounding.
    it(`equals relu6(batchNorm(x)) (${name}${name === 'webgpu' ? ', bit for bit' : ''})`, async ({ skip }) => {
      if (!backend) return skip();
      for (const shape of [
        [2, 3, 6, 5],
        [1, 4, 1, 1],
        [3, 2, 9, 9],
      ]) {
        const [fused, composed] = [await runBnRelu6(backend, true, shape), await runBnRelu6(backend, false, shape)];
        expect(fused.grads.every((g) => g !== null)).toBe(true);
        if (name === 'webgpu') {
          expect(fused).toEqual(composed);
          continue;
        }
        const flat = (r: typeof fused) => [r.y!, ...r.grads.map((g) => g!)].flat();
        const [a, b] = [flat(fused), flat(composed)];
        a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThanOrEqual(1e-4 * (1 + Math.abs(b[i]))));
      }
    });
  }
});

describe('label-smoothed cross-entropy on the device', () => {
  // The weight step's loss moved from the host (smoothedCrossEntropy, f64, one read mid-step) to
  // softmaxCrossEntropy's smoothing: the same loss and seed gradient within f32 rounding.
  for (const { name, backend } of backends) {
    it(`equals the host's smoothedCrossEntropy (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const [N, K] = [7, 10];
      const lg = new Rng(31).normals(N * K, 3);
      const y = Float32Array.from({ length: N }, (_, i) => (3 * i + 1) % K);
      const host = smoothedCrossEntropy(lg, y, K, 0.1);
      const [tl, ty] = [backend.upload(lg, [N, K]), backend.upload(y, [N])];
      const r = backend.ops.softmaxCrossEntropy(tl, ty, 0.1);
      const [loss, d] = await backend.readMany([r.loss, r.dlogits]);
      expect(Math.abs(loss[0] - host.loss)).toBeLessThan(1e-6 * host.loss);
      d.forEach((v, i) => expect(Math.abs(v - host.dlogits[i])).toBeLessThan(2e-8));
      for (const t of [tl, ty, r.loss, r.dlogits]) t.dispose();
    });

    it(`keeps the label's gradient of rows it is sure of (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      // The label's logit 8 to 20 above the rest: softmax 1 - 3e-3 .. 1 - 2e-8, where sm - 1 in f32
      // keeps few bits or none (the host's f64 keeps them all; `wgnas train` trains to such rows).
      const [N, K] = [4, 10];
      const lg = new Rng(32).normals(N * K, 1);
      const y = Float32Array.from([2, 7, 0, 9]);
      [8, 12, 16, 20].forEach((lead, n) => (lg[n * K + y[n]] += lead));
      const host = smoothedCrossEntropy(lg, y, K, 0);
      const [tl, ty] = [backend.upload(lg, [N, K]), backend.upload(y, [N])];
      const r = backend.ops.softmaxCrossEntropy(tl, ty, 0);
      const d = await r.dlogits.read();
      d.forEach((v, i) => expect(Math.abs(v - host.dlogits[i]), `dlogits[${i}]`).toBeLessThan(1e-5 * Math.abs(host.dlogits[i])));
      for (const t of [tl, ty, r.loss, r.dlogits]) t.dispose();
    });
  }
});
