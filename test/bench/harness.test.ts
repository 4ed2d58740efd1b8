import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/gpu/index.js';
import { correlationCpuFast, matmulCpuBlocked } from '../../src/bench/cpu.js';
import {
  conv2dBackwardInputCpuFast,
  conv2dBackwardWeightCpuFast,
  conv2dCpuFast,
  type ConvGeom,
} from '../../src/bench/cpu-conv.js';
import { type BenchReport, type BenchResult, compareOutputs, raiseMeasuredRoofline } from '../../src/bench/harness.js';
import { gpujsRunner } from '../../src/bench/baseline-runners.js';
import type { GpuJsBaseline, GpuJsMode } from '../../src/bench/gpujs.js';
import { defaultRegistry } from '../../src/bench/kernels/index.js';
import { type GpuTimer, measure, type TimedSample, timerSampler } from '../../src/bench/measure.js';
import { lookupPeak, type Peak, peakTableNames, percentOfPeak, rooflineFlopsPerS } from '../../src/bench/peaks.js';
import { type BenchKernel, KernelRegistry, SHAPE_SETS } from '../../src/bench/registry.js';
import { fmtNum, formatNotes, formatSideBySide, formatTable, reportHeader, rooflinePoints } from '../../src/bench/report.js';
import { geomean, quantileSorted, summarize } from '../../src/bench/stats.js';
import { conv2dBackwardInputF64, conv2dBackwardWeightF64, conv2dF64 } from '../../src/kernels/conv2d.js';
import { correlationCpu } from '../../src/kernels/correlation.js';
import { matmulCpu } from '../../src/kernels/matmul.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose } from '../helpers/gpu.js';

/** A timer that replays scripted sample times and counts what the harness did. */
class FakeTimer implements GpuTimer {
  begins = 0;
  runs = 0;
  private i = 0;
  constructor(
    private readonly script: number[],
    readonly hasTimestamps = true,
    private readonly sources: Array<TimedSample['source']> = [],
  ) {}
  async beginTimer(): Promise<void> {
    this.begins++;
  }
  async endTimer(): Promise<TimedSample> {
    const k = this.i++;
    return {
      ms: this.script[k % this.script.length],
      source: this.sources[k] ?? (this.hasTimestamps ? 'timestamp-query' : 'wall-clock'),
    };
  }
}

describe('statistics', () => {
  it('quantiles interpolate between order statistics', () => {
    const s = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(quantileSorted(s, 0)).toBe(1);
    expect(quantileSorted(s, 1)).toBe(10);
    expect(quantileSorted(s, 0.5)).toBeCloseTo(5.5);
    expect(quantileSorted(s, 0.1)).toBeCloseTo(1.9);
    expect(quantileSorted(s, 0.9)).toBeCloseTo(9.1);
    expect(quantileSorted([7], 0.9)).toBe(7);
    expect(() => quantileSorted([], 0.5)).toThrow(/empty/);
    expect(() => quantileSorted([1], 1.5)).toThrow(RangeError);
  });

  it('summarize sorts and reports median, p10, p90, mean, min, max', () => {
    const st = summarize([5, 1, 4, 2, 3]);
    expect(st).toMatchObject({ n: 5, medianMs: 3, minMs: 1, maxMs: 5, meanMs: 3 });
    expect(st.p10Ms).toBeCloseTo(1.4);
    expect(st.p90Ms).toBeCloseTo(4.6);
    expect(st.stdevMs).toBeCloseTo(Math.sqrt(2.5));
    expect(() => summarize([])).toThrow(RangeError);
    expect(geomean([1, 100])).toBeCloseTo(10);
  });
});

