/**
 * gpu.js baseline. gpu.js 2.24 runs kernels in 'webgpu' (explicit opt-in; it uses navigator.gpu,
 * which we point at our Dawn instance, so it gets its own GPUDevice on the same adapter), 'webasm'
 * (WebAssembly on the CPU), 'cpu' (generated JS) or the GL modes (need headless `gl`, not installed).
 * The first mode of the preference list that builds and runs a probe kernel correctly is used, and its
 * name goes into every label: `gpu.js(webgpu)`.
 *
 * Kernels are written as source text (gpu.js parses the function; transpiled TS would not survive).
 * In webgpu mode inputs are made GPU-resident once (pipeline handles) and kernels run in pipeline
 * mode, so a timed run is dispatch only, as ours is; it is timed by the wall clock up to
 * onSubmittedWorkDone of gpu.js's device (a different device from ours: our timestamps cannot see it).
 */
import { createRequire } from 'node:module';
import { dawnGpu } from '../gpu/adapter.js';
import type { Sampler } from './measure.js';

export const GPUJS_MODES = ['webgpu', 'webasm', 'cpu'] as const;
export type GpuJsMode = (typeof GPUJS_MODES)[number];

/** What gpu.js's createKernel returns, as far as we use it. */
interface GpuJsKernelFn {
  (...args: unknown[]): unknown;
  kernel?: { constructor: { mode?: string } };
  destroy(): void;
}

interface GpuJsInstance {
  createKernel(source: string, settings: Record<string, unknown>): GpuJsKernelFn;
  destroy(): Promise<void> | void;
}

interface GpuJsModule {
  GPU: { new (settings: { mode: string }): GpuJsInstance; isWebGPUAvailable(): Promise<boolean> };
  WebGPUContext?: { destroy(): Promise<void> };
}

/** A gpu.js pipeline handle (webgpu mode): GPU-resident result. */
interface BufferResult {
  toArray(): Promise<unknown>;
  delete(): void;
  context?: { device?: GPUDevice };
}

/** An input as the mode wants it: a resident handle (webgpu) or the host array. */
export type GpuJsValue = unknown;

export interface GpuJsKernelOptions {
  /** gpu.js output size, fastest dimension first: [x] | [x, y] | [x, y, z]. */
  output: number[];
  constants?: Record<string, number>;
}

/** One kernel run; `args` may mix inputs and earlier results (webgpu: handles). */
export type GpuJsKernel = (...args: GpuJsValue[]) => Promise<GpuJsValue>;

export interface GpuJsCase {
  /** Runs the computation once (webgpu: queues it) and returns its final result. */
  run(): Promise<GpuJsValue>;
  teardown(): void;
}

export interface GpuJsBaseline {
  mode: GpuJsMode;
  /** e.g. 'gpu.js(webgpu)'. */
  label: string;
  version: string;
  /** Modes tried before `mode` and why they were not used. */
  rejected: string[];
  kernel(source: string, opts: GpuJsKernelOptions): GpuJsKernel;
  /** Host data in the form kernels take it (webgpu: uploaded once, kept resident). */
  input(data: Float32Array): Promise<GpuJsValue>;
  /** Flat copy of a result (webgpu: reads it back). */
  read(v: GpuJsValue): Promise<Float32Array>;
  /** Frees a result or resident input (no-op off webgpu). */
  release(v: GpuJsValue): void;
  sampler(c: GpuJsCase): Sampler;
  dispose(): Promise<void>;
}

function flatten(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (ArrayBuffer.isView(v)) out.push(...(v as Float32Array));
  else if (Array.isArray(v)) for (const x of v) flatten(x, out);
  else throw new Error(`gpu.js returned an unexpected ${typeof v} result`);
  return out;
}

const isHandle = (v: unknown): v is BufferResult =>
  typeof v === 'object' &&
  v !== null &&
  typeof (v as BufferResult).toArray === 'function' &&
  typeof (v as BufferResult).delete === 'function';

const PROBE = 'function(a) { return a[this.thread.x] * 2 + this.constants.c; }';

