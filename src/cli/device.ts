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
import { bnRecord } from '../kernels/batchnorm.js';
import { NativeUnavailableError } from '../native/binding.js';
import { BN_ENV, BN_PLAN_ENV, type BnSetting, bnSetting } from '../util/ab-env.js';
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
 * The batch norm a run on `device` computes with, known before any work so that a resume can
 * compare it with the saved run's: on the GPU the statistics width (WGNAS_BN_WG, else 256 on
 * hardware, 64 on a software adapter: probes the adapter) and the plan (WGNAS_BN_PLAN; at width 64
 * all plans give the same bits and read as 'auto'), which set the sums' order and so the scores'
 * last bits. null on the CPU (its own batch norm) or without an adapter (the device fails to open).
 */
export async function batchNormOf(device: DeviceKind): Promise<BnSetting | null> {
  if (device !== 'gpu') return null;
  const adapter = await probeAdapter();
  return adapter ? bnRecord(adapter) : null;
}

export { type BnSetting, bnSetting };

/**
 * Result files from before the batch norm was recorded: their GPU rows were computed at width 64,
 * the only plan then (the GPUs' 256 came after the last hardware run that wrote any).
 */
export const BN_UNRECORDED: RunSettings = bnSetting({ wg: 64, plan: 'auto' });

/** The refusal's advice when such a file is resumed at another width. */
export function bnUnrecordedAdvice(path: string, flag: string): Record<string, string> {
  const advice = `${path} records no batch norm plan: written before it was recorded (read as WGNAS_BN_WG=64, as every GPU result then: resume with WGNAS_BN_WG=64) or by a --redis queue, whose workers chose their own (resume with --redis); or write another ${flag}`;
  return { [BN_ENV]: advice, [BN_PLAN_ENV]: advice };
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