describe('measure() on a fake timer', () => {
  it('runs warm-up then one sample per repeat and summarises the timed ones only', async () => {
    // Two warm-up samples (100 ms, discarded), then the repeats.
    const timer = new FakeTimer([100, 100, 4, 1, 3, 2, 5]);
    let runs = 0;
    const m = await measure(
      timerSampler(timer, () => runs++),
      { warmup: 2, repeats: 5, minSampleMs: 0 },
    );
    expect(timer.begins).toBe(7);
    expect(runs).toBe(7);
    expect(m.samplesMs).toEqual([4, 1, 3, 2, 5]);
    expect(m.innerRuns).toBe(1);
    expect(m.source).toBe('timestamp-query');
    expect(m.stats.medianMs).toBe(3);
    expect(m.stats.p10Ms).toBeCloseTo(1.4);
    expect(m.stats.p90Ms).toBeCloseTo(4.6);
  });

  it('batches runs per sample when one run is shorter than minSampleMs, and reports per-run times', async () => {
    const timer = new FakeTimer([0.5, 2, 2, 2], false);
    let runs = 0;
    const m = await measure(
      timerSampler(timer, () => runs++),
      { warmup: 1, repeats: 3, minSampleMs: 2 },
    );
    expect(m.innerRuns).toBe(4);
    expect(runs).toBe(1 + 3 * 4);
    expect(m.samplesMs).toEqual([0.5, 0.5, 0.5]);
    expect(m.source).toBe('wall-clock');
  });

  it('stops at the time budget after at least one sample, and flags mixed timing sources', async () => {
    const timer = new FakeTimer([10], true, ['timestamp-query', 'wall-clock']);
    const m = await measure(
      timerSampler(timer, () => {}),
      { warmup: 0, repeats: 50, budgetMs: 15 },
    );
    expect(m.samplesMs).toEqual([10, 10]);
    expect(m.source).toBe('mixed');
  });

  it('warmupMs: after the warm-up runs, back-to-back runs at least that long in all (a GPU clocks up)', async () => {
    // One warm-up run of 2 ms, then 50 runs back to back (100 ms / 2 ms) in one sample, then the repeats.
    const timer = new FakeTimer([2, 100, 1, 1, 1]);
    let runs = 0;
    const m = await measure(
      timerSampler(timer, () => runs++),
      { warmup: 1, warmupMs: 100, repeats: 3 },
    );
    expect(timer.begins).toBe(5);
    expect(runs).toBe(1 + 50 + 3);
    expect(m.samplesMs).toEqual([1, 1, 1]);
    // Without warm-up runs, one run first to size it; the run count is capped.
    const t2 = new FakeTimer([0.001, 5, 3]);
    let runs2 = 0;
    const m2 = await measure(
      timerSampler(t2, () => runs2++),
      { warmup: 0, warmupMs: 1000, maxWarmupRuns: 7, repeats: 1 },
    );
    expect(runs2).toBe(1 + 7 + 1);
    expect(m2.samplesMs).toEqual([3]);
    // A GPU that clocks up: 5 ms per run at idle clocks, 1 ms once loaded. The 20 runs sized from
    // the idle run last 20 ms, not 100: 80 more runs follow before the repeats are timed.
    const t3 = new FakeTimer([5, 20, 80, 1, 1]);
    let runs3 = 0;
    const m3 = await measure(
      timerSampler(t3, () => runs3++),
      { warmup: 1, warmupMs: 100, repeats: 2 },
    );
    expect(runs3).toBe(1 + 20 + 80 + 2);
    expect(m3.samplesMs).toEqual([1, 1]);
    await expect(
      measure(
        timerSampler(t2, () => {}),
        { warmup: 0, warmupMs: -1, repeats: 1 },
      ),
    ).rejects.toThrow(/warmupMs/);
  });

  it('the sustained warm-up stops at its wall-clock cap when the runs are host-bound (GPU time accrues slowly)', async () => {
    // Each run: 0.001 ms of GPU time, 1 ms of wall. 50 ms of GPU time would take 50 s of wall.
    let runs = 0;
    const sampler = async (n: number): Promise<TimedSample> => {
      runs += n;
      await new Promise((r) => setTimeout(r, n));
      return { ms: n * 0.001, source: 'timestamp-query' };
    };
    const t0 = performance.now();
    await measure(sampler, { warmup: 1, warmupMs: 50, maxWarmupWallMs: 60, repeats: 1 });
    const wallMs = performance.now() - t0;
    expect(runs).toBeLessThan(200);
    expect(wallMs).toBeLessThan(1000);
  });

  it('rejects nonsense repeat counts', async () => {
    const timer = new FakeTimer([1]);
    await expect(
      measure(
        timerSampler(timer, () => {}),
        { warmup: 0, repeats: 0 },
      ),
    ).rejects.toThrow(/repeats/);
    await expect(
      measure(
        timerSampler(timer, () => {}),
        { warmup: -1, repeats: 1 },
      ),
    ).rejects.toThrow(/warmup/);
  });

  it("warmupMs reaches gpu.js's webgpu mode (a GPU baseline), not its CPU modes", async () => {
    const out = Float32Array.of(1, 2, 3);
    /** The sample sizes gpu.js's sampler was asked for: every run 1 ms. */
    const inners = async (mode: GpuJsMode) => {
      const asked: number[] = [];
      const g = {
        mode,
        label: `gpu.js(${mode})`,
        version: 'test',
        rejected: [],
        read: async () => out,
        release: () => {},
        sampler: () => async (inner: number) => (asked.push(inner), { ms: inner, source: 'wall-clock' as const }),
        dispose: async () => {},
      } as unknown as GpuJsBaseline;
      const k = { name: 'fake', gpujs: async () => ({ run: async () => out, teardown: () => {} }) } as unknown as BenchKernel;
      const r = await gpujsRunner(g, 1e12).run({
        k,
        shape: {},
        label: 'fake',
        kc: { run: () => {}, teardown: () => {} },
        cost: { flops: 1, bytes: 1 },
        tol: { atol: 0, rtol: 0 },
        oursOut: out,
        oursMedianMs: 1,
        warmup: 1,
        warmupMs: 40,
        repeats: 2,
        minSampleMs: 0,
        gpuBudgetMs: 1e6,
        cpuBudgetMs: 1e6,
        log: () => {},
      });
      expect(r.status, r.note).toBe('ok');
      return asked;
    };
    // One warm-up run, 40 runs back to back (40 ms), then two samples of 2 runs (gpu.js's 2 ms each).
    expect(await inners('webgpu')).toEqual([1, 40, 2, 2]);
    expect(await inners('webasm')).toEqual([1, 2, 2]);
  });
});

