/**
 * Backend selection (`--device auto|gpu|cpu`): 'gpu' is the WGSL kernels on the Dawn adapter,
 * whatever it is (lavapipe included: the way to test the WGSL on a machine without a GPU); 'cpu' is
 * the native backend; 'auto' takes a hardware GPU where Dawn finds one and the CPU backend
 * otherwise (on a software adapter the native ops are 15-80x faster than the WGSL).
 */
import { acquireGpu, probeAdapter } from '../gpu/index.js';
import { NativeUnavailableError } from '../native/binding.js';
import { NativeDevice } from '../native/device.js';
import type { Backend, DeviceKind } from './backend.js';
import { cpuBackend } from './cpu.js';
import { webgpuBackend } from './webgpu.js';

export const DEVICE_CHOICES = ['auto', 'gpu', 'cpu'] as const;
export type DeviceChoice = (typeof DEVICE_CHOICES)[number];

/** The probe of 'auto' (once per process): the device it means, and the software adapter it passed over. */
let probed: Promise<{ kind: DeviceKind; software: string | null }> | undefined;
function probe(): Promise<{ kind: DeviceKind; software: string | null }> {
  probed ??= probeAdapter().then((a) => ({
    kind: a && !a.isSoftware ? 'gpu' : 'cpu',
    software: a?.isSoftware ? a.description : null,
  }));
  return probed;
}

/** The device `choice` means on this machine ('auto' probes the adapter once per process). */
export function resolveDevice(choice: DeviceChoice): Promise<DeviceKind> {
  // A library caller's typo ('CPU', 'cuda') must not quietly mean 'auto'.
  if (!(DEVICE_CHOICES as readonly unknown[]).includes(choice))
    return Promise.reject(new RangeError(`device must be one of ${DEVICE_CHOICES.join(', ')}, got ${JSON.stringify(choice)}`));
  if (choice === 'gpu' || choice === 'cpu') return Promise.resolve(choice);
  return probe().then((p) => p.kind);
}

/** The settings key under which results and checkpoints record f16 operands: the variable that asks for them. */
export const F16_KEY = 'WGNAS_F16';

/**
 * Whether a backend of `device` opened now computes with f16 operands (WGNAS_F16=1 on a GPU that
 * offers shader-f16: acquireGpu's Gpu.f16Compute), known before the device opens so that a resume
 * can compare it with the saved run's: their scores differ. Probes the adapter only under WGNAS_F16=1.
 */
export async function usesF16(device: DeviceKind): Promise<boolean> {
  if (device !== 'gpu' || process.env.WGNAS_F16 !== '1') return false;
  return (await probeAdapter())?.f16 === true;
}

/**
 * The software adapter (lavapipe, ...) that 'auto' passed over for the CPU backend, or null: where
 * the CPU backend cannot open, the WGSL kernels still run there (much slower). Probes once.
 */
export async function passedOverAdapter(): Promise<string | null> {
  return (await probe()).software;
}

export interface OpenBackendOptions {
  /** CPU backend threads (default: every core this process may use). */
  threads?: number;
}

/** Opens the backend `choice` resolves to; the backend owns its device (dispose() releases it). */
export async function openBackend(choice: DeviceChoice, opts: OpenBackendOptions = {}): Promise<Backend> {
  const kind = await resolveDevice(choice);
  if (kind === 'gpu') return webgpuBackend(await acquireGpu(), { ownsDevice: true });
  try {
    return cpuBackend(NativeDevice.create({ threads: opts.threads }), { ownsDevice: true });
  } catch (e) {
    const software = choice === 'auto' && e instanceof NativeUnavailableError ? await passedOverAdapter() : null;
    if (software) (e as Error).message += `\n${softwareFallback(software, "openBackend('gpu')")}`;
    throw e;
  }
}

/** The fix line a NativeUnavailableError gets under 'auto' where a software adapter is there; `how`: the call or flag that picks it. */
export function softwareFallback(adapter: string, how: string): string {
  return `  - Or run the WGSL kernels on the software GPU adapter (${adapter}) instead, much slower: ${how}`;
}

/** One line for logs: which backend, on what. */
export function describeBackend(b: Backend): string {
  return b.device === 'gpu' ? `GPU ${b.deviceName}${b.isSoftware ? ' (software adapter)' : ''}` : b.deviceName;
}
