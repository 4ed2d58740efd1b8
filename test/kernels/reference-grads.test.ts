/**
 * Every op of the catalog that computes a gradient, checked against finite differences of its
 * forward (f64 where a forward has an f64 twin; linear maps with a large step, which has no
 * truncation error). Both backends are tied to these references by the parity tests
 * (test/backend/parity-*.gpu.test.ts), so a gradient checked here is checked on both. The ops whose
 * check lives in another file are listed in FD_ELSEWHERE; a new gradient op without either fails.
 */
import { describe, expect, it } from 'vitest';
import { batchNormForwardF64, batchNormRelu6BackwardF64, batchNormRelu6ForwardF64 } from '../../src/kernels/batchnorm.js';
import { conv2dF64 } from '../../src/kernels/conv2d.js';
import { OP_NAMES, OPS } from '../../src/kernels/ops.js';
import type { Conv2dParams } from '../../src/kernels/params.js';
import { Rng } from '../../src/util/rng.js';
import { dot, expectGradMatchesFd, prod } from '../helpers/layers.js';

const FD_ELSEWHERE: Record<string, string> = {
  conv2dBackwardInput: 'test/kernels/conv2d.gpu.test.ts, test/backend/cpu/conv.test.ts',
  conv2dBackwardWeight: 'test/kernels/conv2d.gpu.test.ts, test/backend/cpu/conv.test.ts',
  batchNormBackward: 'test/kernels/batchnorm.gpu.test.ts, test/backend/cpu/layers.test.ts',
  reluBackward: 'test/kernels/ops.gpu.test.ts',
  relu6Backward: 'test/kernels/ops.gpu.test.ts',
  avgPool2dBackward: 'test/kernels/pool.gpu.test.ts',
  linearBackward: 'test/kernels/ops.gpu.test.ts',
  softmaxCrossEntropy: 'test/kernels/ops.gpu.test.ts',
};
/** Gradient ops checked here. */
const FD_HERE = [
  'reluConv2dBackwardInput',
  'reluConv2dBackwardWeight',
  'globalAvgPoolBackward',
  'mixBackward',
  'mixBackwardMany',
  'batchNormRelu6Backward',
  'fitnessGrad',
  'gateDot',
  'firstElementGrad',
];

const rng = new Rng(99);
const normals = (n: number, scale = 1) => Float64Array.from(rng.normals(n, scale));
/** Values at least `gap` away from 0 (the ReLU's kink), so a finite difference does not cross it. */
const offKink = (n: number, gap: number) => normals(n).map((v) => (Math.abs(v) < gap ? v + Math.sign(v || 1) * 2 * gap : v));

describe('every gradient op has a finite-difference check', () => {
  it('here or in the file FD_ELSEWHERE names', () => {
    const gradientOps = OP_NAMES.filter((op) => /Backward|Grad$/.test(op) || ['softmaxCrossEntropy', 'gateDot'].includes(op));
    expect(gradientOps.filter((op) => !FD_HERE.includes(op) && !FD_ELSEWHERE[op])).toEqual([]);
  });
});

describe('reluConv2d gradients: conv2d(relu(x), w)', () => {
  const cases: Array<{ xs: number[]; ws: number[]; p: Conv2dParams }> = [
    { xs: [2, 3, 5, 4], ws: [2, 3, 3, 3], p: { stride: 1, pad: 1 } },
    { xs: [1, 4, 6, 5], ws: [4, 2, 3, 3], p: { stride: 2, pad: 2, groups: 2 } },
    { xs: [1, 3, 5, 5], ws: [3, 1, 5, 5], p: { stride: 2, pad: 2, groups: 3 } },
  ];
  for (const { xs, ws, p } of cases) {
    it(`x[${xs}] w[${ws}] s${p.stride} p${p.pad} g${p.groups ?? 1}`, () => {
      const h = 1e-4;
      const x = offKink(prod(xs), 10 * h);
      const w = normals(prod(ws));
      const dy = normals(OPS.conv2d.reference(x, xs, w, ws, p).length);
      const relu = (v: Float64Array) => v.map((z) => Math.max(z, 0));
      const loss = (xv: Float64Array, wv: Float64Array) => dot(dy, conv2dF64(relu(xv), xs, wv, ws, p));
      const tol = { h, atol: 1e-4, rtol: 1e-4 };
      expectGradMatchesFd((v) => loss(v, w), x, OPS.reluConv2dBackwardInput.reference(dy, w, ws, x, xs, p), {
        ...tol,
        label: 'dx',
      });
      expectGradMatchesFd((v) => loss(x, v), w, OPS.reluConv2dBackwardWeight.reference(x, xs, dy, ws, p), {
        ...tol,
        label: 'dw',
      });
    });
  }
});

