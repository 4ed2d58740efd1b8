/**
 * The benchmark run: for every kernel and shape, time ours (on the webgpu backend gpu.beginTimer /
 * endTimer; on the cpu backend the addon's time on the queued ops), then each
 * baseline on the same inputs (src/bench/baselines.ts: tfjs-webgpu on the same device, tfjs-wasm,
 * gpu.js, oneDNN/XNNPACK, TypeScript) after its parity guard, and derive GFLOP/s, GB/s, % of the
 * adapter's roofline and our speed relative to each baseline.
 */
import { arch, cpus, platform } from 'node:os';
import { type Backend, gpuOf } from '../backend/index.js';
import type { Gpu } from '../gpu/gpu.js';
import type { OpCost } from '../kernels/descriptor.js';
import {
  type BaselineConfig,
  type BaselineName,
  type BaselineResult,
  createRunners,
  type Runner,
  type ShapeContext,
  type Throughput,
  throughput,
} from './baselines.js';
import { calibratePeak } from './calibrate.js';
import { adapterKey } from '../kernels/matmul-tiles.js';
import { cpuModel } from './baseline-common.js';
import { cachedPeak, type CachedPeakOptions, raiseCachedPeak } from './peak-cache.js';
import { defaultMinSampleMs, type GpuTimer, measure, timerSampler } from './measure.js';
import { addonOpTimer, CPU_CALIBRATION_METHOD, cpuBackendPeak } from './cpu-peak.js';
import { lookupPeak, type Peak, percentOfPeak } from './peaks.js';
import { type BenchKernel, type KernelCase, type Shape, type ShapeSet, shapeLabel, sweepShapes } from './registry.js';

export {
  BASELINE_ALIASES,
  BASELINES,
  type BaselineName,
  type BaselineResult,
  compareOutputs,
  DEFAULT_BASELINES,
  type Throughput,
} from './baselines.js';
export { addonOpTimer } from './cpu-peak.js';

export interface BenchOptions extends BaselineConfig {
  kernels: BenchKernel[];
  shapes: ShapeSet;
  /** Only the shapes with these labels (e.g. '4096x4096x4096'); default every shape of the set. */
  only?: readonly string[];
  warmup: number;
  /** Ours and the GPU baselines: back-to-back runs of at least this many ms in all after the warm-up runs (default 0). */
  warmupMs?: number;
  repeats: number;
  baselines: BaselineName[];
  /** Use this peak (e.g. from a previous calibration); default: table lookup, else calibrate. */
  peak?: Peak;
  /** Measure the peak even when the adapter is in the table (a cached measurement serves). */
  calibrate?: boolean;
  /** Measure the peak now, replacing the cached one. */
  recalibrate?: boolean;
  /** The peak cache (default peaks.json in the user cache). */
  peakCachePath?: string;
  /** CPU baselines: stop repeating after this much time per shape (default CPU_BUDGET_MS). */
  cpuBudgetMs?: number;
  /** Ours and the GPU baselines: stop repeating after this much time per shape (default GPU_BUDGET_MS). */
  gpuBudgetMs?: number;
  /** The code that ran (the CLI's codeVersion()), recorded in the report. */
  version?: string;
  log?: (line: string) => void;
  /** Told after each kernel/shape case (done of total), for a progress bar. */
  onCase?: (done: number, total: number) => void;
  /**
   * Given, once the sweep starts, a function that returns the report of the cases finished so far
   * (marked partial): what a stopped run keeps (bench's Ctrl-C writes it to --json).
   */
  onStart?: (partialReport: () => BenchReport) => void;
}

/**
 * Default time budgets per measurement (the samples' time, warm-up not counted): repeating stops once
 * a measurement has taken this long, even short of --repeats (the result then says budgetCut and the
 * table shows samples/repeats). --max-seconds sets both.
 */
export const GPU_BUDGET_MS = 30_000;
export const CPU_BUDGET_MS = 3_000;

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

/**
 * The --json report's schema (docs/bench.md), MAJOR.MINOR: a minor adds fields, a major changes or
 * removes some (bench --compare refuses another major). Reports without it are 1.0.
 * 1.1: schemaVersion; peak.origin, measuredAt, rounds, raisedFrom; timing 'cpu-worker' on --device cpu.
 * 1.2: peak.raiseCached.
 * 1.3: peak.threads (a CPU peak's one-thread and all-thread matmul rates).
 * 1.4: version, machine; options.only, cpuThreads, nativeThreads.
 * 1.5: options.maxSeconds; budgetCut on a measurement the time budget stopped short of repeats;
 *      partial on a report of a run stopped before its end.
 * 1.6: options.warmupMs.
 */