describe('peak table and roofline arithmetic', () => {
  it('finds datasheet peaks by adapter name, variants before families', () => {
    expect(lookupPeak('NVIDIA H100 80GB HBM3')).toMatchObject({ flopsPerS: 67e12, bytesPerS: 3.35e12, source: 'table' });
    expect(lookupPeak('NVIDIA H100 PCIe')?.bytesPerS).toBeCloseTo(2.0e12);
    expect(lookupPeak('NVIDIA H200')).toMatchObject({ flopsPerS: 67e12, bytesPerS: 4.8e12 });
    expect(lookupPeak('NVIDIA A100-SXM4-80GB')?.bytesPerS).toBeCloseTo(2.039e12);
    expect(lookupPeak('NVIDIA A100-PCIE-40GB')?.bytesPerS).toBeCloseTo(1.555e12);
    expect(lookupPeak('NVIDIA GeForce RTX 4090')?.flopsPerS).toBeCloseTo(82.6e12);
    expect(lookupPeak('nvidia-h100-pcie')?.name).toBe('NVIDIA H100 PCIe'); // Dawn's device slug
    expect(lookupPeak('llvmpipe: Mesa 25.0.7 (LLVM 15.0.6) llvmpipe-llvm-15-0-6-256-bits-')).toBeNull();
    expect(lookupPeak('SwiftShader Device (Subzero)')).toBeNull();
  });

  it('every row is reachable: its own name resolves to it, no earlier pattern shadows it', () => {
    const names = peakTableNames();
    expect(names.length).toBeGreaterThan(20);
    for (const name of names) expect(lookupPeak(name)?.name, name).toBe(name);
  });

  it('resolves the adapter descriptions drivers report to their own rows', () => {
    // [description, row, bandwidth TB/s]
    const cases: Array<[string, string, number]> = [
      ['NVIDIA H100', 'NVIDIA H100 SXM', 3.35],
      ['NVIDIA H100 80GB HBM3', 'NVIDIA H100 SXM', 3.35],
      ['NVIDIA H100 PCIe', 'NVIDIA H100 PCIe', 2.0],
      ['NVIDIA H200', 'NVIDIA H200 SXM', 4.8],
      ['NVIDIA GH200 480GB', 'NVIDIA GH200', 4.0],
      ['NVIDIA A100 80GB PCIe', 'NVIDIA A100 80GB PCIe', 1.935],
      ['NVIDIA L4', 'NVIDIA L4', 0.3],
      ['NVIDIA L40S', 'NVIDIA L40S', 0.864],
      ['Tesla T4', 'NVIDIA T4', 0.32],
      ['NVIDIA T4', 'NVIDIA T4', 0.32],
    ];
    for (const [desc, row, tbps] of cases) {
      expect(lookupPeak(desc)?.name, desc).toBe(row);
      expect(lookupPeak(desc)!.bytesPerS / 1e12, desc).toBeCloseTo(tbps);
    }
    // As resolvePeak asks: the description and Dawn's device slug together.
    expect(lookupPeak('NVIDIA GH200 480GB nvidia-gh200-480gb')?.name).toBe('NVIDIA GH200');
  });

  it('scores kernels against the roofline bound at their intensity', () => {
    const peak = { flopsPerS: 100e9, bytesPerS: 10e9 }; // ridge at 10 FLOP/B
    expect(rooflineFlopsPerS(peak, 1)).toBe(10e9);
    expect(rooflineFlopsPerS(peak, 1000)).toBe(100e9);
    // 1 GFLOP over 1 GB in 0.2 s: 5 GFLOP/s against a 10 GFLOP/s bandwidth bound.
    expect(percentOfPeak(peak, 1e9, 1e9, 0.2)).toBeCloseTo(50);
    // Compute bound: 50 GFLOP in 1 s = 50 %.
    expect(percentOfPeak(peak, 50e9, 1e6, 1)).toBeCloseTo(50);
    // A pure copy is scored on bandwidth.
    expect(percentOfPeak(peak, 0, 5e9, 1)).toBeCloseTo(50);
    expect(percentOfPeak(peak, 1, 1, 0)).toBeNaN();
  });
});

