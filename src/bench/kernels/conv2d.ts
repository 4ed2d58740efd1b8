/**
 * conv2d forward and both backward passes (src/kernels/conv2d.ts), NCHW: CIFAR/NAS-Bench-201 cells,
 * ResNet-style 3x3 and 1x1 layers, a strided layer and a depthwise (MBConv) one.
 * tfjs runs its native NHWC layout (inputs converted once at setup, outputs only for the parity guard).
 */
import type { Tensor } from '../../backend/index.js';
import { conv2dBackwardInputOp, conv2dBackwardWeightOp, conv2dOp } from '../../kernels/conv2d.js';
import { conv2dBackwardInputCpuFast, conv2dBackwardWeightCpuFast, conv2dCpuFast, type ConvGeom, convOut } from '../cpu-conv.js';
import type { NativeRunOp } from '../../native/binding.js';
import type { NativeEquivalent } from '../native.js';
import type { BenchKernel, CpuCase, HostTensor, Shape, Tf, TfCase, TfTensor } from '../registry.js';
import { rngFor, uniforms } from './util.js';

type Pass = 'fwd' | 'bwd-input' | 'bwd-weight';

const c = (N: number, Cin: number, HW: number, Cout: number, K: number, stride = 1, groups = 1): Shape => ({
  N,
  Cin,
  H: HW,
  W: HW,
  Cout,
  K,
  stride,
  pad: (K - 1) >> 1,
  groups,
});

const SHAPES: BenchKernel['shapes'] = {
  tiny: [c(2, 3, 9, 5, 3), c(2, 4, 7, 4, 3, 2, 4)],
  small: [c(8, 16, 32, 16, 3), c(8, 64, 8, 64, 3), c(8, 32, 16, 64, 1), c(8, 32, 16, 32, 3, 1, 32)],
  default: [
    c(64, 16, 32, 16, 3),
    c(64, 64, 8, 64, 3),
    c(32, 64, 56, 64, 3),
    c(32, 256, 28, 128, 1),
    c(32, 64, 56, 128, 3, 2),
    c(32, 96, 56, 96, 3, 1, 96),
  ],
  large: [
    c(128, 64, 56, 64, 3),
    c(128, 128, 28, 128, 3),
    c(128, 256, 14, 256, 3),
    c(128, 512, 7, 512, 3),
    c(128, 256, 56, 64, 1),
    c(128, 64, 56, 128, 3, 2),
    c(128, 144, 56, 144, 3, 1, 144),
  ],
};

/** Depthwise (MBConv) layers only: CIFAR-size and ImageNet-size stages, 3x3 to 7x7, stride 1 and 2. */
const DW_SHAPES: BenchKernel['shapes'] = {
  tiny: [c(2, 4, 7, 4, 3, 1, 4), c(1, 5, 9, 5, 5, 2, 5)],
  small: [c(8, 32, 16, 32, 3, 1, 32), c(8, 96, 16, 96, 5, 1, 96), c(8, 144, 16, 144, 3, 2, 144)],
  default: [
    c(32, 96, 56, 96, 3, 1, 96),
    c(32, 144, 28, 144, 5, 1, 144),
    c(32, 240, 28, 240, 7, 2, 240),
    c(32, 576, 14, 576, 3, 1, 576),
  ],
  large: [
    c(128, 144, 56, 144, 3, 1, 144),
    c(128, 240, 28, 240, 5, 1, 240),
    c(128, 480, 14, 480, 7, 1, 480),
    c(128, 960, 7, 960, 3, 1, 960),
  ],
};

/**
 * The addon's conv / dwconv over the N images (batch N, NHWC, padding k/2, bias fused: zeros in the
 * parity run). Its run() takes our NCHW x and [Cout, Cin/groups, K, K] w as they are (the addon
 * converts the activations) and returns NCHW, so the guard compares like for like.
 */
