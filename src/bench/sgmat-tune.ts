/**
 * Picks the subgroup-matrix (tensor-core) program bench's matmul-sgmat entries measure: each
 * candidate of SGMAT_CANDIDATES[variant] (src/kernels/matmul-subgroup-matrix.ts) that fits the
 * device and the shape is compiled, checked against the CPU reference on a small product (values
 * exact in f16, so the result must be exact), and timed on the shape; the fastest wins. Once per
 * Gpu, variant and shape: the best tile for 256^3 need not be the best for 8192^3, so each benched
 * shape gets its own pick. Every candidate's time or refusal goes into the bench's config, so one
 * device run compares them all.
 */
import type { Gpu } from '../gpu/gpu.js';
import {
  matmulSubgroupMatrix,
  prepareSubgroupMatrixMatmul,
  SGMAT_CANDIDATES,
  type SgmatOptions,
  type SgmatProgramKey,
  type SgmatVariant,
  sgmatBlock,
  sgmatOptionsName,
  sgmatShapeProblem,
  subgroupMatrixProblem,
} from '../kernels/matmul-subgroup-matrix.js';
import { median } from '../util/quantile.js';
import { Rng } from '../util/rng.js';

export interface SgmatTrial {
  /** sgmatOptionsName of the program, or the options asked where none was built. */
  name: string;
  /** Median of the timed runs (Infinity where it failed or was refused). */
  ms: number;
  error?: string;
}

export interface SgmatTuning {
  key: SgmatProgramKey;
  trials: SgmatTrial[];
  /** MxNxK the candidates were timed on. */
  shape: string;
}

/** The trials as one line: 'name 0.412 ms; name refused: why' (the bench's config). */
export function sgmatTrialsLine(trials: readonly SgmatTrial[]): string {
  return trials.map((t) => (t.error ? `${t.name}: ${t.error}` : `${t.name} ${t.ms.toFixed(3)} ms`)).join('; ');
}

/** C = A B through `key` on a small exact product equals the CPU reference (throws where not). */
async function checkExact(gpu: Gpu, key: SgmatProgramKey): Promise<void> {
  const { BM, BN } = sgmatBlock(key);
  // Two blocks each way, three k-tiles (a double-buffered program wraps its buffers twice).
  const [M, N, K] = [2 * BM, 2 * BN, 3 * key.KS * key.frag.K];
  const rng = new Rng(M + N + K);
  const exact = (n: number) => Float32Array.from({ length: n }, () => (rng.int(33) - 16) / 8);
  const a = exact(M * K);
  const b = exact(K * N);
  const ga = gpu.upload(a, [M, K]);
  const gb = gpu.upload(b, [K, N]);
  const gc = matmulSubgroupMatrix(gpu, key, ga, gb);
  try {
    const got = await gc.read();
    for (let m = 0; m < M; m++)
      for (let n = 0; n < N; n++) {
        let s = 0;
        for (let k = 0; k < K; k++) s += a[m * K + k] * b[k * N + n];
        if (got[m * N + n] !== s) throw new Error(`wrong result at (${m}, ${n}) of ${M}x${N}x${K}: ${got[m * N + n]}, want ${s}`);
      }
  } finally {
    for (const t of [ga, gb, gc]) t.dispose();
  }
}

type SgmatShape = { M: number; N: number; K: number };

/** The tunings kept per Gpu, by sgmatTuningId. */
const tuned = new WeakMap<Gpu, Map<string, Promise<SgmatTuning>>>();

/** What a tuning is kept under: the variant and the whole shape (the pick depends on all three sizes). */
function sgmatTuningId(variant: SgmatVariant, { M, N, K }: SgmatShape): string {
  return `${variant} ${M}x${N}x${K}`;
}

/** One timed run of `run` through the GPU's timer (timestamp queries, else the wall clock), ms. */
async function gpuTime(gpu: Gpu, run: () => void): Promise<number> {
  await gpu.beginTimer();
  run();
  return (await gpu.endTimer()).ms;
}

