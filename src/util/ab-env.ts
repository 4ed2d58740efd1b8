/**
 * The A/B switches read from the environment (WGNAS_CONV_CORE, WGNAS_BN_WG, WGNAS_BN_PLAN): parsed here, without
 * the GPU modules, so that the CLI refuses a bad value in one line before any work (the kernels
 * read them only when their first dispatch is recorded).
 */
import { UserFacingError } from './errors.js';

export type ConvCore = 'program' | 'legacy';
export const CONV_CORE_ENV = 'WGNAS_CONV_CORE';

/** WGNAS_CONV_CORE's value as a core (unset or empty: 'program'); anything else is refused. */
export function parseConvCore(v: string | undefined): ConvCore {
  if (v === undefined || v === '' || v === 'program') return 'program';
  if (v === 'legacy') return v;
  throw new UserFacingError(`WGNAS_CONV_CORE must be 'program' or 'legacy', got '${v.slice(0, 40)}'`);
}

export const BN_WORKGROUP_SIZES = [64, 128, 256] as const;
export type BnWg = (typeof BN_WORKGROUP_SIZES)[number];
export const BN_ENV = 'WGNAS_BN_WG';

/** WGNAS_BN_WG's value (unset or empty: null, the adapter's default); anything else is refused in one line. */
export function parseBnWorkgroup(v: string | undefined): BnWg | null {
  if (v === undefined || v === '') return null;
  const w = BN_WORKGROUP_SIZES.find((x) => String(x) === v.trim());
  if (w === undefined) throw new UserFacingError(`${BN_ENV} must be 64, 128 or 256, got '${v.slice(0, 40)}'`);
  return w;
}

/**
 * How training-mode batch norm is dispatched (src/kernels/batchnorm.ts bnPlanFor): 'auto' (the
 * default), 'single' (one kernel per channel wherever a channel has at most 16384 elements: the
 * plan before the split was chosen by shape), 'split' (always statistics chunks then the per-plane
 * pass, as many chunks as fill a big GPU). At width 64 every plan gives the same bits.
 */
export const BN_PLANS = ['auto', 'single', 'split'] as const;
export type BnPlanName = (typeof BN_PLANS)[number];
export const BN_PLAN_ENV = 'WGNAS_BN_PLAN';

/** WGNAS_BN_PLAN's value (unset or empty: null, 'auto'); anything else is refused in one line. */
export function parseBnPlan(v: string | undefined): BnPlanName | null {
  if (v === undefined || v === '') return null;
  const p = BN_PLANS.find((x) => x === v.trim());
  if (p === undefined) throw new UserFacingError(`${BN_PLAN_ENV} must be 'auto', 'single' or 'split', got '${v.slice(0, 40)}'`);
  return p;
}

/** Whether a GPU run's adapter is a hardware one or a software rasterizer (src/gpu/adapter.ts isSoftwareAdapter). */
export type AdapterKind = 'hardware' | 'software';
/**
 * The record's key of the adapter: 'software', or a hardware adapter's identity as the autotune
 * cache keys it ('hardware: vendor | architecture | device | description', the driver's version
 * in the description where Dawn reports it: src/kernels/matmul-tiles.ts adapterKeyOf). A software
 * adapter runs other kernels than any hardware one (the broadcast GEMMs, conv2d_depthwise.wgsl, no
 * split-K in the matmul, batch norm width 64), so a resume on the other kind is refused even where
 * the variables below are forced to agree; and another GPU or driver may round the same kernels
 * otherwise (FMA fusion, transcendentals' precision), so a hardware resume must be on the same
 * one. Software adapters record the kind only, so that a lavapipe run resumes on another
 * machine's lavapipe (the bit tests pin lavapipe's results wherever CI runs them). A record of
 * 'hardware' alone (written before the identity was) names no GPU: a hardware resume of it is
 * refused.
 */