export const BENCH_SCHEMA_VERSION = '1.6';

/** The host a report was measured on (the CPU the CPU baselines, and on --device cpu ours, ran on). */
export interface BenchMachine {
  cpu: string;
  logicalCores: number;
  platform: string;
  node: string;
}

export function benchMachine(): BenchMachine {
  const c = cpus();
  return {
    cpu: c[0]?.model.trim() ?? 'unknown',
    logicalCores: c.length,
    platform: `${platform()} ${arch()}`,
    node: process.version,
  };
}

export interface BenchReport {
  /** MAJOR.MINOR of this layout (BENCH_SCHEMA_VERSION); absent in reports before 1.1. */
  schemaVersion?: string;
  tool: 'wgnas bench';
  date: string;
  /** (1.4) The code that ran: package version + hash of its sources (codeVersion()). */
  version?: string;
  /** (1.4) The host. */
  machine?: BenchMachine;
  adapter: { name: string; vendor: string; architecture: string; isSoftware: boolean };
  /** Where ours ran ('gpu': the WGSL kernels; 'cpu': the native backend). */
  device?: 'gpu' | 'cpu';
  timing: string;
  peak: Peak & { gflops: number; gbps: number };
  options: {
    shapes: ShapeSet;
    warmup: number;
    /** (1.6) Sustained warm-up before each measurement's samples, ms (--warmup-ms). */
    warmupMs?: number;
    repeats: number;
    baselines: BaselineName[];
    /** (1.4) --only's labels (absent: every shape of the sweep). */
    only?: string[];
    /** (1.4) Threads of ours on the CPU backend (null on the GPU). */
    cpuThreads?: number | null;
    /** (1.4) Threads of the oneDNN / XNNPACK baselines. */
    nativeThreads?: number;
    /** (1.5) Time budget per measurement, seconds: ours and the GPU baselines, and the CPU baselines. */
    maxSeconds?: { ours: number; cpuBaselines: number };
  };
  /** What each implementation is and where it ran. */
  where: Partial<Record<'ours' | BaselineName, string>> & { ours: string };
  /** Column label of each baseline, e.g. gpujs: 'gpu.js(webgpu)', onednn: 'oneDNN(1t)'. */
  labels: Partial<Record<BaselineName, string>>;
  results: BenchResult[];
  /** (1.5) A run stopped before its end (Ctrl-C): results holds the cases that finished. */
  partial?: { casesDone: number; casesTotal: number; stoppedBy?: string };
}

export interface ResolvePeakOptions extends Omit<CachedPeakOptions, 'log'> {
  /** Use a measured peak even when the adapter is in the datasheet table. */
  calibrate?: boolean;
  log?: (l: string) => void;
  /** The calibration (default calibratePeak on `gpu`); tests pass a tiny fake. */
  measure?: () => Promise<Peak>;
}

/** The peak cache's key of a GPU adapter (its driver version is in the description). */
export function gpuPeakKey(gpu: Pick<Gpu, 'adapter'>): string {
  return `gpu | ${adapterKey(gpu)}`;
}

/**
 * Datasheet peak for this adapter, else (or with calibrate / recalibrate) a measured one, cached per
 * adapter and driver (peak-cache.ts) so that % of peak compares between runs.
 */
export async function resolvePeak(gpu: Pick<Gpu, 'adapter' | 'name'>, opts: ResolvePeakOptions = {}): Promise<Peak> {
  // Dawn's description carries the marketing name plus driver text; `device` a slug of the name.
  const measured = opts.calibrate || opts.recalibrate;
  const table = measured ? null : lookupPeak(`${gpu.adapter.description} ${gpu.adapter.device}`);
  if (table) return table;
  const measure =
    opts.measure ??
    (async () => {
      const c = await calibratePeak(gpu as Gpu);
      return { flopsPerS: c.flopsPerS, bytesPerS: c.bytesPerS, source: c.source, name: c.name };
    });
  return cachedPeak(gpuPeakKey(gpu), measure, {
    ...opts,
    what: `calibrating peak FLOP/s and bandwidth on ${gpu.name}`,
  });
}

