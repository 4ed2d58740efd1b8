/**
 * One Runner per baseline library, each parity-guarded against ours before it is timed (created by
 * createRunners in src/bench/baselines.ts).
 */
import type { GpuJsBaseline, GpuJsCase } from './gpujs.js';
import { cpuSampler, measure, type Sampler } from './measure.js';
import type { NativeBaseline } from './native.js';
import type { BenchKernel, TfCase, TfTensor } from './registry.js';
import type { TfjsBaseline } from './tfjs.js';
import type { TfjsWasmBaseline } from './tfjs-wasm.js';
import {
  type BaselineName,
  type BaselineResult,
  type BaselineTiming,
  compareOutputs,
  cpuModel,
  type Runner,
  type ShapeContext,
  type Throughput,
  throughput,
} from './baseline-common.js';

/** Outputs up to this size are parity-checked on every shape, larger ones only on the kernel's first. */
const PARITY_MAX_ELEMS = 1 << 22;

export const firstLine = (e: unknown) => (e as Error).message.split('\n')[0];

type Guard = { state: 'unchecked' | 'ok' | 'failed'; note: string };

/** A timed baseline's row: its throughput and our speed relative to it (same FLOPs: its time / ours). */
function okRow(label: string, t: Throughput, c: ShapeContext, rest: Partial<BaselineResult>): BaselineResult {
  return { status: 'ok', label, ...t, speedup: t.medianMs / c.oursMedianMs, ...rest };
}

/**
 * The parity guard shared by all baselines: runs on the kernel's first shape and on every later
 * shape whose output is small. Returns the failure row, or the max |err| (undefined: not checked).
 */
async function checkParity(
  guard: Guard,
  label: string,
  c: ShapeContext,
  output: () => Promise<ArrayLike<number>>,
): Promise<{ failed: BaselineResult } | { maxAbsErr?: number }> {
  if (!c.oursOut || !(guard.state === 'unchecked' || c.oursOut.length <= PARITY_MAX_ELEMS)) return {};
  const cmp = compareOutputs(await output(), c.oursOut, c.tol);
  if (!cmp.ok) {
    guard.state = 'failed';
    guard.note = `${label} differs from ours on ${c.label}: max |err| ${cmp.maxAbsErr.toExponential(2)} > atol ${c.tol.atol} + rtol ${c.tol.rtol}`;
    c.log(`  ${label.padEnd(14)} PARITY FAILED: ${guard.note}`);
    return { failed: { status: 'parity-failed', label, note: guard.note, parityMaxAbsErr: cmp.maxAbsErr } };
  }
  guard.state = 'ok';
  return { maxAbsErr: cmp.maxAbsErr };
}

/** A baseline case once built: how to time it, and its output for the guard. */
interface Prepared {
  sampler: Sampler;
  output(): Promise<ArrayLike<number>>;
  teardown(): void;
  /** Timing budget and warm-up for this baseline. */
  budgetMs: number;
  minSampleMs: number;
  warmup: number;
  /** Sustained warm-up, ms (GPU baselines: ours'; 0 or absent for the CPU ones). */
  warmupMs?: number;
}

/**
 * Parity guard + timing shared by the output-producing baselines. The guard runs on the kernel's
 * first shape and on every later shape whose output is small; one failure disables the baseline
 * for the kernel (it computes something else: timing it would be meaningless).
 */
