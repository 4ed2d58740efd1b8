/**
 * The ops WRCor, ProxylessNAS and AutoSpace run, on both backends against the descriptors'
 * TypeScript references, on the shapes test/helpers/op-cases.ts leaves out: every
 * depthwise kernel / stride pair of an MBConv (3, 5, 7 x 1, 2; each a separately specialised WGSL
 * pipeline) on odd planes and on planes smaller than the kernel, batch 1, prime channel counts, one
 * value per BN channel, class counts past the CPU backend's threading grain, candidate counts past
 * the fitness kernels' workgroup, and sizes past kSerialElems (native/compute/parallel.hpp), where
 * the native loops split over threads. Kept small: lavapipe compiles each pipeline in seconds.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { OPS } from '../../src/kernels/ops.js';
import type { BatchedAccumulateOptions, Conv2dParams, Pool2dParams } from '../../src/kernels/params.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';
import { expectClose } from '../helpers/gpu.js';
import { type Arr, type Case, CONV_OPS, convCases, convOutShape, F, numel, paritySuite, withTensors } from '../helpers/parity.js';
import * as opCase from '../helpers/parity-cases.js';

const rng = new Rng(4242);
const rnd = (n: number, scale = 1) => rng.normals(n, scale);
/** Past native/compute/parallel.hpp's kSerialElems (2^15) twice: two chunks on the test's 2 threads. */
const THREADED = 2 * 32768 + 7;

const CASES: Array<{ op: string; c: Case }> = [];
const add = (op: string, c: Case) => CASES.push({ op, c });

// ---- convolutions of an MBConv (ProxylessNAS) and a ReLU-Conv-BN (WRCor) ---------------------------------
const convShapes: Array<{ x: number[]; cout: number; k: number; p: Conv2dParams; why: string }> = [];
for (const k of [3, 5, 7]) {
  for (const stride of [1, 2]) {
    const p = { stride, pad: k >> 1 };
    // Odd planes, a prime channel count; then batch 1 on a plane barely larger than the kernel.
    convShapes.push({ x: [3, 5, 9, 7], cout: 5, k, p: { ...p, groups: 5 }, why: 'depthwise' });
    convShapes.push({ x: [1, 2, k + 1, k], cout: 2, k, p: { ...p, groups: 2 }, why: 'depthwise, batch 1' });
  }
}
convShapes.push(
  // The kernel larger than the plane (native/compute/depthwise_small.cpp), more than 16 images (its lanes).
  { x: [17, 3, 2, 3], cout: 3, k: 5, p: { stride: 1, pad: 2, groups: 3 }, why: 'depthwise, plane < kernel' },
  { x: [2, 4, 3, 3], cout: 4, k: 7, p: { stride: 2, pad: 3, groups: 4 }, why: 'depthwise, plane < kernel' },
  { x: [1, 7, 1, 1], cout: 7, k: 3, p: { stride: 2, pad: 1, groups: 7 }, why: 'depthwise, 1x1 plane' },
  // 1x1 expand / project at batch 1 (the CPU's plain-GEMM path), odd channel counts.
  { x: [1, 13, 3, 5], cout: 7, k: 1, p: { stride: 1, pad: 0 }, why: 'pointwise' },
  { x: [2, 24, 7, 7], cout: 40, k: 1, p: { stride: 1, pad: 0 }, why: 'pointwise' },
  { x: [1, 40, 1, 1], cout: 11, k: 1, p: { stride: 1, pad: 0 }, why: 'pointwise, 1x1 plane' },
  // The stem, stride 2 on an odd plane; NB201's 3x3 at batch 1 with 1x1 planes.
  { x: [2, 3, 9, 9], cout: 8, k: 3, p: { stride: 2, pad: 1 }, why: 'stem' },
  { x: [1, 5, 1, 1], cout: 3, k: 3, p: { stride: 1, pad: 1 }, why: '3x3 on 1x1' },
  // Even kernels, a 1x1 depthwise, strides past the kernel (input rows no window reaches: dx 0 there).
  { x: [2, 3, 7, 8], cout: 4, k: 2, p: { stride: 1, pad: 1 }, why: 'even kernel' },
  { x: [2, 3, 7, 8], cout: 3, k: 4, p: { stride: 2, pad: 1, groups: 3 }, why: 'depthwise, even kernel' },
  { x: [2, 3, 7, 8], cout: 3, k: 1, p: { stride: 2, pad: 0, groups: 3 }, why: 'depthwise 1x1, stride 2' },
  { x: [2, 3, 7, 8], cout: 2, k: 3, p: { stride: 3, pad: 0 }, why: 'stride 3, rows unreached' },
  { x: [2, 3, 7, 8], cout: 3, k: 3, p: { stride: 2, pad: 0, groups: 3 }, why: 'depthwise, last row unreached' },
  // Dense 3x3 stride 1 with >= 32 channels and batch >= 16: the CPU's Winograd-eligible shape.
  { x: [16, 32, 4, 4], cout: 32, k: 3, p: { stride: 1, pad: 1 }, why: 'Winograd-eligible' },
);
for (const { x: xs, cout, k, p, why } of convShapes) {
  const ws = [cout, xs[1] / (p.groups ?? 1), k, k];
  const x = rnd(numel(xs));
  const w = rnd(numel(ws), 0.3);
  const [, , OH, OW] = convOutShape(xs, ws, p);
  const dy = rnd(xs[0] * cout * OH * OW);
  const label = `${why}: x[${xs}] w[${ws}] s${p.stride} p${p.pad}`;
  const fan = Math.max(ws[1] * k * k, xs[0] * OH * OW);
  const tol = { atol: 2e-5 * Math.sqrt(fan) + 1e-5, rtol: 1e-4 };
  const ops = ['conv2d', 'conv2dBackwardInput', 'conv2dBackwardWeight'] as const;
  for (const [op, c] of convCases(ops, { label, tol, x, xs, w, ws, dy, p })) add(op, c);
}

