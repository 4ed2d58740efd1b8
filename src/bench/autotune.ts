/**
 * Matmul tile autotuning (`wgnas bench --autotune`). Candidate tiles (generated matmul program
 * constants BM, BN, BK, TM, TN) that fit the device limits are checked against the TypeScript
 * reference, timed on a few shapes, and the fastest is recorded in the per-adapter cache that
 * src/kernels/matmul-tiles.ts reads (kernels only look tiles up; tuning is a bench concern).
 */
import type { Gpu } from '../gpu/gpu.js';
import type { GpuTensor } from '../gpu/tensor.js';
import { matmul, matmulOp } from '../kernels/matmul.js';
import { autotuneCachePath, type MatmulTile, matmulTileMisfit, recordMatmulTuning, tileName } from '../kernels/matmul-tiles.js';
import { median } from '../util/quantile.js';
import { measure, timerSampler } from './measure.js';

export { autotuneCachePath, tileName };

/**
 * Register tiles to try (generated matmul programs' BM x BN blocks over BK, TM x TN outputs per
 * thread, and their options: +db double-buffered shared tiles with the next k-tile prefetched into
 * registers, +u the k loop written out). First the H100's winner of 2026-12-06 (128x128x16/8x4,
 * 57 % of f32 peak), then what a fast NVIDIA SGEMM runs that the generator lacked before:
 * double-buffered 128 x 128 blocks of 8 x 8 and 8 x 4 outputs at BK 8 and 16, 128 x 256 / 256 x 128
 * blocks of 8 x 8, and the k loop written out against the driver's own unrolling (twice: once
 * alone, once with db); then the earlier candidates. matmulTileCandidates drops what a device
 * cannot run: the 128 x 128 x 16 tiles need 33 KiB of workgroup memory by the double-buffered
 * estimate (the H100 and H200 have 48 KiB, lavapipe 32 KiB, WebGPU's default 16 KiB), the 512-thread
 * ones 512 invocations (WebGPU's default is 256).
 */
export const MATMUL_TILE_CANDIDATES: readonly MatmulTile[] = [
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 4 },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 4, db: true },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 4, db: true },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, db: true },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8, db: true },
  { BM: 128, BN: 256, BK: 8, TM: 8, TN: 8, db: true },
  { BM: 256, BN: 128, BK: 8, TM: 8, TN: 8, db: true },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 4, unroll: true },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8, db: true, unroll: true },
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 },
  { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 },
  { BM: 128, BN: 128, BK: 16, TM: 8, TN: 8 },
  { BM: 128, BN: 64, BK: 16, TM: 8, TN: 4 },
  { BM: 64, BN: 128, BK: 16, TM: 4, TN: 8 },
  { BM: 128, BN: 64, BK: 8, TM: 8, TN: 8 },
  { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 },
  { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
  { BM: 32, BN: 64, BK: 16, TM: 4, TN: 4 },
];

export function matmulTileCandidates(limits: Record<string, number>, candidates = MATMUL_TILE_CANDIDATES): MatmulTile[] {
  return candidates.filter((t) => matmulTileMisfit(t, limits) === null);
}

// ---- tuning -------------------------------------------------------------------------------------

export interface TuneShape {
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Awkward parity shapes: primes, non-multiples of every tile, all three operand layouts. */
const PARITY_CASES: Array<TuneShape & { transA: boolean; transB: boolean }> = [
  { batch: 2, M: 67, N: 45, K: 37, transA: false, transB: false },
  { batch: 1, M: 33, N: 70, K: 19, transA: true, transB: false },
  { batch: 2, M: 29, N: 31, K: 53, transA: false, transB: true },
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** Largest |GPU - CPU reference| over the awkward parity cases for one tile, and whether it is within tolerance. */
export async function checkMatmulTile(gpu: Gpu, tile: MatmulTile): Promise<{ ok: boolean; maxAbsErr: number }> {
  let maxAbsErr = 0;
  let ok = true;
  for (const c of PARITY_CASES) {
    const next = lcg(c.M * 131 + c.N * 17 + c.K);
    const aShape = c.transA ? [c.batch, c.K, c.M] : [c.batch, c.M, c.K];
    const bShape = c.transB ? [c.batch, c.N, c.K] : [c.batch, c.K, c.N];
    const a = Float32Array.from({ length: c.batch * c.M * c.K }, next);
    const b = Float32Array.from({ length: c.batch * c.K * c.N }, next);
    const ga = gpu.upload(a, aShape);
    const gb = gpu.upload(b, bShape);
    const gc = matmul(gpu, ga, gb, { transA: c.transA, transB: c.transB, tile });
    const got = await gc.read();
    for (const t of [ga, gb, gc]) t.dispose();
    const want = matmulOp.reference(a, aShape, b, bShape, { transA: c.transA, transB: c.transB });
    const tol = 1e-5 * c.K + 1e-5;
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got[i] - want[i]);
      if (!(err <= tol)) ok = false;
      if (err > maxAbsErr || Number.isNaN(err)) maxAbsErr = Number.isNaN(err) ? Infinity : err;
    }
  }
  return { ok, maxAbsErr };
}

