import { onGpu } from '../helpers/backend.js';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu } from '../../src/gpu/index.js';
import { benchCommand, run, summary } from '../../src/cli/commands/bench.js';
import { runBench } from '../../src/bench/harness.js';
import { matmulBench } from '../../src/bench/kernels/matmul.js';
import type { BenchKernel } from '../../src/bench/registry.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wgnas-bench-'));
  process.env.WGNAS_CACHE_DIR = dir; // never read the user's autotune cache
  gpu = await testGpu();
});

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) } };
}

describe('wgnas bench end to end (tiny shapes, numbers not asserted)', () => {
  it('matmul --shapes tiny --repeats 2 --baselines none returns timings, table, JSON and SVG', async ({ skip }) => {
    if (!gpu) return skip();
    const json = join(dir, 'r.json');
    const svg = join(dir, 'r.svg');
    const c = capture();
    const report = await benchCommand(
      ['matmul', '--shapes', 'tiny', '--repeats', '2', '--warmup', '1', '--baselines', 'none', '--json', json, '--svg', svg],
      {
        gpu,
        ...c.io,
      },
    );
    expect(report).not.toBeNull();
    expect(report!.results.length).toBe(2);
    for (const r of report!.results) {
      expect(r.kernel).toBe('matmul');
      expect(r.error).toBeUndefined();
      expect(r.ours!.samples).toBe(2);
      expect(r.ours!.medianMs).toBeGreaterThan(0);
      expect(r.ours!.p10Ms).toBeLessThanOrEqual(r.ours!.p90Ms);
      expect(Number.isFinite(r.ours!.gflops)).toBe(true);
      expect(Number.isFinite(r.ours!.gbps)).toBe(true);
      expect(Number.isFinite(r.ours!.pctPeak)).toBe(true);
      expect(r.baselines).toEqual({});
    }
    expect(['timestamp-query', 'wall-clock', 'mixed']).toContain(report!.timing);
    const text = c.out.join('');
    expect(text).toContain(`adapter: ${gpu.name}`);
    expect(text).toMatch(/timing: /);
    expect(text).toMatch(/kernel\s+shape\s+median ms/);
    expect(text).toMatch(/matmul\s+64x64x64\s+[\d.]+/);
    const saved = JSON.parse(readFileSync(json, 'utf8'));
    expect(saved.results[0].ours.medianMs).toBe(report!.results[0].ours!.medianMs);
    expect(readFileSync(svg, 'utf8').match(/class="point"/g)).toHaveLength(2);
  });

  it('tfjs (same device) and CPU baselines pass their parity guards and give ratios', async ({ skip }) => {
    if (!gpu) return skip();
    const c = capture();
    const report = await benchCommand(
      ['matmul', 'correlation', '--shapes', 'tiny', '--repeats', '2', '--warmup', '1', '--baselines', 'tfjs,cpu', '--quiet'],
      {
        gpu,
        ...c.io,
      },
    );
    for (const r of report!.results) {
      for (const name of ['tfjs-webgpu', 'cpu'] as const) {
        const b = r.baselines[name]!;
        expect(b.status, `${name} ${r.kernel} ${r.label}: ${b.note}`).toBe('ok');
        expect(b.speedup! > 0).toBe(true);
        expect(b.medianMs! > 0).toBe(true);
      }
    }
    // Small outputs: the tfjs guard ran on every shape.
    for (const r of report!.results) expect(r.baselines['tfjs-webgpu']!.parityMaxAbsErr! < 1e-3).toBe(true);
    expect(report!.where['tfjs-webgpu']).toMatch(/same Dawn device/);
    expect(c.out.join('')).toMatch(/vs tfjs-webgpu\s+vs cpu/);
    expect(c.err).toEqual([]);
  });

  it('conv2d forward and backward entries agree with tfjs (NHWC) and the CPU, dense and depthwise', async ({ skip }) => {
    if (!gpu) return skip();
    const c = capture();
    const report = await benchCommand(
      [
        'conv2d',
        'conv2d-bwd-input',
        'conv2d-bwd-weight',
        '--shapes',
        'tiny',
        '--repeats',
        '1',
        '--warmup',
        '0',
        '--baselines',
        'tfjs-webgpu,cpu',
        '--quiet',
      ],
      {
        gpu,
        ...c.io,
      },
    );
    expect(report!.results).toHaveLength(6);
    for (const r of report!.results) {
      expect(r.error).toBeUndefined();
      for (const name of ['tfjs-webgpu', 'cpu'] as const) {
        const b = r.baselines[name]!;
        expect(b.status, `${name} ${r.kernel} ${r.label}: ${b.note}`).toBe('ok');
        expect(b.parityMaxAbsErr).toBeDefined();
      }
    }
  });

  it('parity guards catch a baseline that computes something else, and skip timing it', async ({ skip }) => {
    if (!gpu) return skip();
    const wrong: BenchKernel = {
      ...matmulBench,
      name: 'matmul-wrong-baselines',
      tfjs(tf, shape, inputs) {
        const tc = matmulBench.tfjs!(tf, shape, inputs);
        return { run: () => tf.tidy(() => tc.run().add(0.01)), teardown: tc.teardown };
      },
      cpu(shape, inputs) {
        const cc = matmulBench.cpu!(shape, inputs);
        return { run: cc.run, output: () => Array.from(cc.output(), (v, i) => (i === 3 ? v + 1 : v)) };
      },
    };
    const report = await runBench(onGpu(gpu), {
      kernels: [wrong],
      shapes: 'tiny',
      warmup: 0,
      repeats: 1,
      baselines: ['tfjs-webgpu', 'cpu'],
      peak: { flopsPerS: 1e9, bytesPerS: 1e9, source: 'table', name: 'test' },
    });
    const [first, second] = report.results;
    expect(first.ours!.medianMs).toBeGreaterThan(0);
    expect(first.baselines['tfjs-webgpu']).toMatchObject({ status: 'parity-failed' });
    expect(first.baselines['tfjs-webgpu']!.medianMs).toBeUndefined();
    expect(first.baselines['tfjs-webgpu']!.note).toMatch(/tfjs-webgpu differs from ours/);
    // Once failed, tfjs is not timed on the kernel's other shapes either.
    expect(second.baselines['tfjs-webgpu']).toMatchObject({ status: 'parity-failed' });
    expect(first.baselines.cpu).toMatchObject({ status: 'parity-failed' });
    expect(first.baselines.cpu!.parityMaxAbsErr).toBeCloseTo(1, 3);
  });

  it('rejects bad arguments with clear messages, and prints help', async () => {
    const c = capture();
    await expect(benchCommand(['nope', '--baselines', 'none'], c.io)).rejects.toThrow(/unknown benchmark kernel 'nope'/);
    await expect(benchCommand(['--shapes', 'huge'], c.io)).rejects.toThrow(/--shapes must be one of/);
    await expect(benchCommand(['--baselines', 'tfjs,numpy'], c.io)).rejects.toThrow(/unknown baseline 'numpy'/);
    await expect(benchCommand(['--bogus'], c.io)).rejects.toThrow(/bogus/);
    expect(await benchCommand(['--help'], c.io)).toBeNull();
    expect(c.out.join('')).toMatch(/usage: wgnas bench/);
    expect(typeof summary).toBe('string');
    expect(typeof run).toBe('function');
  });
});
