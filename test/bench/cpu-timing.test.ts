/**
 * `bench --device cpu` times ours as the oneDNN / XNNPACK baselines are timed: inside the addon (the
 * worker's clock around each op), not the wall clock around sync(), which adds the queue and the JS
 * round trip. The backend's profile is scripted here so the number reported can be told apart from
 * any wall-clock time.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, KernelProfile } from '../../src/backend/index.js';
import { addonOpTimer, runBench } from '../../src/bench/harness.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { reportHeader } from '../../src/bench/report.js';
import { cpuTestBackend } from '../helpers/backend.js';

const PER_OP_MS = 0.25;
const SYNC_MS = 1000;

/** The real CPU backend whose profile says every op took PER_OP_MS and its sync SYNC_MS. */
function scriptedProfile(real: Backend): Backend & { profiles: number } {
  let startOps = 0;
  const fake = {
    ...real,
    profiles: 0,
    startProfile: () => {
      startOps = real.stats().opsEnqueued;
    },
    stopProfile: async (): Promise<KernelProfile> => {
      await real.sync();
      fake.profiles++;
      const ops = real.stats().opsEnqueued - startOps;
      const kernels = [
        { kernel: 'op', count: ops, deviceMs: ops * PER_OP_MS },
        { kernel: 'sync', count: 1, deviceMs: SYNC_MS },
      ];
      return {
        device: 'cpu',
        deviceName: real.deviceName,
        clock: 'cpu-worker',
        wallMs: 0,
        deviceMs: ops * PER_OP_MS + SYNC_MS,
        ops,
        kernels,
      };
    },
  };
  return fake;
}

describe('bench --device cpu: ours timed inside the addon', () => {
  it("the sample is the worker's op time (its sync left out), not the wall clock", async () => {
    const ops: string[] = [];
    let ms = 3;
    const timer = addonOpTimer({
      sync: async () => void ops.push('sync'),
      startProfile: () => void ops.push('start'),
      stopProfile: async () => {
        ops.push('stop');
        const kernels = [
          { kernel: 'matmul', count: 2, deviceMs: ms },
          { kernel: 'sync', count: 1, deviceMs: 0.5 },
        ];
        return { device: 'cpu', deviceName: 'x', clock: 'cpu-worker', wallMs: 99, deviceMs: ms + 0.5, ops: 3, kernels };
      },
    });
    await timer.beginTimer();
    expect(await timer.endTimer()).toEqual({ ms: 3, source: 'cpu-worker' });
    // Queued work is drained before the profile starts, so none of it is counted in the sample.
    expect(ops).toEqual(['sync', 'start', 'stop']);
    ms = 7;
    expect((await timer.endTimer()).ms).toBe(7);
  });

  it('runBench reports the addon time per run and says so in the header', async ({ skip }) => {
    const real = cpuTestBackend();
    if (!real) return skip();
    const backend = scriptedProfile(real);
    const k = defaultRegistry().get('matmul');
    const report = await runBench(backend, {
      kernels: [k],
      shapes: 'tiny',
      only: ['64x64x64'],
      warmup: 1,
      repeats: 3,
      baselines: [],
      peak: { flopsPerS: 1e9, bytesPerS: 1e9, source: 'table', name: 'test' },
    });
    expect(backend.profiles).toBeGreaterThanOrEqual(4);
    const [r] = report.results;
    expect(r.error).toBeUndefined();
    // One matmul op per run: exactly the scripted op time, whatever the wall clock said.
    expect(r.ours).toMatchObject({ medianMs: PER_OP_MS, p10Ms: PER_OP_MS, p90Ms: PER_OP_MS, timing: 'cpu-worker' });
    expect(r.ours!.gflops).toBeCloseTo((2 * 64 ** 3) / (PER_OP_MS * 1e6), 9);
    expect(report.timing).toBe('cpu-worker');
    expect(report.where.ours).toMatch(/timed inside the addon .*queueing and the JS round trip not included/);
    // The threads of ours and of the native baselines, and the --only labels, as the run had them.
    expect(report.options).toEqual({
      shapes: 'tiny',
      warmup: 1,
      warmupMs: 0,
      repeats: 3,
      baselines: [],
      only: ['64x64x64'],
      cpuThreads: real.threads,
      nativeThreads: 1,
      maxSeconds: { ours: 30, cpuBaselines: 3 },
    });
    expect(reportHeader(report).split('\n')[2]).toBe(
      "timing: op time inside the addon (the CPU worker's clock around each op, as oneDNN/XNNPACK's profile() around theirs; queueing and the JS round trip excluded)",
    );
  });
});
