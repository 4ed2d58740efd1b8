/**
 * Resuming a GPU run's record of its kernels (ab-env.ts bnSetting) where the saved one lacks keys:
 * a result file or checkpoint written before a key was recorded. A missing key reads as the value
 * every run then had where that is known (the batch norm's width 64 and plan, the default
 * convolution core: as result files always read them), as the adapter kind where the record or the
 * provenance proves it, and otherwise as NOT_RECORDED, which no run equals: such a resume is
 * refused in one line with what to do. Result files and checkpoints read alike.
 */
import {
  ADAPTER_KEY,
  BN_ENV,
  BN_PLAN_ENV,
  bnSetting,
  CONV_CORE_ENV,
  KERNEL_KEYS,
  TILES_KEY,
  WORKERS_OWN_KERNELS,
} from './ab-env.js';
import { type RunSettings, showSetting } from './run-settings.js';

/** The names software rasterizers report (lavapipe/llvmpipe, SwiftShader): src/gpu/adapter.ts isSoftwareAdapter reads them too. */
export const SOFTWARE_ADAPTER_NAME = /llvmpipe|lavapipe|swiftshader/i;

/** What a missing key that cannot be told reads as: a resume with any value is refused (with its advice). */
export const NOT_RECORDED = 'not recorded';

/**
 * The device names a recorded provenance gives (src/cli/provenance.ts: `deviceName`, its own and
 * that of each run it continued); none where it has none (written before, or by a queue).
 */
export function provenanceDevices(prov: unknown): string[] {
  const names: string[] = [];
  const add = (p: unknown) => {
    const name = (p as { deviceName?: unknown } | null)?.deviceName;
    if (typeof name === 'string' && name) names.push(name);
  };
  if (typeof prov !== 'object' || prov === null) return names;
  add(prov);
  const earlier = (prov as { earlier?: unknown }).earlier;
  if (Array.isArray(earlier)) earlier.forEach(add);
  return names;
}

/**
 * The adapter kind of a record that does not say it: hardware where it records a convolution core
 * (recorded on hardware adapters only), software where every run its provenance names ran on a
 * software rasterizer; else not known.
 */
function adapterOf(saved: Readonly<Record<string, unknown>>, devices: readonly string[]): string {
  const core = saved[CONV_CORE_ENV];
  if (core === 'program' || core === 'legacy') return 'hardware';
  if (devices.length > 0 && devices.every((d) => SOFTWARE_ADAPTER_NAME.test(d))) return 'software';
  return NOT_RECORDED;
}

/**
 * What the kernel keys a record lacks read as. `queued`: this run is a --redis one (its workers'
 * own kernels; a queue's record from before read as the same). Otherwise: the batch norm at width
 * 64 and plan 'auto' (every GPU result before the width was recorded: the GPUs' 256 came after
 * the last hardware run that wrote any) with the default core, the adapter kind where it is proven
 * (adapterOf), and the tuned tiles as not known (the autotune cache of then cannot be told).
 */
export function kernelsUnrecorded(
  saved: Readonly<Record<string, unknown>>,
  queued: boolean,
  devices: readonly string[],
): RunSettings {
  if (queued) return bnSetting(WORKERS_OWN_KERNELS);
  return {
    [ADAPTER_KEY]: adapterOf(saved, devices),
    [BN_ENV]: 64,
    [BN_PLAN_ENV]: 'auto',
    [CONV_CORE_ENV]: 'program',
    [TILES_KEY]: NOT_RECORDED,
  };
}

const QUEUE_HINT = ', or by a --redis queue: resume with --redis';

/**
 * The advice of a refusal where a missing key's reading differs from this run's (the message
 * names the file before it). `restart`: what to do instead (e.g. '--force starts over, or write
 * another --out'); `queueable`: the command has a --redis queue, whose records from before hold none.
 */
export function kernelsUnrecordedAdvice(restart: string, queueable: boolean): Record<string, string> {
  const q = queueable ? QUEUE_HINT : '';
  const bn = `no batch norm plan recorded (written before it was${q}): read as ${BN_ENV}=64, as every GPU run then (resume with ${BN_ENV}=64); ${restart}`;
  return {
    [ADAPTER_KEY]: `no GPU adapter recorded (written before it was${q}), and neither a convolution core (hardware) nor its provenance (a software adapter's name) tells which; ${restart}`,
    [BN_ENV]: bn,
    [BN_PLAN_ENV]: bn,
    [CONV_CORE_ENV]: `no convolution core recorded (written before it was${q}): read as ${CONV_CORE_ENV}=program, the default (resume without ${CONV_CORE_ENV}); ${restart}`,
    [TILES_KEY]: `no GPU tiles recorded (written before they were${q}): the autotune cache's of then cannot be told; ${restart}`,
  };
}

/** A kernel key's value as the condition a run meets ('with WGNAS_BN_WG=64', 'with a hardware adapter'). */
function condition(key: string, value: unknown): string {
  if (key === ADAPTER_KEY) return `with a ${showSetting(value)} adapter`;
  if (key === TILES_KEY) return `with the tiles ${showSetting(value)}`;
  return `with ${key}=${showSetting(value)}`;
}

/**
 * The refusal's advice for a kernel key whose two values are known (undefined for other keys, and
 * for a reading of NOT_RECORDED, whose advice is kernelsUnrecordedAdvice's): a queue's record met
 * by a local run or the other way round (the workers choose their own kernels, so the results
 * would mix two), another adapter kind, other tuned tiles.
 */
export function kernelsAdvice(restart: string): (key: string, was: unknown, now: unknown) => string | undefined {
  return (key, was, now) => {
    if (!KERNEL_KEYS.includes(key) || was === NOT_RECORDED) return undefined;
    if (was === WORKERS_OWN_KERNELS)
      return `computed by a --redis queue, whose workers chose their own: resume with --redis; ${restart}`;
    if (now === WORKERS_OWN_KERNELS)
      return `computed on one machine ${condition(key, was)}, and a queue's workers choose their own: resume without --redis; ${restart}`;
    if (key === ADAPTER_KEY)
      return `computed on a ${showSetting(was)} adapter, whose kernels differ from a ${showSetting(now)} one's: resume on a ${showSetting(was)} adapter; ${restart}`;
    if (key === TILES_KEY)
      return `computed with the tiles the autotune cache (wgnas bench --autotune) gave then: resume where it gives them; ${restart}`;
    return undefined;
  };
}

/**
 * A checkpoint's saved settings with its missing kernel keys read (kernelsUnrecorded) and the
 * advice of a refusal, for checkRunSettings: `devices` its provenance's (provenanceDevices).
 * Nothing changes off the GPU: `now` holds no kernel key there.
 */
export function kernelsResume(
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  o: { devices: readonly string[]; restart: string; queueable: boolean },
): { saved: Record<string, unknown>; adviceFor: (key: string, was: unknown, now: unknown) => string | undefined } {
  const read = kernelsUnrecorded(saved, now[BN_ENV] === WORKERS_OWN_KERNELS, o.devices);
  const missing = kernelsUnrecordedAdvice(o.restart, o.queueable);
  const known = kernelsAdvice(o.restart);
  return {
    saved: { ...read, ...saved },
    adviceFor: (key, was, v) => known(key, was, v) ?? (key in saved ? undefined : missing[key]),
  };
}
