/**
 * CPU baseline for dense (groups = 1) NCHW convolutions: im2col + the blocked matmul, single thread.
 * Grouped/depthwise convolutions use the reference loops of src/kernels/conv2d.ts instead.
 */
import { ShapeError } from '../gpu/errors.js';
import type { ConvDims } from '../kernels/params.js';
import { matmulCpuBlocked } from './cpu.js';

/** A dense convolution's sizes: the kernels' ConvDims before the output is sized (convOut), groups 1. */
export type ConvGeom = Omit<ConvDims, 'OH' | 'OW' | 'groups'>;

export function convOut(g: ConvGeom): { OH: number; OW: number } {
  const OH = Math.floor((g.H + 2 * g.pad - g.KH) / g.stride) + 1;
  const OW = Math.floor((g.W + 2 * g.pad - g.KW) / g.stride) + 1;
  if (OH < 1 || OW < 1) throw new ShapeError(`conv: kernel ${g.KH}x${g.KW} does not fit ${g.H}x${g.W} with pad ${g.pad}`);
  return { OH, OW };
}

/**
 * col[(ci*KH + kh)*KW + kw][p] for the output positions p of image n (rows x columns), or its
 * transpose when `transposed` (positions x taps). Out-of-image taps are 0.
 */
function im2col(x: Float32Array, g: ConvGeom, n: number, col: Float32Array, transposed: boolean): void {
  const { OH, OW } = convOut(g);
  const P = OH * OW;
  const taps = g.Cin * g.KH * g.KW;
  for (let ci = 0; ci < g.Cin; ci++) {
    const xb = (n * g.Cin + ci) * g.H * g.W;
    for (let kh = 0; kh < g.KH; kh++) {
      for (let kw = 0; kw < g.KW; kw++) {
        const t = (ci * g.KH + kh) * g.KW + kw;
        for (let oh = 0; oh < OH; oh++) {
          const ih = oh * g.stride - g.pad + kh;
          for (let ow = 0; ow < OW; ow++) {
            const iw = ow * g.stride - g.pad + kw;
            const v = ih >= 0 && ih < g.H && iw >= 0 && iw < g.W ? x[xb + ih * g.W + iw] : 0;
            const p = oh * OW + ow;
            if (transposed) col[p * taps + t] = v;
            else col[t * P + p] = v;
          }
        }
      }
    }
  }
}

/** y [N, Cout, OH, OW] = conv(x [N, Cin, H, W], w [Cout, Cin, KH, KW]). */
export function conv2dCpuFast(x: Float32Array, w: Float32Array, g: ConvGeom, out?: Float32Array): Float32Array {
  const { OH, OW } = convOut(g);
  const P = OH * OW;
  const taps = g.Cin * g.KH * g.KW;
  const y = out ?? new Float32Array(g.N * g.Cout * P);
  const col = new Float32Array(taps * P);
  for (let n = 0; n < g.N; n++) {
    im2col(x, g, n, col, false);
    matmulCpuBlocked(w, col, g.Cout, P, taps, 1, y.subarray(n * g.Cout * P, (n + 1) * g.Cout * P));
  }
  return y;
}

/** dx [N, Cin, H, W] from dy [N, Cout, OH, OW] and w: dcol = w^T dy[n], scattered back (col2im). */
export function conv2dBackwardInputCpuFast(dy: Float32Array, w: Float32Array, g: ConvGeom, out?: Float32Array): Float32Array {
  const { OH, OW } = convOut(g);
  const P = OH * OW;
  const taps = g.Cin * g.KH * g.KW;
  const dx = out ?? new Float32Array(g.N * g.Cin * g.H * g.W);
  dx.fill(0);
  const wt = new Float32Array(taps * g.Cout);
  for (let co = 0; co < g.Cout; co++) for (let t = 0; t < taps; t++) wt[t * g.Cout + co] = w[co * taps + t];
  const dcol = new Float32Array(taps * P);
  for (let n = 0; n < g.N; n++) {
    matmulCpuBlocked(wt, dy.subarray(n * g.Cout * P, (n + 1) * g.Cout * P), taps, P, g.Cout, 1, dcol);
    for (let ci = 0; ci < g.Cin; ci++) {
      const xb = (n * g.Cin + ci) * g.H * g.W;
      for (let kh = 0; kh < g.KH; kh++) {
        for (let kw = 0; kw < g.KW; kw++) {
          const row = ((ci * g.KH + kh) * g.KW + kw) * P;
          for (let oh = 0; oh < OH; oh++) {
            const ih = oh * g.stride - g.pad + kh;
            if (ih < 0 || ih >= g.H) continue;
            for (let ow = 0; ow < OW; ow++) {
              const iw = ow * g.stride - g.pad + kw;
              if (iw >= 0 && iw < g.W) dx[xb + ih * g.W + iw] += dcol[row + oh * OW + ow];
            }
          }
        }
      }
    }
  }
  return dx;
}

/** dw [Cout, Cin, KH, KW] = sum over images of dy[n] col[n]^T, as one product with K = N*OH*OW. */
export function conv2dBackwardWeightCpuFast(x: Float32Array, dy: Float32Array, g: ConvGeom, out?: Float32Array): Float32Array {
  const { OH, OW } = convOut(g);
  const P = OH * OW;
  const taps = g.Cin * g.KH * g.KW;
  const K = g.N * P;
  // dy as Cout x (N*P), and the transposed columns of all images stacked as (N*P) x taps.
  const dyCat = new Float32Array(g.Cout * K);
  for (let n = 0; n < g.N; n++) {
    for (let co = 0; co < g.Cout; co++) dyCat.set(dy.subarray((n * g.Cout + co) * P, (n * g.Cout + co + 1) * P), co * K + n * P);
  }
  const colT = new Float32Array(K * taps);
  for (let n = 0; n < g.N; n++) im2col(x, g, n, colT.subarray(n * P * taps, (n + 1) * P * taps), true);
  return matmulCpuBlocked(dyCat, colT, g.Cout, taps, K, 1, out);
}
