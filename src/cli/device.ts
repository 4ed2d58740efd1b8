/**
 * `--device` and `--cpu-threads` for the commands that compute: resolving the choice (before the
 * work, so a resume can compare it with what the saved run recorded) and opening the backend.
 */
import {
  type Backend,
  type DeviceChoice,
  type DeviceKind,
  describeBackend,
  gpuOf,
  openBackend,
  passedOverAdapter,
  resolveDevice,
  softwareFallback,
  usesF16,
  F16_KEY,
} from '../backend/index.js';
import { probeAdapter } from '../gpu/index.js';
import { kernelsRecord } from '../kernels/record.js';
import { NativeUnavailableError } from '../native/binding.js';
import { type BnSetting, bnSetting, type GpuKernels, WORKERS_OWN_KERNELS } from '../util/ab-env.js';
import { kernelsAdvice, kernelsUnrecorded, kernelsUnrecordedAdvice, provenanceDevices } from '../util/kernels-record.js';
import type { RunSettings } from '../util/run-settings.js';
import { defaultCpuThreads } from './resume-settings.js';
import type { Io } from './run.js';

export interface DeviceValues {
  device: DeviceChoice;
  'cpu-threads'?: number;
}

/**
 * Whether the run computes with f16 operands, known before any work: on this machine, WGNAS_F16=1
 * on a GPU that offers shader-f16 (usesF16; else the warning of openDevice and f32); for a queue's
 * workers (`queued`), WGNAS_F16=1 here on a GPU queue, which each worker must match (it refuses the
 * job otherwise). Scores and trajectories differ between the two, so a resume compares it.
 */
export async function precisionOf(device: DeviceKind, queued = false): Promise<boolean> {
  if (queued) return device === 'gpu' && process.env.WGNAS_F16 === '1';
  return usesF16(device);
}

/** What a result file or checkpoint records of the precision (1: f16 operands); unrecorded: 0. */
export const f16Setting = (f16: boolean): Record<string, number> => ({ [F16_KEY]: f16 ? 1 : 0 });

/**
 * The GPU kernels a run on `device` computes with where they set the sums' order, known before any
 * work so that a resume can compare them with the saved run's: the adapter (probed: software, or
 * a hardware adapter's identity), the batch norm's statistics width (WGNAS_BN_WG, else 256 on
 * hardware, 64 on a software adapter) and plan (WGNAS_BN_PLAN; at width 64 all plans give the same
 * bits and read as 'auto'), and on hardware the convolution core (WGNAS_CONV_CORE) and the tuned
 * tiles (kernels/record.ts kernelsRecord), which set the scores' last bits: the Gpu the command
 * opens next computes with the tiles read here, whatever the autotune cache holds by then. A
 * --redis run (`queued`) on the GPU: each worker's own. null on the CPU (its own kernels) or
 * without an adapter (the device fails to open).
 */
export async function gpuKernelsOf(device: DeviceKind, queued = false): Promise<GpuKernels> {
  if (device !== 'gpu') return null;
  if (queued) return WORKERS_OWN_KERNELS;
  const adapter = await probeAdapter();
  return adapter ? kernelsRecord(adapter.kernels) : null;
}

export { type BnSetting, bnSetting, type GpuKernels };

/**
 * What a row stream (score --out, search --evaluated) records of the GPU's kernels, in RowStream's
 * terms: the settings, what a file from before some of them reads as (util/kernels-record.ts:
 * proven by its record or its provenance's device, else refused), and the refusals' advice.
 */
export function kernelsStreamRecord(
  bn: GpuKernels,
  flag: string,
  /** The command has a --redis queue (score, an NB201 search), whose files from before hold no kernels. */
  queueable: boolean,
): {
  settings: RunSettings;
  unrecordedOf: (recorded: Readonly<Record<string, unknown>>, provenance: unknown) => RunSettings;
  unrecordedAdvice: Record<string, string>;
  settingAdvice: (key: string, was: unknown, now: unknown) => string | undefined;
} {
  const restart = `--force starts over, or write another ${flag}`;
  return {
    settings: bnSetting(bn),
    unrecordedOf: (recorded, provenance) =>
      kernelsUnrecorded(recorded, bn === WORKERS_OWN_KERNELS, provenanceDevices(provenance)),
    unrecordedAdvice: kernelsUnrecordedAdvice(restart, queueable),
    // A queue's file resumed here, or the other way round; another adapter kind or tiles.
    settingAdvice: kernelsAdvice(restart),
  };
}

/** The device the command will run on ('auto' probes the adapter; opens nothing). */
export function deviceOf(v: DeviceValues): Promise<DeviceKind> {
  return resolveDevice(v.device);
}

/**
 * Opens the backend for `device`; the caller disposes it. `io`: where the --cpu-threads warning and
 * that of a WGNAS_F16=1 the GPU cannot follow go (once each).
 */
export async function openDevice(device: DeviceKind, v: DeviceValues, io?: Io): Promise<Backend> {
  if (io && device === 'cpu') warnCpuThreads(v['cpu-threads'], io);
  try {
    const b = await openBackend(device, { threads: v['cpu-threads'] });
    const f16 = gpuOf(b)?.adapter.f16Ignored;
    if (io && f16) warnOnce(io, 'WGNAS_F16', `warning: ${f16}\n`);
    return b;
  } catch (e) {
    // --device auto chose the CPU: where a software adapter was passed over, it is the other way.
    const software = v.device === 'auto' && e instanceof NativeUnavailableError ? await passedOverAdapter() : null;
    if (software) (e as Error).message += `\n${softwareFallback(software, '--device gpu')}`;
    throw e;
  }
}

/** The flags each output was already warned of: a worker opens a backend per slot, the warning is said once. */
const warned = new WeakMap<Io, Set<string>>();

/**
 * More threads than cores is accepted (oversubscription can be deliberate: a comparison, a machine
 * shared on purpose), but said: the threads then share the cores and a run is slower than with fewer.
 */
export function warnCpuThreads(threads: number | undefined, io: Io): void {
  warnThreads('cpu-threads', threads, io);
}

/** warnCpuThreads for any threads flag (bench's --native-threads of the oneDNN / XNNPACK baselines). */
export function warnThreads(flag: string, threads: number | undefined, io: Io): void {
  const cores = defaultCpuThreads();
  if (threads === undefined || threads <= cores) return;
  warnOnce(
    io,
    flag,
    `warning: --${flag} ${threads} is more than the ${cores} cores this process may use: the threads share them\n`,
  );
}

/** `line` on io's stderr unless `key`'s warning was already said there. */
function warnOnce(io: Io, key: string, line: string): void {
  const said = warned.get(io) ?? new Set<string>();
  if (said.has(key)) return;
  said.add(key);
  warned.set(io, said);
  io.err(line);
}

/** What result files record about the device: results may differ between devices (within tolerance). */
export function deviceRecord(b: Backend): { device: DeviceKind; deviceName: string } {
  return { device: b.device, deviceName: b.deviceName };
}

/**
 * The device as a training command's opening and closing lines say it (train, proxyless,
 * evolve-space, search --train-steps): on the CPU with the thread count as the flag that repeats
 * it, since a trajectory (the weights, the architecture found) depends on the count: oneDNN splits
 * its reductions by thread, and a training run grows the rounding apart step by step.
 */
export function trainingDevice(b: Backend): string {
  if (b.device !== 'cpu') return describeBackend(b);
  return `${describeBackend(b)}, as --cpu-threads ${b.threads} (another thread count trains another trajectory)`;
}

export { describeBackend };
