/**
 * Typed loader for the C++ addon build/Release/wgnas_native.node (native/, CMakeLists.txt):
 * profile() times op chains, run() computes one conv / dwconv on given data (for parity checks).
 * loadNative() throws NativeUnavailableError listing concrete fixes when the addon is missing or
 * cannot be loaded (e.g. libdnnl.so.2 not installed).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserFacingError } from '../util/errors.js';

export type BackendName = 'onednn' | 'xnnpack';

/**
 * One op of the MobileNetV2 / ProxylessNAS space, NHWC f32; `inW` defaults to `inH`, `batch`
 * (images) to 1 and must be the same for every op of a chain. Spatial ops pad k/2 on each side
 * (kernels are odd), so out = floor((in - 1) / stride) + 1.
 */
export type NativeOp =
  /** k×k conv + bias (BN folded) + ReLU6 unless relu6 is false: stem `Conv`, final 1×1 `Conv_1`. */
  | { type: 'conv'; batch?: number; inH: number; inW?: number; inC: number; outC: number; kernel: number; stride?: number; relu6?: boolean }
  /** k×k depthwise conv (groups = channels, outC = inC) + bias + ReLU6 unless relu6 is false: MBConv's middle stage alone. */
  | { type: 'dwconv'; batch?: number; inH: number; inW?: number; inC: number; outC?: number; kernel: number; stride?: number; relu6?: boolean }
  /** [1×1 expand + ReLU6] → k×k depthwise (stride) + ReLU6 → 1×1 project, + identity skip if idskip. */
  | { type: 'mbconv'; batch?: number; inH: number; inW?: number; inC: number; outC: number; expand: number; kernel: number; stride?: number; idskip?: boolean }
  /** Global average pool H×W×C → 1×1×C. */
  | { type: 'pool'; batch?: number; inH: number; inW?: number; inC: number }
  /** Fully connected C → outC. */
  | { type: 'linear'; batch?: number; inC: number; outC: number }
  /** Global average pool + fully connected (the tables' `Logits`). */
  | { type: 'logits'; batch?: number; inH: number; inW?: number; inC: number; outC: number };

/** The ops run() executes on caller data. */
export type NativeRunOp = Extract<NativeOp, { type: 'conv' | 'dwconv' }>;

/**
 * Data for run(). input: `batch` images, NCHW [batch, inC, inH, inW] (or NHWC with layout 'nhwc');
 * weights: always OIHW [outC, inC / groups, k, k] like wgnas' tensors (depthwise: [C, 1, k, k]);
 * bias: outC values (default zeros).
 */
export interface NativeRunTensors {
  input: Float32Array;
  weights: Float32Array;
  bias?: Float32Array;
}

export interface RunOptions {
  /** Library threads. Default 1. */
  threads?: number;
  /**
   * Layout of input and output. 'nchw' (default): the addon converts to and from NHWC (plain loops
   * in C++, outside any timing). 'nhwc': passed through as is.
   */
  layout?: 'nchw' | 'nhwc';
}

export interface ProfileOptions {
  backend?: BackendName;
  /** Library threads (oneDNN: OpenMP threads; XNNPACK: pthreadpool size). Default 1. */
  threads?: number;
  /** Untimed runs first. Default 5. */
  warmup?: number;
  /** Timed runs. Default 20. */
  repeats?: number;
  /** Pin worker threads to CPUs (pthread_setaffinity_np). Default true; result.pinned says if it worked. */
  pin?: boolean;
  /** Stop repeating once this much time is spent (at least 3 samples). 0 = no limit. */
  maxTimeMs?: number;
  /** Return the raw samples as result.samplesMs. */
  keepSamples?: boolean;
  /**
   * Before every run, touch this many bytes of scratch memory per library thread (untimed), evicting
   * the op's weights and activations from the private caches as inside a whole network. 0 = off.
   */
  flushBytes?: number;
  /** Also time each op inside the chain (extra runs, one clock read per op): result.opMeanMs. */
  perOp?: boolean;
}