function guardedRunner(
  name: BaselineName,
  label: string,
  where: string,
  covers: (k: BenchKernel) => boolean,
  prepare: (c: ShapeContext) => Promise<Prepared | string>,
  dispose: () => Promise<void> | void,
): Runner {
  const guards = new Map<string, Guard>();
  return {
    name,
    label,
    where,
    available: true,
    covers,
    dispose,
    async run(c) {
      if (!covers(c.k)) return { status: 'skipped', label, note: `no ${label} version of this kernel` };
      let guard = guards.get(c.k.name);
      if (!guard) guards.set(c.k.name, (guard = { state: 'unchecked', note: '' }));
      if (guard.state === 'failed') return { status: 'parity-failed', label, note: guard.note };
      let p: Prepared | string;
      try {
        p = await prepare(c);
      } catch (e) {
        return { status: 'skipped', label, note: firstLine(e) };
      }
      if (typeof p === 'string') return { status: 'skipped', label, note: p };
      try {
        const parity = await checkParity(guard, label, c, p.output);
        if ('failed' in parity) return parity.failed;
        const parityMaxAbsErr = parity.maxAbsErr;
        // The baselines' samplers are the GPU timer or the wall clock (never the addon's cpu-worker).
        const m = await measure(p.sampler, {
          warmup: p.warmup,
          warmupMs: p.warmupMs,
          repeats: c.repeats,
          minSampleMs: p.minSampleMs,
          budgetMs: p.budgetMs,
        });
        const t = throughput(m, c.cost.flops, c.cost.bytes, c.repeats);
        c.log(`  ${label.padEnd(14)} ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  ${t.gbps.toFixed(2)} GB/s`);
        return okRow(label, t, c, { parityMaxAbsErr, timing: m.source as BaselineTiming });
      } catch (e) {
        // tfjs backends lack some kernels (e.g. wasm has no conv backprop): not a failure of the run.
        const missing = /not registered for backend/.test(firstLine(e));
        return { status: missing ? 'skipped' : 'error', label, note: firstLine(e) };
      } finally {
        p.teardown();
      }
    },
  };
}

export function tfjsWebgpuRunner(tfjs: TfjsBaseline): Runner {
  return guardedRunner(
    'tfjs-webgpu',
    'tfjs-webgpu',
    `@tensorflow/tfjs ${tfjs.version}, webgpu backend on the same Dawn device (same timer as ours)`,
    (k) => k.tfjs !== undefined,
    async (c) => {
      await tfjs.select();
      const tc = c.k.tfjs!(tfjs.tf, c.shape, c.kc.inputs ?? []);
      return {
        sampler: tfjs.sampler(tc),
        output: () => tfOutput(tfjs.tf, tc, tfjs.read),
        teardown: () => tc.teardown(),
        budgetMs: c.gpuBudgetMs,
        minSampleMs: c.minSampleMs,
        warmup: c.warmup,
        warmupMs: c.warmupMs,
      };
    },
    () => tfjs.dispose(),
  );
}

async function tfOutput(tf: TfjsBaseline['tf'], tc: TfCase, read: (t: TfTensor) => Promise<Float32Array>): Promise<Float32Array> {
  const out = tc.run();
  const mine = tc.forParity ? tf.tidy(() => tc.forParity!(out)) : out;
  try {
    return await read(mine);
  } finally {
    tf.dispose([out, mine]);
  }
}

export function tfjsWasmRunner(w: TfjsWasmBaseline, maxFlops: number): Runner {
  return guardedRunner(
    'tfjs-wasm',
    'tfjs-wasm',
    `@tensorflow/tfjs-backend-wasm ${w.version} (${w.flavour}) on ${cpuModel()}, wall clock`,
    (k) => k.tfjs !== undefined,
    async (c) => {
      if (c.cost.flops > maxFlops) return `above ${maxFlops.toExponential(0)} FLOPs (too slow for a CPU baseline)`;
      await w.select();
      const tc = c.k.tfjs!(w.tf, c.shape, c.kc.inputs ?? []);
      return {
        sampler: w.sampler(tc),
        output: () => tfOutput(w.tf, tc, w.read),
        teardown: () => tc.teardown(),
        budgetMs: c.cpuBudgetMs,
        minSampleMs: 2,
        warmup: Math.max(1, c.warmup),
      };
    },
    () => w.dispose(),
  );
}

