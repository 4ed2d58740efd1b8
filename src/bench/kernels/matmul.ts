/** The matmul (f32, and f16 operands named only): square, skinny and batched products. */
import { gpuOf } from '../../backend/index.js';
import { matmulOp } from '../../kernels/matmul.js';
import { matmulTileFor, tileName } from '../../kernels/matmul-tiles.js';
import { matmulCpuBlocked } from '../cpu.js';
import type { BenchKernel, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

const sq = (n: number, batch = 1): Shape => ({ batch, M: n, N: n, K: n });

function matmulEntry(f16: boolean): BenchKernel {
  const name = f16 ? 'matmul-f16' : 'matmul';
  return {
    name,
    description: f16
      ? 'C = A B with f16 operands, f32 accumulation (the f16 program; needs shader-f16)'
      : 'C = A B, f32, register-tiled (generated program); square, skinny (tall x thin) and batched shapes',
    ...(f16 ? { inDefaultRun: false, gpuOnly: true } : {}),
    cost: ({ batch, M, N, K }) => matmulOp.cost({ batch, M, N, K }),
    shapes: {
      tiny: [sq(64), { batch: 2, M: 33, N: 47, K: 29 }],
      small: [sq(256), sq(512), { batch: 1, M: 2048, N: 64, K: 256 }, sq(128, 8)],
      default: [sq(1024), sq(2048), { batch: 1, M: 8192, N: 64, K: 1024 }, { batch: 1, M: 64, N: 4096, K: 4096 }, sq(256, 16)],
      large: [sq(4096), sq(8192), { batch: 1, M: 32768, N: 128, K: 4096 }, { batch: 1, M: 128, N: 8192, K: 8192 }, sq(512, 64)],
    },
    label: ({ batch, M, N, K }) => `${batch > 1 ? `b${batch} ` : ''}${M}x${N}x${K}`,
    setup(backend, shape) {
      const { batch, M, N, K } = shape;
      const gpu = gpuOf(backend);
      if (f16 && !gpu) throw new Error('f16 operands are a WGSL path: run it with --device gpu');
      const rng = rngFor(name, shape);
      const aShape = batch > 1 ? [batch, M, K] : [M, K];
      const bShape = batch > 1 ? [batch, K, N] : [K, N];
      const a = uniforms(rng, batch * M * K);
      const b = uniforms(rng, batch * K * N);
      const ga = backend.upload(a, aShape);
      const gb = backend.upload(b, bShape);
      const gc = backend.empty(batch > 1 ? [batch, M, N] : [M, N]);
      const precision = f16 ? 'f16' : 'f32';
      // The WGSL tile for this adapter and shape (the CPU backend has oneDNN's own blocking).
      const tile = gpu ? matmulTileFor(gpu, M, N, batch, f16 ? 2 : 4) : undefined;
      return {
        run: () => void backend.ops.matmul(ga, gb, { out: gc, tile, precision }),
        inputs: [
          { data: a, shape: aShape },
          { data: b, shape: bShape },
        ],
        read: () => gc.read(),
        config: tile ? { tile: tileName(tile) } : undefined,
        teardown: () => {
          for (const t of [ga, gb, gc]) t.dispose();
        },
      };
    },
    tfjs(tf, _shape, [a, b]) {
      const ta = tf.tensor(a.data, a.shape);
      const tb = tf.tensor(b.data, b.shape);
      return {
        run: () => tf.matMul(ta, tb),
        teardown: () => tf.dispose([ta, tb]),
      };
    },
    async gpujs(g, { batch, M, N, K }, [a, b]) {
      const [ga, gb] = [await g.input(a.data), await g.input(b.data)];
      // Output [N, M, batch] in gpu.js order (x fastest): C[z][y][x] = sum_k A[z][y][k] B[z][k][x].
      const k = g.kernel(
        `function(a, b) {
          const z = this.thread.z;
          const ao = (z * this.constants.M + this.thread.y) * this.constants.K;
          const bo = z * this.constants.K * this.constants.N + this.thread.x;
          let s = 0;
          for (let i = 0; i < this.constants.K; i++) {
            s += a[ao + i] * b[bo + i * this.constants.N];
          }
          return s;
        }`,
        { output: batch > 1 ? [N, M, batch] : [N, M], constants: { M, N, K } },
      );
      return { run: () => k(ga, gb), teardown: () => (g.release(ga), g.release(gb)) };
    },
    // A [M, K] B [K, N] is a 1x1 conv of a 1 x M image with K channels to N channels: NHWC [1, 1, M, K]
    // is A as stored, the weights [N, K, 1, 1] are B transposed, the NHWC output [1, 1, M, N] is C.
    native: ({ batch, M, N, K }) => {
      if (M > 65536 || N > 65536 || K > 65536) return null;
      const op = { type: 'conv', inH: 1, inW: M, inC: K, outC: N, kernel: 1, relu6: false } as const;
      return {
        ops: [op],
        scale: batch,
        note: `1x1 conv over a 1xM image, K -> N channels (+ bias)${batch > 1 ? '; batched shapes: time of one product x batch' : ''}`,
        // Each product of a batch has its own B, so a batch is checked as `batch` separate runs.
        async output(run, [a, b]) {
          const c = new Float32Array(batch * M * N);
          const bt = new Float32Array(N * K);
          for (let z = 0; z < batch; z++) {
            const bz = b.data.subarray(z * K * N, (z + 1) * K * N);
            for (let k = 0; k < K; k++) for (let n = 0; n < N; n++) bt[n * K + k] = bz[k * N + n];
            const cz = await run(op, { input: a.data.slice(z * M * K, (z + 1) * M * K), weights: bt }, 'nhwc');
            c.set(cz, z * M * N);
          }
          return c;
        },
      };
    },
    cpu({ batch, M, N, K }, [a, b]) {
      const c = new Float32Array(batch * M * N);
      return { run: () => void matmulCpuBlocked(a.data, b.data, M, N, K, batch, c), output: () => c };
    },
    // Inputs are in [-1, 1): sums of K products have magnitude ~sqrt(K/9); f32 rounding grows with K.
    // f16 operands: each product off by up to ~2^-10 of |a b| (about 1/4 on average here).
    tolerance: ({ K }) => (f16 ? { atol: 5e-4 * K + 1e-3, rtol: 1e-2 } : { atol: 2e-5 * K + 1e-4, rtol: 1e-3 }),
  };
}

export const matmulBench = matmulEntry(false);
export const matmulF16Bench = matmulEntry(true);