describe('globalAvgPoolBackward', () => {
  for (const xs of [
    [2, 3, 4, 5],
    [1, 1, 1, 1],
    [3, 2, 7, 1],
  ]) {
    it(`[${xs}]`, () => {
      const x = normals(prod(xs));
      const dy = normals(xs[0] * xs[1]);
      // Linear in x: a unit step has no truncation error.
      expectGradMatchesFd((v) => dot(dy, OPS.globalAvgPool.reference(v, xs)), x, OPS.globalAvgPoolBackward.reference(dy, xs), {
        h: 0.5,
        atol: 1e-5,
        rtol: 1e-5,
        label: 'dx',
      });
    });
  }
});

describe('mixBackwardMany: every candidate of the mixture at once', () => {
  it('dL/do_k and g_k = dL/dp_k against finite differences, K = 3', () => {
    const [K, n] = [3, 6];
    const probs = normals(K).map((v) => Math.abs(v) + 0.1);
    const outs = Array.from({ length: K }, () => normals(n));
    const r = normals(n);
    const loss = (p: ArrayLike<number>, os: ReadonlyArray<ArrayLike<number>>) => dot(r, OPS.mixForward.reference(os, p));
    const b = OPS.mixBackwardMany.reference(outs, r, probs);
    outs.forEach((o, k) =>
      expectGradMatchesFd(
        (v) =>
          loss(
            probs,
            outs.map((x, j) => (j === k ? v : x)),
          ),
        o,
        b.dOuts[k],
        { atol: 1e-7, rtol: 1e-6, label: `dL/do_${k}` },
      ),
    );
    expectGradMatchesFd((v) => loss(v, outs), probs, b.gDots, { atol: 1e-7, rtol: 1e-6, label: 'g_k' });
  });
});

describe('batchNormRelu6Backward: relu6(batch norm)', () => {
  // Values (x - mean) invStd gamma + beta on both sides of both clamps, none within reach of h.
  for (const [shape, eps] of [
    [[3, 2, 2, 3], 1e-5],
    [[5, 3], 1e-3],
  ] as Array<[number[], number]>) {
    it(`[${shape}] eps ${eps}: dx, dgamma, dbeta`, () => {
      const C = shape[1];
      const x = normals(prod(shape));
      const gamma = Float64Array.from({ length: C }, (_, c) => 4 + c);
      const beta = Float64Array.from({ length: C }, (_, c) => 2 - 0.7 * c);
      const dz = normals(prod(shape));
      const loss = (xv: ArrayLike<number>, g: ArrayLike<number>, b: ArrayLike<number>) =>
        dot(dz, batchNormRelu6ForwardF64(xv, shape, g, b, eps).z);
      const f = batchNormRelu6ForwardF64(x, shape, gamma, beta, eps);
      const y = batchNormForwardF64(x, shape, gamma, beta, eps).y;
      expect(y.every((v) => Math.abs(v) > 1e-3 && Math.abs(v - 6) > 1e-3)).toBe(true);
      expect([y.some((v) => v < 0), y.some((v) => v > 6), y.some((v) => v > 0 && v < 6)]).toEqual([true, true, true]);
      const g = batchNormRelu6BackwardF64(dz, x, shape, f.mean, f.invStd, gamma, beta);
      const tol = { h: 1e-6, atol: 1e-6, rtol: 1e-5 };
      expectGradMatchesFd((v) => loss(v, gamma, beta), x, g.dx, { ...tol, label: 'dx' });
      expectGradMatchesFd((v) => loss(x, v, beta), gamma, g.dgamma, { ...tol, label: 'dgamma' });
      expectGradMatchesFd((v) => loss(x, gamma, v), beta, g.dbeta, { ...tol, label: 'dbeta' });
    });
  }
});

