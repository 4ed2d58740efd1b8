/**
 * The CPU backend's roofline, measured through its own ops, and the addon timer it and ours use.
 * With several threads the matmul is also timed on one thread: on a shared machine the threads of a
 * team are often descheduled (a 2-core VM under load measured 168 GFLOP/s on 2 threads where one
 * thread of oneDNN reached 200), and a peak of N threads can never be below what one of them does.
 * The report shows both rates, so a single-thread baseline near the peak reads as what it is.
 */
import { type Backend, openBackend } from '../backend/index.js';
import { type GpuTimer, measure, timerSampler } from './measure.js';
import type { Peak } from './peaks.js';

/**
 * Bump when the CPU calibration changes (kept apart from the GPU's CALIBRATION_METHOD, so a change
 * here does not re-measure GPUs). 2: the one-thread matmul rate (Peak.threads).
 */
export const CPU_CALIBRATION_METHOD = 2;

/**
 * The CPU backend's time on the queued ops, read inside the addon: its worker's clock around each op
 * (Backend.startProfile / stopProfile), summed over the ops of a sample. The same footing as the
 * oneDNN / XNNPACK baselines, which the addon's profile() times around their primitives; the wall
 * clock around sync() would add the queue and the JS round trip (tens of us), which on small shapes
 * is most of the time and made ours read thousands of times slower.
 */
export function addonOpTimer(backend: Pick<Backend, 'sync' | 'startProfile' | 'stopProfile'>): GpuTimer {
  return {
    hasTimestamps: false,
    beginTimer: async () => {
      await backend.sync(); // nothing queued before the sample is counted in it
      backend.startProfile();
    },
    endTimer: async () => {
      const p = await backend.stopProfile();
      // stopProfile's own sync command is not the work timed.
      const ms = p.kernels.reduce((a, k) => a + (k.kernel === 'sync' ? 0 : k.deviceMs), 0);
      return { ms, source: 'cpu-worker' };
    },
  };
}

const MATMUL_N = 1024;
const AXPY_ELEMS = 16 << 20;

/** Best f32 FLOP/s of a MATMUL_N^3 matmul through `backend`'s ops. */
async function matmulRate(backend: Backend): Promise<number> {
  const n = MATMUL_N;
  const a = backend.zeros([n, n]);
  const c = backend.empty([n, n]);
  try {
    const timer = addonOpTimer(backend);
    const m = await measure(
      timerSampler(timer, () => void backend.ops.matmul(a, a, { out: c })),
      { warmup: 1, repeats: 5, minSampleMs: 50 },
    );
    return (2 * n * n * n) / (m.stats.minMs / 1e3);
  } finally {
    a.dispose();
    c.dispose();
  }
}

/** Best bytes/s of an axpy (y read and written, x read) through `backend`'s ops. */
async function axpyRate(backend: Backend): Promise<number> {
  const x = backend.zeros([AXPY_ELEMS]);
  const y = backend.zeros([AXPY_ELEMS]);
  try {
    const timer = addonOpTimer(backend);
    const m = await measure(
      timerSampler(timer, () => backend.ops.axpy(y, x, 0.5)),
      { warmup: 1, repeats: 5, minSampleMs: 50 },
    );
    return (3 * 4 * AXPY_ELEMS) / (m.stats.minMs / 1e3);
  } finally {
    x.dispose();
    y.dispose();
  }
}

export interface CpuRates {
  name: string;
  threads: number;
  /** The matmul's FLOP/s on one thread and on all `threads` together. */
  oneThreadFlopsPerS: number;
  allThreadsFlopsPerS: number;
  bytesPerS: number;
}

/** The peak of `threads` threads: at least what one of them reached alone. */
export function cpuPeakFromRates(r: CpuRates): Peak {
  return {
    flopsPerS: Math.max(r.oneThreadFlopsPerS, r.allThreadsFlopsPerS),
    bytesPerS: r.bytesPerS,
    source: 'calibrated',
    name: r.name,
    threads: { count: r.threads, oneThreadFlopsPerS: r.oneThreadFlopsPerS, allThreadsFlopsPerS: r.allThreadsFlopsPerS },
  };
}

export interface CpuPeakOptions {
  /** A one-thread backend for the per-thread rate (default: a new one-thread CPU backend, disposed after). */
  openOneThread?: () => Backend | Promise<Backend>;
}

/**
 * The CPU backend's roofline: a large f32 matmul (compute) and a large axpy (bandwidth), on the
 * backend's threads, and with more than one the matmul on one thread too (cpuPeakFromRates).
 */
export async function cpuBackendPeak(backend: Backend, o: CpuPeakOptions = {}): Promise<Peak> {
  const threads = backend.threads ?? 1;
  const all = await matmulRate(backend);
  const bytesPerS = await axpyRate(backend);
  let one = all;
  if (threads > 1) {
    const single = await (o.openOneThread ?? (() => openBackend('cpu', { threads: 1 })))();
    try {
      one = await matmulRate(single);
    } finally {
      single.dispose();
    }
  }
  return cpuPeakFromRates({ name: backend.deviceName, threads, oneThreadFlopsPerS: one, allThreadsFlopsPerS: all, bytesPerS });
}