/**
 * A measured roofline (calibrated on this device, not a datasheet's) is only the rate its own
 * calibration kernels reached, on a shared machine sometimes in a slow moment: a kernel that beats it
 * shows the roofline was low, not a kernel above 100 % of the device. Raises the roof (peak FLOP/s, or
 * bandwidth, whichever bound the kernel) to the best rate a kernel of this run reached, recomputes
 * every % of peak, and returns a note saying so (null when nothing beat it or the peak is a datasheet's).
 */
export function raiseMeasuredRoofline(peak: Peak, results: BenchResult[]): string | null {
  if (peak.source === 'table') return null;
  const before = { flopsPerS: peak.flopsPerS, bytesPerS: peak.bytesPerS };
  for (const r of results) {
    const o = r.ours;
    if (!o || !(o.medianMs > 0)) continue;
    const s = o.medianMs / 1e3;
    if (r.flops > 0) peak.flopsPerS = Math.max(peak.flopsPerS, r.flops / s);
    if (r.bytes > 0 && !(r.flops > 0 && r.flops / r.bytes >= peak.flopsPerS / peak.bytesPerS))
      peak.bytesPerS = Math.max(peak.bytesPerS, r.bytes / s);
  }
  if (peak.flopsPerS === before.flopsPerS && peak.bytesPerS === before.bytesPerS) return null;
  peak.raisedFrom ??= before;
  for (const r of results) if (r.ours) r.ours.pctPeak = percentOfPeak(peak, r.flops, r.bytes, r.ours.medianMs / 1e3);
  const g = (x: number) => (x / 1e9).toFixed(1);
  return `kernels beat the measured roofline (${g(before.flopsPerS)} GFLOP/s, ${g(before.bytesPerS)} GB/s): raised to the best rates this run reached (${g(peak.flopsPerS)} GFLOP/s, ${g(peak.bytesPerS)} GB/s), % of peak against those`;
}