export interface TileTiming {
  tile: MatmulTile;
  /** Geometric mean over the shapes of the median per-run time. */
  ms: number;
  gflops: number;
  perShapeMs: number[];
  parity: { ok: boolean; maxAbsErr: number };
  error?: string;
}

export interface AutotuneOptions {
  shapes?: TuneShape[];
  candidates?: readonly MatmulTile[];
  warmup?: number;
  repeats?: number;
  /** Write the winner to the cache (default true). */
  save?: boolean;
  cachePath?: string;
  log?: (line: string) => void;
  /**
   * Wall-clock budget of the candidates' checks and timings: once spent (and one candidate timed),
   * the candidates left are skipped (marked) and the fastest so far wins. Default AUTOTUNE_BUDGET_MS on hardware adapters
   * (the device suite stops the whole step at 40 s), none on software ones.
   */
  budgetMs?: number;
}

/**
 * The default budget on hardware: on the H100 the 11 candidates of 2026-12-06 took 12 s with the
 * process' start (autotune.log, suite.log); the 19 now should take about 20 s. 25 s leaves the
 * device suite's 40 s step room for Dawn's start and the last candidate begun before the deadline.
 */
export const AUTOTUNE_BUDGET_MS = 25_000;

export interface AutotuneOutcome {
  best: MatmulTile;
  /** Where best has program options: the fastest tile without, the convolutions' (MatmulTuning.plainTile). */
  bestPlain?: MatmulTile;
  results: TileTiming[];
  shapes: TuneShape[];
  cachePath: string | null;
  timing: 'timestamp-query' | 'wall-clock' | 'mixed';
}

export function defaultTuneShapes(gpu: Pick<Gpu, 'adapter'>): TuneShape[] {
  if (gpu.adapter.isSoftware) return [{ batch: 1, M: 256, N: 256, K: 256 }];
  // The tuned tile serves large products; small and skinny ones take smaller tiles (matmulTileFor).
  return [
    { batch: 1, M: 2048, N: 2048, K: 2048 },
    { batch: 1, M: 4096, N: 4096, K: 4096 },
    { batch: 1, M: 1024, N: 1024, K: 4096 },
  ];
}

/**
 * Runs one matmul back to back until about `ms` of GPU time has passed (clocks up an idle GPU):
 * measure()'s sustained warm-up, which keeps going while the runs speed up as the clocks rise.
 */
async function sustain(gpu: Gpu, op: { a: GpuTensor; b: GpuTensor; c: GpuTensor }, tile: MatmulTile, ms: number): Promise<void> {
  try {
    await measure(
      timerSampler(gpu, () => matmul(gpu, op.a, op.b, { out: op.c, tile })),
      { warmup: 1, warmupMs: ms, repeats: 1 },
    );
  } catch {
    // The candidate's own timing reports its failure (marked, not the whole tuning).
  }
}

