/**
 * matmul.wgsl's tile (override constants WG_X, WG_Y, TK): what fits a device, and the tile tuned
 * for this adapter. The tuning loop lives in src/bench/autotune.ts and writes the cache through
 * recordMatmulTuning(); kernels only read it (tunedMatmulTile), once per Gpu.
 * Cache: $WGNAS_CACHE_DIR/autotune.json (default ~/.cache/wgnas/autotune.json), keyed by adapter.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Gpu } from '../gpu/gpu.js';

export interface MatmulTile {
  WG_X: number;
  WG_Y: number;
  TK: number;
}

/** The defaults matmul.wgsl declares. */
export const DEFAULT_MATMUL_TILE: MatmulTile = { WG_X: 16, WG_Y: 16, TK: 16 };
/** Outputs per thread per axis (RM = RN in matmul.wgsl). */
export const MATMUL_OUTPUTS_PER_THREAD = 4;

export function tileName(t: MatmulTile): string {
  return `${t.WG_X}x${t.WG_Y}x${t.TK}`;
}

/** Workgroup memory of a tile: As is (WG_Y*R) x TK floats, Bs is TK x (WG_X*R) floats. */
export function matmulTileStorageBytes(t: MatmulTile): number {
  const R = MATMUL_OUTPUTS_PER_THREAD;
  return 4 * (t.WG_Y * R * t.TK + t.TK * t.WG_X * R);
}

/** Why a tile cannot run on a device with these limits, or null when it fits. */
export function matmulTileMisfit(t: MatmulTile, limits: Record<string, number>): string | null {
  for (const k of ['WG_X', 'WG_Y', 'TK'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) return `${k}=${t[k]} is not a positive integer`;
  }
  const inv = t.WG_X * t.WG_Y;
  const maxInv = limits.maxComputeInvocationsPerWorkgroup ?? 256;
  if (inv > maxInv) return `${inv} invocations > maxComputeInvocationsPerWorkgroup ${maxInv}`;
  if (t.WG_X > (limits.maxComputeWorkgroupSizeX ?? 256)) return `WG_X ${t.WG_X} > maxComputeWorkgroupSizeX`;
  if (t.WG_Y > (limits.maxComputeWorkgroupSizeY ?? 256)) return `WG_Y ${t.WG_Y} > maxComputeWorkgroupSizeY`;
  const bytes = matmulTileStorageBytes(t);
  const maxBytes = limits.maxComputeWorkgroupStorageSize ?? 16384;
  if (bytes > maxBytes) return `${bytes} bytes of workgroup memory > maxComputeWorkgroupStorageSize ${maxBytes}`;
  return null;
}

// ---- cache --------------------------------------------------------------------------------------

export interface MatmulTuning {
  tile: MatmulTile;
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
  const dir = process.env.WGNAS_CACHE_DIR || join(homedir(), '.cache', 'wgnas');
  return join(dir, 'autotune.json');
}

/** Cache key: the adapter's identity as Dawn describes it (driver version included when reported). */
export function adapterKey(gpu: Pick<Gpu, 'adapter'>): string {
  const a = gpu.adapter;
  return [a.vendor, a.architecture, a.device, a.description].map((s) => s || '?').join(' | ');
}

export function readAutotuneCache(path = autotuneCachePath()): AutotuneCacheFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return { version: 1, adapters: {} };
  }
  try {
    const parsed = JSON.parse(text) as AutotuneCacheFile;
    if (parsed?.version !== 1 || typeof parsed.adapters !== 'object' || parsed.adapters === null) {
      throw new Error('unexpected layout');
    }
    return parsed;
  } catch (e) {
    process.emitWarning(`wgnas: ignoring unreadable autotune cache ${path} (${(e as Error).message}); run 'wgnas bench --autotune' to rebuild it`);
    return { version: 1, adapters: {} };
  }
}

function writeAutotuneCache(path: string, cache: AutotuneCacheFile): void {
  mkdirSync(dirname(path), { recursive: true });
  // Write then rename, so a concurrent reader never sees half a file.
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(cache, null, 2) + '\n');
  renameSync(tmp, path);
}

const tunedTiles = new WeakMap<Gpu, MatmulTile>();

/**
 * The matmul tile tuned for this adapter (read once per Gpu from the cache), or DEFAULT_MATMUL_TILE
 * when the adapter was never tuned or the cached tile does not fit this device's limits.
 */
export function tunedMatmulTile(gpu: Gpu): MatmulTile {
  const hit = tunedTiles.get(gpu);
  if (hit) return hit;
  const cached = readAutotuneCache().adapters[adapterKey(gpu)]?.matmul?.tile;
  const tile = cached && matmulTileMisfit(cached, gpu.adapter.limits) === null ? { ...cached } : { ...DEFAULT_MATMUL_TILE };
  tunedTiles.set(gpu, tile);
  return tile;
}

/** Stores a tuning result for this adapter (atomically) and makes it this Gpu's tile from now on. */
export function recordMatmulTuning(gpu: Gpu, tuning: MatmulTuning, path = autotuneCachePath()): void {
  const cache = readAutotuneCache(path);
  const key = adapterKey(gpu);
  cache.adapters[key] = { ...cache.adapters[key], matmul: tuning };
  writeAutotuneCache(path, cache);
  tunedTiles.set(gpu, { ...tuning.tile });
}