// ---- empty where legal: no images, no input or no output channels (a sum over nothing is 0) ---------------------
for (const [xs, ws, groups] of [
  [[0, 3, 4, 4], [2, 3, 3, 3], 1],
  [[1, 0, 4, 4], [2, 0, 3, 3], 1],
  [[2, 3, 4, 5], [0, 3, 3, 3], 1],
  [[1, 0, 4, 4], [2, 0, 3, 3], 2],
] as Array<[number[], number[], number]>) {
  const p = { stride: 1, pad: 1, groups };
  const x = rnd(numel(xs));
  const w = rnd(numel(ws));
  const yShape = [xs[0], ws[0], xs[2], xs[3]];
  const dy = rnd(numel(yShape));
  const label = `empty: x[${xs}] w[${ws}] g${groups}`;
  for (const [op, c] of convCases(CONV_OPS, { label, x, xs, w, ws, dy, p })) add(op, c);
}

// ---- batch norm: one value per channel (variance 0), batch 1, the CPU's channel split ---------------------
for (const shape of [
  [1, 3, 1, 1],
  [1, 7, 2, 3],
  [3, 5],
  [2, 9, 61, 63],
]) {
  const C = shape[1];
  const x = rnd(numel(shape), 2).map((v) => v - 3);
  const gamma = rnd(C).map((v) => 1 + 0.3 * v);
  const beta = rnd(C);
  const dy = rnd(numel(shape));
  const res = rnd(numel(shape));
  const f = OPS.batchNormForward.reference(x, shape, gamma, beta);
  const tol = { atol: 2e-4, rtol: 2e-4 };
  const label = `[${shape}]`;
  const xgb = (): Array<[Arr, readonly number[]]> => [
    [x, shape],
    [gamma, [C]],
    [beta, [C]],
  ];
  const backwardTol = { atol: 1e-3, rtol: 1e-3 };
  for (const [op, c] of opCase.batchNorm({ label, x, shape, gamma, beta, dy, res, tol, backwardTol })) add(op, c);
  add('batchNormEval', {
    label,
    tol,
    run: (be) =>
      withTensors(be, [...xgb(), [f.mean, [C]], [f.invStd, [C]]], ([tx, tg, tb, tm, ti]) =>
        be.ops.batchNormEval(tx, tm, ti, tg, tb),
      ),
    ref: () => [OPS.batchNormEval.reference(x, shape, f.mean, f.invStd, gamma, beta)],
  });
}

// ---- activations past the threading grain -----------------------------------------------------------------
{
  const x = F(rnd(THREADED, 4));
  x[0] = 0;
  x[1] = 6;
  x[THREADED - 1] = 6;
  const dy = rnd(THREADED);
  for (const [op, c] of opCase.activations(`n${THREADED}`, x, dy, [THREADED], { atol: 0, rtol: 0 })) add(op, c);
}

