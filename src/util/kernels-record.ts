/**
 * Resuming a GPU run's record of its kernels (ab-env.ts bnSetting) where the saved one lacks keys:
 * a result file or checkpoint written before a key was recorded. A missing key reads as the value
 * every run then had where that is known (a result file's batch norm width 64 and plan, the
 * default convolution core; a checkpoint's batch norm only where its adapter was a software one),
 * as the adapter kind where the record or the provenance proves it, and otherwise as NOT_RECORDED,
 * which no run equals: such a resume is refused in one line with what to do.
 */
import {
  ADAPTER_KEY,
  adapterKindOf,
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
 * own kernels; a queue's record from before read as the same). Otherwise: the adapter kind where
 * it is proven (adapterOf; a hardware one's identity cannot be told: it is 'hardware' alone), the
 * default core, the tuned tiles as not known (the autotune cache of then cannot be told), and the
 * batch norm at width 64 and plan 'auto' in a result file (every GPU result before the width was
 * recorded: the GPUs' 256 came after the last hardware run that wrote any) or a software adapter's
 * checkpoint (its default width), not known in another checkpoint (`checkpoint`: hardware
 * training ran at 256 before train and --train-steps checkpoints recorded it).
 */
export function kernelsUnrecorded(
  saved: Readonly<Record<string, unknown>>,
  queued: boolean,
  devices: readonly string[],
  checkpoint = false,
): RunSettings {
  if (queued) return bnSetting(WORKERS_OWN_KERNELS);
  const adapter = adapterOf(saved, devices);
  const bnKnown = !checkpoint || adapter === 'software';
  return {
    [ADAPTER_KEY]: adapter,
    [BN_ENV]: bnKnown ? 64 : NOT_RECORDED,
    [BN_PLAN_ENV]: bnKnown ? 'auto' : NOT_RECORDED,
    [CONV_CORE_ENV]: 'program',
    [TILES_KEY]: NOT_RECORDED,
  };
}

const QUEUE_HINT = ', or by a --redis queue: resume with --redis';

/**
 * The advice of a refusal where a missing key's reading differs from this run's (the message
 * names the file before it). `restart`: what to do instead (e.g. '--force starts over, or write
 * another --out'); `queueable`: the command has a --redis queue, whose records from before hold
 * none; `checkpoint`: a checkpoint's record (kernelsUnrecorded).
 */
export function kernelsUnrecordedAdvice(restart: string, queueable: boolean, checkpoint = false): Record<string, string> {
  const q = queueable ? QUEUE_HINT : '';
  const bn = checkpoint
    ? `no batch norm width recorded (written before it was${q}): a software adapter's reads as ${BN_ENV}=64 (resume with it), another's cannot be told (hardware training ran at 64 or 256 by the wgnas version); ${restart}`
    : `no batch norm plan recorded (written before it was${q}): read as ${BN_ENV}=64, as every GPU run then (resume with ${BN_ENV}=64); ${restart}`;
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
  if (key === ADAPTER_KEY)
    return value === 'software' || value === 'hardware' ? `with a ${value} adapter` : `with ${showSetting(value)}`;
  if (key === TILES_KEY) return `with the tiles ${showSetting(value)}`;
  return `with ${key}=${showSetting(value)}`;
}

/**
 * Where a hardware adapter's record may differ from this run's: another kind, another GPU or
 * driver (whose rounding may differ: ab-env.ts ADAPTER_KEY), or a record that names none.
 */
function adapterAdvice(was: unknown, now: unknown, restart: string): string {
  const [a, b] = [adapterKindOf(was), adapterKindOf(now)];
  // The kind alone (software, or hardware written before its identity was): the former advice.
  if (a !== b && (was === 'software' || was === 'hardware'))
    return `computed on a ${was} adapter, whose kernels differ from a ${showSetting(b ?? now)} one's: resume on a ${was} adapter; ${restart}`;
  if (a !== b)
    return `computed on ${showSetting(was)}, whose kernels differ from a ${showSetting(b ?? now)} adapter's: resume on it; ${restart}`;
  if (was === 'hardware')
    return `recorded before the GPU's identity was, and another GPU or driver may round the same kernels otherwise: which one cannot be told; ${restart}`;
  return `another GPU or driver may round the same kernels otherwise (FMA fusion, transcendentals): resume on the one recorded; ${restart}`;
}

/**
 * The refusal's advice for a kernel key whose two values are known (undefined for other keys, and
 * for a reading of NOT_RECORDED, whose advice is kernelsUnrecordedAdvice's): a queue's record met
 * by a local run or the other way round (the workers choose their own kernels, so the results
 * would mix two), another adapter (adapterAdvice), other tuned tiles (the recorded ones are in
 * the message: where they are the untuned ones, a cache folder without autotune.json gives them).
 */
export function kernelsAdvice(restart: string): (key: string, was: unknown, now: unknown) => string | undefined {
  return (key, was, now) => {
    if (!KERNEL_KEYS.includes(key) || was === NOT_RECORDED) return undefined;
    if (was === WORKERS_OWN_KERNELS)
      return `computed by a --redis queue, whose workers chose their own: resume with --redis; ${restart}`;
    if (now === WORKERS_OWN_KERNELS)
      return `computed on one machine ${condition(key, was)}, and a queue's workers choose their own: resume without --redis; ${restart}`;
    if (key === ADAPTER_KEY) return adapterAdvice(was, now, restart);
    if (key === TILES_KEY)
      return `tiles of the autotune cache (wgnas bench --autotune) then: resume where it gives them (WGNAS_CACHE_DIR picks the cache, and data/; one without autotune.json gives the untuned); ${restart}`;
    return undefined;
  };
}

/**
 * A checkpoint's saved settings with its missing kernel keys read (kernelsUnrecorded, as a
 * checkpoint's) and the advice of a refusal, for checkRunSettings: `devices` its provenance's (provenanceDevices).
 * Nothing changes off the GPU: `now` holds no kernel key there.
 */
export function kernelsResume(
  saved: Readonly<Record<string, unknown>>,
  now: Readonly<Record<string, unknown>>,
  o: { devices: readonly string[]; restart: string; queueable: boolean },
): { saved: Record<string, unknown>; adviceFor: (key: string, was: unknown, now: unknown) => string | undefined } {
  const read = kernelsUnrecorded(saved, now[BN_ENV] === WORKERS_OWN_KERNELS, o.devices, true);
  const missing = kernelsUnrecordedAdvice(o.restart, o.queueable, true);
  const known = kernelsAdvice(o.restart);
  return {
    saved: { ...read, ...saved },
    adviceFor: (key, was, v) => known(key, was, v) ?? (key in saved ? undefined : missing[key]),
  };
}