describe('AutoSpace mixture: y = sum_k softmax(phi)_k o_k', () => {
  for (const K of [1, 2, 5]) {
    it(`mixBackward (dL/do_k, g_k) and fitnessGrad (dL/dphi), K=${K}`, () => {
      const n = 7;
      const phi = normals(K);
      const outs = Array.from({ length: K }, () => normals(n));
      const r = normals(n);
      const loss = (ph: ArrayLike<number>, os: ReadonlyArray<ArrayLike<number>>) =>
        dot(r, OPS.mixForward.reference(os, OPS.fitnessSoftmax.reference(ph)));
      const probs = OPS.fitnessSoftmax.reference(phi);
      const gDots = new Float64Array(K);
      for (let k = 0; k < K; k++) {
        const b = OPS.mixBackward.reference(outs[k], r, probs, k);
        gDots[k] = b.gDot;
        expectGradMatchesFd(
          (v) =>
            loss(
              phi,
              outs.map((o, j) => (j === k ? v : o)),
            ),
          outs[k],
          b.dOut,
          {
            atol: 1e-7,
            rtol: 1e-6,
            label: `dL/do_${k}`,
          },
        );
      }
      expectGradMatchesFd((v) => loss(v, outs), phi, OPS.fitnessGrad.reference(probs, gDots), {
        atol: 1e-7,
        rtol: 1e-5,
        label: 'dL/dphi',
      });
    });
  }
});

describe('gateDot: the gate gradient of y = sum_k g_k o_k', () => {
  it('dL/dg_k = sum(dy * o_k)', () => {
    const n = 11;
    const outs = [normals(n), normals(n), normals(n)];
    const dy = normals(n);
    const g = Float64Array.from([0, 1, 0]);
    const loss = (gv: Float64Array) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += dy[i] * outs.reduce((a, o, k) => a + gv[k] * o[i], 0);
      return s;
    };
    const analytic = outs.map((o) => OPS.gateDot.reference(o, dy));
    expectGradMatchesFd(loss, g, analytic, { h: 1, atol: 1e-9, rtol: 1e-9, label: 'dL/dg' });
  });
});

describe("firstElementGrad: each sample's gradient of the first weight", () => {
  // Of conv x -> dy (kernel 3): dL_s/dw[0, 0, 0, 0]; with no x, of a BN shift: dL_s/dbeta[0].
  for (const [N, Cin, H, W, Cout, stride, pad] of [
    [3, 2, 5, 4, 2, 1, 1],
    [2, 3, 7, 6, 1, 2, 0],
    [1, 1, 4, 4, 3, 2, 3],
  ]) {
    it(`x[${N},${Cin},${H},${W}] Cout ${Cout} stride ${stride} pad ${pad}`, () => {
      const xs = [N, Cin, H, W];
      const ws = [Cout, Cin, 3, 3];
      const p = { stride, pad };
      const x = normals(prod(xs));
      const w = normals(prod(ws));
      const OH = Math.floor((H + 2 * pad - 3) / stride) + 1;
      const OW = Math.floor((W + 2 * pad - 3) / stride) + 1;
      const dy = normals(N * Cout * OH * OW);
      const got = OPS.firstElementGrad.reference(x, dy, { N, Cin, H, W, Cout, OH, OW }, p);
      const noX = OPS.firstElementGrad.reference(null, dy, { N, Cin: 0, H: 0, W: 0, Cout, OH, OW }, p);
      for (let s = 0; s < N; s++) {
        const xsS = [1, Cin, H, W];
        const xS = x.subarray(s * Cin * H * W, (s + 1) * Cin * H * W);
        const dyS = dy.subarray(s * Cout * OH * OW, (s + 1) * Cout * OH * OW);
        // Linear in w[0]: a unit step has no truncation error.
        const lossW = (w0: Float64Array) =>
          dot(
            dyS,
            conv2dF64(
              xS,
              xsS,
              Float64Array.from(w, (v, i) => (i === 0 ? w0[0] : v)),
              ws,
              p,
            ),
          );
        expectGradMatchesFd(lossW, [w[0]], [got[s]], { h: 1, atol: 1e-5, rtol: 1e-5, label: `sample ${s} dw[0]` });
        // y + beta on channel 0: dL/dbeta[0] is the sum of dy over channel 0.
        const lossB = (b: Float64Array) => dot(dyS.subarray(0, OH * OW), new Float64Array(OH * OW).fill(b[0]));
        expectGradMatchesFd(lossB, [0], [noX[s]], { h: 1, atol: 1e-5, rtol: 1e-5, label: `sample ${s} dbeta[0]` });
      }
    });
  }
});