describe('registry', () => {
  it('every entry has a non-empty sweep for every shape set and positive work', () => {
    const reg = defaultRegistry();
    expect(reg.names()).toEqual(
      expect.arrayContaining(['matmul', 'correlation', 'depthwise', 'gate-dot', 'fitness-mix', 'fitness-mix-bwd', 'fma', 'copy']),
    );
    for (const k of reg.all()) {
      for (const set of SHAPE_SETS) expect(k.shapes[set].length, `${k.name}/${set}`).toBeGreaterThan(0);
    }
  });

  it("correlation's A/B rows: the matmul Gram beside the symmetric one, each with the FLOPs it runs", () => {
    const k = defaultRegistry().get('correlation');
    const labels = k.shapes.large.map((sh) => k.label!(sh));
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels).toEqual(expect.arrayContaining(['32x64x16384', '32x64x16384 matmul-gram', '15x64x16384 matmul-gram']));
    const [B, N, D] = [32, 64, 16384];
    const norm = 8 * B * N * D;
    expect(k.cost({ B, N, D, gram: 0 }).flops).toBe(2 * B * N * N * D + norm);
    expect(k.cost({ B, N, D }).flops).toBe(B * N * (N + 4) * D + norm);
    expect(k.cost({ B, N, D }).bytes).toBe(k.cost({ B, N, D, gram: 0 }).bytes);
  });

  it('rejects duplicates and names the available kernels for an unknown one', () => {
    const reg = defaultRegistry();
    expect(() => reg.add(reg.get('matmul'))).toThrow(/twice/);
    expect(() => reg.get('nope')).toThrow(/unknown benchmark kernel 'nope'.*matmul/);
    expect(new KernelRegistry().names()).toEqual([]);
  });
});

