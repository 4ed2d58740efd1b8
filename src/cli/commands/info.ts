import { type Backend, gpuOf } from '../../backend/index.js';
import { acquireGpu, type AdapterReport } from '../../gpu/index.js';
import {
  describeBackend as describeLibrary,
  NativeUnavailableError,
  type BackendInfo,
  type CpuInfo,
} from '../../native/binding.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { describeBackend, deviceOf, openDevice } from '../device.js';
import type { ValuesOf } from '../spec.js';
import { INFO, type INFO_OPTIONS } from '../specs/info.js';

export const summary = INFO.summary;

/** The adapter Dawn picks: the GPU backend's own, else a probe (the CPU backend needs none: its absence is no error). */
async function adapterOf(backend: Backend | undefined): Promise<AdapterReport | string> {
  const own = backend && gpuOf(backend);
  if (own) return own.adapter;
  try {
    const gpu = await acquireGpu();
    const a = gpu.adapter;
    gpu.destroy();
    return a;
  } catch (e) {
    return `none (${(e as Error).message.split('\n')[0]})`;
  }
}

/** The addon's CPU in words, sizes with units (info's JSON keeps the raw fields). */
export function describeCpu(c: CpuInfo): string {
  const cores = `${c.logicalCores} logical${c.physicalCores ? ` / ${c.physicalCores} physical` : ''} cores, ${c.availableCores} available`;
  const kib = (b: number) => (b >= 1 << 20 ? `${+(b / (1 << 20)).toFixed(1)} MiB` : `${+(b / 1024).toFixed(1)} KiB`);
  const caches = Object.entries(c.cacheBytes).map(([level, b]) => `${level} ${kib(b)}`);
  return (
    `${c.model} (${c.vendor}), ${cores}${c.sockets ? `, ${c.sockets} socket(s)` : ''}; ` +
    `caches ${caches.length ? caches.join(', ') : 'unknown'}${caches.length && c.cacheSource && c.cacheSource !== 'sysfs' ? ` (from ${c.cacheSource})` : ''}; SIMD ${c.features.join(' ') || 'none'}`
  );
}

async function info(v: ValuesOf<typeof INFO_OPTIONS>, { io }: RunContext): Promise<void> {
  const kind = await deviceOf(v);
  // The CPU backend without its addon is a status to show (the native line says why), not a failure of info.
  let backend: Backend | undefined;
  try {
    backend = await openDevice(kind, v, io);
  } catch (e) {
    if (!(e instanceof NativeUnavailableError)) throw e;
  }
  try {
    const a = await adapterOf(backend);
    let native: CpuInfo | string = 'not loaded';
    let libraries: BackendInfo[] = [];
    try {
      const { loadNative } = await import('../../native/binding.js');
      native = loadNative().cpuInfo();
      libraries = loadNative().backends();
    } catch (e) {
      native = `unavailable: ${(e as Error).message.split('\n')[0]}`;
    }
    const dev = backend
      ? { choice: v.device, device: backend.device, backend: backend.name, name: backend.deviceName, threads: backend.threads }
      : { choice: v.device, device: kind, backend: 'cpu', unavailable: 'the native addon (see native)' };
    if (v.json) {
      // libraries: the oneDNN / XNNPACK versions the text prints under native.
      io.out(JSON.stringify({ device: dev, adapter: a, native, libraries }, null, 2) + '\n');
      return;
    }
    const why = v.device === 'auto' ? ` (auto: ${kind === 'gpu' ? 'a hardware GPU adapter' : 'no hardware GPU adapter'})` : '';
    io.out(
      `device:    ${kind}${why}: ${backend ? describeBackend(backend) : 'unavailable: the native addon (see native below)'}\n` +
        (typeof a === 'string'
          ? `adapter:   ${a}\n`
          : `adapter:   ${a.description} (${a.vendor}, ${a.architecture}${a.isSoftware ? ', software' : ''})\n` +
            `features:  ${a.features.join(' ')}\n` +
            (a.f16Ignored ? `f16:       ${a.f16Ignored}\n` : '') +
            `limits:    maxStorageBufferBindingSize=${a.limits.maxStorageBufferBindingSize} bytes, ` +
            `maxComputeWorkgroupStorageSize=${a.limits.maxComputeWorkgroupStorageSize} bytes, ` +
            `maxComputeInvocationsPerWorkgroup=${a.limits.maxComputeInvocationsPerWorkgroup}\n`) +
        `native:    ${typeof native === 'string' ? native : describeCpu(native)}\n` +
        libraries
          .map((l) => `           ${l.available ? describeLibrary(l) : `${l.name}: unavailable (${l.reason ?? 'not built'})`}\n`)
          .join(''),
    );
  } finally {
    backend?.dispose();
  }
}

export const handlers = { info };
export const run = (argv: string[]) => runCommand(INFO, argv, selfResolve('info', handlers));
