/**
 * `score --kernel-profile FILE` on the CPU backend: the JSON says where the worker's time went by op,
 * per architecture; bad uses are refused in one line before any work.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kernelProfileLine, kernelProfileReport } from '../../src/cli/kernel-profile.js';
import { ARCH, wgnasInProcess } from '../helpers/cli.js';
import { cpuTestBackend } from '../helpers/backend.js';

const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--channels', '8', '--device', 'cpu', '--quiet'];

describe('score --kernel-profile', () => {
  it(
    'writes the time per op of a CPU run, per architecture, and prints one summary line',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const dir = mkdtempSync(join(tmpdir(), 'wgnas-kprof-'));
      const path = join(dir, 'profile.json');
      const arch2 = '|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';
      const arch3 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|';
      // The first architecture warms up (pipelines, caches); the profile covers the other two.
      const r = await wgnasInProcess([
        'score',
        '--arch',
        ARCH,
        '--arch',
        arch2,
        '--arch',
        arch3,
        ...SMALL,
        '--kernel-profile',
        path,
      ]);
      expect(r.code, r.err).toBe(0);
      const lines = r.err.split('\n').filter((l) => l.startsWith('kernel profile:'));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(path);
      const rep = JSON.parse(readFileSync(path, 'utf8'));
      expect(rep.command).toBe('score');
      expect([rep.archs, rep.settings.warmupArchs, rep.warmedUp]).toEqual([2, 1, true]);
      expect(rep.settings.batch).toBe(8);
      expect(rep.profile.device).toBe('cpu');
      expect(rep.profile.clock).toBe('cpu-worker');
      const byKernel = Object.fromEntries(rep.profile.kernels.map((k: { kernel: string }) => [k.kernel, k]));
      // Both profiled cells have 3x3 and 1x1 convolutions: forward and input-gradient convolutions ran.
      expect(byKernel.conv2d.count).toBeGreaterThan(0);
      expect(byKernel.conv2dBackwardInput.count).toBeGreaterThan(0);
      for (const k of rep.profile.kernels) expect(k.deviceMs).toBeGreaterThanOrEqual(0);
      const total = rep.profile.kernels.reduce((s: number, k: { deviceMs: number }) => s + k.deviceMs, 0);
      expect(rep.profile.deviceMs).toBeCloseTo(total, 6);
      expect(rep.perArch.ops).toBeCloseTo(rep.profile.ops / 2, 3);
      expect(rep.perArch.wallMs).toBeCloseTo(rep.profile.wallMs / 2, 2);
    },
  );

  it('records --group-mode stacked with the group size in its settings', { timeout: 120_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-kprof-'));
    const path = join(dir, 'stacked.json');
    const r = await wgnasInProcess([
      'score',
      '--sample',
      '4',
      ...SMALL,
      '--group',
      '2',
      '--group-mode',
      'stacked',
      '--kernel-profile',
      path,
    ]);
    expect(r.code, r.err).toBe(0);
    const rep = JSON.parse(readFileSync(path, 'utf8'));
    expect([rep.settings.group, rep.settings.groupMode, rep.archs]).toEqual([2, 'stacked', 2]);
  });

  it(
    'profiles a run of one pass whole; says so in one line when nothing is left to profile',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const dir = mkdtempSync(join(tmpdir(), 'wgnas-kprof-'));
      const path = join(dir, 'one.json');
      const one = await wgnasInProcess(['score', '--arch', ARCH, ...SMALL, '--kernel-profile', path]);
      expect(one.code, one.err).toBe(0);
      const rep = JSON.parse(readFileSync(path, 'utf8'));
      expect([rep.archs, rep.settings.warmupArchs, rep.warmedUp]).toEqual([1, 0, false]);
      // A resumed run with every row already written scores nothing: no file, one line.
      const out = join(dir, 'rows.csv');
      expect((await wgnasInProcess(['score', '--arch', ARCH, ...SMALL, '--out', out])).code).toBe(0);
      const none = join(dir, 'none.json');
      const r = await wgnasInProcess(['score', '--arch', ARCH, ...SMALL, '--out', out, '--resume', '--kernel-profile', none]);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/^kernel profile: not written, no architecture was left to score$/m);
      expect(existsSync(none)).toBe(false);
    },
  );

  it('is refused with --redis, and an output path in a missing folder is refused before any work', async () => {
    const a = await wgnasInProcess([
      'score',
      '--arch',
      ARCH,
      '--kernel-profile',
      join(tmpdir(), 'p.json'),
      '--redis',
      'redis://127.0.0.1:1',
    ]);
    expect(a.code).toBe(2);
    expect(a.err.trim().split('\n')).toHaveLength(1);
    expect(a.err).toMatch(/--kernel-profile/);
    const missing = join(tmpdir(), 'wgnas-no-such-dir', 'p.json');
    const b = await wgnasInProcess(['score', '--arch', ARCH, ...SMALL, '--kernel-profile', missing]);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--kernel-profile/);
    expect(existsSync(missing)).toBe(false);
  });

  it('the summary line names the bound: device busy share, host recording, the top kernels', () => {
    const rep = kernelProfileReport('score', {}, 4, {
      device: 'gpu',
      deviceName: 'test',
      clock: 'gpu-timestamps',
      wallMs: 80,
      deviceMs: 20,
      hostMs: 60,
      ops: 2000,
      kernels: [
        { kernel: 'a.wgsl:main', count: 1000, deviceMs: 15, hostMs: 30 },
        { kernel: 'b.wgsl:main', count: 1000, deviceMs: 5, hostMs: 30 },
      ],
    });
    expect(rep.perArch).toEqual({ wallMs: 20, deviceMs: 5, hostMs: 15, ops: 500 });
    expect(kernelProfileLine(rep, 'p.json')).toBe(
      'kernel profile: per architecture 500 dispatches, wall 20.00 ms, device 5.00 ms (25% busy), host recording 15.00 ms; top: a.wgsl:main 75%, b.wgsl:main 25%; wrote p.json\n',
    );
  });
});
