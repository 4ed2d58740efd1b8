/** Batched Pearson correlation (correlation.ts): B x N x D -> B x N x N, N = 64 samples as in WRCor. */
import type { Tensor } from '../../backend/index.js';
import { correlationOp } from '../../kernels/correlation.js';
import { correlationCpuFast } from '../cpu.js';
import type { BenchKernel, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

const s = (B: number, D: number, N = 64): Shape => ({ B, N, D });

export const correlationBench: BenchKernel = {
  name: 'correlation',
  description: 'batched Pearson correlation of N=64 rows of D features (normalize_rows + Z Z^T + set_diag)',
  cost: ({ B, N, D }) => correlationOp.cost({ B, N, D }),
  shapes: {
    tiny: [s(2, 100, 16)],
    small: [s(1, 1024), s(4, 4096)],
    default: [s(8, 1024), s(8, 8192), s(4, 65536)],
    large: [s(32, 1024), s(32, 16384), s(16, 65536)],
  },
  label: ({ B, N, D }) => `${B}x${N}x${D}`,
  setup(backend, shape) {
    const { B, N, D } = shape;
    const x = uniforms(rngFor('correlation', shape), B * N * D);
    const gx = backend.upload(x, [B, N, D]);
    let last: Tensor | null = null;
    return {
      run: () => {
        last?.dispose();
        last = backend.ops.correlation(gx);
      },
      inputs: [{ data: x, shape: [B, N, D] }],
      read: async () => {
        if (!last) throw new Error('correlation bench: read() before run()');
        return last.read();
      },
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