export interface ProfileResult {
  medianMs: number;
  meanMs: number;
  /** Sample standard deviation (n - 1). */
  stdMs: number;
  p25Ms: number;
  p75Ms: number;
  iqrMs: number;
  minMs: number;
  maxMs: number;
  /** Coefficient of variation, stdMs / meanMs. */
  cv: number;
  count: number;
  warmup: number;
  threads: number;
  backend: BackendName;
  pinned: boolean;
  pinError?: string;
  /** Untimed primitive creation and weight reorder time. */
  setupMs: number;
  flushBytes: number;
  samplesMs?: Float64Array;
  /** With perOp: mean time of each op inside the chained forward. */
  opMeanMs?: Float64Array;
}

export interface CpuInfo {
  model: string;
  vendor: string;
  logicalCores: number;
  /** CPUs this process may run on (affinity mask / cgroup cpuset). */
  availableCores: number;
  physicalCores?: number;
  sockets?: number;
  /** SIMD features relevant to inference (avx2, avx512f, amx_tile, asimd, ...). */
  features: string[];
  /** Per-instance cache sizes: l1d, l1i, l2, l3. */
  cacheBytes: Record<string, number>;
  /** Where cacheBytes came from: the first of CACHE_SOURCES that knew any (absent: none did). */
  cacheSource?: CacheSource;
}

/**
 * The addon's sources of cache sizes, in the order it tries them: sysfs (cpu0/cache), glibc's
 * sysconf, CPUID (leaf 4, AMD's 0x8000001D, else AMD's 0x80000005/6). Containers and some VMs have
 * no cache directory in sysfs.
 */
export const CACHE_SOURCES = ['sysfs', 'sysconf', 'cpuid'] as const;
export type CacheSource = (typeof CACHE_SOURCES)[number];

/** cpuInfo's options, for the tests of the fallback: the sources to try, a fake sysfs cache directory. */
export interface CpuInfoOptions {
  cacheSources?: readonly CacheSource[];
  sysfsCacheDir?: string;
}

export interface BackendInfo {
  name: BackendName;
  available: boolean;
  version?: string;
  /** Threading runtime (OpenMP, TBB, sequential, pthreadpool). */
  runtime?: string;
  /** Instruction set the library dispatches to. */
  isa?: string;
  /** Why it is unavailable. */
  reason?: string;
}

export interface NativeBinding {
  /** CLOCK_MONOTONIC in nanoseconds. */
  nowNs(): bigint;
  cpuInfo(options?: CpuInfoOptions): CpuInfo;
  backends(): BackendInfo[];
  /** Chains `ops` into one forward and times it on a worker thread. Rejects on bad input. */
  profile(ops: NativeOp[], options?: ProfileOptions): Promise<ProfileResult>;
  /**
   * Runs one conv / dwconv once on `tensors` with the same primitives profile() times, on a worker
   * thread, and resolves with its output ([batch, outC, outH, outW] NCHW, or NHWC with layout 'nhwc').
   * Rejects with a clear error on a bad backend, op or tensor size (checked here before the addon).
   */
  run(backend: BackendName, op: NativeRunOp, tensors: NativeRunTensors, options?: RunOptions): Promise<Float32Array>;
  napiVersion: number;
  /**
   * fd-level stderr filter (src/gpu/dawn-log.ts): begin() sends fd 2 through a pipe, holding back lines
   * that contain a pattern; end() restores fd 2 and returns them. Absent in an addon built before it.
   */
  stderrFilter?: { begin(patterns: readonly string[]): boolean; end(): string[] };
}

/**
 * The command that builds the addon: `npm run build:native` in a checkout; an installed package has
 * no such script, and its install step builds it again with `npm rebuild wgnas`.
 */
export function nativeBuildCommand(root = packageRoot()): string {
  return root.split(/[\\/]/).includes('node_modules') ? 'npm rebuild wgnas' : 'npm run build:native';
}

