/**
 * Training-mode batch norm (src/kernels/batchnorm.ts, batchnorm.wgsl), forward and backward, on the
 * layers where it cost most of a WRCor cell's GPU time on an H100 (docs/results.md): NAS-Bench-201's
 * three stages at batch 64, and an MBConv-sized layer. Memory-bound: GB/s against the roofline is
 * the figure. WGNAS_BN_WG picks the statistics kernels' width and WGNAS_BN_PLAN the dispatch plan
 * for A/B runs (device suite: bench-bn-*); each case reports the width, the plan, the statistics
 * chunks per channel and the kernels per pass it ran with.
 * tfjs: the forward as tf.layers.batchNormalization trains it (tf.moments, then tf.batchNorm; on
 * tfjs-wasm, whose batchNorm is per last axis only, element-wise ops); it has no batch norm
 * backward op (only autodiff of that), so the backward has none.
 */
import type { Backend, Tensor } from '../../backend/index.js';
import { batchNormBackwardOp, batchNormForwardOp, bnPlanFor, bnPlanSetting, bnWorkgroup } from '../../kernels/batchnorm.js';
import { DEFAULT_BN_EPS } from '../../kernels/params.js';
import type { BenchKernel, HostTensor, KernelCase, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

type Pass = 'fwd' | 'bwd';

const s = (N: number, C: number, HW: number): Shape => ({ N, C, H: HW, W: HW });

const SHAPES: BenchKernel['shapes'] = {
  // The last: 20480 elements per channel, the split (two-kernel) plan.
  tiny: [s(2, 3, 7), s(5, 2, 64)],
  small: [s(8, 16, 32), s(8, 32, 16), s(8, 64, 8)],
  default: [s(64, 16, 32), s(64, 32, 16), s(64, 64, 8), s(32, 96, 56), s(64, 240, 14)],
  // NAS-Bench-201's stages at batch 64 (on a GPU, 'auto': C16 32x32 and C32 16x16 split, C64 8x8 is
  // one kernel per channel), an MBConv expansion (N128 C144 56x56, 231 MB) and an MBConv depthwise
  // output of small planes and many channels (N64 C240 14x14: 'auto' splits it, 'single' does not).
  large: [s(64, 16, 32), s(64, 32, 16), s(64, 64, 8), s(128, 144, 56), s(64, 240, 14)],
};

const dims = (sh: Shape) => ({ N: sh.N, C: sh.C, HW: sh.H * sh.W });
const xShape = (sh: Shape) => [sh.N, sh.C, sh.H, sh.W];
const numel = (sh: Shape) => sh.N * sh.C * sh.H * sh.W;

/** Host inputs: x (non-zero channel means), gamma, beta, and (backward) dy. */
function hostInputs(pass: Pass, name: string, sh: Shape): HostTensor[] {
  const rng = rngFor(name, sh);
  const n = numel(sh);
  const x = uniforms(rng, n).map((v, i) => 2 * v + (Math.floor(i / (sh.H * sh.W)) % 3));
  const gamma = uniforms(rng, sh.C).map((v) => 1 + 0.3 * v);
  const beta = uniforms(rng, sh.C).map((v) => 0.5 * v);
  const out: HostTensor[] = [
    { data: x, shape: xShape(sh) },
    { data: gamma, shape: [sh.C] },
    { data: beta, shape: [sh.C] },
  ];
  if (pass === 'bwd') out.push({ data: uniforms(rng, n), shape: xShape(sh) });
  return out;
}

/** The plan a GPU backend runs: the statistics' width, the plan, chunks per channel, kernels per pass. */
function planConfig(backend: Backend, sh: Shape): Record<string, number | string> | undefined {
  if (backend.device !== 'gpu') return undefined;
  const wg = bnWorkgroup(backend);
  const plan = bnPlanSetting();
  const { S, onePass } = bnPlanFor(sh.N * sh.H * sh.W, sh.C, wg, plan);
  return { wg, plan, chunks: S, kernels: onePass ? 1 : 2 };
}

function entry(pass: Pass): BenchKernel {
  const name = pass === 'fwd' ? 'batchnorm' : 'batchnorm-bwd';
  const op = pass === 'fwd' ? batchNormForwardOp : batchNormBackwardOp;
  return {
    name,
    description:
      pass === 'fwd'
        ? 'training-mode batch norm forward: per-channel batch statistics, then the affine normalisation (batchnorm.wgsl)'
        : 'batch norm backward: dx, dgamma, dbeta from dy, x and the saved statistics (batchnorm.wgsl)',
    shapes: SHAPES,
    label: ({ N, C, H, W }) => `N${N} C${C} ${H}x${W}`,
    cost: (sh) => op.cost(dims(sh)),
    setup(backend, sh): KernelCase {
      const inputs = hostInputs(pass, name, sh);
      const [gx, gg, gb, gdy] = inputs.map((t) => backend.upload(t.data, t.shape));
      const { batchNormForward, batchNormBackward } = backend.ops;
      // The backward reads the forward's saved statistics, computed once here.
      const saved = pass === 'bwd' ? batchNormForward(gx, gg, gb) : null;
      saved?.y.dispose();
      let last: Tensor[] = [];
      const run = () => {
        for (const t of last) t.dispose();
        if (pass === 'fwd') {
          const f = batchNormForward(gx, gg, gb);
          last = [f.y, f.mean, f.invStd];
        } else {
          const b = batchNormBackward(gdy, gx, saved!.mean, saved!.invStd, gg);
          last = [b.dx, b.dgamma, b.dbeta];
        }
      };
      const config = planConfig(backend, sh);
      return {
        run,
        inputs,
        ...(config ? { config } : {}),
        // y, or dx: the output every element of which the parity guard can compare.
        read: async () => {
          if (last.length === 0) throw new Error(`${name} bench: read() before run()`);
          return last[0].read();
        },
        teardown: () => {
          for (const t of [...last, gx, gg, gb, ...(gdy ? [gdy] : []), ...(saved ? [saved.mean, saved.invStd] : [])]) t.dispose();
        },
      };
    },
    ...(pass === 'fwd'
      ? {
          tfjs: (tf, sh, [x, gamma, beta]) => {
            const c = [1, sh.C, 1, 1];
            const held = [tf.tensor(x.data, x.shape), tf.tensor(gamma.data, c), tf.tensor(beta.data, c)];
            const [tx, tg, tb] = held;
            // tfjs-wasm's batchNorm indexes its statistics by the last axis (element i takes mean[i % C]),
            // wrong for NCHW's channel axis 1: there the same arithmetic as broadcast element-wise ops.
            const lastAxisOnly = tf.getBackend() === 'wasm';
            return {
              run: () =>
                tf.tidy(() => {
                  const { mean, variance } = tf.moments(tx, [0, 2, 3], true);
                  if (lastAxisOnly)
                    return tx
                      .sub(mean)
                      .mul(tf.rsqrt(variance.add(DEFAULT_BN_EPS)).mul(tg))
                      .add(tb);
                  return tf.batchNorm(tx, mean, variance, tb, tg, DEFAULT_BN_EPS);
                }),
              teardown: () => tf.dispose(held),
            };
          },
        }
      : {}),
    cpu: (sh, inputs) => {
      const [x, gamma, beta, dy] = inputs.map((t) => t.data);
      const shape = xShape(sh);
      let out: ArrayLike<number> = new Float32Array(0);
      // The saved statistics the backward reads (f64, as the GPU's f32 ones up to rounding).
      const st = pass === 'bwd' ? batchNormForwardOp.reference(x, shape, gamma, beta) : null;
      const run = () => {
        out =
          pass === 'fwd'
            ? batchNormForwardOp.reference(x, shape, gamma, beta).y
            : batchNormBackwardOp.reference(dy, x, shape, st!.mean, st!.invStd, gamma).dx;
      };
      return { run, output: () => out };
    },
    // Normalised values of order 1 (y), and dx = k (dy - mean(dy) - xhat mean(dy xhat)).
    tolerance: () => ({ atol: 2e-4, rtol: 1e-3 }),
  };
}

export const batchNormBench = entry('fwd');
export const batchNormBwdBench = entry('bwd');
