/**
 * Matmul tile autotuning. Candidate tiles (matmul.wgsl override constants WG_X, WG_Y, TK) that fit
 * the device limits are checked against the CPU reference, timed on a few shapes, and the fastest
 * is cached per adapter in $WGNAS_CACHE_DIR/autotune.json (default ~/.cache/wgnas/autotune.json).
 * tunedMatmulTile(gpu) returns the cached tile, or DEFAULT_MATMUL_TILE when this adapter was never tuned.
 *
 * matmul.ts may import this module (to default its tile to tunedMatmulTile): nothing here touches
 * matmul.ts's exports at module evaluation, so the import cycle is safe.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Gpu } from '../gpu/gpu.js';
import { DEFAULT_MATMUL_TILE, type MatmulTile, matmul, matmulCpu } from './matmul.js';

const R = 4; // outputs per thread per axis in matmul.wgsl (RM = RN)

/** A few shapes of workgroup (WG_X x WG_Y threads) and k-depth of the shared tiles. */
export const MATMUL_TILE_CANDIDATES: readonly MatmulTile[] = [
  { WG_X: 16, WG_Y: 16, TK: 16 },
  { WG_X: 16, WG_Y: 16, TK: 8 },
  { WG_X: 16, WG_Y: 16, TK: 32 },
  { WG_X: 8, WG_Y: 8, TK: 16 },
  { WG_X: 8, WG_Y: 8, TK: 32 },
  { WG_X: 16, WG_Y: 8, TK: 16 },
  { WG_X: 8, WG_Y: 16, TK: 16 },
  { WG_X: 32, WG_Y: 8, TK: 16 },
  { WG_X: 32, WG_Y: 16, TK: 8 },
  { WG_X: 16, WG_Y: 32, TK: 8 },
  { WG_X: 32, WG_Y: 32, TK: 8 },
  { WG_X: 4, WG_Y: 4, TK: 32 },
];

export function tileName(t: MatmulTile): string {
  return `${t.WG_X}x${t.WG_Y}x${t.TK}`;
}

/** Workgroup memory of a tile: As is (WG_Y*R) x TK floats, Bs is TK x (WG_X*R) floats. */
export function matmulTileStorageBytes(t: MatmulTile): number {
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

export function matmulTileCandidates(limits: Record<string, number>, candidates = MATMUL_TILE_CANDIDATES): MatmulTile[] {
  return candidates.filter((t) => matmulTileMisfit(t, limits) === null);
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

interface AutotuneCacheFile {
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

// ---- tuning -------------------------------------------------------------------------------------

export interface TuneShape {
  batch: number;
  M: number;
  N: number;
  K: number;
}

/** Awkward parity shapes: primes, non-multiples of every tile, all three operand layouts. */
const PARITY_CASES: Array<TuneShape & { transA: boolean; transB: boolean }> = [
  { batch: 2, M: 67, N: 45, K: 37, transA: false, transB: false },
  { batch: 1, M: 33, N: 70, K: 19, transA: true, transB: false },
  { batch: 2, M: 29, N: 31, K: 53, transA: false, transB: true },
];

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296 - 0.5;
  };
}

/** Largest |GPU - CPU reference| over the awkward parity cases for one tile, and whether it is within tolerance. */
export async function checkMatmulTile(gpu: Gpu, tile: MatmulTile): Promise<{ ok: boolean; maxAbsErr: number }> {
  let maxAbsErr = 0;
  let ok = true;
  for (const c of PARITY_CASES) {
    const next = lcg(c.M * 131 + c.N * 17 + c.K);
    const aShape = c.transA ? [c.batch, c.K, c.M] : [c.batch, c.M, c.K];
    const bShape = c.transB ? [c.batch, c.N, c.K] : [c.batch, c.K, c.N];
    const a = Float32Array.from({ length: c.batch * c.M * c.K }, next);
    const b = Float32Array.from({ length: c.batch * c.K * c.N }, next);
    const ga = gpu.upload(a, aShape);
    const gb = gpu.upload(b, bShape);
    const gc = matmul(gpu, ga, gb, { transA: c.transA, transB: c.transB, tile });
    const got = await gc.read();
    for (const t of [ga, gb, gc]) t.dispose();
    const want = matmulCpu(a, aShape, b, bShape, { transA: c.transA, transB: c.transB });
    const tol = 1e-5 * c.K + 1e-5;
    for (let i = 0; i < want.length; i++) {
      const err = Math.abs(got[i] - want[i]);
      if (!(err <= tol)) ok = false;
      if (err > maxAbsErr || Number.isNaN(err)) maxAbsErr = Number.isNaN(err) ? Infinity : err;
    }
  }
  return { ok, maxAbsErr };
}

export interface TileTiming {
  tile: MatmulTile;
  /** Geometric mean over the shapes of the median per-run time. */
  ms: number;
  gflops: number;
  perShapeMs: number[];
  parity: { ok: boolean; maxAbsErr: number };
  error?: string;
}

export interface AutotuneOptions {
  shapes?: TuneShape[];
  candidates?: readonly MatmulTile[];
  warmup?: number;
  repeats?: number;
  /** Write the winner to the cache (default true). */
  save?: boolean;
  cachePath?: string;
  log?: (line: string) => void;
}

export interface AutotuneOutcome {
  best: MatmulTile;
  results: TileTiming[];
  shapes: TuneShape[];
  cachePath: string | null;
  timing: 'timestamp-query' | 'wall-clock' | 'mixed';
}

export function defaultTuneShapes(gpu: Pick<Gpu, 'adapter'>): TuneShape[] {
  if (gpu.adapter.isSoftware) return [{ batch: 1, M: 256, N: 256, K: 256 }];
  return [
    { batch: 1, M: 2048, N: 2048, K: 2048 },
    { batch: 1, M: 8192, N: 64, K: 1024 },
    { batch: 16, M: 256, N: 256, K: 256 },
  ];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) / 2;
  return (s[Math.floor(h)] + s[Math.ceil(h)]) / 2;
}

