/**
 * ProxylessNAS binarized paths: the gate gradient dL/dg = scale · Σ o ⊙ dL/dy (binarize.wgsl
 * dot_partial + dot_final), one per evaluated path per block per step. Sizes are block outputs
 * N×C×H×W of the MobileNet space at CIFAR and ImageNet resolution.
 */
import { gateDotOp } from '../../kernels/binarize.js';
import type { BenchKernel, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

const s = (N: number, C: number, HW: number): Shape => ({ N, C, H: HW, W: HW });
/** Slot of `out` the gate writes (a step's gates share one tensor) and the gradient scale. */
const INDEX = 1;
const SCALE = 0.5;

export const gateDotBench: BenchKernel = {
  name: 'gate-dot',
  description: 'ProxylessNAS gate gradient scale * sum(o * dy) over a block output (binarize.wgsl, two-pass reduction)',
  shapes: {
    tiny: [s(1, 3, 7), s(2, 5, 13)],
    small: [s(8, 32, 16), s(8, 96, 16), s(8, 24, 32)],
    default: [s(64, 32, 32), s(32, 24, 56), s(32, 96, 28)],
    large: [s(128, 24, 112), s(128, 40, 56), s(128, 160, 14)],
  },
  label: ({ N, C, H, W }) => `N${N} ${C}x${H}x${W}`,
  cost: ({ N, C, H, W }) => gateDotOp.cost({ n: N * C * H * W }),
  setup(backend, shape) {
    const n = shape.N * shape.C * shape.H * shape.W;
    const rng = rngFor('gate-dot', shape);
    const a = uniforms(rng, n);
    const b = uniforms(rng, n);
    const ga = backend.upload(a, [n]);
    const gb = backend.upload(b, [n]);
    const out = backend.zeros([4]);
    return {
      run: () => backend.ops.gateDot(ga, gb, out, INDEX, SCALE),
      inputs: [
        { data: a, shape: [n] },
        { data: b, shape: [n] },
      ],
      read: async () => (await out.read()).subarray(INDEX, INDEX + 1),
      teardown: () => {
        for (const t of [ga, gb, out]) t.dispose();
      },
    };
  },
  tfjs(tf, _shape, [a, b]) {
    const ta = tf.tensor(a.data, a.shape);
    const tb = tf.tensor(b.data, b.shape);
    return {
      run: () => tf.tidy(() => tf.sum(tf.mul(ta, tb)).mul(SCALE).reshape([1])),
      teardown: () => tf.dispose([ta, tb]),
    };
  },
  cpu(_shape, [a, b]) {
    const out = new Float32Array(1);
    return {
      run: () => void (out[0] = gateDotOp.reference(a.data, b.data, SCALE)),
      output: () => out,
    };
  },
  // A sum of n products of [-1, 1) values: |sum| ~ sqrt(n)/3; f32 partial sums lose ~1e-7 each.
  tolerance: (shape) => ({ atol: 1e-6 * Math.sqrt(shape.N * shape.C * shape.H * shape.W) * 10 + 1e-4, rtol: 1e-3 }),
};
