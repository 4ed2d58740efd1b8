/**
 * The matmul's tile (BM, BN, BK, TM, TN; src/kernels/matmul-program.ts): what fits a
 * device, the tile tuned for this adapter, and the tile one product runs with. The tuning loop
 * lives in src/bench/autotune.ts and writes the cache through recordMatmulTuning(); kernels only
 * read it (tunedMatmulTile), once per Gpu: the reading a record of the run took before the Gpu
 * opened (tilesRecord) where there is one, so that what a run records is what it computes with.
 * Cache: autotune.json in the user cache folder (userCacheDir: $WGNAS_CACHE_DIR, $XDG_CACHE_HOME/wgnas or
 * ~/.cache/wgnas), keyed by adapter.
 */
import { join } from 'node:path';
import type { Gpu } from '../gpu/gpu.js';
import type { KernelAdapter } from '../gpu/adapter.js';
import { userCacheDir } from '../util/cache-dir.js';
import { readJsonCache, writeJsonCache } from '../util/json-cache.js';
import { GEMM_TILE_DEFAULTS, type GemmTile, gemmTileMisfit, gemmTileName, gemmTileStorageBytes } from './gemm-tile.js';
import { type MatmulTile, matmulVariantSuffix } from './matmul-program.js';

export type { MatmulTile };

/** The default tile: a 64 x 64 block, 16 x 16 threads of 4 x 4 outputs, k-tiles of 16. */
export const DEFAULT_MATMUL_TILE: MatmulTile = { ...GEMM_TILE_DEFAULTS };
/** Untuned hardware adapters: 128 x 128 blocks of 16 x 16 threads with 8 x 8 outputs each. */
export const LARGE_MATMUL_TILE: MatmulTile = { BM: 128, BN: 128, BK: 8, TM: 8, TN: 8 };
/**
 * Untuned software adapters (lavapipe): 64 x 64 blocks of 8 x 8 threads with 8 x 8 outputs each.
 * Fewer, fatter invocations suit a CPU (about 2x the 4 x 4 tile there), and 64 x 64 blocks waste
 * nothing on the 64 x 64 Gram matrices of the proxies.
 */
export const SOFTWARE_MATMUL_TILE: MatmulTile = { BM: 64, BN: 64, BK: 16, TM: 8, TN: 8 };
/** Smaller blocks for products too small to fill a GPU with large ones (tried in this order). */
export const SMALL_MATMUL_TILES: readonly MatmulTile[] = [
  { BM: 64, BN: 64, BK: 16, TM: 4, TN: 4 },
  { BM: 64, BN: 64, BK: 8, TM: 4, TN: 4 },
  { BM: 32, BN: 32, BK: 16, TM: 4, TN: 4 },
];
/** On hardware, shrink the block until a product has at least this many workgroups (when one does). */
export const MIN_MATMUL_WORKGROUPS = 256;

/** BMxBNxBK/TMxTN, then the program options: +db (double-buffered), +u (k loop written out). */
export function tileName(t: MatmulTile): string {
  return gemmTileName(t) + matmulVariantSuffix(t);
}

/**
 * Workgroup memory of a tile (double-buffered A and B tiles, each row padded by a vec4); elemBytes 2
 * for the f16 kernel. An upper bound of what every program of the tile declares: a db program
 * declares at most this, the others half.
 */
export function matmulTileStorageBytes(t: MatmulTile, elemBytes = 4): number {
  return gemmTileStorageBytes(t, elemBytes);
}

/** Why a tile cannot run on a device with these limits, or null when it fits. */
export function matmulTileMisfit(t: MatmulTile, limits: Record<string, number>, elemBytes = 4): string | null {
  return gemmTileMisfit(t, limits, 'matmul', elemBytes);
}

/** Workgroups a product of batch x M x N runs on with tile t. */
export function matmulWorkgroups(t: MatmulTile, M: number, N: number, batch: number): number {
  return Math.ceil(M / t.BM) * Math.ceil(N / t.BN) * batch;
}

/** Share of a tile grid's outputs that are real (not padding past M or N). */
function tileEfficiency(t: MatmulTile, M: number, N: number): number {
  return (M * N) / (Math.ceil(M / t.BM) * t.BM * Math.ceil(N / t.BN) * t.BN);
}

/**
 * The tile for one product: the adapter's tuned tile, except that on hardware adapters a product
 * that would run on fewer than MIN_MATMUL_WORKGROUPS workgroups, or waste over half its block on
 * padding, takes the first smaller tile that does neither (or the smallest), so small and skinny
 * products still spread over the GPU. Software adapters keep one tile (one pipeline) for every shape.
 */
