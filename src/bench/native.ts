/**
 * oneDNN / XNNPACK CPU baselines through the native addon (src/native/binding.ts). The addon's
 * profile() times chains of MobileNet-space ops (batch 1, NHWC, padding k/2, bias fused) on
 * generated weights and returns timings only, so a benchmark entry states an equivalent op chain:
 *  - matmul M×K · K×N = a 1×1 conv over a 1×M image with K channels to N channels;
 *  - an N-image conv = one conv over the images stacked vertically (same FLOPs: each output row
 *    still sees K×K taps; only the padding rows between images differ);
 *  - depthwise alone is not an addon op: it is timed as MBConv(expand 1, C → 1), whose 1×1
 *    projection to one channel is then timed separately and subtracted.
 * No outputs come back, so there is no parity guard: these rows are timing only, and say so.
 */
import type { RunStats } from './baselines.js';
import { type BackendName, describeBackend, loadNative, type NativeBinding, type NativeOp, requireBackend } from '../native/binding.js';

/** How an entry's computation maps onto the addon's ops. */
export interface NativeEquivalent {
  /** Chain to time. */
  ops: NativeOp[];
  /** Chain timed separately and subtracted (estimate of a part the addon cannot run alone). */
  minus?: NativeOp[];
  /** Multiply the time by this (e.g. batch copies, or an output-size correction). Default 1. */
  scale?: number;
  /** What the mapping approximates, for the row's note. */
  note: string;
}

export interface NativeBaseline {
  backend: BackendName;
  /** 'oneDNN(1t)' / 'XNNPACK(1t)'. */
  label: string;
  where: string;
  threads: number;
  time(eq: NativeEquivalent, opts: { warmup: number; repeats: number; budgetMs: number }): Promise<RunStats>;
}

export function createNativeBaseline(backend: BackendName, opts: { threads?: number } = {}): NativeBaseline {
  const native: NativeBinding = loadNative();
  const info = requireBackend(native, backend);
  const threads = opts.threads ?? 1;
  const name = backend === 'onednn' ? 'oneDNN' : 'XNNPACK';
  const cpu = native.cpuInfo();
  const one = async (ops: NativeOp[], o: { warmup: number; repeats: number; budgetMs: number }) => {
    const r = await native.profile(ops, { backend, threads, warmup: o.warmup, repeats: Math.max(3, o.repeats), maxTimeMs: o.budgetMs, keepSamples: true });
    const s = Array.from(r.samplesMs ?? [r.medianMs]).sort((a, b) => a - b);
    const q = (p: number) => s[Math.min(s.length - 1, Math.round(p * (s.length - 1)))];
    return { medianMs: r.medianMs, p10Ms: q(0.1), p90Ms: q(0.9), meanMs: r.meanMs, minMs: r.minMs, n: r.count };
  };
  return {
    backend,
    label: `${name}(${threads}t)`,
    where: `${describeBackend(info)} via the native addon, ${threads} thread${threads > 1 ? 's' : ''}, on ${cpu.model} (${cpu.availableCores} cores available); timing only (no outputs to parity-check)`,
    threads,
    async time(eq, o) {
      const scale = eq.scale ?? 1;
      const a = await one(eq.ops, o);
      if (!eq.minus) {
        return { medianMs: a.medianMs * scale, p10Ms: a.p10Ms * scale, p90Ms: a.p90Ms * scale, meanMs: a.meanMs * scale, minMs: a.minMs * scale, n: a.n };
      }
      const b = await one(eq.minus, o);
      // Differences of quantiles are not quantiles of differences: report the median estimate, and
      // p10/p90 of the whole chain shifted by the subtracted median (a spread, not a bound).
      const d = (x: number) => Math.max(x - b.medianMs, 0) * scale;
      return { medianMs: d(a.medianMs), p10Ms: d(a.p10Ms), p90Ms: d(a.p90Ms), meanMs: d(a.meanMs), minMs: d(a.minMs), n: Math.min(a.n, b.n) };
    },
  };
}

/** Output size of the addon's spatial ops (padding k/2). */
export const nativeOut = (inSize: number, stride: number) => Math.floor((inSize - 1) / stride) + 1;