export class NativeUnavailableError extends UserFacingError {
  override readonly name = 'NativeUnavailableError';
  constructor(detail: string) {
    super(
      `The wgnas native addon is unavailable (${detail}).\n` +
        'Fixes:\n' +
        `  - Build it: ${nativeBuildCommand()}  (writes build/Release/wgnas_native.node)\n` +
        '  - It needs cmake >= 3.15, a C++17 compiler and oneDNN: apt-get install cmake build-essential libdnnl-dev\n' +
        '    (optional XNNPACK backend: apt-get install libxnnpack-dev), then rebuild.\n' +
        '  - Or point WGNAS_NATIVE_PATH at a built wgnas_native.node.',
    );
  }
}

function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'CMakeLists.txt'))) return dir;
    dir = dirname(dir);
  }
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
}

/** Where the addon is looked for, in order. */
export function nativeCandidates(): string[] {
  const root = packageRoot();
  const env = process.env.WGNAS_NATIVE_PATH;
  return [
    ...(env ? [resolve(env)] : []),
    join(root, 'build', 'Release', 'wgnas_native.node'),
    join(root, 'build', 'Debug', 'wgnas_native.node'),
  ];
}

let cached: NativeBinding | undefined;

export function loadNative(): NativeBinding {
  if (cached) return cached;
  const candidates = nativeCandidates();
  // An explicit path is the one wanted: a typo there must not quietly load the checkout's build.
  const env = process.env.WGNAS_NATIVE_PATH;
  if (env && !existsSync(resolve(env))) throw new NativeUnavailableError(`WGNAS_NATIVE_PATH=${env}: no such file`);
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new NativeUnavailableError(`not built: none of ${candidates.join(', ')} exists`);
  let raw: NativeBinding & { stderrFilterBegin?: (patterns: string[]) => boolean; stderrFilterEnd?: () => string[] };
  // OpenMP (libgomp, which oneDNN runs on) reads this once, when the addon loads it. Its default
  // spins ~300k iterations at every barrier before sleeping: on a machine whose cores are busy
  // with other work, each parallel region then waits for a descheduled spinner (an NB201 WRCor
  // cell at 2 threads on a loaded 2-core VM: 8-12 s; spinning 1000: 0.7 s). A short spin costs an
  // idle machine a futex wake per region (microseconds, against ops of 0.1-10 ms). A user's own
  // GOMP_SPINCOUNT or OMP_WAIT_POLICY wins.
  if (process.env.GOMP_SPINCOUNT === undefined && process.env.OMP_WAIT_POLICY === undefined) process.env.GOMP_SPINCOUNT = '1000';
  try {
    raw = createRequire(import.meta.url)(path) as NativeBinding;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const hint = /libdnnl|libXNNPACK|libpthreadpool|libgomp/.test(msg)
      ? '; a shared library is missing: install libdnnl2 (and libxnnpack0 if built with XNNPACK) or rebuild'
      : `; rebuild with ${nativeBuildCommand()}`;
    const from = env && path === resolve(env) ? ' (from WGNAS_NATIVE_PATH)' : '';
    throw new NativeUnavailableError(`${path}${from} failed to load: ${msg}${hint}`);
  }
  cached = {
    nowNs: () => raw.nowNs(),
    cpuInfo: (options) => (options ? raw.cpuInfo(options) : raw.cpuInfo()),
    backends: () => raw.backends(),
    // The addon validates synchronously; an async wrapper turns those throws into rejections.
    profile: async (ops, options) => raw.profile(ops, options),
    run: async (backend, op, tensors, options) => {
      checkRunArgs(backend, op, tensors, options);
      return raw.run(backend, op, tensors, options);
    },
    napiVersion: raw.napiVersion,
    stderrFilter: raw.stderrFilterBegin && raw.stderrFilterEnd ? { begin: (p) => raw.stderrFilterBegin!([...p]), end: () => raw.stderrFilterEnd!() } : undefined,
  };
  return cached;
}

/** Sizes of a run() op: elements of input, weights and output, and the output's [C, H, W]. */
export function runOpSizes(op: NativeRunOp): { input: number; weights: number; output: number; outC: number; outH: number; outW: number } {
  const batch = op.batch ?? 1;
  const inW = op.inW ?? op.inH;
  const stride = op.stride ?? 1;
  const outC = op.type === 'dwconv' ? op.inC : op.outC;
  const groups = op.type === 'dwconv' ? op.inC : 1;
  const outH = Math.floor((op.inH - 1) / stride) + 1;
  const outW = Math.floor((inW - 1) / stride) + 1;
  return {
    input: batch * op.inC * op.inH * inW,
    weights: outC * (op.inC / groups) * op.kernel * op.kernel,
    output: batch * outC * outH * outW,
    outC,
    outH,
    outW,
  };
}