describe('CPU baselines vs the f64 references', () => {
  const mm: Array<[number, number, number, number]> = [
    [1, 1, 1, 1],
    [1, 7, 13, 5],
    [3, 31, 37, 41],
    [1, 130, 300, 259], // crosses the k- and j-blocks
  ];
  for (const [batch, M, N, K] of mm) {
    it(`matmulCpuBlocked b=${batch} ${M}x${N}x${K}`, () => {
      const rng = new Rng(M + N + K);
      const a = rng.normals(batch * M * K);
      const b = rng.normals(batch * K * N);
      const got = matmulCpuBlocked(a, b, M, N, K, batch);
      expectClose(got, matmulCpu(a, [batch, M, K], b, [batch, K, N]), { atol: 1e-5 * K, label: 'C' });
    });
  }

  it('matmulCpuBlocked broadcasts with a zero stride and rejects short operands', () => {
    const rng = new Rng(9);
    const a = rng.normals(2 * 3 * 4);
    const w = rng.normals(4 * 5);
    const got = matmulCpuBlocked(a, w, 3, 5, 4, 2, undefined, { b: 0 });
    expectClose(got, matmulCpu(a, [2, 3, 4], w, [4, 5]), { atol: 1e-5 });
    expect(() => matmulCpuBlocked(a, w, 3, 5, 40, 2)).toThrow(ShapeError);
  });

  it('correlationCpuFast matches correlationCpu, constant rows included', () => {
    const [B, N, D] = [2, 9, 37];
    const rng = new Rng(3);
    const x = rng.normals(B * N * D).map((v, i) => v + (((i / D) | 0) % 3));
    x.fill(2.5, 4 * D, 5 * D); // a constant row: correlates 0
    const got = correlationCpuFast(x, B, N, D);
    expectClose(got, correlationCpu(x, B, N, D), { atol: 1e-5, label: 'C' });
    expect(got[4 * N + 4]).toBe(1);
    expect(got[4 * N + 2]).toBe(0);
    expect(() => correlationCpuFast(x, B, N, D + 1)).toThrow(ShapeError);
  });

  const convs: ConvGeom[] = [
    { N: 1, Cin: 1, H: 1, W: 1, Cout: 1, KH: 1, KW: 1, stride: 1, pad: 0 },
    { N: 2, Cin: 3, H: 9, W: 7, Cout: 5, KH: 3, KW: 3, stride: 1, pad: 1 },
    { N: 3, Cin: 4, H: 11, W: 10, Cout: 2, KH: 3, KW: 3, stride: 2, pad: 1 },
    { N: 1, Cin: 5, H: 8, W: 8, Cout: 7, KH: 5, KW: 5, stride: 3, pad: 2 },
    { N: 2, Cin: 6, H: 5, W: 5, Cout: 3, KH: 1, KW: 1, stride: 2, pad: 0 },
  ];
  for (const g of convs) {
    it(`im2col conv2d fwd/bwd N${g.N} ${g.Cin}->${g.Cout} ${g.H}x${g.W} k${g.KH} s${g.stride} p${g.pad}`, () => {
      const rng = new Rng(g.Cin * 100 + g.H);
      const xShape = [g.N, g.Cin, g.H, g.W];
      const wShape = [g.Cout, g.Cin, g.KH, g.KW];
      const p = { stride: g.stride, pad: g.pad };
      const x = rng.normals(g.N * g.Cin * g.H * g.W);
      const w = rng.normals(g.Cout * g.Cin * g.KH * g.KW);
      const y = conv2dCpuFast(x, w, g);
      expectClose(y, conv2dF64(x, xShape, w, wShape, p), { atol: 1e-4, label: 'y' });
      const dy = rng.normals(y.length);
      expectClose(conv2dBackwardInputCpuFast(dy, w, g), conv2dBackwardInputF64(dy, w, wShape, xShape, p), {
        atol: 1e-4,
        label: 'dx',
      });
      expectClose(conv2dBackwardWeightCpuFast(x, dy, g), conv2dBackwardWeightF64(x, xShape, dy, wShape, p), {
        atol: 1e-4,
        label: 'dw',
      });
    });
  }

  it('im2col conv rejects a kernel larger than the padded image', () => {
    const g = { N: 1, Cin: 1, H: 2, W: 2, Cout: 1, KH: 5, KW: 5, stride: 1, pad: 0 };
    expect(() => conv2dCpuFast(new Float32Array(4), new Float32Array(25), g)).toThrow(ShapeError);
  });

  it('compareOutputs reports the worst error and NaNs as failures', () => {
    expect(compareOutputs([1, 2, 3], [1, 2.5, 3], { atol: 0.1, rtol: 0 })).toEqual({ ok: false, maxAbsErr: 0.5 });
    expect(compareOutputs([1, 2], [1, 2.001], { atol: 0, rtol: 1e-3 }).ok).toBe(true);
    expect(compareOutputs([NaN], [1], { atol: 1, rtol: 1 })).toEqual({ ok: false, maxAbsErr: Infinity });
    expect(compareOutputs([1], [1, 2], { atol: 1, rtol: 1 }).ok).toBe(false);
  });
});

