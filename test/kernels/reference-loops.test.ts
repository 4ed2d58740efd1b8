/**
 * The references `wgnas bench` times as its "cpu" baseline are written as plain loops (a mapFn per
 * element, or a callback per conv tap, made them 2-20x slower): the same values, bit for bit, as the
 * per-element formulations they replaced (kept here as the definition).
 */
import { describe, expect, it } from 'vitest';
import { convDims } from '../../src/kernels/params.js';
import { conv2dBackwardInputF64, conv2dBackwardWeightF64, conv2dF64 } from '../../src/kernels/reference/conv2d.js';
import { mixAccumulateCpu, mixBackwardCpu } from '../../src/kernels/reference/fitness.js';
import { Rng } from '../../src/util/rng.js';

function values(n: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => 2 * rng.next() - 1);
}

function expectSameBits(a: ArrayLike<number>, b: ArrayLike<number>): void {
  expect(a.length).toBe(b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) expect([i, a[i]]).toEqual([i, b[i]]);
}

describe('fitness references as loops', () => {
  const n = 257;
  const o = values(n, 1);
  const dy = values(n, 2);
  const y = values(n, 3);
  const probs = [0.125, 0.3, 0.575];

  it('mixBackwardCpu: dOut = probs[k] dy and the dot, as before', () => {
    for (let k = 0; k < probs.length; k++) {
      const r = mixBackwardCpu(o, dy, probs, k);
      expectSameBits(
        r.dOut,
        Float64Array.from(dy, (v) => probs[k] * v),
      );
      let g = 0;
      for (let i = 0; i < n; i++) g += o[i] * dy[i];
      expect(Object.is(r.gDot, g)).toBe(true);
    }
  });

  it('mixAccumulateCpu: y + probs[k] o, and 0 + probs[k] o without y (a -0 product stays +0)', () => {
    const withZero = Float32Array.from(o);
    withZero[5] = -0;
    for (const yy of [y, null]) {
      expectSameBits(
        mixAccumulateCpu(yy, withZero, probs, 1),
        Float64Array.from(withZero, (v, i) => (yy ? yy[i] : 0) + probs[1] * v),
      );
    }
    expect(Object.is(mixAccumulateCpu(null, withZero, probs, 1)[5], 0)).toBe(true);
  });
});

describe('conv2d references as one loop nest', () => {
  // The callback formulation they replaced: every (output, input, weight) index triple in this order.
  function forEachTap(
    xShape: number[],
    wShape: number[],
    p: Parameters<typeof conv2dF64>[4],
    f: (yi: number, xi: number, wi: number) => void,
  ) {
    const d = convDims('test', xShape, wShape, p);
    const cpg = d.Cin / d.groups;
    const opg = d.Cout / d.groups;
    for (let n = 0; n < d.N; n++)
      for (let co = 0; co < d.Cout; co++)
        for (let oh = 0; oh < d.OH; oh++)
          for (let ow = 0; ow < d.OW; ow++)
            for (let cig = 0; cig < cpg; cig++)
              for (let kh = 0; kh < d.KH; kh++)
                for (let kw = 0; kw < d.KW; kw++) {
                  const ih = oh * d.stride - d.pad + kh;
                  const iw = ow * d.stride - d.pad + kw;
                  if (ih < 0 || ih >= d.H || iw < 0 || iw >= d.W) continue;
                  const ci = Math.floor(co / opg) * cpg + cig;
                  f(
                    ((n * d.Cout + co) * d.OH + oh) * d.OW + ow,
                    ((n * d.Cin + ci) * d.H + ih) * d.W + iw,
                    ((co * cpg + cig) * d.KH + kh) * d.KW + kw,
                  );
                }
    return d;
  }

  const cases = [
    { x: [2, 4, 5, 6], w: [4, 1, 3, 3], p: { stride: 1, pad: 1, groups: 4 } }, // depthwise
    { x: [1, 6, 7, 5], w: [4, 3, 3, 2], p: { stride: 2, pad: 1, groups: 2 } }, // grouped, strided
    { x: [2, 3, 4, 4], w: [2, 3, 1, 1], p: { stride: 1, pad: 0, groups: 1 } }, // dense 1x1
  ];

  it('forward, input and weight gradients equal the per-tap callback sums bit for bit', () => {
    for (const [i, c] of cases.entries()) {
      const x = values(
        c.x.reduce((a, b) => a * b),
        10 + i,
      );
      const w = values(
        c.w.reduce((a, b) => a * b),
        20 + i,
      );
      const d = convDims('test', c.x, c.w, c.p);
      const dy = values(d.N * d.Cout * d.OH * d.OW, 30 + i);
      const y = new Float64Array(dy.length);
      const dx = new Float64Array(x.length);
      const dw = new Float64Array(w.length);
      forEachTap(c.x, c.w, c.p, (yi, xi, wi) => {
        y[yi] += x[xi] * w[wi];
        dx[xi] += dy[yi] * w[wi];
        dw[wi] += dy[yi] * x[xi];
      });
      expectSameBits(conv2dF64(x, c.x, w, c.w, c.p), y);
      expectSameBits(conv2dBackwardInputF64(dy, w, c.w, c.x, c.p), dx);
      expectSameBits(conv2dBackwardWeightF64(x, c.x, dy, c.w, c.p), dw);
    }
  });
});
