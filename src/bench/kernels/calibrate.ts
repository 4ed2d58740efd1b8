/** The calibration kernels as benchmark entries: roofline anchors (not in the default run). */
import { fmaBurn, fmaBurnOp, scaleCopy, scaleCopyOp } from '../calibrate.js';
import { type Backend, gpuOf } from '../../backend/index.js';
import type { Gpu } from '../../gpu/gpu.js';
import type { BenchKernel } from '../registry.js';
import { rngFor, uniforms } from './util.js';

/** The calibration kernels are WGSL of their own: only the webgpu backend runs them. */
function needsGpu(backend: Backend): Gpu {
  const gpu = gpuOf(backend);
  if (!gpu) throw new Error('a WGSL calibration kernel: run it with --device gpu');
  return gpu;
}

export const fmaBench: BenchKernel = {
  name: 'fma',
  description: 'calibration: 16 independent f32 FMA chains per thread (calibrate_flops.wgsl), compute-bound',
  inDefaultRun: false,
  gpuOnly: true,
  shapes: {
    tiny: [{ threads: 4096, iters: 64 }],
    small: [{ threads: 65536, iters: 256 }],
    default: [{ threads: 1 << 20, iters: 1024 }],
    large: [{ threads: 1 << 22, iters: 4096 }],
  },
  label: ({ threads, iters }) => `${threads}t x ${iters}`,
  cost: ({ threads, iters }) => fmaBurnOp.cost({ threads, iters }),
  setup(backend, { threads, iters }) {
    const gpu = needsGpu(backend);
    const x = gpu.upload(uniforms(rngFor('fma', { threads }), threads), [threads]);
    const y = gpu.empty([threads]);
    return {
      run: () => void fmaBurn(gpu, x, { iters }, y),
      read: () => y.read(),
      teardown: () => {
        x.dispose();
        y.dispose();
      },
    };
  },
};

export const copyBench: BenchKernel = {
  name: 'copy',
  description: 'calibration: STREAM scale y = 1.5 x over vec4 (calibrate_bandwidth.wgsl), bandwidth-bound',
  inDefaultRun: false,
  gpuOnly: true,
  shapes: {
    tiny: [{ MiB: 1 }],
    small: [{ MiB: 16 }],
    default: [{ MiB: 64 }, { MiB: 256 }],
    large: [{ MiB: 256 }, { MiB: 1024 }],
  },
  label: ({ MiB }) => `${MiB} MiB`,
  cost: ({ MiB }) => scaleCopyOp.cost({ elems: (MiB * (1 << 20)) / 4 }),
  setup(backend, shape) {
    const gpu = needsGpu(backend);
    const elems = (shape.MiB * (1 << 20)) / 4;
    const data = uniforms(rngFor('copy', shape), elems);
    const x = gpu.upload(data, [elems]);
    const y = gpu.empty([elems]);
    return {
      run: () => void scaleCopy(gpu, x, 1.5, y),
      inputs: [{ data, shape: [elems] }],
      read: () => y.read(),
      teardown: () => {
        x.dispose();
        y.dispose();
      },
    };
  },
  tfjs(tf, _shape, [x]) {
    const tx = tf.tensor(x.data, x.shape);
    return { run: () => tx.mul(1.5), teardown: () => tx.dispose() };
  },
  cpu(_shape, [x]) {
    const out = new Float32Array(x.data.length);
    return { run: () => void scaleCopyOp.reference(x.data, 1.5, out), output: () => out };
  },
};
