/**
 * Latency tables of the WebGPU adapter: each key's op runs as wgnas' GPU networks compute it (the
 * same tape ops and modules: conv + BN + ReLU6, MBConv cells with their shortcut, pool + linear),
 * at batch 1, timed with timestamp queries (wall clock when the adapter has none). Whole networks
 * (FixedNet) are timed the same way, which is what a GPU table's predictions are checked against.
 * BN runs as the networks run it, on the batch's statistics. The functions take the webgpu backend
 * (the timers are the Gpu's, reached through gpuOf: this layer imports no src/gpu).
 */
import { createRequire } from 'node:module';

import { type Backend, gpuOf, type Tensor } from '../backend/index.js';
import { keyToNativeOp, LatencyKeyError } from '../latency/keys.js';
import type { LatencyEntry } from '../latency/lut.js';
import type { TableSource } from '../latency/table-writer.js';
import type { NativeOp } from '../latency/profiler.js';
import { ParamStore } from '../nn/init.js';
import { type Param, Tape, type Var } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { CellModule } from './cell-module.js';
import { isMbconvExpand, isMbconvKernel, MBCONV_EXPANDS, MBCONV_KERNELS } from '../latency/space.js';
import { type Cell, mbconvCell } from './cell.js';
import { FixedNet } from './fixed-net.js';
import type { MobileNetLayout } from './layout.js';

export interface GpuTimingOptions {
  /** Timed runs. Default 30. */
  repeats?: number;
  /** Untimed runs first (they also compile the pipelines). Default 5. */
  warmup?: number;
  /** Stop an op's repeats after this many ms of samples (at least 3). 0 = off. Default 0. */
  maxTimeMs?: number;
  /** Weight and input seed. Default 0. */
  seed?: number;
}

export interface GpuTiming {
  samplesMs: number[];
  source: 'timestamp-query' | 'wall-clock' | 'mixed';
}

const quantile = (sorted: number[], q: number): number => {
  const pos = q * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (pos - lo) * (sorted[hi] - sorted[lo]);
};

/** A table entry from samples, with the native profiler's statistics (linear quantiles, n - 1 variance). */
export function samplesToEntry(samplesMs: readonly number[]): LatencyEntry {
  const s = [...samplesMs].sort((a, b) => a - b);
  const n = s.length;
  const mean = s.reduce((a, v) => a + v, 0) / n;
  const variance = n > 1 ? s.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1) : 0;
  return { count: n, mean, var: variance, median: quantile(s, 0.5), iqr: quantile(s, 0.75) - quantile(s, 0.25) };
}

/** The Gpu under a webgpu backend (GPU tables time with its timestamp queries). */
function gpuUnder(backend: Backend) {
  const gpu = gpuOf(backend);
  if (!gpu) throw new Error('gpu profile: needs the webgpu backend (--device gpu), not the CPU backend');
  return gpu;
}

/** Times `forward` (recording dispatches on a fresh no-grad tape each run) on the GPU. */
export async function timeForward(backend: Backend, forward: (t: Tape) => void, o: GpuTimingOptions = {}): Promise<GpuTiming> {
  const gpu = gpuUnder(backend);
  const run = async (timed: boolean): Promise<{ ms: number; source: 'timestamp-query' | 'wall-clock' } | null> => {
    const t = new Tape(backend, { noGrad: true });
    try {
      if (timed) await gpu.beginTimer();
      forward(t);
      if (timed) return await gpu.endTimer();
      await backend.sync();
      return null;
    } finally {
      t.dispose();
    }
  };
  for (let i = 0; i < (o.warmup ?? 5); i++) await run(false);
  const samplesMs: number[] = [];
  const sources = new Set<string>();
  let spent = 0;
  for (let i = 0; i < (o.repeats ?? 30); i++) {
    const s = (await run(true))!;
    samplesMs.push(s.ms);
    sources.add(s.source);
    spent += s.ms;
    if ((o.maxTimeMs ?? 0) > 0 && spent > o.maxTimeMs! && samplesMs.length >= 3) break;
  }
  return { samplesMs, source: sources.size === 1 ? ([...sources][0] as GpuTiming['source']) : 'mixed' };
}

function randomInput(backend: Backend, shape: number[], rng: Rng): Tensor {
  return backend.upload(rng.normals(shape.reduce((a, b) => a * b, 1)), shape);
}

/** conv (groups 1 or depthwise) + BN (+ ReLU6), as a cell node and the skeleton's convs compute it. */
function convBn(
  store: ParamStore,
  name: string,
  o: { inC: number; outC: number; kernel: number; stride: number; depthwise: boolean; relu6: boolean },
) {
  const w = store.weight(name, [o.outC, o.depthwise ? 1 : o.inC, o.kernel, o.kernel]);
  const gamma = store.constant(`${name}.bn.gamma`, 'bn_gamma', o.outC, 1);
  const beta = store.constant(`${name}.bn.beta`, 'bn_beta', o.outC, 0);
  return (t: Tape, x: Var): Var => {
    const c = t.conv(x, w, { stride: o.stride, pad: (o.kernel - 1) / 2, groups: o.depthwise ? o.inC : 1 });
    const y = t.batchNorm(c, gamma, beta, `${name}.bn`);
    return o.relu6 ? t.relu(y, { block: 0, module: 0 }, `${name}.relu6`, true) : y;
  };
}