/** Times every candidate that fits and passes parity; the fastest (geometric-mean time) wins. */
export async function autotuneMatmul(gpu: Gpu, opts: AutotuneOptions = {}): Promise<AutotuneOutcome> {
  const shapes = opts.shapes ?? defaultTuneShapes(gpu);
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? (gpu.adapter.isSoftware ? 3 : 10);
  const log = opts.log ?? (() => {});
  const budgetMs = opts.budgetMs ?? (gpu.adapter.isSoftware ? Infinity : AUTOTUNE_BUDGET_MS);
  const candidates = matmulTileCandidates(gpu.adapter.limits, opts.candidates ?? MATMUL_TILE_CANDIDATES);
  if (candidates.length === 0) throw new Error('autotune: no matmul tile candidate fits this device');
  const totalFlops = shapes.map((s) => matmulOp.cost(s).flops);
  const sources = new Set<string>();

  const operands = shapes.map((s, i) => {
    const next = lcg(1000 + i);
    const a = gpu.upload(Float32Array.from({ length: s.batch * s.M * s.K }, next), [s.batch, s.M, s.K]);
    const b = gpu.upload(Float32Array.from({ length: s.batch * s.K * s.N }, next), [s.batch, s.K, s.N]);
    const c = gpu.empty([s.batch, s.M, s.N]);
    return { a, b, c };
  });
  const results: TileTiming[] = [];
  try {
    // A hardware GPU at idle clocks would handicap the first candidates (bench's --warmup-ms): load
    // it for ~300 ms with the largest product first.
    if (!gpu.adapter.isSoftware) await sustain(gpu, operands.at(-1)!, candidates[0], 300);
    const start = performance.now();
    for (const tile of candidates) {
      const entry: TileTiming = { tile, ms: Infinity, gflops: 0, perShapeMs: [], parity: { ok: false, maxAbsErr: NaN } };
      results.push(entry);
      if (performance.now() - start > budgetMs && results.some((r) => Number.isFinite(r.ms))) {
        entry.error = `skipped: the autotune budget of ${(budgetMs / 1e3).toFixed(1)} s is spent`;
        log(`  ${tileName(tile).padEnd(9)} ${entry.error}`);
        continue;
      }
      try {
        entry.parity = await checkMatmulTile(gpu, tile);
        if (!entry.parity.ok) {
          entry.error = `parity failed (max |err| ${entry.parity.maxAbsErr.toExponential(2)})`;
          log(`  ${tileName(tile).padEnd(9)} ${entry.error}`);
          continue;
        }
        for (const { a, b, c } of operands) {
          for (let i = 0; i < warmup; i++) matmul(gpu, a, b, { out: c, tile });
          await gpu.sync();
          const samples: number[] = [];
          for (let r = 0; r < repeats; r++) {
            await gpu.beginTimer();
            matmul(gpu, a, b, { out: c, tile });
            const t = await gpu.endTimer();
            sources.add(t.source);
            samples.push(t.ms);
          }
          entry.perShapeMs.push(median(samples));
        }
        entry.ms = Math.exp(entry.perShapeMs.reduce((s, v) => s + Math.log(v), 0) / entry.perShapeMs.length);
        entry.gflops = Math.exp(
          entry.perShapeMs.reduce((s, v, i) => s + Math.log(totalFlops[i] / (v / 1e3) / 1e9), 0) / entry.perShapeMs.length,
        );
        log(`  ${tileName(tile).padEnd(9)} ${entry.ms.toFixed(3)} ms  ${entry.gflops.toFixed(1)} GFLOP/s`);
      } catch (e) {
        // A compile error's first line only names the program: its reason is the next one.
        entry.error = (e as Error).message
          .split('\n')
          .slice(0, 2)
          .map((l) => l.trim())
          .join(' ');
        log(`  ${tileName(tile).padEnd(9)} failed: ${entry.error}`);
      }
    }
  } finally {
    for (const o of operands) for (const t of [o.a, o.b, o.c]) t.dispose();
  }
  const ok = results.filter((r) => !r.error && Number.isFinite(r.ms));
  if (ok.length === 0) throw new Error('autotune: every matmul tile candidate failed (see the log above)');
  const fastest = (rs: TileTiming[]) => rs.reduce((best, r) => (r.ms < best.ms ? r : best));
  const winner = fastest(ok);
  // The conv programs have no db / unroll: they take the fastest tile without (MatmulTuning.plainTile).
  const plain = ok.filter((r) => !r.tile.db && !r.tile.unroll);
  const plainTile = (winner.tile.db || winner.tile.unroll) && plain.length ? fastest(plain).tile : undefined;
  let cachePath: string | null = null;
  if (opts.save ?? true) {
    cachePath = opts.cachePath ?? autotuneCachePath();
    recordMatmulTuning(
      gpu,
      {
        tile: winner.tile,
        ...(plainTile ? { plainTile: { ...plainTile } } : {}),
        tunedAt: new Date().toISOString(),
        ms: winner.ms,
        gflops: winner.gflops,
        shapes: shapes.map((s) => `${s.batch}x${s.M}x${s.N}x${s.K}`),
      },
      cachePath,
    );
  }
  const timing = sources.size === 1 ? ([...sources][0] as 'timestamp-query' | 'wall-clock') : 'mixed';
  return { best: { ...winner.tile }, ...(plainTile ? { bestPlain: { ...plainTile } } : {}), results, shapes, cachePath, timing };
}
