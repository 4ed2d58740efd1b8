/**
 * Timing loop shared by our kernels, the baselines and the calibration: warm-up, then repeats, each
 * repeat one timed sample. A sample may cover several back-to-back runs when one run is too short
 * for the clock (wall clock only, by default); sample times are divided back to per-run times.
 */
import { type SampleStats, summarize } from './stats.js';

/** 'cpu-worker': the CPU backend's op time inside the addon (its worker's clock around each op). */
export type TimingSource = 'timestamp-query' | 'wall-clock' | 'cpu-worker';

export interface TimedSample {
  ms: number;
  source: TimingSource;
}

/** What the harness needs from a GPU: Gpu satisfies it; tests pass a fake. */
export interface GpuTimer {
  readonly hasTimestamps: boolean;
  beginTimer(): Promise<void>;
  endTimer(): Promise<TimedSample>;
}

/** Runs the workload `innerRuns` times back to back and returns the time for all of them. */
export type Sampler = (innerRuns: number) => Promise<TimedSample>;

export interface MeasureOptions {
  warmup: number;
  /**
   * After the warm-up runs, back-to-back runs lasting at least this long in all (0: none): a GPU
   * clocks up only under sustained load. Measured on an H100 with 2 warm-up runs, the same
   * kernel timed 1.3 ms in one process and 6.5 ms in another (bench-conv-program.json against
   * bench.json, 2026-12-06): idle clocks.
   */
  warmupMs?: number;
  /** The most runs of that sustained warm-up (default 10000). */
  maxWarmupRuns?: number;
  /** The most wall-clock ms the sustained warm-up may take (default 2 warmupMs + 100). */
  maxWarmupWallMs?: number;
  repeats: number;
  /** Batch runs per sample until one sample takes at least this long (0 = one run per sample). */
  minSampleMs?: number;
  maxInnerRuns?: number;
  /** Stop repeating (after at least one sample) once the samples have taken this long in total. */
  budgetMs?: number;
}

export interface Measurement {
  /** Per-run times, one per repeat. */
  samplesMs: number[];
  innerRuns: number;
  /** 'mixed' when some timestamp samples fell back to the wall clock. */
  source: TimingSource | 'mixed';
  stats: SampleStats;
}

/** Times run() between gpu.beginTimer() and gpu.endTimer(); run() only records dispatches. */
export function timerSampler(timer: GpuTimer, run: () => void): Sampler {
  return async (inner) => {
    await timer.beginTimer();
    for (let i = 0; i < inner; i++) run();
    return timer.endTimer();
  };
}

/** Wall-clock sampler for synchronous CPU work. */
export function cpuSampler(run: () => void): Sampler {
  return async (inner) => {
    const t0 = performance.now();
    for (let i = 0; i < inner; i++) run();
    return { ms: performance.now() - t0, source: 'wall-clock' };
  };
}

/** Default minimum sample length: wall clock needs a few ms to swamp submit/sync overhead. */
export function defaultMinSampleMs(timer: Pick<GpuTimer, 'hasTimestamps'>): number {
  return timer.hasTimestamps ? 0 : 2;
}

export async function measure(sampler: Sampler, opts: MeasureOptions): Promise<Measurement> {
  if (!Number.isInteger(opts.repeats) || opts.repeats < 1) throw new RangeError(`repeats must be >= 1, got ${opts.repeats}`);
  if (!Number.isInteger(opts.warmup) || opts.warmup < 0) throw new RangeError(`warmup must be >= 0, got ${opts.warmup}`);
  let lastWarmMs = Infinity;
  // Wall-clock ms per run (host included), for the warm-up's wall cap.
  let wallPerRunMs = 0;
  const timed = async (runs: number): Promise<number> => {
    const w0 = performance.now();
    const ms = (await sampler(runs)).ms;
    wallPerRunMs = (performance.now() - w0) / runs;
    return ms;
  };
  for (let i = 0; i < opts.warmup; i++) lastWarmMs = await timed(1);
  const warmupMs = opts.warmupMs ?? 0;
  if (!(warmupMs >= 0)) throw new RangeError(`warmupMs must be >= 0, got ${warmupMs}`);
  if (warmupMs > 0) {
    if (!Number.isFinite(lastWarmMs)) lastWarmMs = await timed(1);
    // Sized from the time per run so far, which falls as the GPU clocks up: a sample sized at idle
    // clocks ends early (5x early on the H100 above), so samples follow until warmupMs is reached.
    // A host-bound kernel accrues GPU time slowly (it cannot load the GPU anyway): the wall clock
    // caps the warm-up, so that tiny kernels do not take seconds each.
    const maxRuns = opts.maxWarmupRuns ?? 10000;
    const wallCapMs = opts.maxWarmupWallMs ?? 2 * warmupMs + 100;
    const w0 = performance.now();
    let spentMs = 0;
    for (let done = 0; spentMs < warmupMs && done < maxRuns;) {
      const wallLeftMs = wallCapMs - (performance.now() - w0);
      if (wallLeftMs <= 0) break;
      const byGpu = Math.ceil((warmupMs - spentMs) / Math.max(lastWarmMs, 1e-3));
      const byWall = Math.max(1, Math.floor(wallLeftMs / Math.max(wallPerRunMs, 1e-3)));
      if (done === 0 && byGpu <= 1) break; // one run already lasts that long
      const runs = Math.min(maxRuns - done, byGpu, byWall);
      const ms = await timed(runs);
      spentMs += ms;
      done += runs;
      lastWarmMs = ms / runs;
    }
  }
  const minSample = opts.minSampleMs ?? 0;
  let inner = 1;
  if (minSample > 0 && Number.isFinite(lastWarmMs) && lastWarmMs < minSample) {
    inner = Math.min(opts.maxInnerRuns ?? 64, Math.ceil(minSample / Math.max(lastWarmMs, 1e-3)));
  }
  const samplesMs: number[] = [];
  const sources = new Set<TimingSource>();
  let spentMs = 0;
  for (let i = 0; i < opts.repeats; i++) {
    const s = await sampler(inner);
    samplesMs.push(s.ms / inner);
    sources.add(s.source);
    spentMs += s.ms;
    if (opts.budgetMs !== undefined && spentMs >= opts.budgetMs) break;
  }
  const source = sources.size === 1 ? [...sources][0] : 'mixed';
  return { samplesMs, innerRuns: inner, source, stats: summarize(samplesMs) };
}