/** The GPU forward of one table op (its parameters in `store`) and its input shape. */
export function gpuOp(store: ParamStore, op: NativeOp): { inputShape: number[]; forward: (t: Tape, x: Var) => Var } {
  const inW = 'inW' in op && op.inW !== undefined ? op.inW : 'inH' in op ? op.inH : 1;
  const inH = 'inH' in op ? op.inH : 1;
  if (inW !== inH) throw new Error(`gpu profile: only square inputs (got ${inH}x${inW})`);
  const inputShape = [1, op.inC, inH, inW];
  switch (op.type) {
    case 'conv':
    case 'dwconv': {
      const depthwise = op.type === 'dwconv';
      const f = convBn(store, op.type, {
        inC: op.inC,
        outC: depthwise ? op.inC : op.outC,
        kernel: op.kernel,
        stride: op.stride ?? 1,
        depthwise,
        relu6: op.relu6 !== false,
      });
      return { inputShape, forward: f };
    }
    case 'mbconv': {
      const stride = (op.stride ?? 1) as 1 | 2;
      const { kernel, expand } = op;
      // gpuTableSource refused the others before any timing.
      if (!isMbconvKernel(kernel) || !isMbconvExpand(expand)) throw new LatencyKeyError(MBCONV_ONLY);
      const m = new CellModule(store, 'block', mbconvCell(kernel, expand), {
        inC: op.inC,
        outC: op.outC,
        stride,
        inH,
      });
      return {
        inputShape,
        forward: (t, x) => {
          const y = m.forward(t, x, { block: 0, module: 0 }, 'block')!;
          return op.idskip ? t.add(x, y) : y;
        },
      };
    }
    case 'logits': {
      const w = store.weight('classifier.w', [op.outC, op.inC], 'linear');
      const b: Param = store.bias('classifier.b', op.outC, op.inC);
      return { inputShape, forward: (t, x) => t.linear(t.globalAvgPool(x), w, b) };
    }
    default:
      throw new Error(`gpu profile: op type '${op.type}' is not a table op`);
  }
}

/** Times one table key's op on the GPU (fresh seeded weights and input, disposed afterwards). */
export async function timeGpuKey(backend: Backend, key: string, o: GpuTimingOptions = {}): Promise<GpuTiming> {
  const op = keyToNativeOp(key);
  const rng = new Rng(o.seed ?? 0);
  const store = new ParamStore(backend, rng);
  try {
    const { inputShape, forward } = gpuOp(store, op);
    const x = randomInput(backend, inputShape, rng);
    try {
      return await timeForward(backend, (t) => void forward(t, t.input(x)), o);
    } finally {
      x.dispose();
    }
  } finally {
    store.dispose();
  }
}

/** Times a whole cell network (FixedNet: skeleton + `cells`) on the GPU at batch 1. */
export async function timeGpuNetwork(
  backend: Backend,
  layout: MobileNetLayout,
  cells: readonly Cell[],
  choices: readonly number[],
  o: GpuTimingOptions = {},
): Promise<GpuTiming> {
  const rng = new Rng(o.seed ?? 0);
  const net = new FixedNet(backend, layout, cells, choices, rng);
  const x = randomInput(backend, [1, 3, layout.inputSize, layout.inputSize], rng);
  try {
    return await timeForward(backend, (t) => void net.forward(t, t.input(x)), o);
  } finally {
    x.dispose();
    net.dispose();
  }
}

/** "Dawn (webgpu 0.6.2)": the WebGPU implementation, for the stamp. */
export function webgpuLibrary(): string {
  try {
    const version = (createRequire(import.meta.url)('webgpu/package.json') as { version: string }).version;
    return `Dawn (webgpu ${version})`;
  } catch {
    return 'Dawn (webgpu)';
  }
}

/** The stamp of a GPU table. */
export function gpuStamp(backend: Backend, o: GpuTimingOptions = {}): Record<string, string> {
  const gpu = gpuUnder(backend);
  const a = gpu.adapter;
  return {
    device: 'gpu',
    gpu: a.description || a.device || a.vendor,
    adapter: [a.vendor, a.architecture, a.device].filter(Boolean).join(' / ') + (a.isSoftware ? ' (software)' : ''),
    library: webgpuLibrary(),
    timing: gpu.hasTimestamps ? 'timestamp-query' : 'wall-clock',
    batch: '1',
    bn: 'batch statistics (as the networks run)',
    repeats: String(o.repeats ?? 30),
    warmup: String(o.warmup ?? 5),
    'max-time-ms': String(o.maxTimeMs ?? 0),
  };
}

/** The GPU runs an MBConv as a cell: kernels and expansion ratios are the cell primitives'. */
const MBCONV_ONLY = `the GPU profiler runs MBConv kernels ${MBCONV_KERNELS.join(', ')} and expansion ratios ${MBCONV_EXPANDS.join(', ')} only`;

/** The stamp fields a GPU table must share with a run that extends it. */
export const GPU_RESUME_FIELDS = ['gpu', 'adapter', 'library', 'timing', 'bn', 'repeats', 'warmup', 'max-time-ms'] as const;

/** A table source timing each key on the webgpu `backend` (validates the keys first; the caller owns it). */
export function gpuTableSource(keys: readonly string[], backend: Backend, o: GpuTimingOptions = {}): TableSource {
  for (const k of keys) {
    const op = keyToNativeOp(k);
    if (op.type === 'mbconv' && (!isMbconvKernel(op.kernel) || !isMbconvExpand(op.expand))) {
      throw new LatencyKeyError(`latency key '${k}': ${MBCONV_ONLY}`);
    }
  }
  return {
    resumeFields: GPU_RESUME_FIELDS,
    async stamp() {
      return gpuStamp(backend, o);
    },
    async measure(todo, put) {
      for (const key of todo) put(key, samplesToEntry((await timeGpuKey(backend, key, o)).samplesMs));
    },
  };
}
