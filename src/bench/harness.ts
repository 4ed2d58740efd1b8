/**
 * The benchmark run: for every kernel and shape, time ours (gpu.beginTimer/endTimer), then the
 * baselines on the same inputs (tfjs on the same device, TypeScript on the CPU) after a parity guard,
 * and derive GFLOP/s, GB/s, % of the adapter's roofline and the speed ratios.
 */
import { cpus } from 'node:os';
import type { Gpu } from '../gpu/gpu.js';
import { calibratePeak } from './calibrate.js';
import { cpuSampler, defaultMinSampleMs, type Measurement, measure, timerSampler } from './measure.js';
import { lookupPeak, type Peak, percentOfPeak } from './peaks.js';
import { type BenchKernel, type KernelCase, type Shape, type ShapeSet, shapeLabel, type TfCase, type Tolerance } from './registry.js';
import { createTfjsBaseline, type TfjsBaseline } from './tfjs.js';

export const BASELINES = ['tfjs', 'cpu'] as const;
export type BaselineName = (typeof BASELINES)[number];

export interface BenchOptions {
  kernels: BenchKernel[];
  shapes: ShapeSet;
  warmup: number;
  repeats: number;
  baselines: BaselineName[];
  /** Use this peak (e.g. from a previous calibration); default: table lookup, else calibrate. */
  peak?: Peak;
  /** Measure the peak even when the adapter is in the table. */
  calibrate?: boolean;
  /** CPU baseline: skip problems above this many FLOPs (default 4e9, a few seconds in JS). */
  cpuMaxFlops?: number;
  /** CPU baseline: stop repeating after this much time per shape (default 3 s). */
  cpuBudgetMs?: number;
  /** GPU measurements: stop repeating after this much time per shape (default 30 s). */
  gpuBudgetMs?: number;
  log?: (line: string) => void;
}

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
}

export interface BaselineResult extends Partial<Throughput> {
  status: 'ok' | 'skipped' | 'parity-failed' | 'error';
  note?: string;
  /** Our throughput / the baseline's (same FLOPs, so = baseline time / our time); > 1: ours is faster. */
  speedup?: number;
  /** Largest |ours - baseline| in the parity guard. */
  parityMaxAbsErr?: number;
  /** How the baseline was timed (tfjs: the same GPU timer as ours; cpu: wall clock). */
  timing?: string;
}

export interface BenchResult {
  kernel: string;
  shape: Shape;
  label: string;
  flops: number;
  bytes: number;
  /** FLOPs per byte of minimum traffic. */
  intensity: number;
  config?: Record<string, number | string>;
  ours?: Throughput & { pctPeak: number; timing: string };
  error?: string;
  baselines: Partial<Record<BaselineName, BaselineResult>>;
}

export interface BenchReport {
  tool: 'wgnas bench';
  date: string;
  adapter: { name: string; vendor: string; architecture: string; isSoftware: boolean };
  timing: string;
  peak: Peak & { gflops: number; gbps: number };
  options: { shapes: ShapeSet; warmup: number; repeats: number; baselines: BaselineName[] };
  where: Record<'ours' | BaselineName, string>;
  results: BenchResult[];
}

