/**
 * The dispatch profiler: per-kernel counts are exact, every dispatch gets GPU time where the adapter
 * has timestamps (also across query-set boundaries), host time is counted, and results do not change.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import type { DispatchProfiler } from '../../src/gpu/profiler.js';
import { add, axpy, scale } from '../../src/kernels/elementwise.js';
import { onGpu } from '../helpers/backend.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

/** 3 adds, 2 scales, 1 axpy on awkward sizes; returns the result read back. */
async function work(g: Gpu): Promise<Float32Array> {
  const a = g.upload(Float32Array.from({ length: 1031 }, (_, i) => Math.sin(i)));
  const b = g.upload(Float32Array.from({ length: 1031 }, (_, i) => Math.cos(i * 0.3)));
  const t1 = add(g, a, b);
  const t2 = add(g, t1, a);
  const t3 = scale(g, t2, 0.5);
  const t4 = scale(g, t3, -3);
  axpy(g, t4, b, 2);
  g.copy(t3, t2); // a buffer copy: counted, not timed (outside any pass)
  const t5 = add(g, t4, t1);
  const out = await t5.read();
  for (const t of [a, b, t1, t2, t3, t4, t5]) t.dispose();
  return out;
}

describe('GPU dispatch profiler', () => {
  it('counts every dispatch per kernel and times each one, across query sets', { timeout: 120_000 }, async ({ skip }) => {
    if (!gpu) return skip();
    const plain = await work(gpu);
    // Two dispatches per query set: six dispatches cross two set boundaries inside one encoder.
    gpu.startProfile({ dispatchesPerSet: 2 });
    expect(gpu.profiling).toBe(true);
    const profiled = await work(gpu);
    const p = await gpu.stopProfile();
    expect(gpu.profiling).toBe(false);
    expect(Array.from(profiled)).toEqual(Array.from(plain));
    const byKernel = Object.fromEntries(p.kernels.map((k) => [k.kernel, k]));
    expect(Object.keys(byKernel).sort()).toEqual([
      'copyBufferToBuffer',
      'elementwise.wgsl:add',
      'elementwise.wgsl:axpy',
      'elementwise.wgsl:scale',
    ]);
    expect(byKernel.copyBufferToBuffer.dispatches).toBe(1);
    expect(byKernel.copyBufferToBuffer.gpuMs).toBe(0);
    expect(byKernel['elementwise.wgsl:add'].dispatches).toBe(3);
    expect(byKernel['elementwise.wgsl:scale'].dispatches).toBe(2);
    expect(byKernel['elementwise.wgsl:axpy'].dispatches).toBe(1);
    expect(p.dispatches).toBe(6);
    expect(p.hostWaits).toBeGreaterThanOrEqual(1);
    expect(p.submits).toBeGreaterThanOrEqual(1);
    for (const k of p.kernels) expect(k.hostMs).toBeGreaterThan(0);
    if (gpu.hasTimestamps) {
      expect(p.source).toBe('timestamp-query');
      for (const k of p.kernels) if (k.kernel !== 'copyBufferToBuffer') expect(k.gpuMs).toBeGreaterThan(0);
      // Sorted by GPU time, largest first.
      for (let i = 1; i < p.kernels.length; i++) expect(p.kernels[i - 1].gpuMs).toBeGreaterThanOrEqual(p.kernels[i].gpuMs);
      expect(p.kernels.reduce((s, k) => s + k.gpuMs, 0)).toBeLessThanOrEqual(p.wallMs);
    } else {
      expect(p.source).toBe('none');
    }
  });

  it('work recorded while stopProfile is awaited runs unprofiled and right', { timeout: 60_000 }, async ({ skip }) => {
    if (!gpu) return skip();
    const a = gpu.upload(Float32Array.from({ length: 257 }, (_, i) => i));
    gpu.startProfile({ dispatchesPerSet: 2 });
    const b = add(gpu, a, a);
    const stopping = gpu.stopProfile();
    const c = add(gpu, b, a); // recorded after stop began
    const p = await stopping;
    expect(p.dispatches).toBe(1);
    expect(p.kernels.map((k) => [k.kernel, k.dispatches])).toEqual([['elementwise.wgsl:add', 1]]);
    expect(Array.from(await c.read())).toEqual(Array.from({ length: 257 }, (_, i) => 3 * i));
    for (const t of [a, b, c]) t.dispose();
  });

  it(
    'a long profiled run holds no finished readback: one per submission, each dropped once read',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (!gpu) return skip();
      gpu.startProfile();
      const inFlight = () => (gpu as unknown as { profiler: DispatchProfiler }).profiler.readbacksInFlight;
      const counts: number[] = [];
      // Each round reads back (one submission, one timestamp chunk): a score --kernel-profile over
      // 15625 cells makes tens of thousands of them.
      for (let i = 0; i < 20; i++) {
        await work(gpu);
        counts.push(inFlight());
      }
      const p = await gpu.stopProfile();
      expect(p.dispatches).toBe(20 * 6);
      // The last submission's readback may still be on its way; every earlier one is gone.
      expect(Math.max(...counts.slice(10))).toBeLessThanOrEqual(1);
    },
  );

  it('refuses a second start and a stop without a start; plain dispatching resumes after stop', async ({ skip }) => {
    if (!gpu) return skip();
    await expect(gpu.stopProfile()).rejects.toThrow(/no profile is running/);
    gpu.startProfile();
    expect(() => gpu!.startProfile()).toThrow(/already running/);
    const p = await gpu.stopProfile();
    expect(p.dispatches).toBe(0);
    expect(p.kernels).toEqual([]);
    expect(Array.from(await work(gpu))).toHaveLength(1031);
  });
});

describe('webgpu backend profile', () => {
  it('maps the dispatch profile to the backend-neutral KernelProfile', { timeout: 60_000 }, async ({ skip }) => {
    if (!gpu) return skip();
    const backend = onGpu(gpu);
    backend.startProfile();
    const a = backend.upload(Float32Array.from({ length: 300 }, (_, i) => i));
    const b = backend.ops.add(a, a);
    const r = await backend.stopProfile();
    a.dispose();
    b.dispose();
    expect(r.device).toBe('gpu');
    expect(r.ops).toBe(1);
    expect(r.kernels.map((k) => [k.kernel, k.count])).toEqual([['elementwise.wgsl:add', 1]]);
    expect(r.clock).toBe(gpu.hasTimestamps ? 'gpu-timestamps' : 'gpu-host-only');
    expect(r.deviceMs).toBeCloseTo(r.kernels[0].deviceMs, 9);
    expect(r.hostMs).toBeGreaterThan(0);
  });
});
