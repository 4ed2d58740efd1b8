/** `wgnas bench --only LABELS`: one or two shapes of a sweep (the device suite's large f16 run), a typo named with the labels there are. */
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
