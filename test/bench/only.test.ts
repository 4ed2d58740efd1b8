/** `wgnas bench --only LABELS`: one or two shapes of a sweep (the device suite's large f16 run), a typo named with the labels there are. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

describe('bench --only', () => {
  it('runs only the shapes named, and refuses a label no shape has', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const args = ['bench', 'matmul', '--device', 'cpu', '--cpu-threads', '2', '--shapes', 'tiny', '--baselines', 'none'];
    const r = await wgnasInProcess([...args, '--only', '64x64x64', '--repeats', '2', '--warmup', '0', '--quiet']);
    expect(r.code, r.err).toBe(0);
    const rows = r.out.split('\n').filter((l) => l.startsWith('matmul '));
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatch(/^matmul\s+64x64x64\s/);
    // Each label is checked: one typo among good labels is refused too.
    const bad = await wgnasInProcess([...args, '--only', '64x64x64,65x65x65']);
    expect(bad.code).toBe(2);
    expect(bad.err.trim()).toBe('wgnas bench: --only 65x65x65: no shape of --shapes tiny has that label (64x64x64, b2 33x47x29)');
    // Without --shapes, --device cpu takes the small sweep: its labels alone, not the GPU's default ones.
    const cpu = await wgnasInProcess(['bench', 'correlation', '--device', 'cpu', '--only', '1x1x1']);
    expect(cpu.code).toBe(2);
    expect(cpu.err.trim()).toBe('wgnas bench: --only 1x1x1: no shape of --shapes small has that label (1x64x1024, 4x64x4096)');
  });
});

describe('bench --only and the kernels named', () => {
  it('refuses, before any work, a named kernel none of whose shapes --only names', async () => {
    const r = await wgnasInProcess([
      'bench',
      'matmul',
      'correlation',
      '--device',
      'cpu',
      '--shapes',
      'tiny',
      '--only',
      '64x64x64',
    ]);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toEqual([
      'wgnas bench: --only 64x64x64: correlation has no shape of --shapes tiny with that label (its shapes: 2x16x100)',
    ]);
    expect(r.out).toBe('');
  });
});

describe('bench/native-ops.bench.ts --only', () => {
  it('an --only no op id contains is refused in one line, exit 2, before any work', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const r = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'bench/native-ops.bench.ts', '--only', 'nomatch', '--no-torch', '--no-wgsl'],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(r.status, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `--only "nomatch": no op id contains it (ids are KIND SHAPE, e.g. 'conv_fwd 3x3 C16 32px'; kinds: conv_fwd, conv_bwd_data, conv_bwd_weight, bn_fwd, bn_bwd, relu_fwd, relu_bwd, gram, rcb)`,
    ]);
  });
});
