/** Element-wise optimizer steps on optim.wgsl (SGD with Nesterov momentum, Adam). */
import type { Gpu } from '../gpu/gpu.js';
import { type GpuTensor, sameBuffer } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp, elementwiseCost } from './descriptor.js';
import {
  type AdamOptions,
  type AdamRow,
  adamStepParams,
  assertAdamUnaliased,
  assertSgdUnaliased,
  checkAdamRows,
  type SgdOptions,
  sgdStepParams,
} from './params.js';
import { adamStepCpu, adamStepRowsCpu, sgdStepCpu } from './reference/optim.js';

export { type AdamOptions, type AdamRow, type SgdOptions, adamStepCpu, adamStepRowsCpu, sgdStepCpu };

const WG = 256;
/**
 * One struct serves both entries. flag: Nesterov (sgd). c0..c3: sgd momentum, dampening, -, -;
 * adam beta1, beta2, eps, sqrt(bias correction 2) (lr arrives divided by bias correction 1).
 */
export const OPTIM_PARAMS = defineUniforms('optim.wgsl', 'Params', {
  n: 'u32',
  flag: 'u32',
  lr: 'f32',
  wd: 'f32',
  c0: 'f32',
  c1: 'f32',
  c2: 'f32',
  c3: 'f32',
});

/** In place: w, momentum buffer `buf` (zeros before the first step). */
export function sgdStep(gpu: Gpu, w: GpuTensor, grad: GpuTensor, buf: GpuTensor, o: SgdOptions): void {
  const { momentum, dampening } = sgdStepParams(w, grad, buf, o);
  assertSgdUnaliased(w, grad, buf, sameBuffer);
  gpu.dispatch({
    kernel: { file: 'optim.wgsl', entry: 'sgd', constants: { WG } },
    buffers: [w, grad, buf],
    uniforms: OPTIM_PARAMS.pack({
      n: w.size,
      flag: o.nesterov ? 1 : 0,
      lr: o.lr,
      wd: o.weightDecay ?? 0,
      c0: momentum,
      c1: dampening,
      c2: 0,
      c3: 0,
    }),
    workgroups: gpu.grid1d(w.size, WG),
  });
}

/** In place: w, first and second moments m, v (zeros before step 1). */
export function adamStep(gpu: Gpu, w: GpuTensor, grad: GpuTensor, m: GpuTensor, v: GpuTensor, o: AdamOptions): void {
  const { beta1, beta2, eps, lrCorrected, sqrtBc2 } = adamStepParams(w, grad, m, v, o);
  assertAdamUnaliased(w, grad, m, v, sameBuffer);
  gpu.dispatch({
    kernel: { file: 'optim.wgsl', entry: 'adam', constants: { WG } },
    buffers: [w, grad, m, v],
    uniforms: OPTIM_PARAMS.pack({
      n: w.size,
      flag: 0,
      lr: lrCorrected,
      wd: o.weightDecay ?? 0,
      c0: beta1,
      c1: beta2,
      c2: eps,
      c3: sqrtBc2,
    }),
    workgroups: gpu.grid1d(w.size, WG),
  });
}

/**
 * In place, adamStep on rows of flat tensors, each at its own step (its own bias corrections), in
 * one dispatch: AlphaAdam's α blocks, each of which adamStep updated with a dispatch of its own, bit
 * for bit. Elements in no row are left alone.
 */
export function adamStepRows(
  gpu: Gpu,
  w: GpuTensor,
  grad: GpuTensor,
  m: GpuTensor,
  v: GpuTensor,
  rows: readonly AdamRow[],
  o: Omit<AdamOptions, 'step'>,
): void {
  const c = checkAdamRows(w, grad, m, v, rows, o, sameBuffer);
  const live = rows.map((r, k) => ({ r, k })).filter(({ r }) => r.size > 0);
  if (live.length === 0) return;
  // Per row: start, end, then lr / bc1 and sqrt(bc2) as f32 bits.
  const table = new Float32Array(4 * live.length);
  const bits = new Uint32Array(table.buffer);
  live.forEach(({ r, k }, i) => {
    bits[4 * i] = r.offset;
    bits[4 * i + 1] = r.offset + r.size;
    table[4 * i + 2] = c.rows[k].lrCorrected;
    table[4 * i + 3] = c.rows[k].sqrtBc2;
  });
  const tableT = gpu.upload(table);
  gpu.dispatch({
    kernel: { file: 'optim.wgsl', entry: 'adam_rows', constants: { WG } },
    buffers: [w, grad, m, v, tableT],
    uniforms: OPTIM_PARAMS.pack({
      n: w.size,
      flag: live.length,
      lr: 0,
      wd: o.weightDecay ?? 0,
      c0: c.beta1,
      c1: c.beta2,
      c2: c.eps,
      c3: 0,
    }),
    workgroups: gpu.grid1d(w.size, WG),
  });
  tableT.dispose();
}

/** Cosine annealing from lr0 to lrMin over `total` steps (step clamped to [0, total]). */
export function cosineLr(lr0: number, step: number, total: number, lrMin = 0): number {
  if (total <= 0) return lr0;
  const t = Math.min(Math.max(step, 0), total) / total;
  return lrMin + 0.5 * (lr0 - lrMin) * (1 + Math.cos(Math.PI * t));
}

export const sgdStepOp = defineOp({
  name: 'sgdStep',
  summary: 'SGD step in place (momentum, dampening, Nesterov, L2 weight decay; PyTorch semantics)',
  kernels: [{ file: 'optim.wgsl', entries: ['sgd'], uniforms: OPTIM_PARAMS, overrides: { WG } }],
  // w, grad, buf read; w, buf written; ~7 FLOPs per weight.
  cost: ({ n }: { n: number }) => elementwiseCost(n, 3, 2, 7),
  reference: sgdStepCpu,
  webgpu: sgdStep,
});

export const adamStepRowsOp = defineOp({
  name: 'adamStepRows',
  summary: 'adamStep on rows of flat tensors, each at its own step count, in one dispatch (AlphaAdam)',
  kernels: [{ file: 'optim.wgsl', entries: ['adam_rows'], uniforms: OPTIM_PARAMS, overrides: { WG } }],
  cost: ({ n }: { n: number }) => elementwiseCost(n, 4, 3, 12),
  reference: adamStepRowsCpu,
  webgpu: adamStepRows,
});

export const adamStepOp = defineOp({
  name: 'adamStep',
  summary: 'Adam step in place (bias-corrected, L2 weight decay)',
  kernels: [{ file: 'optim.wgsl', entries: ['adam'], uniforms: OPTIM_PARAMS, overrides: { WG } }],
  // w, grad, m, v read; w, m, v written; ~12 FLOPs per weight.
  cost: ({ n }: { n: number }) => elementwiseCost(n, 4, 3, 12),
  reference: adamStepCpu,
  webgpu: adamStep,
});