export const ADAPTER_KEY = 'GPU adapter';
/**
 * The record's key of a hardware adapter's tuned tiles (src/kernels/matmul-tiles.ts tilesRecord):
 * the autotune cache's tile for the adapter sets where split-K cuts a product's k and how many
 * pieces it sums, so another one gives other last bits, on the same adapter too (a cache tuned
 * again between two runs).
 */
export const TILES_KEY = 'GPU tiles';

/**
 * What a GPU run's kernels compute with where that sets the sums' order (src/cli/device.ts
 * gpuKernelsOf): the adapter kind (and a hardware one's identity), the batch norm's statistics
 * width and dispatch plan, and on a hardware adapter the convolution core (WGNAS_CONV_CORE: the
 * tiled GEMMs and the depthwise weight gradient sum in another order per core) and the tuned
 * tiles. A software adapter runs the broadcast GEMMs and conv2d_depthwise.wgsl whatever the core,
 * and no split-K: `core` and `tiles` absent. `adapter` absent: not known (tests of the batch norm
 * alone); `identity` absent on hardware: recorded as 'hardware' alone (as records from before it).
 */
export interface BnSetting {
  adapter?: AdapterKind;
  /** A hardware adapter's identity (matmul-tiles.ts adapterKeyOf). */
  identity?: string;
  wg: BnWg;
  plan: BnPlanName;
  core?: ConvCore;
  tiles?: string;
}

/** The ADAPTER_KEY value of an adapter: 'software', 'hardware: IDENTITY', or 'hardware' without one. */
export function adapterValue(kind: AdapterKind, identity?: string): string {
  return kind === 'hardware' && identity ? `hardware: ${identity}` : kind;
}

/** The kind of an ADAPTER_KEY value (adapterValue's), or null for another (not recorded, a queue's). */
export function adapterKindOf(value: unknown): AdapterKind | null {
  if (value === 'software') return 'software';
  return value === 'hardware' || (typeof value === 'string' && value.startsWith('hardware: ')) ? 'hardware' : null;
}

/**
 * What a --redis run on the GPU records of these: each worker computes with its own adapter's and
 * environment's (as WORKERS_OWN_THREADS for the CPU's threads), so a local resume of its file, or a
 * queued resume of a local one, is refused naming the variable.
 */
export const WORKERS_OWN_KERNELS = "each worker's own";
export type GpuKernels = BnSetting | typeof WORKERS_OWN_KERNELS | null;

/** The keys a GPU run records of its kernels (bnSetting's), the adapter first: it explains the others' differences. */
export const KERNEL_KEYS: readonly string[] = [ADAPTER_KEY, BN_ENV, BN_PLAN_ENV, CONV_CORE_ENV, TILES_KEY];

/**
 * What a result file or checkpoint records of the GPU kernels (nothing off the GPU: null), keyed
 * by the variables that set them; a resume with another is refused naming the variable.
 */
export function bnSetting(bn: GpuKernels | undefined): Record<string, number | string> {
  if (bn === WORKERS_OWN_KERNELS) return Object.fromEntries(KERNEL_KEYS.map((k) => [k, WORKERS_OWN_KERNELS]));
  if (!bn) return {};
  return {
    ...(bn.adapter ? { [ADAPTER_KEY]: adapterValue(bn.adapter, bn.identity) } : {}),
    [BN_ENV]: bn.wg,
    [BN_PLAN_ENV]: bn.plan,
    ...(bn.core ? { [CONV_CORE_ENV]: bn.core } : {}),
    ...(bn.tiles ? { [TILES_KEY]: bn.tiles } : {}),
  };
}

/** Refuses a bad A/B switch in the environment (one line), before a command does any work. */
export function checkAbEnvironment(env: Readonly<Record<string, string | undefined>> = process.env): void {
  parseConvCore(env[CONV_CORE_ENV]);
  parseBnWorkgroup(env[BN_ENV]);
  parseBnPlan(env[BN_PLAN_ENV]);
}
