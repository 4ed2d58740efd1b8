/**
 * oneDNN / XNNPACK CPU baselines through the native addon (src/native/binding.ts). The addon's
 * profile() times chains of MobileNet-space ops (NHWC, padding k/2, bias fused) on generated
 * weights; run() executes one conv / dwconv on given data with the same primitives. A benchmark
 * entry states the equivalent op chain to time and, where run() can compute it, how to get the
 * op's output from the entry's inputs, which the baseline parity-checks against ours first:
 *  - matmul M×K · K×N = a 1×1 conv over a 1×M image (NHWC [1, 1, M, K] is A as is) with the
 *    weights Bᵀ [N, K, 1, 1]; batched products are checked one by one and timed as one × batch;
 *  - conv2d = one conv over the N images (batch N), NCHW converted to NHWC by the addon;
 *  - depthwise = one dwconv (groups = C), likewise.
 * An equivalent without `output` is timing only, and its rows say so.
 */
import type { RunStats } from './baselines.js';
import type { HostTensor } from './registry.js';
import { quantileSorted } from '../util/quantile.js';
import {
  type BackendName,
  describeBackend,
  loadNative,
  type NativeBinding,
  type NativeOp,
  type NativeRunOp,
  type NativeRunTensors,
  requireBackend,
} from '../native/binding.js';

/** run() bound to one backend and thread count. */
export type NativeRunFn = (op: NativeRunOp, tensors: NativeRunTensors, layout?: 'nchw' | 'nhwc') => Promise<Float32Array>;

/** How an entry's computation maps onto the addon's ops. */
export interface NativeEquivalent {
  /** Chain to time. */
  ops: NativeOp[];
  /** Multiply the time by this (e.g. batched matmul: one product timed, × batch). Default 1. */
  scale?: number;
  /** What the mapping approximates, for the row's note. */
  note: string;
  /**
   * The mapped op's output on the entry's inputs, laid out like ours (for the parity guard).
   * Absent: the row is timing only.
   */
  output?(run: NativeRunFn, inputs: HostTensor[]): Promise<Float32Array>;
}

export interface NativeBaseline {
  backend: BackendName;
  /** 'oneDNN(1t)' / 'XNNPACK(1t)'. */
  label: string;
  where: string;
  threads: number;
  /** The addon's run() on this backend and thread count. */
  run: NativeRunFn;
  /** The equivalent's time per run (x its scale), and the samples the addon was asked for. */
  time(
    eq: NativeEquivalent,
    opts: { warmup: number; repeats: number; budgetMs: number },
  ): Promise<RunStats & { repeats: number }>;
}

export function createNativeBaseline(backend: BackendName, opts: { threads?: number } = {}): NativeBaseline {
  const native: NativeBinding = loadNative();
  const info = requireBackend(native, backend);
  const threads = opts.threads ?? 1;
  const name = backend === 'onednn' ? 'oneDNN' : 'XNNPACK';
  const cpu = native.cpuInfo();
  const one = async (ops: NativeOp[], o: { warmup: number; repeats: number; budgetMs: number }) => {
    const repeats = Math.max(3, o.repeats);
    const r = await native.profile(ops, {
      backend,
      threads,
      warmup: o.warmup,
      repeats,
      maxTimeMs: o.budgetMs,
      keepSamples: true,
    });
    const s = Float64Array.from(r.samplesMs ?? [r.medianMs]).sort();
    return {
      medianMs: r.medianMs,
      p10Ms: quantileSorted(s, 0.1),
      p90Ms: quantileSorted(s, 0.9),
      meanMs: r.meanMs,
      minMs: r.minMs,
      n: r.count,
      repeats,
    };
  };
  return {
    backend,
    label: `${name}(${threads}t)`,
    where: `${describeBackend(info)} via the native addon, ${threads} thread${threads > 1 ? 's' : ''}, on ${cpu.model} (${cpu.availableCores} cores available); output parity-checked via run(), then timed with profile()`,
    threads,
    run: (op, tensors, layout) => native.run(backend, op, tensors, { threads, layout }),
    async time(eq, o) {
      const scale = eq.scale ?? 1;
      const a = await one(eq.ops, o);
      return {
        medianMs: a.medianMs * scale,
        p10Ms: a.p10Ms * scale,
        p90Ms: a.p90Ms * scale,
        meanMs: a.meanMs * scale,
        minMs: a.minMs * scale,
        n: a.n,
        repeats: a.repeats,
      };
    },
  };
}