export interface SgmatTuneOptions {
  /** Default SGMAT_CANDIDATES[variant]. */
  candidates?: readonly SgmatOptions[];
  /** Timed runs per candidate (median), default 3. */
  repeats?: number;
  /** Builds a candidate's program (default prepareSubgroupMatrixMatmul; tests give emulated ones). */
  prepare?: (gpu: Gpu, o: SgmatOptions) => Promise<SgmatProgramKey>;
  /** Times one run of `run` (program `key` on `shape`), ms (default the GPU's timer; tests give fake times). */
  time?: (gpu: Gpu, run: () => void, key: SgmatProgramKey, shape: SgmatShape) => Promise<number>;
  /**
   * Where tunings are kept, by sgmatTuningId (default: per Gpu, except when candidates, prepare or
   * time are given, whose picks are not the device's).
   */
  memo?: Map<string, Promise<SgmatTuning>>;
}

/** The fastest correct candidate of `variant` on a product of this shape, memoized per shape (see memo). */
export function tuneSubgroupMatrixMatmul(
  gpu: Gpu,
  variant: SgmatVariant,
  shape: SgmatShape,
  o: SgmatTuneOptions = {},
): Promise<SgmatTuning> {
  let memo = o.memo;
  if (!memo && !o.candidates && !o.prepare && !o.time) {
    memo = tuned.get(gpu);
    if (!memo) tuned.set(gpu, (memo = new Map()));
  }
  if (!memo) return tune(gpu, variant, shape, o);
  const id = sgmatTuningId(variant, shape);
  let hit = memo.get(id);
  if (!hit) memo.set(id, (hit = tune(gpu, variant, shape, o)));
  return hit;
}

async function tune(gpu: Gpu, variant: SgmatVariant, shape: SgmatShape, o: SgmatTuneOptions): Promise<SgmatTuning> {
  const { M, N, K } = shape;
  const candidates = o.candidates ?? SGMAT_CANDIDATES[variant];
  const repeats = o.repeats ?? 3;
  const prepare = o.prepare ?? prepareSubgroupMatrixMatmul;
  const time = o.time ?? gpuTime;
  // Without the feature, prepare's one line (what to set), once rather than per candidate.
  const problem = o.prepare ? null : subgroupMatrixProblem(gpu);
  if (problem) throw new Error(`matmul (subgroup matrix): ${problem}`);
  const rng = new Rng(7);
  const ga = gpu.upload(rng.uniforms(M * K, 0.5), [M, K]);
  const gb = gpu.upload(rng.uniforms(K * N, 0.5), [K, N]);
  const gc = gpu.empty([M, N]);
  const trials: SgmatTrial[] = [];
  let best: { key: SgmatProgramKey; ms: number } | null = null;
  try {
    for (const c of candidates) {
      const trial: SgmatTrial = { name: JSON.stringify(c), ms: Infinity };
      trials.push(trial);
      try {
        const key = await prepare(gpu, { ...c, variant });
        trial.name = sgmatOptionsName(key);
        const misfit = sgmatShapeProblem(key, M, N, K);
        if (misfit) throw new Error(misfit);
        await checkExact(gpu, key);
        matmulSubgroupMatrix(gpu, key, ga, gb, gc);
        await gpu.sync();
        const samples: number[] = [];
        const run = () => void matmulSubgroupMatrix(gpu, key, ga, gb, gc);
        for (let r = 0; r < repeats; r++) samples.push(await time(gpu, run, key, shape));
        trial.ms = median(samples);
        if (!best || trial.ms < best.ms) best = { key, ms: trial.ms };
      } catch (e) {
        trial.error = (e as Error).message.split('\n')[0];
      }
    }
  } finally {
    for (const t of [ga, gb, gc]) t.dispose();
  }
  if (!best) throw new Error(`matmul (subgroup matrix, ${variant}): no candidate ran: ${sgmatTrialsLine(trials)}`);
  return { key: best.key, trials, shape: `${M}x${N}x${K}` };
}
