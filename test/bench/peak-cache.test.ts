/**
 * A measured peak is measured once per adapter and driver (best of a few rounds), cached in
 * peaks.json and reused, so "% of peak" compares between runs; a changed adapter or driver, or
 * --recalibrate, measures again. The calibration here is a scripted fake (no GPU needed).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  BENCH_SCHEMA_VERSION,
  type BenchReport,
  type BenchResult,
  gpuPeakKey,
  raiseMeasuredRoofline,
  resolvePeak,
  runBench,
} from '../../src/bench/harness.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { CALIBRATION_METHOD, peakCachePath, raiseCachedPeak } from '../../src/bench/peak-cache.js';
import type { Peak } from '../../src/bench/peaks.js';
import type { BenchKernel } from '../../src/bench/registry.js';
import { reportHeader } from '../../src/bench/report.js';
import { cpuTestBackend } from '../helpers/backend.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-peak-cache-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const LAVAPIPE = 'llvmpipe: Mesa 25.0.7-2~bpo12+1 (LLVM 15.0.6) 0.0.1';
function fakeGpu(description: string, device = 'llvmpipe') {
  return {
    name: description,
    adapter: { vendor: 'mesa', architecture: '', device, description, isSoftware: true },
  } as unknown as Parameters<typeof resolvePeak>[0];
}

/** A calibration that returns the scripted rates in turn and counts its calls. */
function fakeCalibration(script: Array<[number, number]>) {
  let i = 0;
  const measure = vi.fn(async (): Promise<Peak> => {
    const [gflops, gbps] = script[i++ % script.length];
    return { flopsPerS: gflops * 1e9, bytesPerS: gbps * 1e9, source: 'calibrated', name: 'measured on the fake' };
  });
  return measure;
}