describe('report formatting', () => {
  const report: BenchReport = {
    tool: 'wgnas bench',
    date: '2025-01-01T00:00:00.000Z',
    adapter: { name: 'Fake GPU <1>', vendor: 'x', architecture: 'y', isSoftware: false },
    timing: 'timestamp-query',
    peak: { flopsPerS: 1e12, bytesPerS: 1e11, source: 'table', name: 'Fake', gflops: 1000, gbps: 100 },
    options: { shapes: 'tiny', warmup: 1, repeats: 3, baselines: ['tfjs-webgpu', 'gpujs', 'onednn', 'cpu'] },
    where: { ours: 'here', 'tfjs-webgpu': 'there', gpujs: 'gpu.js 2.24.1 in webgpu mode', onednn: 'oneDNN', cpu: 'cpu' },
    labels: { 'tfjs-webgpu': 'tfjs-webgpu', gpujs: 'gpu.js(webgpu)', onednn: 'oneDNN(1t)', cpu: 'cpu' },
    results: [
      {
        kernel: 'matmul',
        shape: { batch: 1, M: 2, N: 2, K: 2 },
        label: '2x2x2',
        flops: 16,
        bytes: 48,
        intensity: 1 / 3,
        ours: {
          medianMs: 2,
          p10Ms: 1,
          p90Ms: 3,
          meanMs: 2,
          minMs: 1,
          samples: 3,
          innerRuns: 1,
          gflops: 8e-6,
          gbps: 2.4e-5,
          pctPeak: 1e-5,
          timing: 'timestamp-query',
        },
        baselines: {
          'tfjs-webgpu': { status: 'ok', medianMs: 4, gflops: 4e-6, gbps: 1.2e-5, speedup: 2 },
          gpujs: { status: 'ok', label: 'gpu.js(webgpu)', medianMs: 6, gflops: 2e-6, gbps: 0.8e-5, speedup: 3 },
          onednn: {
            status: 'ok',
            label: 'oneDNN(1t)',
            medianMs: 1,
            gflops: 16e-6,
            speedup: 0.5,
            estimate: true,
            note: 'estimate: mapped',
          },
          cpu: { status: 'skipped', note: 'too big' },
        },
      },
      {
        kernel: 'correlation',
        shape: { B: 1 },
        label: 'huge',
        flops: NaN,
        bytes: NaN,
        intensity: NaN,
        error: 'out of memory',
        baselines: {},
      },
    ],
  };

  it('states adapter, date and timing source in the header; ratios and failures in the table', () => {
    const h = reportHeader(report);
    expect(h).toMatch(/adapter: Fake GPU <1>/);
    expect(h).toMatch(/2025-01-01/);
    expect(h).toMatch(/timing: timestamp-query/);
    const t = formatTable(report);
    const lines = t.trim().split('\n');
    // One ratio column per baseline, labelled with what ran (gpu.js mode, oneDNN threads).
    expect(lines[0]).toMatch(
      /kernel\s+shape\s+median ms\s+p10 ms\s+p90 ms\s+GFLOP\/s\s+GB\/s\s+%peak\s+vs tfjs-webgpu\s+vs gpu\.js\(webgpu\)\s+vs oneDNN\(1t\)\s+vs cpu/,
    );
    // Estimates are marked with ~.
    expect(lines[2]).toMatch(/matmul\s+2x2x2\s+2\.00\s+1\.00\s+3\.00 .*2\.00x\s+3\.00x\s+~0\.500x\s+skip$/);
    expect(h).toMatch(/gpu\.js\(webgpu\): gpu\.js 2\.24\.1 in webgpu mode/);
    expect(formatNotes(report)).toMatch(/oneDNN\(1t\) matmul: estimate: mapped/);
    expect(lines[3]).toMatch(/failed: out of memory/);
    expect(formatTable(report, { markdown: true })).toMatch(/^\| kernel \| shape \|/);
    expect(formatSideBySide(report)).toMatch(
      /GFLOP\/s ours\s+GFLOP\/s tfjs-webgpu\s+GFLOP\/s gpu\.js\(webgpu\)\s+GFLOP\/s oneDNN\(1t\)\s+GFLOP\/s cpu/,
    );
  });

  it('roofline points: ours plus every baseline that produced numbers', () => {
    const pts = rooflinePoints(report);
    expect(pts.map((p) => p.series)).toEqual(['ours', 'tfjs-webgpu', 'gpu.js(webgpu)', 'oneDNN(1t)']);
  });

  it('notes: one line per reason, naming its rows, or every row when it is all of them', () => {
    const row = (kernel: string, label: string, baselines: BenchReport['results'][number]['baselines']) =>
      ({ ...report.results[0], kernel, label, baselines }) as BenchReport['results'][number];
    const gone = { status: 'skipped', note: 'no GPU' } as const;
    const r: BenchReport = {
      ...report,
      results: [
        row('matmul', 'a', { 'tfjs-webgpu': gone, cpu: { status: 'skipped', note: 'too big' } }),
        row('matmul', 'b', { 'tfjs-webgpu': gone, cpu: { status: 'ok', medianMs: 1, speedup: 1 } }),
        row('conv2d', 'c', { 'tfjs-webgpu': gone, cpu: { status: 'skipped', note: 'too big' } }),
      ],
    };
    expect(formatNotes(r)).toBe(
      'note: tfjs-webgpu (every row, 3): skipped: no GPU\n' + 'note: cpu matmul a, conv2d c: skipped: too big\n',
    );
  });

  it('fmtNum keeps three significant digits', () => {
    expect(fmtNum(1234.5)).toBe('1235');
    expect(fmtNum(12.345)).toBe('12.3');
    expect(fmtNum(3.14159)).toBe('3.14');
    expect(fmtNum(0.01234)).toBe('0.0123');
    expect(fmtNum(1.5e-5)).toBe('1.50e-5');
    expect(fmtNum(undefined)).toBe('-');
    expect(fmtNum(NaN)).toBe('-');
  });
});