/** Times every candidate that fits and passes parity; the fastest (geometric-mean time) wins. */
export async function autotuneMatmul(gpu: Gpu, opts: AutotuneOptions = {}): Promise<AutotuneOutcome> {
  const shapes = opts.shapes ?? defaultTuneShapes(gpu);
  const warmup = opts.warmup ?? 2;
  const repeats = opts.repeats ?? (gpu.adapter.isSoftware ? 3 : 10);
  const log = opts.log ?? (() => {});
  const candidates = matmulTileCandidates(gpu.adapter.limits, opts.candidates ?? MATMUL_TILE_CANDIDATES);
  if (candidates.length === 0) throw new Error('autotune: no matmul tile candidate fits this device');
  const totalFlops = shapes.map((s) => 2 * s.batch * s.M * s.N * s.K);
  const sources = new Set<string>();

  const operands = shapes.map((s, i) => {
    const next = lcg(1000 + i);
    const a = gpu.upload(Float32Array.from({ length: s.batch * s.M * s.K }, next), [s.batch, s.M, s.K]);
    const b = gpu.upload(Float32Array.from({ length: s.batch * s.K * s.N }, next), [s.batch, s.K, s.N]);
    const c = gpu.empty([s.batch, s.M, s.N]);
    return { a, b, c };
  });
  const results: TileTiming[] = [];
  try {
    for (const tile of candidates) {
      const entry: TileTiming = { tile, ms: Infinity, gflops: 0, perShapeMs: [], parity: { ok: false, maxAbsErr: NaN } };
      results.push(entry);
      try {
        entry.parity = await checkMatmulTile(gpu, tile);
        if (!entry.parity.ok) {
          entry.error = `parity failed (max |err| ${entry.parity.maxAbsErr.toExponential(2)})`;
          log(`  ${tileName(tile).padEnd(9)} ${entry.error}`);
          continue;
        }
        for (const { a, b, c } of operands) {
          for (let i = 0; i < warmup; i++) matmul(gpu, a, b, { out: c, tile });
          await gpu.sync();
          const samples: number[] = [];
          for (let r = 0; r < repeats; r++) {
            await gpu.beginTimer();
            matmul(gpu, a, b, { out: c, tile });
            const t = await gpu.endTimer();
            sources.add(t.source);
            samples.push(t.ms);
          }
          entry.perShapeMs.push(median(samples));
        }
        entry.ms = Math.exp(entry.perShapeMs.reduce((s, v) => s + Math.log(v), 0) / entry.perShapeMs.length);
        entry.gflops = Math.exp(
          entry.perShapeMs.reduce((s, v, i) => s + Math.log(totalFlops[i] / (v / 1e3) / 1e9), 0) / entry.perShapeMs.length,
        );
        log(`  ${tileName(tile).padEnd(9)} ${entry.ms.toFixed(3)} ms  ${entry.gflops.toFixed(1)} GFLOP/s`);
      } catch (e) {
        entry.error = (e as Error).message.split('\n')[0];
        log(`  ${tileName(tile).padEnd(9)} failed: ${entry.error}`);
      }
    }
  } finally {
    for (const o of operands) for (const t of [o.a, o.b, o.c]) t.dispose();
  }
  const ok = results.filter((r) => !r.error && Number.isFinite(r.ms));
  if (ok.length === 0) throw new Error('autotune: every matmul tile candidate failed (see the log above)');
  const winner = ok.reduce((best, r) => (r.ms < best.ms ? r : best));
  let cachePath: string | null = null;
  if (opts.save ?? true) {
    cachePath = opts.cachePath ?? autotuneCachePath();
    const cache = readAutotuneCache(cachePath);
    const key = adapterKey(gpu);
    cache.adapters[key] = {
      ...cache.adapters[key],
      matmul: {
        tile: winner.tile,
        tunedAt: new Date().toISOString(),
        ms: winner.ms,
        gflops: winner.gflops,
        shapes: shapes.map((s) => `${s.batch}x${s.M}x${s.N}x${s.K}`),
      },
    };
    writeAutotuneCache(cachePath, cache);
    tunedTiles.set(gpu, { ...winner.tile });
  }
  const timing = sources.size === 1 ? ([...sources][0] as 'timestamp-query' | 'wall-clock') : 'mixed';
  return { best: { ...winner.tile }, results, shapes, cachePath, timing };
}