describe('the measured peak cache', () => {
  it('measures the best of 3 rounds once, then reuses it; a changed driver or --recalibrate measures again', async () => {
    const cachePath = join(tmp, 'a', 'peaks.json');
    const measure = fakeCalibration([
      [11.8, 2.0],
      [31.7, 1.5],
      [17.8, 2.5],
    ]);
    const logged: string[] = [];
    const log = (l: string) => void logged.push(l);
    const first = await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, log });
    expect(measure).toHaveBeenCalledTimes(3);
    expect(logged).toEqual([
      `calibrating peak FLOP/s and bandwidth on ${LAVAPIPE} (best of 3 rounds, then cached for this adapter and driver)...`,
    ]);
    // Each rate is its own best: FLOP/s from round 2, bandwidth from round 3.
    expect(first).toMatchObject({ flopsPerS: 31.7e9, bytesPerS: 2.5e9, source: 'calibrated', origin: 'measured', rounds: 3 });
    expect(Number.isNaN(Date.parse(first.measuredAt!))).toBe(false);
    const file = JSON.parse(readFileSync(cachePath, 'utf8'));
    expect(Object.keys(file.peaks)).toEqual([`gpu | mesa | ? | llvmpipe | ${LAVAPIPE}`]);
    expect(Object.values(file.peaks)[0]).toMatchObject({
      flopsPerS: 31.7e9,
      bytesPerS: 2.5e9,
      rounds: 3,
      method: CALIBRATION_METHOD,
    });

    // The next run, however loaded the machine is now, gets the same peak without measuring.
    const again = await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, log });
    expect(measure).toHaveBeenCalledTimes(3);
    expect(logged).toHaveLength(1);
    expect(again).toEqual({ ...first, origin: 'cached' });

    // Another driver version is another key: measured again, the first entry kept.
    const newer = LAVAPIPE.replace('25.0.7', '25.1.0');
    const other = await resolvePeak(fakeGpu(newer), { measure, cachePath, rounds: 1 });
    expect(measure).toHaveBeenCalledTimes(4);
    expect(other).toMatchObject({ flopsPerS: 11.8e9, origin: 'measured', rounds: 1 });
    expect(Object.keys(JSON.parse(readFileSync(cachePath, 'utf8')).peaks)).toHaveLength(2);
    expect((await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath })).flopsPerS).toBe(31.7e9);
    expect(measure).toHaveBeenCalledTimes(4);

    // --recalibrate: measured now, replacing the cached entry for the later runs.
    const re = await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, recalibrate: true, rounds: 1 });
    expect(measure).toHaveBeenCalledTimes(5);
    expect(re).toMatchObject({ flopsPerS: 31.7e9, bytesPerS: 1.5e9, origin: 'measured', rounds: 1 });
    expect(await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath })).toMatchObject({
      flopsPerS: 31.7e9,
      bytesPerS: 1.5e9,
      origin: 'cached',
    });
    expect(measure).toHaveBeenCalledTimes(5);
  });

  it('a datasheet adapter takes the table value unless a measured peak is asked for; that one is cached too', async () => {
    const cachePath = join(tmp, 'b', 'peaks.json');
    const measure = fakeCalibration([[40000, 2500]]);
    const h100 = fakeGpu('NVIDIA H100 80GB HBM3', 'nvidia-h100-80gb-hbm3');
    expect(await resolvePeak(h100, { measure, cachePath })).toMatchObject({ flopsPerS: 67e12, source: 'table', origin: 'table' });
    expect(measure).not.toHaveBeenCalled();
    expect(existsSync(cachePath)).toBe(false);
    expect(await resolvePeak(h100, { measure, cachePath, calibrate: true, rounds: 2 })).toMatchObject({
      flopsPerS: 40e12,
      origin: 'measured',
    });
    expect(await resolvePeak(h100, { measure, cachePath, calibrate: true })).toMatchObject({
      flopsPerS: 40e12,
      origin: 'cached',
    });
    expect(measure).toHaveBeenCalledTimes(2);
  });

  it('an unreadable cache or an entry of another calibration method is measured again', async () => {
    const cachePath = join(tmp, 'c', 'peaks.json');
    const measure = fakeCalibration([[10, 1]]);
    await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, rounds: 1 });
    const file = JSON.parse(readFileSync(cachePath, 'utf8'));
    for (const e of Object.values(file.peaks) as Array<{ method: number }>) e.method = CALIBRATION_METHOD + 1;
    writeFileSync(cachePath, JSON.stringify(file));
    expect((await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, rounds: 1 })).origin).toBe('measured');
    writeFileSync(cachePath, '{ not json');
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    try {
      expect((await resolvePeak(fakeGpu(LAVAPIPE), { measure, cachePath, rounds: 1 })).origin).toBe('measured');
      expect(String(warn.mock.calls[0][0])).toMatch(/ignoring unreadable peak cache .*peaks\.json/);
    } finally {
      warn.mockRestore();
    }
    expect(measure).toHaveBeenCalledTimes(3);
    expect(JSON.parse(readFileSync(cachePath, 'utf8')).version).toBe(1);
  });

  it('a peak that kernels raised is saved into the cache entry, so the next run measures % of peak against it', async () => {
    const cachePath = join(tmp, 'raise', 'peaks.json');
    const measure = fakeCalibration([[10, 2]]);
    const gpu = fakeGpu(LAVAPIPE);
    const first = await resolvePeak(gpu, { measure, cachePath, rounds: 1 });
    // A compute-bound kernel (1000 FLOP/byte) at 30 GFLOP/s beats the calibration's 10.
    const peak = { ...first };
    const r = { flops: 30e9, bytes: 0.03e9, ours: { medianMs: 1000 } } as BenchResult;
    expect(raiseMeasuredRoofline(peak, [r])).toMatch(/raised/);
    expect(raiseCachedPeak(gpuPeakKey(gpu), peak, { cachePath })).toBe(true);
    const entry = JSON.parse(readFileSync(cachePath, 'utf8')).peaks[gpuPeakKey(gpu)];
    expect(entry).toMatchObject({ flopsPerS: 30e9, bytesPerS: 2e9, measuredAt: first.measuredAt, rounds: 1 });
    expect(Number.isNaN(Date.parse(entry.raisedAt))).toBe(false);
    const next = await resolvePeak(gpu, { measure, cachePath });
    expect(next).toMatchObject({ flopsPerS: 30e9, bytesPerS: 2e9, origin: 'cached', measuredAt: first.measuredAt });
    expect(measure).toHaveBeenCalledTimes(1);
    // A run that raised it less (another run raised it meanwhile) lowers nothing.
    expect(raiseCachedPeak(gpuPeakKey(gpu), { ...first, flopsPerS: 20e9, bytesPerS: 3e9 }, { cachePath })).toBe(true);
    expect(await resolvePeak(gpu, { measure, cachePath })).toMatchObject({ flopsPerS: 30e9, bytesPerS: 3e9 });
  });

  it('runBench saves a raised roofline and its JSON says so; the next run starts from it', async ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const peakCachePath = join(tmp, 'cpu-raise', 'peaks.json');
    const run = (kernels: BenchKernel[]) =>
      runBench(backend, { kernels, shapes: 'tiny', only: ['64x64x64'], warmup: 1, repeats: 3, baselines: [], peakCachePath });
    await run([]); // measures and caches the CPU roofline
    // A calibration in a slow moment: far below what a matmul reaches.
    const file = JSON.parse(readFileSync(peakCachePath, 'utf8'));
    const key = Object.keys(file.peaks)[0];
    Object.assign(file.peaks[key], { flopsPerS: 1000, bytesPerS: 1000 });
    writeFileSync(peakCachePath, JSON.stringify(file));
    const raised = await run([defaultRegistry().get('matmul')]);
    expect(raised.results[0].error).toBeUndefined();
    expect(raised.peak.raisedFrom).toEqual({ flopsPerS: 1000, bytesPerS: 1000 });
    expect(raised.peak.raiseCached).toBe(true);
    expect(raised.peak.flopsPerS).toBeGreaterThan(1000);
    expect(reportHeader(raised).split('\n')[3]).toMatch(/raised to rates this run reached, saved for later runs\)$/);
    const saved = JSON.parse(readFileSync(peakCachePath, 'utf8')).peaks[key];
    expect(saved).toMatchObject({ flopsPerS: raised.peak.flopsPerS, bytesPerS: raised.peak.bytesPerS });
    const next = await run([]);
    expect(next.peak).toMatchObject({ flopsPerS: raised.peak.flopsPerS, bytesPerS: raised.peak.bytesPerS, origin: 'cached' });
    expect(next.peak.raisedFrom).toBeUndefined();
  });

  it('lives in the user cache beside autotune.json', () => {
    const saved = process.env.WGNAS_CACHE_DIR;
    process.env.WGNAS_CACHE_DIR = tmp;
    try {
      expect(peakCachePath()).toBe(join(tmp, 'peaks.json'));
    } finally {
      if (saved === undefined) delete process.env.WGNAS_CACHE_DIR;
      else process.env.WGNAS_CACHE_DIR = saved;
    }
  });

  it('the report says where the peak came from', () => {
    const header = (peak: Partial<BenchReport['peak']>) =>
      reportHeader({
        tool: 'wgnas bench',
        date: '2026-12-05T13:00:00.000Z',
        adapter: { name: 'llvmpipe', vendor: 'mesa', architecture: '', isSoftware: true },
        timing: 'wall-clock',
        peak: {
          flopsPerS: 3e10,
          bytesPerS: 2e9,
          gflops: 30,
          gbps: 2,
          source: 'calibrated',
          name: 'measured on llvmpipe',
          ...peak,
        },
        options: { shapes: 'tiny', warmup: 1, repeats: 1, baselines: [] },
        where: { ours: 'WGSL' },
        labels: {},
        results: [],
      }).split('\n')[2];
    expect(header({ origin: 'cached', measuredAt: '2026-12-01T09:30:12.000Z', rounds: 3 })).toBe(
      'peak: 30.0 GFLOP/s f32, 2.00 GB/s (measured on llvmpipe; cached from 2026-12-01 09:30, best of 3 rounds, --recalibrate measures again)',
    );
    expect(header({ origin: 'measured', rounds: 3 })).toBe(
      'peak: 30.0 GFLOP/s f32, 2.00 GB/s (measured on llvmpipe; measured now, best of 3 rounds, cached for later runs)',
    );
    expect(header({ source: 'table', origin: 'table', name: 'NVIDIA H100 SXM' })).toBe(
      'peak: 30.0 GFLOP/s f32, 2.00 GB/s (datasheet: NVIDIA H100 SXM)',
    );
  });

  it("the CPU backend's measured roofline is cached too, per CPU model and thread count", async ({ skip }) => {
    const backend = cpuTestBackend();
    if (!backend) return skip();
    const peakCachePath = join(tmp, 'cpu', 'peaks.json');
    const run = (recalibrate = false) =>
      runBench(backend, { kernels: [], shapes: 'tiny', warmup: 0, repeats: 1, baselines: [], peakCachePath, recalibrate });
    const a = await run();
    expect(a.peak).toMatchObject({ origin: 'measured', rounds: 3 });
    expect(Object.keys(JSON.parse(readFileSync(peakCachePath, 'utf8')).peaks)[0]).toMatch(
      new RegExp(`^cpu \\| .+ \\| ${backend.deviceName.replace(/[()]/g, '\\$&')}$`),
    );
    const b = await run();
    expect(b.peak).toEqual({ ...a.peak, origin: 'cached' });
    expect(b.schemaVersion).toBe(BENCH_SCHEMA_VERSION);
  });
});