export function matmulTileFor(gpu: Gpu, M: number, N: number, batch: number, elemBytes = 4): MatmulTile {
  const tuned = tunedMatmulTile(gpu);
  const fits = (t: MatmulTile) => matmulTileMisfit(t, gpu.adapter.limits, elemBytes) === null;
  const first = fits(tuned) ? tuned : DEFAULT_MATMUL_TILE;
  if (gpu.adapter.isSoftware) return first;
  const good = (t: MatmulTile) => matmulWorkgroups(t, M, N, batch) >= MIN_MATMUL_WORKGROUPS && tileEfficiency(t, M, N) >= 0.5;
  if (good(first)) return first;
  const area = first.BM * first.BN;
  const smaller = SMALL_MATMUL_TILES.filter((t) => t.BM * t.BN < area && fits(t));
  return smaller.find(good) ?? smaller.at(-1) ?? first;
}

// ---- cache --------------------------------------------------------------------------------------

export interface MatmulTuning {
  tile: MatmulTile;
  /**
   * The fastest tile without program options (db, unroll), where the winner has some: the
   * convolution programs have no such options, so they take this register tile (tunedConvTile).
   */
  plainTile?: GemmTile;
  tunedAt: string;
  /** Geometric mean over the tuning shapes. */
  ms: number;
  gflops: number;
  shapes: string[];
}

export interface AutotuneCacheFile {
  version: 1;
  adapters: Record<string, { matmul?: MatmulTuning }>;
}

export function autotuneCachePath(): string {
  return join(userCacheDir(), 'autotune.json');
}

/** Cache key: the adapter's identity as Dawn describes it (driver version included when reported). */
export function adapterKey(gpu: Pick<Gpu, 'adapter'>): string {
  return adapterKeyOf(gpu.adapter);
}

/** adapterKey of an adapter report (a probe's: src/gpu/adapter.ts AdapterProbe.kernels). */
export function adapterKeyOf(a: KernelAdapter): string {
  return [a.vendor, a.architecture, a.device, a.description].map((s) => s || '?').join(' | ');
}

export function readAutotuneCache(path = autotuneCachePath()): AutotuneCacheFile {
  return readJsonCache(path, 'adapters', 'autotune cache', "run 'wgnas bench --autotune' to rebuild it");
}

interface TunedTiles {
  matmul: MatmulTile;
  conv: GemmTile;
}

/** Each Gpu's tiles, read once: a cache tuned meanwhile (wgnas bench --autotune) does not move them. */
const tunedTiles = new WeakMap<Gpu, TunedTiles>();

/**
 * The autotune cache's entry for an adapter (null: none) as a record of a run read it before its
 * Gpu opened (tilesRecord; src/cli/device.ts records the kernels at the adapter's probe), by cache
 * path and adapter key. A Gpu opened on that adapter takes it (tunedTilesOf) instead of reading the
 * file again, so the run computes with what it recorded, whatever the cache holds by then.
 */
const recordedTunings = new Map<string, MatmulTuning | null>();
const recordedKey = (adapter: KernelAdapter, path = autotuneCachePath()) => `${path}\n${adapterKeyOf(adapter)}`;

/**
 * The untuned tile: LARGE_MATMUL_TILE on hardware adapters, SOFTWARE_MATMUL_TILE on software
 * ones, where it fits, else the first of DEFAULT_MATMUL_TILE and the small tiles that does.
 */
export function untunedMatmulTile(gpu: { adapter: Pick<KernelAdapter, 'isSoftware' | 'limits'> }): MatmulTile {
  const prefer = gpu.adapter.isSoftware ? SOFTWARE_MATMUL_TILE : LARGE_MATMUL_TILE;
  const t = [prefer, DEFAULT_MATMUL_TILE, ...SMALL_MATMUL_TILES].find((c) => matmulTileMisfit(c, gpu.adapter.limits) === null);
  return { ...(t ?? SMALL_MATMUL_TILES.at(-1)!) };
}

/**
 * The matmul tile tuned for this adapter (read once per Gpu from the cache), or the untuned one
 * when the adapter was never tuned or the cached tile does not fit this device's limits (a cache
 * written before the tile had five fields reads as untuned).
 */
export function tunedMatmulTile(gpu: Gpu): MatmulTile {
  return tunedTilesOf(gpu).matmul;
}

/**
 * The register tile the convolution cores take for large products on hardware (conv2d-gemm.ts):
 * the tuning's fastest tile without matmul program options (which the conv programs lack), else
 * the tuned tile's own register tile.
 */
export function tunedConvTile(gpu: Gpu): GemmTile {
  return tunedTilesOf(gpu).conv;
}

