/**
 * Average pooling (pool.wgsl) and global average pooling (reduce.wgsl:row_sum forward), NCHW,
 * with CPU references. Semantics follow torch.nn.AvgPool2d (ceil_mode=False); NAS-Bench-201's
 * cell op is { kernel: 3, stride: 1, pad: 1, countIncludePad: false }.
 */
import { type Gpu, packUniforms } from '../gpu/gpu.js';
import { ShapeError } from '../gpu/errors.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { rowSums } from './reduce.js';

export interface Pool2dParams {
  kernel: number;
  stride: number;
  pad: number;
  /** Divide by the full window including zero padding (PyTorch default: true). */
  countIncludePad?: boolean;
}

const WG = 256;

function nchw(op: string, shape: readonly number[]): [number, number, number, number] {
  if (shape.length !== 4) throw new ShapeError(`${op}: expected an NCHW shape, got [${shape.join(', ')}]`);
  return [shape[0], shape[1], shape[2], shape[3]];
}

export function avgPool2dOutShape(xShape: readonly number[], p: Pool2dParams): number[] {
  const [N, C, H, W] = nchw('avgPool2d', xShape);
  for (const k of ['kernel', 'stride'] as const) {
    if (!Number.isInteger(p[k]) || p[k] < 1) throw new RangeError(`avgPool2d: ${k} must be a positive integer, got ${p[k]}`);
  }
  if (!Number.isInteger(p.pad) || p.pad < 0) throw new RangeError(`avgPool2d: pad must be a non-negative integer, got ${p.pad}`);
  if (2 * p.pad > p.kernel) throw new RangeError(`avgPool2d: pad ${p.pad} exceeds half the kernel ${p.kernel} (PyTorch rejects this too)`);
  const OH = Math.floor((H + 2 * p.pad - p.kernel) / p.stride) + 1;
  const OW = Math.floor((W + 2 * p.pad - p.kernel) / p.stride) + 1;
  if (OH < 1 || OW < 1) {
    throw new ShapeError(`avgPool2d: kernel ${p.kernel} with pad ${p.pad} does not fit input ${H}x${W}`);
  }
  return [N, C, OH, OW];
}

function poolUniforms(xShape: readonly number[], outShape: readonly number[], p: Pool2dParams, total: number, s = 0): ArrayBuffer {
  const [N, C, H, W] = xShape;
  return packUniforms([
    N * C, H, W, outShape[2],
    outShape[3], p.kernel, p.stride, p.pad,
    p.countIncludePad === false ? 0 : 1, total, { f32: s }, 0,
  ]);
}

export function avgPool2d(gpu: Gpu, x: GpuTensor, p: Pool2dParams): GpuTensor {
  const outShape = avgPool2dOutShape(x.shape, p);
  const out = gpu.empty(outShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'avg_fwd' },
    buffers: [out, x],
    uniforms: poolUniforms(x.shape, outShape, p, out.size),
    workgroups: gpu.grid1d(outShape[0] * outShape[1], 1),
  });
  return out;
}

export function avgPool2dBackward(gpu: Gpu, dy: GpuTensor, xShape: readonly number[], p: Pool2dParams): GpuTensor {
  const outShape = avgPool2dOutShape(xShape, p);
  if (!outShape.every((d, i) => d === dy.shape[i]) || dy.shape.length !== 4) {
    throw new ShapeError(`avgPool2dBackward: dy is [${dy.shape.join(', ')}], expected [${outShape.join(', ')}]`);
  }
  const dx = gpu.empty(xShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'avg_bwd' },
    buffers: [dx, dy],
    uniforms: poolUniforms(xShape, outShape, p, dx.size),
    workgroups: gpu.grid1d(outShape[0] * outShape[1], 1),
  });
  return dx;
}

/** [N, C, H, W] -> [N, C] spatial means. */
export function globalAvgPool(gpu: Gpu, x: GpuTensor): GpuTensor {
  const [N, C, H, W] = nchw('globalAvgPool', x.shape);
  if (H * W === 0) throw new ShapeError(`globalAvgPool: empty spatial size in [${x.shape.join(', ')}]`);
  return rowSums(gpu, x, H * W, 1 / (H * W), [N, C]);
}

export function globalAvgPoolBackward(gpu: Gpu, dy: GpuTensor, xShape: readonly number[]): GpuTensor {
  const [N, C, H, W] = nchw('globalAvgPoolBackward', xShape);
  if (dy.shape.length !== 2 || dy.shape[0] !== N || dy.shape[1] !== C) {
    throw new ShapeError(`globalAvgPoolBackward: dy is [${dy.shape.join(', ')}], expected [${N}, ${C}]`);
  }
  const dx = gpu.empty(xShape);
  gpu.dispatch({
    kernel: { file: 'pool.wgsl', entry: 'gap_bwd' },
    buffers: [dx, dy],
    uniforms: packUniforms([N * C, H, W, 1, 1, 1, 1, 0, 0, dx.size, { f32: 1 / (H * W) }, 0]),
    workgroups: gpu.grid1d(dx.size, WG),
  });
  return dx;
}

// ---- CPU references (f64 accumulation) ----------------------------------------------------------

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

export function avgPool2dCpu(x: ArrayLike<number>, xShape: readonly number[], p: Pool2dParams): Float32Array {
  return Float32Array.from(avgPool2dF64(x, xShape, p));
}

export function avgPool2dBackwardCpu(dy: ArrayLike<number>, xShape: readonly number[], p: Pool2dParams): Float32Array {
  return Float32Array.from(avgPool2dBackwardF64(dy, xShape, p));
}

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