function nativeConv(pass: Pass, s: Shape): NativeEquivalent | null {
  if (pass !== 'fwd' || s.pad !== s.K >> 1 || s.K % 2 === 0 || s.stride > 4) return null;
  const depthwise = s.groups > 1 && s.groups === s.Cin && s.Cout === s.Cin;
  if (s.groups > 1 && !depthwise) return null;
  if (s.N > 65536) return null;
  const common = { batch: s.N, inH: s.H, inW: s.W, inC: s.Cin, kernel: s.K, stride: s.stride, relu6: false };
  const op: NativeRunOp = depthwise ? { type: 'dwconv', ...common } : { type: 'conv', ...common, outC: s.Cout };
  return {
    ops: [op],
    note: depthwise ? 'depthwise conv over the N images (+ bias), NHWC' : 'conv over the N images (+ bias), NHWC',
    output: (run, [x, w]) => run(op, { input: x.data, weights: w.data }, 'nchw'),
  };
}

function label(s: Shape): string {
  const g = s.groups > 1 ? (s.groups === s.Cin ? ' dw' : ` g${s.groups}`) : '';
  return `N${s.N} ${s.Cin}->${s.Cout} ${s.H}x${s.W} k${s.K}s${s.stride}${g}`;
}

function geom(s: Shape): ConvGeom {
  return { N: s.N, Cin: s.Cin, H: s.H, W: s.W, Cout: s.Cout, KH: s.K, KW: s.K, stride: s.stride, pad: s.pad };
}

function shapes(s: Shape) {
  const { OH, OW } = convOut(geom(s));
  return {
    x: [s.N, s.Cin, s.H, s.W],
    w: [s.Cout, s.Cin / s.groups, s.K, s.K],
    y: [s.N, s.Cout, OH, OW],
  };
}

const numel = (sh: number[]) => sh.reduce((a, b) => a * b, 1);

/** Which operands each pass consumes, in order, and what it produces. */
const OPERANDS: Record<Pass, { inputs: Array<'x' | 'w' | 'y'>; output: 'x' | 'w' | 'y' }> = {
  fwd: { inputs: ['x', 'w'], output: 'y' },
  'bwd-input': { inputs: ['y', 'w'], output: 'x' },
  'bwd-weight': { inputs: ['x', 'y'], output: 'w' },
};

// NCHW <-> NHWC and OIHW <-> HWIO (or HW C 1 for depthwise) for tfjs.
const toNhwc = (tf: Tf, t: TfTensor) => tf.transpose(t, [0, 2, 3, 1]);
const fromNhwc = (tf: Tf, t: TfTensor) => tf.transpose(t, [0, 3, 1, 2]);

