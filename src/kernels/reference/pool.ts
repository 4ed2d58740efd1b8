/** References of pool.wgsl (average pooling) and global average pooling, f64 accumulation. */
import { type Pool2dParams, avgPool2dOutShape } from '../params.js';
import { f32Twin } from './f32.js';

function windowCpu(o: number, stride: number, pad: number, k: number, size: number): [number, number, number] {
  const s = o * stride - pad;
  const ePad = Math.min(s + k, size + pad);
  return [Math.max(s, 0), Math.min(ePad, size), ePad - s];
}

export function avgPool2dF64(x: ArrayLike<number>, xShape: readonly number[], p: Pool2dParams): Float64Array {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = avgPool2dOutShape(xShape, p);
  const out = new Float64Array(N * C * OH * OW);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1, hp] = windowCpu(oh, p.stride, p.pad, p.kernel, H);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1, wp] = windowCpu(ow, p.stride, p.pad, p.kernel, W);
        let s = 0;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) s += x[(pl * H + h) * W + w];
        const count = p.countIncludePad === false ? (h1 - h0) * (w1 - w0) : hp * wp;
        out[(pl * OH + oh) * OW + ow] = s / count;
      }
    }
  }
  return out;
}

export function avgPool2dBackwardF64(dy: ArrayLike<number>, xShape: readonly number[], p: Pool2dParams): Float64Array {
  const [N, C, H, W] = xShape;
  const [, , OH, OW] = avgPool2dOutShape(xShape, p);
  const dx = new Float64Array(N * C * H * W);
  for (let pl = 0; pl < N * C; pl++) {
    for (let oh = 0; oh < OH; oh++) {
      const [h0, h1, hp] = windowCpu(oh, p.stride, p.pad, p.kernel, H);
      for (let ow = 0; ow < OW; ow++) {
        const [w0, w1, wp] = windowCpu(ow, p.stride, p.pad, p.kernel, W);
        const count = p.countIncludePad === false ? (h1 - h0) * (w1 - w0) : hp * wp;
        const g = dy[(pl * OH + oh) * OW + ow] / count;
        for (let h = h0; h < h1; h++) for (let w = w0; w < w1; w++) dx[(pl * H + h) * W + w] += g;
      }
    }
  }
  return dx;
}

export const avgPool2dCpu = f32Twin(avgPool2dF64);
export const avgPool2dBackwardCpu = f32Twin(avgPool2dBackwardF64);

export function globalAvgPoolCpu(x: ArrayLike<number>, xShape: readonly number[]): Float32Array {
  const [N, C, H, W] = xShape;
  const hw = H * W;
  const out = new Float32Array(N * C);
  for (let r = 0; r < N * C; r++) {
    let s = 0;
    for (let i = 0; i < hw; i++) s += x[r * hw + i];
    out[r] = s / hw;
  }
  return out;
}

export function globalAvgPoolBackwardCpu(dy: ArrayLike<number>, xShape: readonly number[]): Float32Array {
  const [N, C, H, W] = xShape;
  const hw = H * W;
  const dx = new Float32Array(N * C * hw);
  for (let i = 0; i < dx.length; i++) dx[i] = dy[Math.floor(i / hw)] / hw;
  return dx;
}