describe('a measured roofline is raised to what the kernels reached', () => {
  const result = (flops: number, bytes: number, medianMs: number): BenchResult =>
    ({
      kernel: 'k',
      shape: {},
      label: 'l',
      flops,
      bytes,
      intensity: flops / bytes,
      baselines: {},
      ours: { medianMs, gflops: flops / medianMs / 1e6, gbps: bytes / medianMs / 1e6, pctPeak: NaN, timing: 'wall-clock' },
    }) as BenchResult;

  it('raises FLOP/s for a compute-bound kernel above it and bandwidth for a memory-bound one, then no % exceeds 100', () => {
    const peak: Peak = { flopsPerS: 100e9, bytesPerS: 10e9, source: 'calibrated', name: 'cpu' };
    // 150 GFLOP/s at intensity 1000 (compute-bound); 20 GB/s at intensity 0.25 (memory-bound); one below both.
    const rs = [result(150e9, 0.15e9, 1000), result(5e9, 20e9, 1000), result(50e9, 0.05e9, 1000)];
    const note = raiseMeasuredRoofline(peak, rs);
    expect(note).toMatch(/raised to the best rates/);
    expect(peak.flopsPerS).toBeCloseTo(150e9, -3);
    expect(peak.bytesPerS).toBeCloseTo(20e9, -3);
    expect(rs.map((r) => r.ours!.pctPeak)).toEqual([expect.closeTo(100, 9), expect.closeTo(100, 9), expect.closeTo(100 / 3, 9)]);
  });

  it('leaves a datasheet peak and a roofline nothing beat alone', () => {
    const table: Peak = { flopsPerS: 100e9, bytesPerS: 10e9, source: 'table', name: 'NVIDIA H200' };
    expect(raiseMeasuredRoofline(table, [result(150e9, 0.15e9, 1000)])).toBeNull();
    expect(table.flopsPerS).toBe(100e9);
    const measured: Peak = { flopsPerS: 100e9, bytesPerS: 10e9, source: 'calibrated', name: 'cpu' };
    expect(raiseMeasuredRoofline(measured, [result(50e9, 0.05e9, 1000)])).toBeNull();
    expect(measured).toEqual({ flopsPerS: 100e9, bytesPerS: 10e9, source: 'calibrated', name: 'cpu' });
  });
});