function tfjsCase(pass: Pass, tf: Tf, s: Shape, inputs: HostTensor[]): TfCase {
  const depthwise = s.groups > 1;
  if (depthwise && s.groups !== s.Cin) throw new Error('tfjs has no grouped convolution (only dense and depthwise)');
  const pad = s.pad;
  const stride: [number, number] = [s.stride, s.stride];
  // Filters: ours [Cout, Cin/groups, KH, KW]; tfjs dense HWIO [KH, KW, Cin, Cout], depthwise [KH, KW, C, 1].
  const toTfFilter = (w: TfTensor) => tf.transpose(w, [2, 3, 1, 0]);
  const toTfFilterDw = (w: TfTensor) => tf.transpose(w, [2, 3, 0, 1]);
  const held: TfTensor[] = [];
  const keep = (t: TfTensor) => (held.push(t), t);
  const get = (i: number) => tf.tensor(inputs[i].data, inputs[i].shape);
  const tfFilter = (t: TfTensor) => (depthwise ? toTfFilterDw(t) : toTfFilter(t));
  const xNhwc = [s.N, s.H, s.W, s.Cin] as [number, number, number, number];
  const filterShape = (depthwise ? [s.K, s.K, s.Cin, 1] : [s.K, s.K, s.Cin, s.Cout]) as [number, number, number, number];
  let run: () => TfTensor;
  let forParity: (t: TfTensor) => TfTensor;
  if (pass === 'fwd') {
    const x = keep(tf.tidy(() => toNhwc(tf, get(0))));
    const w = keep(tf.tidy(() => tfFilter(get(1))));
    run = depthwise
      ? () => tf.depthwiseConv2d(x as never, w as never, stride, pad)
      : () => tf.conv2d(x as never, w as never, stride, pad);
    forParity = (t) => fromNhwc(tf, t);
  } else if (pass === 'bwd-input') {
    const dy = keep(tf.tidy(() => toNhwc(tf, get(0))));
    const w = keep(tf.tidy(() => tfFilter(get(1))));
    run = depthwise
      ? () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropInput',
              { dy, filter: w },
              { strides: stride, pad, dilations: 1, inputShape: xNhwc },
            ) as TfTensor
      : () =>
          tf
            .engine()
            .runKernel(
              'Conv2DBackpropInput',
              { dy, filter: w },
              { strides: stride, pad, dataFormat: 'NHWC', inputShape: xNhwc },
            ) as TfTensor;
    forParity = (t) => fromNhwc(tf, t);
  } else {
    const x = keep(tf.tidy(() => toNhwc(tf, get(0))));
    const dy = keep(tf.tidy(() => toNhwc(tf, get(1))));
    run = depthwise
      ? () =>
          tf
            .engine()
            .runKernel(
              'DepthwiseConv2dNativeBackpropFilter',
              { x, dy },
              { strides: stride, pad, dilations: 1, filterShape },
            ) as TfTensor
      : () =>
          tf
            .engine()
            .runKernel('Conv2DBackpropFilter', { x, dy }, { strides: stride, pad, dataFormat: 'NHWC', filterShape }) as TfTensor;
    forParity = (t) => tf.transpose(t, depthwise ? [2, 3, 0, 1] : [3, 2, 0, 1]);
  }
  return { run, forParity, teardown: () => tf.dispose(held) };
}

/** The op descriptor of each pass: its cost and reference. */
const PASS_OPS = { fwd: conv2dOp, 'bwd-input': conv2dBackwardInputOp, 'bwd-weight': conv2dBackwardWeightOp } as const;

function cpuCase(pass: Pass, s: Shape, inputs: HostTensor[]): CpuCase {
  const g = geom(s);
  const sh = shapes(s);
  const p = { stride: s.stride, pad: s.pad, groups: s.groups };
  const [a, b] = inputs;
  let out: ArrayLike<number> = new Float32Array(0);
  if (s.groups === 1) {
    const buf = new Float32Array(numel(sh[OPERANDS[pass].output]));
    out = buf;
    const run =
      pass === 'fwd'
        ? () => void conv2dCpuFast(a.data, b.data, g, buf)
        : pass === 'bwd-input'
          ? () => void conv2dBackwardInputCpuFast(a.data, b.data, g, buf)
          : () => void conv2dBackwardWeightCpuFast(a.data, b.data, g, buf);
    return { run, output: () => out };
  }
  // Grouped / depthwise: the descriptors' references (f64 accumulation).
  const run =
    pass === 'fwd'
      ? () => void (out = PASS_OPS.fwd.reference(a.data, sh.x, b.data, sh.w, p))
      : pass === 'bwd-input'
        ? () => void (out = PASS_OPS['bwd-input'].reference(a.data, b.data, sh.w, sh.x, p))
        : () => void (out = PASS_OPS['bwd-weight'].reference(a.data, sh.x, b.data, sh.w, p));
  return { run, output: () => out };
}

interface EntryOverride {
  name?: string;
  description?: string;
  shapes?: BenchKernel['shapes'];
  /** Forward with f16 operands (f32 accumulation): conv2d(..., { precision: 'f16' }). */
  f16?: boolean;
}