/** The TypeScript-side checks of run(): a wrong size never reaches the addon. */
function checkRunArgs(backend: string, op: NativeRunOp, t: NativeRunTensors, options?: RunOptions): void {
  if (backend !== 'onednn' && backend !== 'xnnpack') throw new Error(`run: unknown backend '${backend}' (expected onednn or xnnpack)`);
  if (!op || (op.type !== 'conv' && op.type !== 'dwconv')) {
    throw new Error(`run: supports conv and dwconv ops only (got ${op ? `'${(op as { type?: unknown }).type}'` : op})`);
  }
  const dims: Array<[string, number | undefined]> = [
    ['batch', op.batch ?? 1],
    ['inH', op.inH],
    ['inW', op.inW ?? op.inH],
    ['inC', op.inC],
    ['outC', op.type === 'conv' ? op.outC : (op.outC ?? op.inC)],
    ['kernel', op.kernel],
    ['stride', op.stride ?? 1],
  ];
  for (const [name, v] of dims) {
    if (!Number.isInteger(v) || v! < 1) throw new RangeError(`run: ${name} must be a positive integer (got ${v})`);
  }
  if (op.kernel % 2 === 0) throw new RangeError(`run: kernel ${op.kernel} must be odd (padding is k/2 on each side)`);
  if (op.type === 'dwconv' && op.outC !== undefined && op.outC !== op.inC) {
    throw new RangeError(`run: depthwise output channels ${op.outC} must equal input channels ${op.inC}`);
  }
  if (options?.layout !== undefined && options.layout !== 'nchw' && options.layout !== 'nhwc') {
    throw new Error(`run: unknown layout '${String(options.layout)}' (expected nchw or nhwc)`);
  }
  if (!t || typeof t !== 'object') throw new TypeError('run: tensors must be an object {input, weights, bias?}');
  const sz = runOpSizes(op);
  const want: Array<[keyof NativeRunTensors, number, boolean]> = [
    ['input', sz.input, true],
    ['weights', sz.weights, true],
    ['bias', sz.outC, false],
  ];
  for (const [name, n, required] of want) {
    const a = t[name];
    if (a === undefined && !required) continue;
    if (!(a instanceof Float32Array)) throw new TypeError(`run: tensors.${name} must be a Float32Array`);
    if (a.length !== n) {
      const layout =
        name === 'input'
          ? ` (${op.batch ?? 1} images of ${op.inC} channels, ${op.inH}x${op.inW ?? op.inH})`
          : name === 'weights'
            ? ` ([${sz.outC}, ${op.inC / (op.type === 'dwconv' ? op.inC : 1)}, ${op.kernel}, ${op.kernel}])`
            : '';
      throw new RangeError(`run: tensors.${name} has ${a.length} elements, expected ${n}${layout}`);
    }
  }
}

/** Throws a clear error when `name` is not usable in this build. */
export function requireBackend(native: NativeBinding, name: string): BackendInfo {
  const info = native.backends().find((b) => b.name === name);
  if (!info) {
    throw new Error(`unknown backend '${name}' (expected ${native.backends().map((b) => b.name).join(' or ')})`);
  }
  if (!info.available) {
    throw new Error(`backend '${name}' is unavailable in this build: ${info.reason ?? 'unknown reason'}`);
  }
  return info;
}

/** Human-readable library stamp, e.g. "oneDNN 2.6.3 (OpenMP, avx512_core_amx)". */
export function describeBackend(info: BackendInfo): string {
  const label = info.name === 'onednn' ? 'oneDNN' : 'XNNPACK';
  const extra = [info.runtime, info.isa].filter(Boolean).join(', ');
  return `${label} ${info.version ?? ''}${extra ? ` (${extra})` : ''}`.replace(/\s+/g, ' ').trim();
}
