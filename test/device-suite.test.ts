/**
 * The device suite end to end at CI size on lavapipe: the esbuild bundle the GPU machine runs, every
 * step of scripts/device-suite.sh, and the summary. Grouped and ungrouped scoring must agree.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
// Inside the repo (ignored) so the bundle resolves the external 'webgpu' from node_modules.
const work = join(root, '.scratch', `device-suite-${process.pid}`);

describe('device suite (SUITE_SIZE=tiny)', () => {
  it('bundles the CLI, runs every step and writes a summary', () => {
    rmSync(work, { recursive: true, force: true });
    mkdirSync(work, { recursive: true });
    try {
      const bundle = join(work, 'wgnas.mjs');
      execFileSync('bash', ['scripts/device-bundle.sh', bundle], { cwd: root, stdio: 'pipe' });
      const out = join(work, 'out');
      execFileSync('bash', ['scripts/device-suite.sh'], {
        cwd: root,
        stdio: 'pipe',
        env: { ...process.env, SUITE_SIZE: 'tiny', OUT: out, WGNAS_CLI: `node ${bundle}`, WGNAS_SHADER_DIR: join(root, 'shaders') },
      });
      const log = readFileSync(join(out, 'suite.log'), 'utf8');
      expect(log).toMatch(/done, 0 failed step\(s\)/);
      const info = JSON.parse(readFileSync(join(out, 'info.json'), 'utf8'));
      expect(info.adapter.features).toContain('timestamp-query');
      expect(info.adapter.adapterFeatures.length).toBeGreaterThanOrEqual(info.adapter.features.length);
      const rows = (f: string) => readFileSync(join(out, f), 'utf8').trim().split('\n').slice(1);
      expect(rows('score-group1.csv')).toHaveLength(3);
      expect(rows('score-group2.csv')).toHaveLength(4);
      const bench = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8'));
      const kernels = new Set(bench.results.map((r: { kernel: string }) => r.kernel));
      for (const k of ['matmul', 'correlation', 'conv2d', 'fma', 'copy']) expect(kernels).toContain(k);
      expect(bench.results.filter((r: { error?: string }) => r.error)).toEqual([]);
      expect(existsSync(join(out, 'roofline.svg'))).toBe(true);
      const summary = readFileSync(join(out, 'summary.md'), 'utf8');
      expect(summary).toMatch(/\| --group 2 \| 4 \|/);
      // Same seed and sampler: the 3 ungrouped cells are the first grouped ones, with the same scores.
      const worst = Number(summary.match(/largest relative difference (\d\.\d+e[+-]\d+)/)![1]);
      expect(worst).toBeLessThan(1e-9);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
});