function entry(pass: Pass, override: EntryOverride = {}): BenchKernel {
  const name = override.name ?? (pass === 'fwd' ? 'conv2d' : `conv2d-${pass}`);
  const what = { fwd: 'forward', 'bwd-input': 'input gradient', 'bwd-weight': 'weight gradient' }[pass];
  return {
    name,
    description: override.description ?? `conv2d ${what}, NCHW f32 (implicit GEMM; depthwise runs the direct kernel)`,
    shapes: override.shapes ?? SHAPES,
    ...(override.f16 ? { inDefaultRun: false, gpuOnly: true } : {}),
    label,
    cost: (s) => {
      const sh = shapes(s);
      return PASS_OPS[pass].cost({ xShape: sh.x, wShape: sh.w, stride: s.stride, pad: s.pad, groups: s.groups });
    },
    setup(backend, s) {
      const sh = shapes(s);
      const p = { stride: s.stride, pad: s.pad, groups: s.groups };
      const rng = rngFor(name, s);
      const ops = OPERANDS[pass];
      const inputs: HostTensor[] = ops.inputs.map((k) => ({ data: uniforms(rng, numel(sh[k])), shape: sh[k] }));
      const [ga, gb] = inputs.map((t) => backend.upload(t.data, t.shape));
      let last: Tensor | null = null;
      const op =
        pass === 'fwd'
          ? () => backend.ops.conv2d(ga, gb, p, override.f16 ? { precision: 'f16' } : {})
          : pass === 'bwd-input'
            ? () => backend.ops.conv2dBackwardInput(ga, gb, sh.x, p)
            : () => backend.ops.conv2dBackwardWeight(ga, gb, sh.w, p);
      return {
        run: () => {
          last?.dispose();
          last = op();
        },
        inputs,
        read: async () => {
          if (!last) throw new Error(`${name} bench: read() before run()`);
          return last.read();
        },
        teardown: () => {
          last?.dispose();
          ga.dispose();
          gb.dispose();
        },
      };
    },
    tfjs: (tf, s, inputs) => tfjsCase(pass, tf, s, inputs),
    // The addon has forward ops only.
    ...(pass === 'fwd' ? { native: (s: Shape) => nativeConv(pass, s) } : {}),
    cpu: (s, inputs) => cpuCase(pass, s, inputs),
    // Sums of Cin*K*K (forward), Cout*K*K (input grad) or N*OH*OW (weight grad) products of [-1, 1) values.
    tolerance: (s) => {
      const terms =
        pass === 'fwd'
          ? (s.Cin / s.groups) * s.K * s.K
          : pass === 'bwd-input'
            ? (s.Cout / s.groups) * s.K * s.K
            : s.N * s.H * s.W;
      // f16 operands: each product off by up to ~2^-10 of |x w| (about 1/4 on average here).
      return override.f16 ? { atol: 5e-4 * terms + 1e-3, rtol: 1e-2 } : { atol: 2e-5 * terms + 1e-4, rtol: 1e-3 };
    },
  };
}

export const conv2dBench = entry('fwd');
export const conv2dBwdInputBench = entry('bwd-input');
export const conv2dBwdWeightBench = entry('bwd-weight');
export const depthwiseBench = entry('fwd', {
  name: 'depthwise',
  description: 'depthwise conv forward (MBConv), NCHW f32, groups = C (direct kernel)',
  shapes: DW_SHAPES,
});
export const depthwiseBwdInputBench = entry('bwd-input', {
  name: 'depthwise-bwd-input',
  description: 'depthwise conv input gradient (MBConv), NCHW f32, groups = C (direct kernel)',
  shapes: DW_SHAPES,
});
export const depthwiseBwdWeightBench = entry('bwd-weight', {
  name: 'depthwise-bwd-weight',
  description: 'depthwise conv weight gradient (MBConv), NCHW f32, groups = C (direct kernel)',
  shapes: DW_SHAPES,
});

/** The dense layers only: the f16 path is for groups = 1. */
const denseOnly = (sets: BenchKernel['shapes']): BenchKernel['shapes'] =>
  Object.fromEntries(Object.entries(sets).map(([k, v]) => [k, v.filter((x) => x.groups === 1)])) as BenchKernel['shapes'];

export const conv2dF16Bench = entry('fwd', {
  name: 'conv2d-f16',
  description: 'conv2d forward with f16 operands, f32 accumulation (conv2d_f16.wgsl; needs shader-f16)',
  shapes: denseOnly(SHAPES),
  f16: true,
});