async function tryMode(mod: GpuJsModule, mode: GpuJsMode): Promise<{ gpu: GpuJsInstance } | { error: string }> {
  let gpu: GpuJsInstance | undefined;
  try {
    if (mode === 'webgpu' && !(await mod.GPU.isWebGPUAvailable())) return { error: 'no WebGPU adapter' };
    gpu = new mod.GPU({ mode });
    const k = gpu.createKernel(PROBE, { output: [5], constants: { c: 1 }, precision: 'single', pipeline: false });
    let r = k(new Float32Array([0, 1, 2, 3, 4]));
    if (r instanceof Promise) r = await r;
    const got = flatten(r);
    const real = k.kernel?.constructor.mode;
    k.destroy();
    if (real !== undefined && real !== mode) return { error: `gpu.js ran the probe in '${real}' instead` };
    if (got.join(',') !== '1,3,5,7,9') return { error: `probe kernel computed ${got.join(',')}` };
    return { gpu };
  } catch (e) {
    await gpu?.destroy();
    return { error: (e as Error).message.split('\n')[0] };
  }
}

/** Loads gpu.js and picks the first working mode of `prefer`. */
export async function createGpuJsBaseline(prefer: readonly GpuJsMode[] = GPUJS_MODES): Promise<GpuJsBaseline> {
  // webgpu mode uses navigator.gpu: our pinned Dawn instance (as the tfjs baseline does).
  const g = globalThis as { navigator?: { gpu?: GPU } };
  g.navigator ??= {};
  if (!g.navigator.gpu) Object.defineProperty(g.navigator, 'gpu', { value: await dawnGpu(), configurable: true });

  const require = createRequire(import.meta.url);
  let mod: GpuJsModule;
  let version: string;
  try {
    mod = require('gpu.js') as GpuJsModule;
    version = (require('gpu.js/package.json') as { version: string }).version;
  } catch (e) {
    throw new Error(
      `the gpu.js baseline needs gpu.js (a dev dependency of wgnas, not installed with the package: npm install gpu.js@2): ${(e as Error).message.split('\n')[0]}`,
    );
  }
  const rejected: string[] = [];
  let picked: { gpu: GpuJsInstance; mode: GpuJsMode } | null = null;
  for (const mode of prefer) {
    const r = await tryMode(mod, mode);
    if ('gpu' in r) {
      picked = { gpu: r.gpu, mode };
      break;
    }
    rejected.push(`${mode}: ${r.error}`);
  }
  if (!picked) throw new Error(`no gpu.js mode works here (${rejected.join('; ')})`);
  const { gpu, mode } = picked;
  const webgpu = mode === 'webgpu';
  const kernels: GpuJsKernelFn[] = [];
  let device: GPUDevice | undefined;

  const make = (source: string, opts: GpuJsKernelOptions): GpuJsKernelFn => {
    const fn = gpu.createKernel(source, {
      output: opts.output,
      constants: opts.constants ?? {},
      precision: 'single',
      pipeline: webgpu,
      // Loop bounds are constants; lift the GL-era iteration cap.
      loopMaxIterations: 1 << 30,
    });
    kernels.push(fn);
    return fn;
  };
  const call = async (fn: GpuJsKernelFn, args: unknown[]) => {
    let r = fn(...args);
    if (r instanceof Promise) r = await r;
    if (isHandle(r)) device ??= r.context?.device;
    return r;
  };

  return {
    mode,
    label: `gpu.js(${mode})`,
    version,
    rejected,
    kernel(source, opts) {
      const fn = make(source, opts);
      return (...args) => call(fn, args);
    },
    async input(data) {
      if (!webgpu) return data;
      // Identity kernel in pipeline mode: the data stays on gpu.js's device.
      const fn = make('function(a) { return a[this.thread.x]; }', { output: [data.length] });
      return call(fn, [data]);
    },
    async read(v) {
      return Float32Array.from(flatten(isHandle(v) ? await v.toArray() : v));
    },
    release(v) {
      if (isHandle(v)) v.delete();
    },
    sampler: (c) => async (inner) => {
      const t0 = performance.now();
      for (let i = 0; i < inner; i++) {
        const r = await c.run();
        // Pipeline results share the kernel's output buffer; drop the extra reference.
        if (isHandle(r)) r.delete();
      }
      if (webgpu && device) await device.queue.onSubmittedWorkDone();
      return { ms: performance.now() - t0, source: 'wall-clock' };
    },
    async dispose() {
      for (const k of kernels) {
        try {
          k.destroy();
        } catch {
          // already gone with its GPU
        }
      }
      await gpu.destroy();
      if (webgpu) await mod.WebGPUContext?.destroy();
    },
  };
}
