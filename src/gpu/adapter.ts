/**
 * Adapter and device acquisition: the process-wide Dawn instance, the adapter report, and
 * acquireGpu(), which opens the device a Gpu (src/gpu/gpu.ts) runs on.
 */
import { SOFTWARE_ADAPTER_NAME } from '../util/kernels-record.js';
import { withDawnStderrFiltered } from './dawn-log.js';
import { DawnUnavailableError, NoAdapterError } from './errors.js';
import { Gpu } from './gpu.js';

type WebGpuModule = typeof import('webgpu');

// Dawn segfaults if the object returned by create() is garbage-collected while devices live,
// so it is held here for the life of the process.
const dawnHolder: { gpu?: GPU; loading?: Promise<GPU> } = {};

/**
 * The 'webgpu' package (Dawn's dawn.node), imported at the first GPU request, not with the library:
 * a dawn.node this system cannot load (it needs glibc >= 2.34) must not stop the CPU backend and
 * the pure helpers. A failed load is remembered and thrown again as DawnUnavailableError.
 */
let webgpuModule: Promise<WebGpuModule> | undefined;
function loadWebGpu(): Promise<WebGpuModule> {
  webgpuModule ??= import('webgpu').catch((e: unknown) => {
    throw new DawnUnavailableError(e);
  });
  return webgpuModule;
}

function dawn(): Promise<GPU> {
  if (dawnHolder.gpu) return Promise.resolve(dawnHolder.gpu);
  // One create() per process, also when two requests race to the first load.
  dawnHolder.loading ??= loadWebGpu().then(({ create, globals }) => {
    if (dawnHolder.gpu) return dawnHolder.gpu;
    Object.assign(globalThis, globals);
    const flags: string[] = [];
    if (process.env.WGNAS_ADAPTER) flags.push(`adapter=${process.env.WGNAS_ADAPTER}`);
    if (process.env.WGNAS_BACKEND) flags.push(`backend=${process.env.WGNAS_BACKEND}`);
    // Extra Dawn flags, ';'-separated (a flag's own value may hold commas), e.g.
    // 'enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia' to expose shader-f16 on NVIDIA.
    for (const f of (process.env.WGNAS_DAWN_FLAGS ?? '').split(';')) if (f.trim()) flags.push(f.trim());
    const gpu = create(withFullTimestamps(flags));
    // Every adapter request goes through the filter, also those of the baselines (tfjs, gpu.js) on
    // navigator.gpu: whichever comes first makes Dawn print its start-up lines.
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (o) => withDawnStderrFiltered(() => request(o));
    dawnHolder.gpu = gpu;
    return gpu;
  });
  return dawnHolder.loading;
}

/**
 * Dawn rounds timestamp queries down to 2^16 ns by default (a browser's timing-attack guard), which
 * hides every kernel shorter than ~65 us; a native tool has no reason to, so the toggle is turned
 * off (added to a user's own disable-dawn-features list where one is given).
 */
export function withFullTimestamps(flags: readonly string[]): string[] {
  const key = 'disable-dawn-features=';
  const i = flags.findIndex((f) => f.startsWith(key));
  if (i < 0) return [...flags, `${key}timestamp_quantization`];
  const own = flags[i].slice(key.length).split(',').filter(Boolean);
  if (own.includes('timestamp_quantization')) return [...flags];
  return flags.map((f, j) => (j === i ? `${key}${[...own, 'timestamp_quantization'].join(',')}` : f));
}

/** Dawn prints its start-up warnings synchronously inside the first requestAdapter call (src/gpu/dawn-log.ts). */
async function requestAdapter(): Promise<GPUAdapter | null> {
  return (await dawn()).requestAdapter({ powerPreference: 'high-performance' });
}

/** The Dawn GPU object (navigator.gpu equivalent), e.g. for handing to tfjs-backend-webgpu. */
export function dawnGpu(): Promise<GPU> {
  return dawn();
}