// ---- pooling: NB201's 3x3 (stride 1, exclude pad) on 1x1 and 2x2 planes and past the CPU's plane grain ------
for (const [xs, p] of [
  [[1, 1, 1, 1], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }],
  [[2, 3, 2, 2], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }],
  [[1, 2, 7, 5], { kernel: 3, stride: 2, pad: 1, countIncludePad: false }],
  [[2, 3, 7, 8], { kernel: 2, stride: 3, pad: 1, countIncludePad: false }],
  [[2, 3, 7, 8], { kernel: 4, stride: 2, pad: 2, countIncludePad: true }],
  [[1, 3, 2, 2], { kernel: 5, stride: 1, pad: 2, countIncludePad: false }],
  [[8, 131, 9, 7], { kernel: 3, stride: 1, pad: 1, countIncludePad: false }],
  [[8, 131, 9, 7], { kernel: 3, stride: 2, pad: 1, countIncludePad: true }],
] as Array<[number[], Pool2dParams]>) {
  const x = rnd(numel(xs));
  const dy = rnd(numel(opCase.poolOutShape(xs, p)));
  for (const [op, c] of opCase.avgPool(x, xs, dy, p)) add(op, c);
}
for (const xs of [
  [1, 1, 1, 1],
  [1, 1280, 1, 1],
  [3, 7, 13, 11],
  [2, 3, 181, 181],
]) {
  const x = rnd(numel(xs));
  const dy = rnd(xs[0] * xs[1]);
  for (const [op, c] of opCase.globalAvgPool(x, xs, dy, { atol: 1e-5, rtol: 1e-4 })) add(op, c);
}

// ---- the classifier head: batch 1, a prime input width, ImageNet's 1000 classes -------------------------------
for (const [N, In, Out] of [
  [1, 37, 1000],
  [3, 1, 1],
  [9, 97, 10],
]) {
  const x = rnd(N * In);
  const w = rnd(Out * In, 0.2);
  const b = rnd(Out);
  const dy = rnd(N * Out);
  const label = `N${N} In${In} Out${Out}`;
  for (const [op, c] of opCase.linear(label, [N, In, Out], { x, w, b, dy }, { atol: 1e-4, rtol: 1e-4 })) add(op, c);
}
// K 1000: the CPU's rows-per-chunk grain (kSerialElems / 8 / K) is 4, so 9 rows split over threads.
for (const [N, K] of [
  [9, 1000],
  [1, 1],
  [33, 10],
]) {
  const logits = rnd(N * K, 3);
  const labels = Float32Array.from({ length: N }, (_, i) => (i * 7 + 3) % K);
  add('softmaxCrossEntropy', opCase.softmaxCrossEntropy(N, K, logits, labels, { atol: 1e-5, rtol: 1e-4 }));
}

