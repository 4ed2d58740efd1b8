/** Baseline names, results and the Runner interface (src/bench/baselines.ts re-exports them). */
import { cpus } from 'node:os';
import type { OpCost } from '../kernels/descriptor.js';
import type { GpuJsMode } from './gpujs.js';
import type { BenchKernel, KernelCase, Shape, Tolerance } from './registry.js';
import type { SampleStats } from './stats.js';

export const BASELINES = ['tfjs-webgpu', 'tfjs-wasm', 'gpujs', 'onednn', 'xnnpack', 'cpu'] as const;
export type BaselineName = (typeof BASELINES)[number];
export const DEFAULT_BASELINES: BaselineName[] = ['tfjs-webgpu', 'tfjs-wasm', 'gpujs', 'onednn', 'cpu'];
/** Accepted spellings of baseline names. */
export const BASELINE_ALIASES: Record<string, BaselineName> = {
  tfjs: 'tfjs-webgpu',
  'gpu.js': 'gpujs',
  wasm: 'tfjs-wasm',
  dnnl: 'onednn',
};

export interface Throughput {
  medianMs: number;
  p10Ms: number;
  p90Ms: number;
  meanMs: number;
  minMs: number;
  samples: number;
  innerRuns: number;
  gflops: number;
  gbps: number;
  /** (1.5) True when the time budget stopped the repeats short: `samples` is less than asked. */
  budgetCut?: boolean;
}

export interface BaselineResult extends Partial<Throughput> {
  status: 'ok' | 'skipped' | 'parity-failed' | 'error';
  /** What ran, e.g. 'gpu.js(webgpu)', 'oneDNN(1t)'. */
  label?: string;
  note?: string;
  /** Our throughput / the baseline's (same FLOPs, so = baseline time / our time); > 1: ours is faster. */
  speedup?: number;
  /** Largest |ours - baseline| in the parity guard (absent: not checked). */
  parityMaxAbsErr?: number;
  /** The time is derived, not timed as a whole (a batched matmul: one product timed x batch); printed with ~. */
  estimate?: boolean;
  /** How the baseline was timed (docs/bench.md lists the values). */
  timing?: BaselineTiming;
}

/**
 * BaselineResult.timing: the GPU timer or the wall clock as measure() saw them ('mixed': some
 * timestamp samples fell back to the wall clock), or the addon's profile() clock around the native
 * primitives. docs/bench.md lists each (test/bench/report.test.ts checks it).
 */
export const BASELINE_TIMINGS = ['timestamp-query', 'wall-clock', 'mixed', 'wall-clock (native)'] as const;
export type BaselineTiming = (typeof BASELINE_TIMINGS)[number];

/** Per-run statistics as measure() or the native addon report them (the common part of SampleStats). */
export type RunStats = Pick<SampleStats, 'n' | 'medianMs' | 'p10Ms' | 'p90Ms' | 'meanMs' | 'minMs'>;

/** Throughput at the median; `repeats`: the samples asked for (fewer taken: budgetCut). */
export function throughput(
  m: { innerRuns: number; stats: RunStats },
  flops: number,
  bytes: number,
  repeats?: number,
): Throughput {
  const s = m.stats.medianMs / 1e3;
  return {
    medianMs: m.stats.medianMs,
    p10Ms: m.stats.p10Ms,
    p90Ms: m.stats.p90Ms,
    meanMs: m.stats.meanMs,
    minMs: m.stats.minMs,
    samples: m.stats.n,
    innerRuns: m.innerRuns,
    gflops: flops / s / 1e9,
    gbps: bytes / s / 1e9,
    ...(repeats !== undefined && m.stats.n < repeats ? { budgetCut: true } : {}),
  };
}

/** Largest |a - b| and whether every element is within atol + rtol |b|. */
export function compareOutputs(a: ArrayLike<number>, b: ArrayLike<number>, tol: Tolerance): { ok: boolean; maxAbsErr: number } {
  if (a.length !== b.length) return { ok: false, maxAbsErr: Infinity };
  let ok = true;
  let maxAbsErr = 0;
  for (let i = 0; i < a.length; i++) {
    const err = Math.abs(a[i] - b[i]);
    if (!(err <= tol.atol + tol.rtol * Math.abs(b[i]))) ok = false;
    if (!(err <= maxAbsErr)) maxAbsErr = Number.isNaN(err) ? Infinity : err;
  }
  return { ok, maxAbsErr };
}

export function cpuModel(): string {
  const c = cpus();
  return c.length ? `${c[0].model.trim()} (${c.length} logical cores)` : 'unknown CPU';
}

export interface ShapeContext {
  k: BenchKernel;
  shape: Shape;
  label: string;
  kc: KernelCase;
  /** FLOPs and minimum bytes of one run (the op descriptors' cost). */
  cost: OpCost;
  tol: Tolerance;
  /** Our output for the parity guards (null when the kernel cannot read it back). */
  oursOut: Float32Array | null;
  oursMedianMs: number;
  warmup: number;
  /** Sustained warm-up before the samples, ms (MeasureOptions.warmupMs). */
  warmupMs: number;
  repeats: number;
  minSampleMs: number;
  gpuBudgetMs: number;
  cpuBudgetMs: number;
  log: (line: string) => void;
}

export interface BaselineConfig {
  /** CPU baselines (TypeScript, gpu.js cpu mode): skip problems above this many FLOPs (default 4e9). */
  cpuMaxFlops?: number;
  /** gpu.js: modes to try, in order (default webgpu, webasm, cpu). */
  gpujsModes?: readonly GpuJsMode[];
  /** oneDNN / XNNPACK library threads (default 1). */
  nativeThreads?: number;
}

export interface Runner {
  name: BaselineName;
  /** Column label, e.g. 'gpu.js(webgpu)'. */
  label: string;
  /** Where/what it runs, for the report header. */
  where: string;
  /** False when the baseline could not start (its rows say why). */
  available: boolean;
  /** Whether a kernel has a version for this baseline (decides whether ours is read back). */
  covers(k: BenchKernel): boolean;
  run(c: ShapeContext): Promise<BaselineResult>;
  dispose(): Promise<void> | void;
}