export interface AdapterReport {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** True for software rasterizers (lavapipe/llvmpipe, SwiftShader). */
  isSoftware: boolean;
  features: string[];
  /** Everything the adapter offers, including features this runtime does not request. */
  adapterFeatures?: string[];
  limits: Record<string, number>;
  subgroupMinSize?: number;
  subgroupMaxSize?: number;
  /** Subgroup-matrix (cooperative-matrix) shapes and types, where the adapter has the feature. */
  subgroupMatrixConfigs?: Array<{ componentType: string; resultComponentType: string; M: number; N: number; K: number }>;
  /** Set where WGNAS_F16=1 asked for f16 operands and the device cannot: why, and the flag to set. */
  f16Ignored?: string;
}

// Requested only where offered; subgroup matrices appear only with the unsafe Dawn toggles (SUBGROUP_MATRIX_DAWN_FLAGS).
// subgroup-size-control: WGSL's @subgroup_size, which pins the subgroup-matrix programs' subgroups.
const OPTIONAL_FEATURES: GPUFeatureName[] = [
  'timestamp-query',
  'shader-f16',
  'subgroups' as GPUFeatureName,
  'subgroup-size-control' as GPUFeatureName,
  'chromium-experimental-subgroup-matrix' as GPUFeatureName,
];

/** The Dawn flag that exposes shader-f16 on NVIDIA's Vulkan driver (off there by default). */
export const F16_DAWN_FLAGS = 'WGNAS_DAWN_FLAGS=enable-dawn-features=allow_unsafe_apis,vulkan_enable_f16_on_nvidia';

/**
 * Why WGNAS_F16 (`env`) leaves a device at f32 though asked ('1' on a device without shader-f16),
 * naming the flag that exposes the feature; null where it does not. The CLI prints it as a warning
 * (src/cli/device.ts) and `wgnas info` shows it (AdapterReport.f16Ignored): not silently f32.
 */
export function f16Ignored(env: string | undefined, hasF16: boolean, deviceName: string): string | null {
  if (env !== '1' || hasF16) return null;
  return `WGNAS_F16=1 ignored (f32 operands): ${deviceName} does not offer shader-f16; on NVIDIA set ${F16_DAWN_FLAGS}`;
}

export interface AcquireOptions {
  /** Refuse software adapters (lavapipe) — for benchmarks that must run on real hardware. */
  requireHardware?: boolean;
}

/** True for software rasterizers (lavapipe/llvmpipe, SwiftShader, a fallback adapter). */
export function isSoftwareAdapter(info: GPUAdapterInfo): boolean {
  const description = info.description || info.device || '';
  return (
    SOFTWARE_ADAPTER_NAME.test(`${description} ${info.device} ${info.architecture}`) ||
    info.architecture === 'software' ||
    Boolean((info as unknown as { isFallbackAdapter?: boolean }).isFallbackAdapter)
  );
}

/**
 * What decides which kernels run on an adapter, as the kernels read it from a Gpu's AdapterReport:
 * software or not (the GEMM and convolution cores, split-K, the batch norm's width), and the
 * identity and limits that pick the tuned matmul tile (kernels/matmul-tiles.ts).
 */
export type KernelAdapter = Pick<AdapterReport, 'vendor' | 'architecture' | 'device' | 'description' | 'isSoftware' | 'limits'>;

/** What probeAdapter tells of the adapter acquireGpu() would get. */
export interface AdapterProbe {
  /** Its name for messages. */
  description: string;
  isSoftware: boolean;
  f16: boolean;
  /** As a Gpu opened on it reports it to the kernels (the limits a device is requested with are the adapter's). */
  kernels: KernelAdapter;
}

/**
 * The adapter acquireGpu() would get, without opening a device: its name, whether it is a software
 * one, or null when Dawn finds none. For `--device auto`, which takes a hardware GPU only, and for
 * the record of the kernels a run computes with, known before any work (src/cli/device.ts).
 */