// ---- WRCor: correlation of an odd batch over wide features, the batched |C| accumulation past the grain ---------
for (const [B, N, D] of [
  [2, 33, 1100],
  [1, 2, 3],
]) {
  const x = F(rnd(B * N * D));
  const shape = [B, N, D];
  const ref = OPS.correlation.reference(x, B, N, D);
  const tol = { atol: 1e-4, rtol: 1e-4 };
  add('correlation', {
    label: `[${shape}]`,
    tol,
    run: (be) => withTensors(be, [[x, shape]], ([t]) => be.ops.correlation(t)),
    ref: () => [ref],
  });
  add('correlationOffDiagInPlace', opCase.correlationOffDiag(x, [B, N, D], ref, tol));
}
for (const o of [
  // 5 slots of 64 x 64: 20480 entries, past the CPU's grain (kSerialElems / 4) twice.
  { n: 64, slots: 5, outs: 2, layerSlots: [0, 1, 1, 2, 3, 4, 4], weights: [1, 2, 3, 4, 5, 6, 7], abs: true, unitDiagonal: true },
  { n: 1, slots: 2, outs: 1, layerSlots: [1, 1], weights: [0.5, -2], abs: false },
] as BatchedAccumulateOptions[]) {
  const L = o.layerSlots.length;
  const nn = o.n * o.n;
  const size = o.slots * (o.outs ?? 1) * nn;
  const src = rnd(L * nn);
  const dst = rnd(size);
  add('accumulateAbsBatched', opCase.accumulateAbsBatched(`n${o.n} slots ${o.slots} outs ${o.outs}`, dst, src, o));
}
{
  // WRCor's: a second weight per layer (up to 2^17) and skipConstant; every diagonal ~1 (Gram
  // products of unit rows) but a 0 in layers 1 and 4 (a constant row), which add nothing.
  const o: BatchedAccumulateOptions = {
    ...{ n: 64, slots: 5, outs: 3, layerSlots: [0, 1, 1, 2, 3, 4, 4], weights: [1, 2, 4, 1, 2, 4, 1] },
    ...{ weights2: [1, 2 ** 17, 2 ** 5, 8, 2 ** 16, 1, 2], abs: true, unitDiagonal: true, skipConstant: true },
  };
  const nn = o.n * o.n;
  const src = rnd(7 * nn);
  for (let l = 0; l < 7; l++) for (let k = 0; k < o.n; k++) src[l * nn + k * (o.n + 1)] = 1 - 1e-7 * k;
  src[nn + 5 * (o.n + 1)] = 0;
  src[4 * nn + 63 * (o.n + 1)] = 0;
  add('accumulateAbsBatched', opCase.accumulateAbsBatched('n64 outs 3, layers 1 and 4 skipped', rnd(5 * 3 * nn), src, o));
}
{
  const x = F(rnd(THREADED));
  x[5] = 0;
  add('signCodes', {
    label: `n${THREADED} with a zero`,
    tol: { atol: 0, rtol: 0 },
    run: (be) => withTensors(be, [[x, [THREADED]]], ([t]) => be.ops.signCodes(t)),
    ref: () => [OPS.signCodes.reference(x)],
  });
  const src = rnd(THREADED);
  add('accumulateAbs', {
    label: `n${THREADED}`,
    run: (be) =>
      withTensors(
        be,
        [
          [x, [THREADED]],
          [src, [THREADED]],
        ],
        ([d, s]) => (be.ops.accumulateAbs(d, s, 0.25), [d]),
      ),
    ref: () => {
      const d = F(x);
      OPS.accumulateAbs.reference(d, src, 0.25);
      return [d];
    },
  });
}

// ---- VKDNW's per-sample gradient over a plane past the CPU's sample grain --------------------------------------
for (const [N, Cin, H, W, Cout, stride, pad] of [
  [2, 1, 129, 129, 2, 1, 0],
  [1, 3, 5, 4, 1, 2, 1],
]) {
  const OH = Math.floor((H + 2 * pad - 3) / stride) + 1;
  const OW = Math.floor((W + 2 * pad - 3) / stride) + 1;
  const x = rnd(N * Cin * H * W);
  const dy = rnd(N * Cout * OH * OW);
  const p = { stride, pad };
  add('firstElementGrad', {
    label: `x[${N},${Cin},${H},${W}] dy[${N},${Cout},${OH},${OW}] s${stride} p${pad}`,
    tol: { atol: 1e-4, rtol: 1e-4 },
    run: (be) =>
      withTensors(
        be,
        [
          [x, [N, Cin, H, W]],
          [dy, [N, Cout, OH, OW]],
          [new Float32Array(N), [N]],
        ],
        ([tx, td, out]) => (be.ops.firstElementGrad(tx, td, p, out, 0), [out]),
      ),
    ref: () => [OPS.firstElementGrad.reference(x, dy, { N, Cin, H, W, Cout, OH, OW }, p)],
  });
}

// ---- ProxylessNAS: gates and optimiser steps past the grain, and on one element -------------------------------
for (const n of [1, THREADED]) {
  const a = rnd(n);
  const b = rnd(n);
  add('gateDot', opCase.gateDot(`n${n}`, a, b, { slots: 2, at: 1, scale: 2, tol: { atol: 1e-3, rtol: 1e-4 } }));
  const w = rnd(n);
  const g = rnd(n);
  const buf = rnd(n, 0.1);
  const m = rnd(n, 0.1);
  const v = rnd(n, 0.1).map((z) => z * z);
  const sgd = { lr: 0.1, momentum: 0.9, dampening: 0.1, weightDecay: 1e-4 };
  add('sgdStep', opCase.sgdStep(`n${n}, momentum with dampening`, w, g, buf, sgd));
  const adam = { lr: 0.006, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, step: 1 };
  add('adamStep', opCase.adamStep(`n${n}, step 1`, w, g, m, v, adam, { atol: 1e-5, rtol: 1e-4 }));
}

