/**
 * VKDNW's per-sample first-element gradient (first_grad.wgsl): for a conv x -> dy, per sample, the
 * gradient w.r.t. weight element [0, 0, 0, 0] before the batch reduction, i.e. the dot of dy's
 * channel 0 with the input plane that element multiplies; with stride 1, pad 0 the same is a BN
 * scale's gradient, and with no x a shift's. It reads channel 0 only, so a backward pass's rows
 * for every parameter tensor cost one small dispatch each and one read.
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { defineUniforms } from '../gpu/uniforms.js';
import { defineOp } from './descriptor.js';
import { checkFirstElementGrad, type FirstGradParams, firstElementGradCpu } from './reference/first-grad.js';

export { checkFirstElementGrad, firstElementGradCpu, type FirstGradParams };

const FILE = 'first_grad.wgsl';
const WG = 64;
export const FIRST_GRAD_PARAMS = defineUniforms(FILE, 'Params', {
  n: 'u32',
  xs: 'u32',
  h: 'u32',
  w: 'u32',
  ys: 'u32',
  oh: 'u32',
  ow: 'u32',
  stride: 'u32',
  pad: 'u32',
  row: 'u32',
  has_x: 'u32',
});

/** out[row * N + s] = the per-sample first-element gradient of sample s (x null: the sum of dy's channel 0). */
export function firstElementGrad(
  gpu: Gpu,
  x: GpuTensor | null,
  dy: GpuTensor,
  p: FirstGradParams,
  out: GpuTensor,
  row: number,
): void {
  const d = checkFirstElementGrad(x, dy, p, out, row, out.buffer === dy.buffer || (x !== null && out.buffer === x.buffer));
  if (d.N === 0) return;
  gpu.dispatch({
    kernel: { file: FILE, entry: 'first_grad', constants: { WG } },
    // No x: dy is bound in its place (read-only both times) and never read through it.
    buffers: [x ?? dy, dy, out],
    uniforms: FIRST_GRAD_PARAMS.pack({
      n: d.N,
      xs: d.Cin * d.H * d.W,
      h: d.H,
      w: d.W,
      ys: d.Cout * d.OH * d.OW,
      oh: d.OH,
      ow: d.OW,
      stride: p.stride,
      pad: p.pad,
      row,
      has_x: x ? 1 : 0,
    }),
    workgroups: [d.N],
  });
}

export const firstElementGradOp = defineOp({
  name: 'firstElementGrad',
  summary:
    "VKDNW: per-sample gradient w.r.t. a tensor's first element, dy's channel 0 dotted with its input plane (first_grad.wgsl)",
  kernels: [{ file: FILE, entries: ['first_grad'], uniforms: FIRST_GRAD_PARAMS, overrides: { WG } }],
  // A multiply-add per output position of channel 0 and sample; dy's and x's channel 0 read, N values written.
  cost: ({ N, OH, OW }: { N: number; OH: number; OW: number }) => ({ flops: 2 * N * OH * OW, bytes: 4 * (2 * N * OH * OW + N) }),
  reference: firstElementGradCpu,
  webgpu: firstElementGrad,
});