export function gpujsRunner(g: GpuJsBaseline, cpuMaxFlops: number): Runner {
  const onGpu = g.mode === 'webgpu';
  const maxFlops = g.mode === 'cpu' ? cpuMaxFlops : g.mode === 'webasm' ? 10 * cpuMaxFlops : Infinity;
  const where =
    `gpu.js ${g.version} in '${g.mode}' mode` +
    (onGpu
      ? ' (its own GPUDevice on the same adapter, resident inputs, pipeline mode; wall clock to onSubmittedWorkDone)'
      : ` on ${cpuModel()}, wall clock`) +
    (g.rejected.length ? `; not used: ${g.rejected.join('; ')}` : '');
  return guardedRunner(
    'gpujs',
    g.label,
    where,
    (k) => k.gpujs !== undefined,
    async (c) => {
      if (c.cost.flops > maxFlops) return `above ${maxFlops.toExponential(0)} FLOPs (too slow in gpu.js '${g.mode}' mode)`;
      const gc: GpuJsCase = await c.k.gpujs!(g, c.shape, c.kc.inputs ?? []);
      return {
        sampler: g.sampler(gc),
        output: async () => {
          const r = await gc.run();
          try {
            return await g.read(r);
          } finally {
            g.release(r);
          }
        },
        teardown: () => gc.teardown(),
        budgetMs: onGpu ? c.gpuBudgetMs : c.cpuBudgetMs,
        minSampleMs: 2,
        warmup: Math.max(1, c.warmup),
        // A GPU baseline: the sustained warm-up, as ours and tfjs-webgpu get (--warmup-ms).
        warmupMs: onGpu ? c.warmupMs : 0,
      };
    },
    () => g.dispose(),
  );
}

/**
 * oneDNN / XNNPACK: the entry's equivalent op runs once on its inputs (run()) for the parity guard,
 * then profile() times it. Equivalents without an output are timed unchecked and say so.
 */
export function nativeRunner(name: 'onednn' | 'xnnpack', nb: NativeBaseline): Runner {
  const guards = new Map<string, Guard>();
  return {
    name,
    label: nb.label,
    where: nb.where,
    available: true,
    covers: (k) => k.native !== undefined,
    dispose: () => {},
    async run(c) {
      const label = nb.label;
      const eq = c.k.native?.(c.shape) ?? null;
      if (!eq) return { status: 'skipped', label, note: `no ${label} equivalent of this ${c.k.name} shape` };
      let guard = guards.get(c.k.name);
      if (!guard) guards.set(c.k.name, (guard = { state: 'unchecked', note: '' }));
      if (guard.state === 'failed') return { status: 'parity-failed', label, note: guard.note };
      try {
        let parityMaxAbsErr: number | undefined;
        const inputs = c.kc.inputs;
        if (eq.output && inputs) {
          const parity = await checkParity(guard, label, c, () => eq.output!(nb.run, inputs));
          if ('failed' in parity) return parity.failed;
          parityMaxAbsErr = parity.maxAbsErr;
        }
        const checked = eq.output !== undefined && inputs !== undefined;
        const st = await nb.time(eq, { warmup: Math.max(1, c.warmup), repeats: c.repeats, budgetMs: c.cpuBudgetMs });
        if (!(st.medianMs > 0)) return { status: 'error', label, note: `${eq.note}: the timing came out non-positive` };
        const t = throughput({ innerRuns: 1, stats: st }, c.cost.flops, c.cost.bytes, st.repeats);
        c.log(`  ${label.padEnd(14)} ${t.medianMs.toFixed(3)} ms  ${t.gflops.toFixed(2)} GFLOP/s  (${eq.note})`);
        const note = checked ? eq.note : `${eq.note}; timing only, no parity guard`;
        // A scaled time (one product of a batch x batch) is derived, not timed as a whole: ~ in the table.
        const estimate = (eq.scale ?? 1) !== 1;
        return okRow(label, t, c, { note, parityMaxAbsErr, ...(estimate ? { estimate } : {}), timing: 'wall-clock (native)' });
      } catch (e) {
        return { status: 'error', label, note: firstLine(e) };
      }
    },
  };
}

export function cpuRunner(cpuMaxFlops: number): Runner {
  return guardedRunner(
    'cpu',
    'cpu',
    `TypeScript, 1 thread, on ${cpuModel()}`,
    (k) => k.cpu !== undefined,
    async (c) => {
      if (c.cost.flops > cpuMaxFlops) return `above ${cpuMaxFlops.toExponential(0)} FLOPs (too slow for the CPU baseline)`;
      const cc = c.k.cpu!(c.shape, c.kc.inputs ?? []);
      // The guard's run also warms the JIT.
      let ran = false;
      return {
        sampler: cpuSampler(cc.run),
        output: async () => {
          cc.run();
          ran = true;
          return cc.output();
        },
        teardown: () => {},
        budgetMs: c.cpuBudgetMs,
        minSampleMs: 0,
        get warmup() {
          return ran ? 0 : 1;
        },
      };
    },
    () => {},
  );
}