// ---- AutoSpace: one candidate, candidates past the fitness kernels' 64-wide workgroup, mixing past the grain ----
for (const [K, n] of [
  [1, 5],
  [100, 3],
  [2, THREADED],
]) {
  const logits = rnd(K, 2);
  const probs = OPS.fitnessSoftmax.reference(logits);
  const outs = Array.from({ length: K }, () => rnd(n));
  const dy = rnd(n);
  const gDots = rnd(K);
  const label = `K${K} n${n}`;
  add('fitnessSoftmax', opCase.fitnessSoftmax(label, logits, { atol: 1e-6, rtol: 1e-4 }));
  add('fitnessGrad', opCase.fitnessGrad(label, probs, gDots, { atol: 1e-6, rtol: 1e-4 }));
  add('mixForward', opCase.mixForward(label, outs, probs));
  const k = K - 1;
  add('mixBackward', {
    label: `${label}, candidate ${k}`,
    tol: { atol: 1e-3, rtol: 1e-4 },
    run: (be) =>
      withTensors(
        be,
        [
          [outs[k], [n]],
          [dy, [n]],
          [probs, [K]],
          [new Float32Array(n), [n]],
          [new Float32Array(K), [K]],
        ],
        ([o, d, p, dOut, g]) => (be.ops.mixBackward(o, d, p, k, dOut, g), [dOut, g]),
      ),
    ref: () => {
      const r = OPS.mixBackward.reference(outs[k], dy, probs, k);
      const g = new Float32Array(K);
      g[k] = r.gDot;
      return [r.dOut, g];
    },
  });
}

// ---- the suite ------------------------------------------------------------------------------------------------

const backends = await bothBackends();

paritySuite(backends, CASES);

describe('Backend.copy within one storage', () => {
  it('is refused with one message on both backends (WebGPU copies between two buffers only; it dropped the copy)', ({ skip }) => {
    const [gpu, cpu] = backends.map((b) => b.backend);
    if (!gpu || !cpu) return skip();
    const messages = [gpu, cpu].map((be) => {
      const t = be.upload([1, 2, 3, 4]);
      try {
        be.copy(t, be.window(t, [2]), 2, 2, 0);
        return 'no error';
      } catch (e) {
        return (e as Error).message;
      } finally {
        t.dispose();
      }
    });
    expect(messages[0]).toBe('copy: dst must not share its buffer with src');
    expect(messages[1]).toBe(messages[0]);
  });
});

describe('in-place ops given one storage twice', () => {
  it('are refused before any work, with one message on both backends (the checks of src/kernels/params)', ({ skip }) => {
    const [gpu, cpu] = backends.map((b) => b.backend);
    if (!gpu || !cpu) return skip();
    const cases: Array<[string, (be: Backend, t: Tensor, u: Tensor) => unknown]> = [
      ['sgdStep: w must not share its buffer with buf', (be, t, u) => be.ops.sgdStep(t, u, be.window(t, [4]), { lr: 1 })],
      ['sgdStep: buf must not share its buffer with grad', (be, t, u) => be.ops.sgdStep(u, t, be.window(t, [4]), { lr: 1 })],
      [
        'adamStep: m must not share its buffer with v',
        (be, t, u) => {
          const g = be.zeros([4]);
          try {
            be.ops.adamStep(u, g, t, be.window(t, [4]), { lr: 1, step: 1 });
          } finally {
            g.dispose();
          }
        },
      ],
      [
        'matmul: out must not share its buffer with B',
        (be, t, u) => be.ops.matmul(be.window(u, [2, 2]), be.window(t, [2, 2]), { out: t }),
      ],
      ['dotPartials: partials must not share its buffer with a', (be, t, u) => be.ops.dotPartials(t, u, be.window(t, [1]))],
    ];
    for (const [want, run] of cases) {
      const messages = [gpu, cpu].map((be) => {
        const t = be.upload([1, 2, 3, 4]);
        const u = be.upload([5, 6, 7, 8]);
        try {
          run(be, t, u);
          return 'no error';
        } catch (e) {
          return (e as Error).message;
        } finally {
          t.dispose();
          u.dispose();
        }
      });
      expect(messages).toEqual([want, want]);
    }
  });
});

