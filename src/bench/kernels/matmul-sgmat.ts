/**
 * The subgroup-matrix (tensor-core) matmul, f16 operands and f32 sums, in its two program shapes
 * (src/kernels/matmul-subgroup-matrix.ts); named only, on a GPU offering the feature. Square sizes
 * that are multiples of every block; the parity guard against tfjs (f32) uses the f16 tolerance.
 */
import { gpuOf } from '../../backend/index.js';
import { matmulOp } from '../../kernels/matmul.js';
import {
  matmulSubgroupMatrix,
  prepareSubgroupMatrixMatmul,
  type SgmatVariant,
  sgmatBlock,
  sgmatOptionsName,
} from '../../kernels/matmul-subgroup-matrix.js';
import { matmulCpuBlocked } from '../cpu.js';
import { sgmatTrialsLine, tuneSubgroupMatrixMatmul } from '../sgmat-tune.js';
import type { BenchKernel, Shape } from '../registry.js';
import { rngFor, uniforms } from './util.js';

const sq = (n: number): Shape => ({ batch: 1, M: n, N: n, K: n });

/**
 * Tile from WGNAS_SGMAT_TILE=TMxTN (result fragments per subgroup, the variant's other options at
 * their defaults), else none: the candidates of SGMAT_CANDIDATES are tuned on each shape.
 */
function tileFromEnv(): { TM?: number; TN?: number } {
  const m = /^(\d)x(\d)$/.exec(process.env.WGNAS_SGMAT_TILE ?? '');
  return m ? { TM: Number(m[1]), TN: Number(m[2]) } : {};
}

function sgmatEntry(variant: SgmatVariant): BenchKernel {
  const name = variant === 'direct' ? 'matmul-sgmat' : 'matmul-sgmat-staged';
  return {
    name,
    description: `C = A B on tensor cores (subgroup matrices, ${variant} program): f16 operands, f32 sums; needs chromium-experimental-subgroup-matrix`,
    inDefaultRun: false,
    gpuOnly: true,
    cost: (s) => matmulOp.cost({ batch: 1, M: s.M, N: s.N, K: s.K }),
    shapes: {
      tiny: [sq(128)],
      small: [sq(256), sq(512)],
      default: [sq(1024), sq(2048)],
      large: [sq(2048), sq(4096), sq(8192)],
    },
    label: ({ M, N, K }) => `${M}x${N}x${K}`,
    async setup(backend, shape) {
      const gpu = gpuOf(backend);
      if (!gpu) throw new Error('the subgroup-matrix matmul is a WGSL path: run it with --device gpu');
      const { M, N, K } = shape;
      const tile = tileFromEnv();
      const tuning = tile.TM ? null : await tuneSubgroupMatrixMatmul(gpu, variant, { M, N, K });
      const key = tuning?.key ?? (await prepareSubgroupMatrixMatmul(gpu, { variant, ...tile }));
      const rng = rngFor(name, shape);
      const a = uniforms(rng, M * K);
      const b = uniforms(rng, K * N);
      const ga = gpu.upload(a, [M, K]);
      const gb = gpu.upload(b, [K, N]);
      const gc = gpu.empty([M, N]);
      const { BM, BN } = sgmatBlock(key);
      return {
        run: () => void matmulSubgroupMatrix(gpu, key, ga, gb, gc),
        inputs: [
          { data: a, shape: [M, K] },
          { data: b, shape: [K, N] },
        ],
        read: () => gc.read(),
        config: {
          fragment: `${key.frag.M}x${key.frag.N}x${key.frag.K}`,
          block: `${BM}x${BN}`,
          tile: `${key.TM}x${key.TN}`,
          program: sgmatOptionsName(key),
          syntax: key.syntax,
          ...(tuning
            ? { tuning: `${tuning.trials.length} candidates on ${tuning.shape}: ${sgmatTrialsLine(tuning.trials)}` }
            : {}),
        },
        teardown: () => {
          for (const t of [ga, gb, gc]) t.dispose();
        },
      };
    },
    tfjs(tf, _shape, [a, b]) {
      const ta = tf.tensor(a.data, a.shape);
      const tb = tf.tensor(b.data, b.shape);
      return { run: () => tf.matMul(ta, tb), teardown: () => tf.dispose([ta, tb]) };
    },
    cpu({ M, N, K }, [a, b]) {
      const c = new Float32Array(M * N);
      return { run: () => void matmulCpuBlocked(a.data, b.data, M, N, K, 1, c), output: () => c };
    },
    // f16 operands (as matmul-f16): each product off by up to ~2^-10 of |a b|.
    tolerance: ({ K }) => ({ atol: 5e-4 * K + 1e-3, rtol: 1e-2 }),
  };
}

export const matmulSgmatBench = sgmatEntry('direct');
export const matmulSgmatStagedBench = sgmatEntry('staged');