function throughput(m: Measurement, flops: number, bytes: number): Throughput {
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

/** Datasheet peak for this adapter, or a measured one. */
export async function resolvePeak(gpu: Gpu, opts: { calibrate?: boolean; log?: (l: string) => void } = {}): Promise<Peak> {
  // Dawn's description carries the marketing name plus driver text; `device` a slug of the name.
  const table = opts.calibrate ? null : lookupPeak(`${gpu.adapter.description} ${gpu.adapter.device}`);
  if (table) return table;
  opts.log?.(`calibrating peak FLOP/s and bandwidth on ${gpu.name} (not in the datasheet table)...`);
  const c = await calibratePeak(gpu);
  return { flopsPerS: c.flopsPerS, bytesPerS: c.bytesPerS, source: c.source, name: c.name };
}

function cpuModel(): string {
  const c = cpus();
  return c.length ? `${c[0].model.trim()} (${c.length} logical cores)` : 'unknown CPU';
}

interface ShapeContext {
  k: BenchKernel;
  shape: Shape;
  label: string;
  kc: KernelCase;
  tol: Tolerance;
  /** Our output for the parity guards (null when the kernel cannot read it back). */
  oursOut: Float32Array | null;
  oursMedianMs: number;
  warmup: number;
  repeats: number;
  minSampleMs: number;
  gpuBudgetMs: number;
  cpuBudgetMs: number;
  log: (line: string) => void;
}

/** Outputs up to this size are parity-checked against tfjs on every shape, larger ones only first. */
const PARITY_MAX_ELEMS = 1 << 22;

/**
 * Per-kernel tfjs parity state. The guard runs on the first shape that reaches tfjs and on every
 * later shape whose output is small enough to compare cheaply; one failure disables tfjs for the kernel.
 */
interface TfjsGuard {
  state: 'unchecked' | 'ok' | 'failed';
  note: string;
}

async function runTfjsBaseline(c: ShapeContext, tfjs: TfjsBaseline, guard: TfjsGuard): Promise<BaselineResult> {
  if (!c.k.tfjs) return { status: 'skipped', note: 'no tfjs version of this kernel' };
  if (guard.state === 'failed') return { status: 'parity-failed', note: guard.note };
  let tc: TfCase;
  try {
    tc = c.k.tfjs(tfjs.tf, c.shape, c.kc.inputs ?? []);
  } catch (e) {
    return { status: 'skipped', note: (e as Error).message.split('\n')[0] };
  }
  try {
    let parityMaxAbsErr: number | undefined;
    if (c.oursOut && (guard.state === 'unchecked' || c.oursOut.length <= PARITY_MAX_ELEMS)) {
      const out = tc.run();
      const mine = tc.forParity ? tfjs.tf.tidy(() => tc.forParity!(out)) : out;
      const cmp = compareOutputs(await tfjs.read(mine), c.oursOut, c.tol);
      tfjs.tf.dispose([out, mine]);
      parityMaxAbsErr = cmp.maxAbsErr;
      if (!cmp.ok) {
        guard.state = 'failed';
        guard.note = `tfjs differs from ours on ${c.label}: max |err| ${cmp.maxAbsErr.toExponential(2)} > atol ${c.tol.atol} + rtol ${c.tol.rtol}`;
        c.log(`  tfjs  PARITY FAILED: ${guard.note}`);
        return { status: 'parity-failed', note: guard.note, parityMaxAbsErr };
      }
      guard.state = 'ok';
    }
    const m = await measure(tfjs.sampler(tc), { warmup: c.warmup, repeats: c.repeats, minSampleMs: c.minSampleMs, budgetMs: c.gpuBudgetMs });
    const t = throughput(m, c.kc.flops, c.kc.bytes);
    c.log(`  tfjs  ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  ${t.gbps.toFixed(2)} GB/s`);
    return { status: 'ok', ...t, speedup: t.medianMs / c.oursMedianMs, parityMaxAbsErr, timing: m.source };
  } catch (e) {
    return { status: 'error', note: (e as Error).message.split('\n')[0] };
  } finally {
    tc.teardown();
  }
}

async function runCpuBaseline(c: ShapeContext, cpuMaxFlops: number): Promise<BaselineResult> {
  if (!c.k.cpu) return { status: 'skipped', note: 'no CPU version of this kernel' };
  if (c.kc.flops > cpuMaxFlops) return { status: 'skipped', note: `above ${cpuMaxFlops.toExponential(0)} FLOPs (too slow for the CPU baseline)` };
  try {
    const cc = c.k.cpu(c.shape, c.kc.inputs ?? []);
    // The first run warms the JIT and is the parity guard.
    cc.run();
    let parityMaxAbsErr: number | undefined;
    if (c.oursOut) {
      const cmp = compareOutputs(cc.output(), c.oursOut, c.tol);
      parityMaxAbsErr = cmp.maxAbsErr;
      if (!cmp.ok) {
        const note = `CPU differs from ours on ${c.label}: max |err| ${cmp.maxAbsErr.toExponential(2)}`;
        c.log(`  cpu   PARITY FAILED: ${note}`);
        return { status: 'parity-failed', note, parityMaxAbsErr };
      }
    }
    const m = await measure(cpuSampler(cc.run), { warmup: 0, repeats: c.repeats, budgetMs: c.cpuBudgetMs });
    const t = throughput(m, c.kc.flops, c.kc.bytes);
    c.log(`  cpu   ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  ${t.gbps.toFixed(2)} GB/s`);
    return { status: 'ok', ...t, speedup: t.medianMs / c.oursMedianMs, parityMaxAbsErr, timing: m.source };
  } catch (e) {
    return { status: 'error', note: (e as Error).message.split('\n')[0] };
  }
}

export async function runBench(gpu: Gpu, opts: BenchOptions): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const peak = opts.peak ?? (await resolvePeak(gpu, { calibrate: opts.calibrate, log }));
  const minSampleMs = defaultMinSampleMs(gpu);
  const gpuBudgetMs = opts.gpuBudgetMs ?? 30_000;
  const cpuBudgetMs = opts.cpuBudgetMs ?? 3_000;
  const cpuMaxFlops = opts.cpuMaxFlops ?? 4e9;
  const timings = new Set<string>();

  let tfjs: TfjsBaseline | null = null;
  let tfjsError: string | null = null;
  if (opts.baselines.includes('tfjs')) {
    try {
      tfjs = await createTfjsBaseline(gpu);
    } catch (e) {
      tfjsError = (e as Error).message.split('\n')[0];
      log(`tfjs baseline unavailable: ${tfjsError}`);
    }
  }

  const results: BenchResult[] = [];
  try {
    for (const k of opts.kernels) {
      const guard: TfjsGuard = { state: 'unchecked', note: '' };
      for (const shape of k.shapes[opts.shapes]) {
        const label = shapeLabel(k, shape);
        log(`${k.name} ${label}`);
        const r: BenchResult = { kernel: k.name, shape, label, flops: NaN, bytes: NaN, intensity: NaN, baselines: {} };
        results.push(r);
        let kc: KernelCase;
        try {
          kc = k.setup(gpu, shape);
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          log(`  skipped: ${r.error}`);
          continue;
        }
        Object.assign(r, { flops: kc.flops, bytes: kc.bytes, intensity: kc.flops / kc.bytes, config: kc.config });
        try {
          const m = await measure(timerSampler(gpu, kc.run), { warmup: opts.warmup, repeats: opts.repeats, minSampleMs, budgetMs: gpuBudgetMs });
          timings.add(m.source);
          const t = throughput(m, kc.flops, kc.bytes);
          r.ours = { ...t, pctPeak: percentOfPeak(peak, kc.flops, kc.bytes, t.medianMs / 1e3), timing: m.source };
          log(`  ours  ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  ${t.gbps.toFixed(2)} GB/s`);
          const wantsOutput = opts.baselines.length > 0 && (k.tfjs !== undefined || k.cpu !== undefined);
          const ctx: ShapeContext = {
            k,
            shape,
            label,
            kc,
            tol: k.tolerance?.(shape) ?? { atol: 1e-4, rtol: 1e-3 },
            oursOut: wantsOutput && kc.read ? await kc.read() : null,
            oursMedianMs: t.medianMs,
            warmup: opts.warmup,
            repeats: opts.repeats,
            minSampleMs,
            gpuBudgetMs,
            cpuBudgetMs,
            log,
          };
          if (opts.baselines.includes('tfjs')) {
            r.baselines.tfjs = tfjs ? await runTfjsBaseline(ctx, tfjs, guard) : { status: 'skipped', note: tfjsError ?? 'tfjs unavailable' };
          }
          if (opts.baselines.includes('cpu')) r.baselines.cpu = await runCpuBaseline(ctx, cpuMaxFlops);
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          log(`  failed: ${r.error}`);
        } finally {
          kc.teardown();
          await gpu.sync();
        }
      }
    }
  } finally {
    tfjs?.dispose();
  }

  const where: BenchReport['where'] = {
    ours: `WGSL kernels on ${gpu.name} via Dawn`,
    tfjs: !opts.baselines.includes('tfjs')
      ? 'not run'
      : tfjs
        ? `@tensorflow/tfjs ${tfjs.version}, webgpu backend on the same Dawn device`
        : `unavailable (${tfjsError})`,
    cpu: opts.baselines.includes('cpu') ? `TypeScript, 1 thread, on ${cpuModel()}` : 'not run',
  };
  return {
    tool: 'wgnas bench',
    date: new Date().toISOString(),
    adapter: {
      name: gpu.name,
      vendor: gpu.adapter.vendor,
      architecture: gpu.adapter.architecture,
      isSoftware: gpu.adapter.isSoftware,
    },
    timing: timings.size === 0 ? (gpu.hasTimestamps ? 'timestamp-query' : 'wall-clock') : [...timings].join('+'),
    peak: { ...peak, gflops: peak.flopsPerS / 1e9, gbps: peak.bytesPerS / 1e9 },
    options: { shapes: opts.shapes, warmup: opts.warmup, repeats: opts.repeats, baselines: opts.baselines },
    where,
    results,
  };
}
