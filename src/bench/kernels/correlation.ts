/**
 * Batched Pearson correlation (correlation.ts): B x N x D -> B x N x N, N = 64 samples as in WRCor.
 * Shapes with gram: 0 run the Gram product on the matmul (the kernel before the symmetric one),
 * side by side with the default rows in one process (A/B; GPU only).
 */
import { gpuOf, type Tensor } from '../../backend/index.js';
import { correlationOp, type GramKernel, gramFlops } from '../../kernels/correlation.js';
import { correlationCpuFast } from '../cpu.js';
import type { BenchKernel, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

const s = (B: number, D: number, N = 64): Shape => ({ B, N, D });
/** The same shape on the matmul Gram. */
const onMatmul = (shape: Shape): Shape => ({ ...shape, gram: 0 });
const gramOf = (shape: Shape): GramKernel => (shape.gram === 0 ? 'matmul' : 'symmetric');

export const correlationBench: BenchKernel = {
  name: 'correlation',
  description: 'batched Pearson correlation of N=64 rows of D features (normalize_rows + Z Z^T + set_diag)',
  // FLOPs as the Gram kernel runs them. At N = 64 the full product is 2 N^2 D FLOPs over 4 N D bytes
  // of Z, 32 FLOP/byte: the f32 FMA peak alone caps it near 80 % of HBM bandwidth (H100: 67 TFLOP/s
  // / 32 = 2.1 TB/s against a 2.58 TB/s copy). The symmetric kernel runs 53 % of those FLOPs (17
  // FLOP/byte), which leaves bandwidth the bound. Bytes: x read once and the matrices written once
  // (the normalisation's passes over x are not counted).
  cost: ({ B, N, D, ...rest }) => {
    const { bytes } = correlationOp.cost({ B, N, D });
    return { flops: gramFlops(B, N, D, gramOf(rest)) + 8 * B * N * D, bytes };
  },
  shapes: {
    tiny: [s(2, 100, 16)],
    small: [s(1, 1024), s(4, 4096)],
    default: [s(8, 1024), s(8, 8192), s(4, 65536), onMatmul(s(8, 8192))],
    // 15 x 16384: one WRCor arena chunk of D = 16384 (64 MiB).
    large: [
      s(32, 1024),
      s(32, 16384),
      s(16, 65536),
      s(15, 16384),
      onMatmul(s(32, 16384)),
      onMatmul(s(16, 65536)),
      onMatmul(s(15, 16384)),
    ],
  },
  label: ({ B, N, D, gram }) => `${B}x${N}x${D}${gram === 0 ? ' matmul-gram' : ''}`,
  setup(backend, shape) {
    const { B, N, D } = shape;
    const kernel = gramOf(shape);
    const onGpu = gpuOf(backend) !== null;
    if (kernel === 'matmul' && !onGpu) throw new Error('the matmul Gram (A/B) is a WGSL path: run it with --device gpu');
    const x = uniforms(rngFor('correlation', { B, N, D }), B * N * D);
    const gx = backend.upload(x, [B, N, D]);
    let last: Tensor | null = null;
    return {
      run: () => {
        last?.dispose();
        last = kernel === 'matmul' ? backend.ops.correlation(gx, { gram: kernel }) : backend.ops.correlation(gx);
      },
      inputs: [{ data: x, shape: [B, N, D] }],
      read: async () => {
        if (!last) throw new Error('correlation bench: read() before run()');
        return last.read();
      },
      config: onGpu ? { gram: kernel } : undefined,
      teardown: () => {
        last?.dispose();
        gx.dispose();
      },
    };
  },
  tfjs(tf, _shape, [x]) {
    const tx = tf.tensor(x.data, x.shape);
    return {
      // Same math in tf ops: centre, scale rows to unit norm, Z Z^T.
      run: () =>
        tf.tidy(() => {
          const c = tx.sub(tx.mean(2, true));
          const z = c.mul(c.square().sum(2, true).rsqrt());
          return tf.matMul(z, z, false, true);
        }),
      teardown: () => tx.dispose(),
    };
  },
  async gpujs(g, { B, N, D }, [x]) {
    // Row means, row scales 1/||x - mean||, normalised rows, then Z Z^T per batch entry. Flat 1-D
    // intermediates: every gpu.js mode indexes them the same way.
    const R = B * N;
    const mean = g.kernel(
      `function(x) {
        const o = this.thread.x * this.constants.D;
        let s = 0;
        for (let i = 0; i < this.constants.D; i++) { s += x[o + i]; }
        return s / this.constants.D;
      }`,
      { output: [R], constants: { D } },
    );
    const scale = g.kernel(
      `function(x, m) {
        const o = this.thread.x * this.constants.D;
        const mu = m[this.thread.x];
        let ss = 0;
        for (let i = 0; i < this.constants.D; i++) { const d = x[o + i] - mu; ss += d * d; }
        if (ss > 0) { return 1 / Math.sqrt(ss); }
        return 0;
      }`,
      { output: [R], constants: { D } },
    );
    const normalize = g.kernel(
      `function(x, m, sc) {
        const r = Math.floor(this.thread.x / this.constants.D);
        return (x[this.thread.x] - m[r]) * sc[r];
      }`,
      { output: [R * D], constants: { D } },
    );
    const gram = g.kernel(
      `function(z) {
        const a = (this.thread.z * this.constants.N + this.thread.y) * this.constants.D;
        const b = (this.thread.z * this.constants.N + this.thread.x) * this.constants.D;
        let s = 0;
        for (let i = 0; i < this.constants.D; i++) { s += z[a + i] * z[b + i]; }
        return s;
      }`,
      { output: B > 1 ? [N, N, B] : [N, N], constants: { N, D } },
    );
    const gx = await g.input(x.data);
    return {
      run: async () => {
        const m = await mean(gx);
        const sc = await scale(gx, m);
        const z = await normalize(gx, m, sc);
        const c = await gram(z);
        for (const t of [m, sc, z]) g.release(t);
        return c;
      },
      teardown: () => g.release(gx),
    };
  },
  cpu({ B, N, D }, [x]) {
    const c = new Float32Array(B * N * N);
    return { run: () => void correlationCpuFast(x.data, B, N, D, c), output: () => c };
  },
  tolerance: () => ({ atol: 2e-4, rtol: 1e-3 }),
};