function tunedTilesOf(gpu: Gpu): TunedTiles {
  const hit = tunedTiles.get(gpu);
  if (hit) return hit;
  const key = recordedKey(gpu.adapter);
  const tiles = tilesOf(gpu.adapter, recordedTunings.has(key) ? recordedTunings.get(key)! : cachedTuning(gpu.adapter));
  tunedTiles.set(gpu, tiles);
  return tiles;
}

/** The autotune cache's entry for an adapter as the file holds it now (null: none). */
function cachedTuning(adapter: KernelAdapter): MatmulTuning | null {
  return readAutotuneCache().adapters[adapterKeyOf(adapter)]?.matmul ?? null;
}

/** The tiles a tuning gives an adapter (untuned where there is none, or it does not fit the limits). */
function tilesOf(adapter: KernelAdapter, tuning: MatmulTuning | null): TunedTiles {
  const fit = <T extends GemmTile>(t: T | undefined): T | null => (t && matmulTileMisfit(t, adapter.limits) === null ? t : null);
  const tuned = fit(tuning?.tile);
  const matmul = tuned ? pickTile(tuned) : untunedMatmulTile({ adapter });
  return { matmul, conv: plainTile(fit(tuning?.plainTile) ?? matmul) };
}

/**
 * What of the tuned tiles sets a hardware adapter's sums' order, as results record it
 * (src/util/ab-env.ts TILES_KEY): each thread sums its outputs along k in order whatever the tile,
 * but on hardware split-K cuts k by the tile (matmul.ts autoSplits and splitKChunks: by the
 * workgroups of BM x BN, in chunks of whole BK; matmulTileFor's smaller tiles by the tuned one's
 * area), and the convolutions split by the tile grid (conv2d-gemm.ts planGemm), taking the tuned
 * tile for large products where it fits the convolution core, else one by shape. So the matmul's
 * BM x BN x BK and the convolutions' (or 'by shape') are recorded; TM x TN and the programs'
 * options are not. Software adapters split no matmul and take no tuned convolution tile: none
 * recorded there (kernels/record.ts).
 *
 * Before the run's Gpu opens (the record of a command, taken at the adapter's probe): reads the
 * cache now, and the Gpu opened on this adapter afterwards computes with this reading
 * (recordedTunings). A running Gpu's record: tilesRecordOf.
 */
export function tilesRecord(adapter: KernelAdapter): string {
  const tuning = cachedTuning(adapter);
  recordedTunings.set(recordedKey(adapter), tuning);
  return tilesText(adapter, tilesOf(adapter, tuning));
}

/**
 * The readings records took in this process (tilesRecord), for the processes that compute what
 * this one recorded (score --procs's children: adoptTileReadings), as the structured clone sends them.
 */
export function recordedTileReadings(): Array<[string, MatmulTuning | null]> {
  return [...recordedTunings];
}

/** Takes a parent's readings (recordedTileReadings): the Gpus opened here compute with the tiles it recorded. */
export function adoptTileReadings(readings: ReadonlyArray<readonly [string, MatmulTuning | null]>): void {
  for (const [key, tuning] of readings) recordedTunings.set(key, tuning);
}

/** The record of the tiles `gpu` computes with (tilesRecord's terms): a running search's checkpoints. */
export function tilesRecordOf(gpu: Gpu): string {
  return tilesText(gpu.adapter, tunedTilesOf(gpu));
}

function tilesText(adapter: KernelAdapter, t: TunedTiles): string {
  const bmk = (x: GemmTile) => `${x.BM}x${x.BN}x${x.BK}`;
  const conv = gemmTileMisfit(t.conv, adapter.limits, 'conv') === null ? bmk(t.conv) : 'by shape';
  return `matmul ${bmk(t.matmul)}, conv ${conv}`;
}

function plainTile(t: GemmTile): GemmTile {
  return { BM: t.BM, BN: t.BN, BK: t.BK, TM: t.TM, TN: t.TN };
}

function pickTile(t: MatmulTile): MatmulTile {
  return { ...plainTile(t), ...(t.db === true ? { db: true } : {}), ...(t.unroll === true ? { unroll: true } : {}) };
}

/**
 * Stores a tuning result for this adapter (atomically) and makes it this Gpu's tile from now on;
 * Gpus opened later on the adapter read the cache (a reading a record took before is dropped).
 */
export function recordMatmulTuning(gpu: Gpu, tuning: MatmulTuning, path = autotuneCachePath()): void {
  const cache = readAutotuneCache(path);
  const key = adapterKey(gpu);
  cache.adapters[key] = { ...cache.adapters[key], matmul: tuning };
  writeJsonCache(path, cache);
  tunedTiles.set(gpu, { matmul: pickTile(tuning.tile), conv: plainTile(tuning.plainTile ?? tuning.tile) });
  recordedTunings.delete(recordedKey(gpu.adapter, path));
}