export async function runBench(backend: Backend, opts: BenchOptions): Promise<BenchReport> {
  const log = opts.log ?? (() => {});
  const gpu = gpuOf(backend);
  const timer: GpuTimer = gpu ?? addonOpTimer(backend);
  const cacheOpts = { recalibrate: opts.recalibrate, cachePath: opts.peakCachePath, log };
  // The CPU calibration has its own method number (cpu-peak.ts), so changing it spares GPU entries.
  const method = gpu ? undefined : CPU_CALIBRATION_METHOD;
  // The cache entry a measured peak came from (none for a given one), for raiseCachedPeak.
  const peakKey = opts.peak ? undefined : gpu ? gpuPeakKey(gpu) : `cpu | ${cpuModel()} | ${backend.deviceName}`;
  // A copy: raiseMeasuredRoofline may raise it.
  const peak: Peak = {
    ...(opts.peak ??
      (gpu
        ? await resolvePeak(gpu, { ...cacheOpts, calibrate: opts.calibrate })
        : await cachedPeak(peakKey!, () => cpuBackendPeak(backend), {
            ...cacheOpts,
            method,
            what: `measuring the roofline of ${backend.deviceName} (a matmul on its threads and on one, an axpy, through its ops)`,
          }))),
  };
  const minSampleMs = defaultMinSampleMs(timer);
  const gpuBudgetMs = opts.gpuBudgetMs ?? GPU_BUDGET_MS;
  const warmupMs = opts.warmupMs ?? 0;
  const cpuBudgetMs = opts.cpuBudgetMs ?? CPU_BUDGET_MS;
  const timings = new Set<string>();
  const runners: Runner[] = await createRunners(gpu, opts.baselines, opts, log);

  // What each implementation is, and the report of `finished` (all the results, or those of a stopped run).
  const where: BenchReport['where'] = {
    ours: gpu
      ? `WGSL kernels on ${gpu.name} via Dawn`
      : `native CPU backend (oneDNN and C++ in the addon), ${backend.deviceName}; timed inside the addon (the worker's clock around each op, summed; queueing and the JS round trip not included)`,
  };
  const labels: BenchReport['labels'] = {};
  for (const b of runners) {
    where[b.name] = b.where;
    labels[b.name] = b.label;
  }
  function report(finished: BenchResult[]): BenchReport {
    return {
      schemaVersion: BENCH_SCHEMA_VERSION,
      tool: 'wgnas bench',
      date: new Date().toISOString(),
      ...(opts.version ? { version: opts.version } : {}),
      machine: benchMachine(),
      adapter: gpu
        ? {
            name: gpu.name,
            vendor: gpu.adapter.vendor,
            architecture: gpu.adapter.architecture,
            isSoftware: gpu.adapter.isSoftware,
          }
        : { name: backend.deviceName, vendor: 'cpu', architecture: 'native', isSoftware: false },
      device: backend.device,
      timing:
        timings.size === 0
          ? !gpu
            ? 'cpu-worker'
            : timer.hasTimestamps
              ? 'timestamp-query'
              : 'wall-clock'
          : [...timings].join('+'),
      peak: { ...peak, gflops: peak.flopsPerS / 1e9, gbps: peak.bytesPerS / 1e9 },
      options: {
        shapes: opts.shapes,
        warmup: opts.warmup,
        warmupMs,
        repeats: opts.repeats,
        baselines: opts.baselines,
        ...(opts.only ? { only: [...opts.only] } : {}),
        cpuThreads: gpu ? null : (backend.threads ?? null),
        nativeThreads: opts.nativeThreads ?? 1,
        maxSeconds: { ours: gpuBudgetMs / 1e3, cpuBaselines: cpuBudgetMs / 1e3 },
      },
      where,
      labels,
      results: finished,
    };
  }

  const results: BenchResult[] = [];
  const totalCases = opts.kernels.reduce((a, k) => a + sweepShapes(k, opts.shapes, opts.only).length, 0);
  // The cases finished (the last of results may be running).
  let done = 0;
  const caseDone = () => opts.onCase?.(++done, totalCases);
  opts.onStart?.(() => ({
    ...report(results.slice(0, done)),
    partial: { casesDone: done, casesTotal: totalCases },
  }));
  try {
    for (const k of opts.kernels) {
      const wantsOutput = runners.some((b) => b.covers(k));
      for (const shape of sweepShapes(k, opts.shapes, opts.only)) {
        const label = shapeLabel(k, shape);
        log(`${k.name} ${label}`);
        const r: BenchResult = { kernel: k.name, shape, label, flops: NaN, bytes: NaN, intensity: NaN, baselines: {} };
        results.push(r);
        let kc: KernelCase;
        let cost: OpCost;
        try {
          cost = k.cost(shape);
          kc = await k.setup(backend, shape);
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          log(`  skipped: ${r.error}`);
          caseDone();
          continue;
        }
        Object.assign(r, { flops: cost.flops, bytes: cost.bytes, intensity: cost.flops / cost.bytes, config: kc.config });
        try {
          const m = await measure(timerSampler(timer, kc.run), {
            warmup: opts.warmup,
            warmupMs,
            repeats: opts.repeats,
            minSampleMs,
            budgetMs: gpuBudgetMs,
          });
          timings.add(m.source);
          const t = throughput(m, cost.flops, cost.bytes, opts.repeats);
          r.ours = { ...t, pctPeak: percentOfPeak(peak, cost.flops, cost.bytes, t.medianMs / 1e3), timing: m.source };
          log(`  ${'ours'.padEnd(14)} ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  ${t.gbps.toFixed(2)} GB/s`);
          const ctx: ShapeContext = {
            k,
            shape,
            label,
            kc,
            cost,
            tol: k.tolerance?.(shape) ?? { atol: 1e-4, rtol: 1e-3 },
            oursOut: wantsOutput && kc.read ? await kc.read() : null,
            oursMedianMs: t.medianMs,
            warmup: opts.warmup,
            warmupMs,
            repeats: opts.repeats,
            minSampleMs,
            gpuBudgetMs,
            cpuBudgetMs,
            log,
          };
          // A baseline without a version of this kernel leaves no entry ('-' in the table).
          for (const b of runners) if (b.covers(k) || !b.available) r.baselines[b.name] = await b.run(ctx);
        } catch (e) {
          r.error = (e as Error).message.split('\n')[0];
          log(`  failed: ${r.error}`);
        } finally {
          kc.teardown();
          await backend.sync();
          caseDone();
        }
      }
    }
  } finally {
    for (const b of runners) await b.dispose();
  }

  const raised = raiseMeasuredRoofline(peak, results);
  if (raised) {
    // Saved, so the next run's % of peak is against the same roofline, not the lower calibration.
    if (peakKey !== undefined) peak.raiseCached = raiseCachedPeak(peakKey, peak, { ...cacheOpts, method });
    log(`note: ${raised}${peak.raiseCached ? '; saved to the peak cache for later runs' : ''}`);
  }

  return report(results);
}
