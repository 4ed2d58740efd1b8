/**
 * The device suite end to end at CI size on lavapipe: the esbuild bundles the GPU machine runs (the
 * CLI, the ProxylessNAS step benchmark and the ImageNet-folder benchmark), every step of
 * scripts/device-suite.sh (wgnas train's too), and the summary.
 * Grouped and ungrouped scoring must agree. The suite finds CIFAR-10 as a user's run does: where no
 * data root has it (a clone without ../shared/data, or WGNAS_SHARED_DATA_DIR=none), on the tracked fixture.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sharedDataDir } from '../../src/data/paths.js';

const root = resolve(__dirname, '..', '..');
// Inside the repo (ignored) so the bundle resolves the external 'webgpu' from node_modules.
const work = join(root, '.scratch', `device-suite-${process.pid}`);

describe('device suite (SUITE_SIZE=tiny)', () => {
  // Every step of the suite on lavapipe: ~5 minutes on 2 cores, more on a shared machine.
  it('bundles the CLI and the two benchmarks, runs every step and writes a summary', { timeout: 900_000 }, () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      const bundle = join(work, 'wgnas.mjs');
      const stepBundle = join(work, 'proxyless-step.mjs');
      const imagenetBundle = join(work, 'imagenet-folder.mjs');
      execFileSync('bash', ['scripts/device-bundle.sh', bundle, stepBundle, imagenetBundle], { cwd: root, stdio: 'pipe' });
      const out = join(work, 'out');
      // Not the tests' own data root (test/setup/data-roots.ts): the suite's lookup, on an empty user cache.
      const env: NodeJS.ProcessEnv = { ...process.env };
      delete env.WGNAS_DATA_DIR;
      const shared = sharedDataDir();
      const clone = shared === null || !existsSync(join(shared, 'cifar10'));
      execFileSync('bash', ['scripts/device-suite.sh'], {
        cwd: root,
        stdio: 'pipe',
        env: {
          ...env,
          SUITE_SIZE: 'tiny',
          OUT: out,
          WGNAS_CLI: `node ${bundle}`,
          WGNAS_PROXYLESS_STEP: `node ${stepBundle}`,
          WGNAS_IMAGENET_BENCH: `node ${imagenetBundle}`,
          WGNAS_SHADER_DIR: join(root, 'shaders'),
          WGNAS_CACHE_DIR: join(work, 'cache'),
        },
      });
      const log = readFileSync(join(out, 'suite.log'), 'utf8');
      expect(log).toMatch(/done, 0 failed step\(s\)/);
      const fixture = `no CIFAR-10 in the data roots (wgnas data list): WGNAS_DATA_DIR=${root}/test/fixtures/cifar10-mini,`;
      expect(log.includes(fixture), log).toBe(clone);
      const info = JSON.parse(readFileSync(join(out, 'info.json'), 'utf8'));
      expect(info.adapter.features).toContain('timestamp-query');
      expect(info.adapter.adapterFeatures.length).toBeGreaterThanOrEqual(info.adapter.features.length);
      const rows = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n').slice(1);
      expect(rows('score-all.csv')).toHaveLength(5);
      expect(rows('score-group1.csv')).toHaveLength(3);
      // --procs 2: four cells from two processes, each architecture's WRCor the one-process run's.
      expect(rows('score-procs.csv')).toHaveLength(4);
      const wrcorOf = (f: string) => new Map(rows(f).map((l) => [l.split(',')[0], l.split(',')[1]]));
      const one = wrcorOf('score-all.csv');
      const common = [...wrcorOf('score-procs.csv')].filter(([a]) => one.has(a));
      expect(common.length).toBeGreaterThan(0);
      for (const [a, w] of common) expect(w, a).toBe(one.get(a));
      // --group-mode stacked on the same five cells: the separate groups' WRCor within float rounding.
      const stacked = wrcorOf('score-stacked.csv');
      expect([...stacked.keys()]).toEqual([...one.keys()]);
      for (const [a, w] of stacked) {
        const want = Number(one.get(a));
        if (Number.isFinite(want)) expect(Math.abs(Number(w) - want), a).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want)));
        else expect(Number(w), a).toBe(want);
      }
      // The profiled run: 3 cells in groups of 2, the first group a warm-up, the last cell timed by kernel.
      expect(rows('score-profile.csv')).toHaveLength(3);
      const kp = JSON.parse(readFileSync(join(out, 'kernel-profile.json'), 'utf8'));
      expect(kp.archs).toBe(1);
      expect(kp.settings.warmupArchs).toBe(2);
      expect(kp.profile.clock).toBe('gpu-timestamps');
      expect(kp.profile.kernels.map((k: { kernel: string }) => k.kernel)).toContain('correlation.wgsl:row_stats');
      const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8'));
      const kernels = new Set(bench.results.map((r: { kernel: string }) => r.kernel));
      for (const k of ['matmul', 'correlation', 'conv2d', 'fma', 'copy']) expect(kernels).toContain(k);
      expect(bench.results.filter((r: { error?: string }) => r.error)).toEqual([]);
      expect(existsSync(join(out, 'roofline.svg'))).toBe(true);
      // lavapipe exposes shader-f16: the f16 kernels ran next to the f32 matmul; it has no subgroup
      // matrices, so the tensor-core entries are refused in one line (a GPU with them runs them).
      const f16 = JSON.parse(readFileSync(join(out, 'bench-f16.json'), 'utf8'));
      expect(new Set(f16.results.map((r: { kernel: string }) => r.kernel))).toEqual(
        new Set(['matmul', 'matmul-f16', 'matmul-sgmat', 'matmul-sgmat-staged']),
      );
      for (const r of f16.results as Array<{ kernel: string; error?: string }>) {
        if (r.kernel.startsWith('matmul-sgmat')) expect(r.error).toMatch(/does not offer chromium-experimental-subgroup-matrix/);
        else expect(r.error).toBeUndefined();
      }
      // The batch norm A/B: both widths, and each plan at 256, on the same shapes, each case with the
      // plan it ran (N5 C2 64x64, 20480 per channel: 2 chunks at 64; 5 at 256 auto and single, 20 split).
      const runs: Array<[string, number, string, number[]]> = [
        ['64', 64, 'auto', [1, 2]],
        ['256', 256, 'auto', [1, 5]],
        ['256-single', 256, 'single', [1, 5]],
        ['256-split', 256, 'split', [1, 20]],
      ];
      for (const [run, wg, plan, chunks] of runs) {
        const bn = JSON.parse(readFileSync(join(out, `bench-bn-${run}.json`), 'utf8'));
        expect(bn.results.map((r: { kernel: string; label: string }) => `${r.kernel} ${r.label}`)).toEqual([
          'batchnorm N2 C3 7x7',
          'batchnorm N5 C2 64x64',
          'batchnorm-bwd N2 C3 7x7',
          'batchnorm-bwd N5 C2 64x64',
        ]);
        for (const r of bn.results) expect(r.error).toBeUndefined();
        const small = { wg, plan, chunks: chunks[0], kernels: plan === 'split' ? 2 : 1 };
        const big = { wg, plan, chunks: chunks[1], kernels: 2 };
        expect(bn.results.map((r: { config: unknown }) => r.config)).toEqual([small, big, small, big]);
      }
      const summary = readFileSync(join(out, 'summary.md'), 'utf8');
      expect(summary).toMatch(/\| all cells, --group 2 \| 5 \|/);
      expect(summary).toMatch(/\| --group 1 \(parity\) \| 3 \|/);
      expect(summary).toMatch(/\| --procs 2, --sample 4, other cells than score-all's \| 4 \|/);
      expect(summary).toMatch(/\| --group 2 --group-mode stacked, the same cells \| 5 \|/);
      expect(summary).toMatch(/Stacked vs separate groups' WRCor and wrcor_stage on the 5 common cells/);
      expect(summary).toMatch(/\| matmul-f16 \| 64x64x64 \| [\d.]+ \| [\d.]+x \|/);
      expect(summary).toMatch(
        /\| batchnorm \| N5 C2 64x64 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \((?:64|256 \w+)\) \| [\d.]+x \| [\d.]+x \| 2x2 \/ 5x2 \/ 5x2 \/ 20x2 \|/,
      );
      expect(summary).toMatch(/\| ProxylessNAS supernet weight step \(one fixed path\) \| [\d.]+ \| [\d.]+ \| [\d.]+x \|/);
      expect(summary).toMatch(/\| AutoSpace step \(weight \+ fitness, mean\) \| [\d.]+ \|/);
      // The ImageNet-layout methods at 224, one row each at batch 1, tabled in the summary.
      const img = JSON.parse(readFileSync(join(out, 'imagenet-folder.json'), 'utf8'));
      expect(img.size).toBe(224);
      expect(img.rows.map((r: { method: string; batch: number }) => `${r.method} ${r.batch}`)).toEqual([
        'proxyless 1',
        'evolve 1',
        'zeroshot 1',
      ]);
      for (const r of img.rows) {
        expect(r.imagesPerSecond).toBeGreaterThan(0);
        expect(r.peakTensorBytes).toBeGreaterThan(0);
      }
      expect(summary).toMatch(/\| evolve \| 1 \| [\d.]+ \| [\d.]+ \| \d+ \| \d+ \|/);
      // wgnas train: 2 epochs of 2 steps at batch 8 on 16 images of the bundled subset; only its report is kept.
      const trained = JSON.parse(readFileSync(join(out, 'train-report.json'), 'utf8'));
      expect(trained.network).toMatch(/^NAS-Bench-201 \|nor_conv_3x3~0\|.* \(C=8, N=1, 10 classes, 32x32\)$/);
      expect(trained.schedule.stepsPerEpoch).toBe(2);
      expect(trained.history).toHaveLength(2);
      for (const e of trained.history) {
        expect(e.seconds).toBeGreaterThan(0);
        expect(Number.isFinite(e.trainLoss)).toBe(true);
      }
      expect(existsSync(join(out, 'train'))).toBe(false);
      expect(readFileSync(join(out, 'train.log'), 'utf8')).toMatch(/\nepoch 2\/2: /);
      const ips = (2 * 8) / trained.history[1].seconds;
      const row = summary.match(/\n\| 8 \| 2 \| 2 of 2 \| [\d.]+ \| ([\d.]+) \| 8 \|\n/)!;
      expect(row, summary).not.toBeNull();
      expect(Number(row[1])).toBeCloseTo(ips, 0);
      expect(summary).toMatch(/## Where a WRCor cell's time goes \(1 cell after 2 warm-up, group 2, batch 8; gpu-timestamps\)/);
      expect(summary).toMatch(/\| correlation\.wgsl:row_stats \| [\d.]+ \| [\d.]+ \|/);
      // The ungrouped run scored the first cells of the grouped one: the same scores.
      const m = summary.match(/on the (\d+) common cells: largest relative difference (\d\.\d+e[+-]\d+)/)!;
      expect(Number(m[1])).toBe(3);
      expect(Number(m[2])).toBeLessThan(1e-9);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
