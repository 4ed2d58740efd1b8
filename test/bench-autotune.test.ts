import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gpu } from '../src/gpu/index.js';
import { autotuneMatmul, checkMatmulTile, MATMUL_TILE_CANDIDATES, matmulTileCandidates } from '../src/bench/autotune.js';
import {
  adapterKey,
  autotuneCachePath,
  DEFAULT_MATMUL_TILE,
  matmulTileMisfit,
  matmulTileStorageBytes,
  readAutotuneCache,
  tunedMatmulTile,
} from '../src/kernels/matmul-tiles.js';
import { testGpu } from './helpers/gpu.js';

let gpu: Gpu | null;
const savedEnv = process.env.WGNAS_CACHE_DIR;
beforeAll(async () => {
  process.env.WGNAS_CACHE_DIR = mkdtempSync(join(tmpdir(), 'wgnas-autotune-'));
  gpu = await testGpu();
});
afterAll(() => {
  if (savedEnv === undefined) delete process.env.WGNAS_CACHE_DIR;
  else process.env.WGNAS_CACHE_DIR = savedEnv;
});

const webgpuDefaults = {
  maxComputeInvocationsPerWorkgroup: 256,
  maxComputeWorkgroupSizeX: 256,
  maxComputeWorkgroupSizeY: 256,
  maxComputeWorkgroupStorageSize: 16384,
};

/** Only what the cache lookup reads; a fresh object per call gets a fresh memo. */
function fakeGpu(description: string, limits: Record<string, number> = webgpuDefaults): Gpu {
  return { adapter: { vendor: 'v', architecture: 'a', device: 'd', description, isSoftware: false, features: [], limits } } as unknown as Gpu;
}

describe('tile candidates and device limits', () => {
  it('computes workgroup memory as (WG_Y*4*TK + TK*WG_X*4) floats', () => {
    expect(matmulTileStorageBytes({ WG_X: 16, WG_Y: 16, TK: 16 })).toBe(4 * (16 * 4 * 16 * 2));
    expect(matmulTileStorageBytes({ WG_X: 32, WG_Y: 8, TK: 16 })).toBe(4 * (8 * 4 * 16 + 16 * 32 * 4));
  });

  it('filters out tiles over the invocation, size and workgroup-memory limits', () => {
    expect(matmulTileMisfit({ WG_X: 32, WG_Y: 32, TK: 8 }, webgpuDefaults)).toMatch(/1024 invocations/);
    expect(matmulTileMisfit({ WG_X: 16, WG_Y: 16, TK: 32 }, webgpuDefaults)).toBeNull(); // exactly 16 KiB
    expect(matmulTileMisfit({ WG_X: 16, WG_Y: 16, TK: 64 }, webgpuDefaults)).toMatch(/workgroup memory/);
    expect(matmulTileMisfit({ WG_X: 16, WG_Y: 16, TK: 16 }, webgpuDefaults)).toBeNull();
    expect(matmulTileMisfit({ WG_X: 0, WG_Y: 16, TK: 16 }, webgpuDefaults)).toMatch(/positive integer/);
    const fits = matmulTileCandidates(webgpuDefaults);
    expect(fits.length).toBeGreaterThan(3);
    expect(fits.length).toBeLessThan(MATMUL_TILE_CANDIDATES.length);
    for (const t of fits) expect(matmulTileMisfit(t, webgpuDefaults)).toBeNull();
    expect(fits).toContainEqual(DEFAULT_MATMUL_TILE);
  });
});

describe('every candidate tile that fits this device matches the CPU reference on awkward shapes', () => {
  for (const tile of MATMUL_TILE_CANDIDATES) {
    it(`${tile.WG_X}x${tile.WG_Y}x${tile.TK}`, async ({ skip }) => {
      if (!gpu) return skip();
      if (matmulTileMisfit(tile, gpu.adapter.limits)) return skip();
      const r = await checkMatmulTile(gpu, tile);
      expect(r.maxAbsErr).toBeLessThan(1e-3);
      expect(r.ok).toBe(true);
    });
  }
});

describe('autotune cache', () => {
  it('lives in $WGNAS_CACHE_DIR/autotune.json', () => {
    expect(autotuneCachePath()).toBe(join(process.env.WGNAS_CACHE_DIR!, 'autotune.json'));
  });

  it('gives the default tile for an adapter never tuned', () => {
    expect(tunedMatmulTile(fakeGpu('never tuned'))).toEqual(DEFAULT_MATMUL_TILE);
  });

  it('autotuneMatmul times the candidates, caches the winner, and tunedMatmulTile reads it back', async ({ skip }) => {
    if (!gpu) return skip();
    const candidates = [
      { WG_X: 8, WG_Y: 8, TK: 16 },
      { WG_X: 16, WG_Y: 16, TK: 8 },
    ];
    const lines: string[] = [];
    const r = await autotuneMatmul(gpu, {
      shapes: [{ batch: 1, M: 40, N: 72, K: 24 }],
      candidates,
      warmup: 1,
      repeats: 2,
      log: (l) => lines.push(l),
    });
    expect(r.results).toHaveLength(2);
    for (const x of r.results) {
      expect(x.error).toBeUndefined();
      expect(x.parity.ok).toBe(true);
      expect(x.ms).toBeGreaterThan(0);
    }
    expect(candidates).toContainEqual(r.best);
    expect(lines).toHaveLength(2);
    expect(r.cachePath).toBe(autotuneCachePath());
    const cache = readAutotuneCache();
    expect(cache.adapters[adapterKey(gpu)].matmul?.tile).toEqual(r.best);
    expect(tunedMatmulTile(gpu)).toEqual(r.best);
    // A fresh lookup (another Gpu object for the same adapter) reads the file.
    const same = fakeGpu(gpu.adapter.description, gpu.adapter.limits);
    Object.assign(same.adapter, { vendor: gpu.adapter.vendor, architecture: gpu.adapter.architecture, device: gpu.adapter.device });
    expect(tunedMatmulTile(same)).toEqual(r.best);
  });

  it('ignores a cached tile that does not fit the device', () => {
    const g = fakeGpu('small device', webgpuDefaults);
    const path = autotuneCachePath();
    const cache = readAutotuneCache();
    cache.adapters[adapterKey(g)] = {
      matmul: { tile: { WG_X: 32, WG_Y: 32, TK: 8 }, tunedAt: 'x', ms: 1, gflops: 1, shapes: [] },
    };
    writeFileSync(path, JSON.stringify(cache));
    expect(tunedMatmulTile(g)).toEqual(DEFAULT_MATMUL_TILE);
    const big = fakeGpu('small device', { ...webgpuDefaults, maxComputeInvocationsPerWorkgroup: 1024 });
    expect(tunedMatmulTile(big)).toEqual({ WG_X: 32, WG_Y: 32, TK: 8 });
  });

  it('falls back to the default with a warning when the cache file is corrupt', () => {
    const path = autotuneCachePath();
    const before = readFileSync(path, 'utf8');
    writeFileSync(path, '{ not json');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      expect(tunedMatmulTile(fakeGpu('small device'))).toEqual(DEFAULT_MATMUL_TILE);
      expect(warn).toHaveBeenCalledWith(expect.stringMatching(/unreadable autotune cache/));
    } finally {
      warn.mockRestore();
      writeFileSync(path, before);
    }
  });
});
