/**
 * Typed loader for the C++ addon build/Release/wgnas_native.node (native/, CMakeLists.txt).
 * loadNative() throws NativeUnavailableError listing concrete fixes when the addon is missing or
 * cannot be loaded (e.g. libdnnl.so.2 not installed).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export type BackendName = 'onednn' | 'xnnpack';

/** One op of the MobileNetV2 / ProxylessNAS space, batch 1, NHWC f32; `inW` defaults to `inH`. */
export type NativeOp =
  /** k×k conv + bias (BN folded) + ReLU6 unless relu6 is false: stem `Conv`, final 1×1 `Conv_1`. */
  | { type: 'conv'; inH: number; inW?: number; inC: number; outC: number; kernel: number; stride?: number; relu6?: boolean }
  /** [1×1 expand + ReLU6] → k×k depthwise (stride) + ReLU6 → 1×1 project, + identity skip if idskip. */
  | { type: 'mbconv'; inH: number; inW?: number; inC: number; outC: number; expand: number; kernel: number; stride?: number; idskip?: boolean }
  /** Global average pool H×W×C → 1×1×C. */
  | { type: 'pool'; inH: number; inW?: number; inC: number }
  /** Fully connected C → outC. */
  | { type: 'linear'; inC: number; outC: number }
  /** Global average pool + fully connected (the tables' `Logits`). */
  | { type: 'logits'; inH: number; inW?: number; inC: number; outC: number };

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
  cpuInfo(): CpuInfo;
  backends(): BackendInfo[];
  /** Chains `ops` into one forward and times it on a worker thread. Rejects on bad input. */
  profile(ops: NativeOp[], options?: ProfileOptions): Promise<ProfileResult>;
  napiVersion: number;
}

export class NativeUnavailableError extends Error {
  override readonly name = 'NativeUnavailableError';
  constructor(detail: string) {
    super(
      `The wgnas native addon is unavailable (${detail}).\n` +
        'Fixes:\n' +
        '  - Build it: npm run build:native  (writes build/Release/wgnas_native.node)\n' +
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
  const path = candidates.find((p) => existsSync(p));
  if (!path) throw new NativeUnavailableError(`not built: none of ${candidates.join(', ')} exists`);
  let raw: NativeBinding;
  try {
    raw = createRequire(import.meta.url)(path) as NativeBinding;
  } catch (e) {
    const msg = (e as Error).message.split('\n')[0];
    const hint = /libdnnl|libXNNPACK|libpthreadpool|libgomp/.test(msg)
      ? '; a shared library is missing: install libdnnl2 (and libxnnpack0 if built with XNNPACK) or rebuild'
      : '; rebuild with npm run build:native';
    throw new NativeUnavailableError(`${path} failed to load: ${msg}${hint}`);
  }
  cached = {
    nowNs: () => raw.nowNs(),
    cpuInfo: () => raw.cpuInfo(),
    backends: () => raw.backends(),
    // The addon validates synchronously; an async wrapper turns those throws into rejections.
    profile: async (ops, options) => raw.profile(ops, options),
    napiVersion: raw.napiVersion,
  };
  return cached;
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