describe('NaN through the ReLUs (a diverged value stays visible, as in the references and PyTorch)', () => {
  /** Element-wise: NaN where the reference has NaN, else within tolerance. */
  const expectSameNaN = (got: Arr, want: Arr, label: string) => {
    const nanGot = Array.from(got, Number.isNaN);
    expect(nanGot, `${label}: NaN positions`).toEqual(Array.from(want, Number.isNaN));
    const keep = (a: Arr) => Array.from(a).filter((v) => !Number.isNaN(v));
    expectClose(keep(got), keep(want), { atol: 1e-4, rtol: 1e-4, label });
  };
  const x = F([NaN, -1, 2, 7, -Infinity, 0.5, 3, -2, NaN, 1, 6.5, -0.25]);
  const xs = [1, 3, 2, 2];
  const ws = [2, 3, 1, 1];
  const w = F([0.5, -1, 2, 1, 0.25, -0.5]);
  const p = { stride: 1, pad: 0 };
  const dy = F(rnd(8));
  // broadcast: conv2d_relu.wgsl's and conv2d_bwd_weight_relu.wgsl's ldX (the legacy core's too); tiled: the programs.
  const cores = [{ algo: 'broadcast' }, { algo: 'tiled' }] as const;
  describe.each(backends)('$name backend', ({ name, backend }) => {
    it('relu and relu6 forward', async ({ skip }) => {
      if (!backend) return skip();
      for (const op of ['relu', 'relu6'] as const) {
        const [got] = await withTensors(backend, [[x, [x.length]]], ([t]) => backend.ops[op](t));
        expectSameNaN(got, OPS[op].reference(x), `${name} ${op}`);
      }
    });
    it('relu and relu6 keep every NaN payload (either sign, quiet or signalling) and map the infinities as numbers', async ({
      skip,
    }) => {
      if (!backend) return skip();
      // Built from bits and uploaded as is (a trip through JS numbers may make a NaN canonical).
      const nans = [0x7f800001, 0x7fbfffff, 0x7fc00000, 0x7fffffff, 0xff800001, 0xffc00000, 0xffffffff];
      const others = [0x7f800000, 0xff800000, 0x7f7fffff, 0xff7fffff, 0x00000001, 0x80000000, 0x40e00000 /* 7 */];
      const bits = Uint32Array.from([...nans, ...others]);
      const t = backend.upload(new Float32Array(bits.buffer), [bits.length]);
      try {
        for (const [op, hi] of [
          ['relu', Infinity],
          ['relu6', 6],
        ] as const) {
          const y = backend.ops[op](t);
          const got = await y.read();
          y.dispose();
          const gotBits = new Uint32Array(got.buffer, got.byteOffset, got.length);
          for (let i = 0; i < nans.length; i++)
            expect(Number.isNaN(got[i]), `${name} ${op}(0x${nans[i].toString(16)})`).toBe(true);
          const v = Array.from(got.subarray(nans.length));
          const max = new Float32Array(new Uint32Array([0x7f7fffff]).buffer)[0];
          // Subnormals may flush to 0 on the GPU; -0 may come back as -0 (both compare equal to 0).
          expect(v[0], `${name} ${op}(+Inf)`).toBe(hi);
          expect(v[1], `${name} ${op}(-Inf)`).toBe(0);
          expect(v[2], `${name} ${op}(max)`).toBe(Math.min(max, hi));
          expect(v[3], `${name} ${op}(-max)`).toBe(0);
          expect(v[4] === 0 || gotBits[nans.length + 4] === 1, `${name} ${op}(min subnormal)`).toBe(true);
          expect(v[5] === 0, `${name} ${op}(-0)`).toBe(true);
          expect(v[6], `${name} ${op}(7)`).toBe(Math.min(7, hi));
        }
      } finally {
        t.dispose();
      }
    });
    it('reluConv2d and its weight gradient, on every GEMM core', async ({ skip }) => {
      if (!backend) return skip();
      for (const opts of cores) {
        const [y] = await withTensors(
          backend,
          [
            [x, xs],
            [w, ws],
          ],
          ([tx, tw]) => backend.ops.reluConv2d(tx, tw, p, opts),
        );
        expectSameNaN(y, OPS.reluConv2d.reference(x, xs, w, ws, p), `${name} reluConv2d ${JSON.stringify(opts)}`);
        const [dw] = await withTensors(
          backend,
          [
            [x, xs],
            [dy, [1, 2, 2, 2]],
          ],
          ([tx, tdy]) => backend.ops.reluConv2dBackwardWeight(tx, tdy, ws, p, opts),
        );
        expectSameNaN(dw, OPS.reluConv2dBackwardWeight.reference(x, xs, dy, ws, p), `${name} dw ${JSON.stringify(opts)}`);
      }
    });
  });
});