export async function probeAdapter(): Promise<AdapterProbe | null> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await requestAdapter();
  } catch {
    return null;
  }
  if (!adapter) return null;
  const info = adapter.info;
  const isSoftware = isSoftwareAdapter(info);
  const limits: Record<string, number> = {};
  for (const k in adapter.limits) limits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  return {
    description: info.description || info.device || info.vendor,
    isSoftware,
    // acquireGpu requests shader-f16 wherever the adapter offers it.
    f16: adapter.features.has('shader-f16'),
    kernels: {
      vendor: info.vendor,
      architecture: info.architecture,
      device: info.device,
      description: info.description || info.device || '',
      isSoftware,
      limits,
    },
  };
}

/** The adapter's subgroup-matrix configurations as plain objects (Dawn's are GPU objects), if any. */
function subgroupMatrixConfigsOf(info: GPUAdapterInfo): AdapterReport['subgroupMatrixConfigs'] {
  const cs = (info as unknown as { subgroupMatrixConfigs?: ArrayLike<Record<string, unknown>> }).subgroupMatrixConfigs;
  if (!cs || !cs.length) return undefined;
  return Array.from(cs, (c) => ({
    componentType: String(c.componentType),
    resultComponentType: String(c.resultComponentType),
    M: Number(c.M),
    N: Number(c.N),
    K: Number(c.K),
  }));
}

/** The Dawn flags the environment set (dawn()), for the no-adapter messages: a wrong one is the likely cause. */
function dawnFlagsFromEnv(): string {
  const set = ['WGNAS_ADAPTER', 'WGNAS_BACKEND', 'WGNAS_DAWN_FLAGS'].filter((k) => process.env[k]);
  return set.length ? ` with ${set.map((k) => `${k}='${process.env[k]!.slice(0, 80)}'`).join(', ')}` : '';
}

export async function acquireGpu(opts: AcquireOptions = {}): Promise<Gpu> {
  let adapter: GPUAdapter | null;
  try {
    adapter = await requestAdapter();
  } catch (e) {
    if (e instanceof DawnUnavailableError) throw e;
    throw new NoAdapterError(`Dawn could not enumerate adapters${dawnFlagsFromEnv()}: ${(e as Error).message}`);
  }
  if (!adapter) throw new NoAdapterError(`Dawn found no Vulkan/Metal/D3D adapter on this machine${dawnFlagsFromEnv()}`);
  const info = adapter.info;
  const description = info.description || info.device || '';
  const isSoftware = isSoftwareAdapter(info);
  if (opts.requireHardware && isSoftware) {
    throw new NoAdapterError(`only a software adapter (${description}) is present and requireHardware was set`);
  }
  const requiredFeatures = OPTIONAL_FEATURES.filter((f) => adapter.features.has(f));
  const requiredLimits: Record<string, number> = {};
  for (const k of [
    'maxStorageBufferBindingSize',
    'maxBufferSize',
    'maxComputeWorkgroupStorageSize',
    'maxComputeInvocationsPerWorkgroup',
    'maxComputeWorkgroupSizeX',
    'maxComputeWorkgroupSizeY',
    'maxStorageBuffersPerShaderStage',
  ]) {
    requiredLimits[k] = (adapter.limits as unknown as Record<string, number>)[k];
  }
  const device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  const limits: Record<string, number> = {};
  for (const k in device.limits) limits[k] = (device.limits as unknown as Record<string, number>)[k];
  const report: AdapterReport = {
    vendor: info.vendor,
    architecture: info.architecture,
    device: info.device,
    description,
    isSoftware,
    features: [...device.features].sort(),
    adapterFeatures: [...adapter.features].sort(),
    limits,
    subgroupMinSize: (info as unknown as { subgroupMinSize?: number }).subgroupMinSize,
    subgroupMaxSize: (info as unknown as { subgroupMaxSize?: number }).subgroupMaxSize,
    subgroupMatrixConfigs: subgroupMatrixConfigsOf(info),
  };
  const hasF16 = device.features.has('shader-f16');
  const ignored = f16Ignored(process.env.WGNAS_F16, hasF16, description || info.device || info.vendor);
  if (ignored) report.f16Ignored = ignored;
  const gpu = new Gpu(device, report);
  // Opt-in f16 operands for the matmul / convolution kernels that have an f16 variant.
  gpu.f16Compute = process.env.WGNAS_F16 === '1' && hasF16;
  return gpu;
}
