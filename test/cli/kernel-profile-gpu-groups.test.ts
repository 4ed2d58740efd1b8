/**
 * `score --kernel-profile FILE` where --group auto groups on a hardware GPU: stacked groups packed to
 * the memory budget, or a probe and then groups. A run whose passes are all warm-up still writes a
 * profile (its last pass, unwarmed, said in the file and the summary line); a longer one leaves its
 * warm-up out. The CPU backend stands in for the GPU (seen as hardware here, so --group auto groups),
 * the budget set by $WGNAS_GPU_MEMORY_BYTES; tiny network, in process.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { cellFromIndex, formatArch } from '../../src/spaces/nb201.js';
import { ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const cpu = cpuTestBackend();
// The shared CPU backend as a hardware GPU; the command's dispose leaves it open.
const gpu: Backend | null = cpu && { ...cpu, device: 'gpu', isSoftware: false, dispose: () => {} };
vi.mock('../../src/cli/device.js', async (importOriginal) => ({
  ...(await importOriginal<typeof import('../../src/cli/device.js')>()),
  openDevice: async () => gpu,
}));

const dir = mkdtempSync(join(tmpdir(), 'wgnas-kprof-groups-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const saved = process.env.WGNAS_GPU_MEMORY_BYTES;
afterEach(() => {
  if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
  else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
});

const CELLS = [9000, 9003, 9006].map(cellFromIndex);
const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--channels', '8', '--device', 'cpu', '--quiet'];

async function profiled(n: number, mode: 'separate' | 'stacked', name: string) {
  const path = join(dir, name);
  const archs = CELLS.slice(0, n).flatMap((c) => ['--arch', formatArch(c)]);
  const r = await wgnasInProcess(['score', ...archs, ...SMALL, '--group-mode', mode, '--kernel-profile', path]);
  expect(r.code, r.err).toBe(0);
  const lines = r.err.split('\n').filter((l) => l.startsWith('kernel profile:'));
  expect(lines, r.err).toHaveLength(1);
  return { rep: JSON.parse(readFileSync(path, 'utf8')), line: lines[0] };
}

describe.skipIf(!cpu)('score --kernel-profile with --group auto on a GPU', () => {
  it('one packed stacked group: profiled whole, unwarmed, said in the file and the line', { timeout: 120_000 }, async () => {
    process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40);
    const { rep, line } = await profiled(3, 'stacked', 'one-group.json');
    expect([rep.archs, rep.settings.warmupArchs, rep.warmedUp]).toEqual([3, 0, false]);
    expect([rep.settings.group, rep.settings.groupMode]).toEqual(['auto', 'stacked']);
    expect(rep.profile.ops).toBeGreaterThan(0);
    expect(rep.perArch.ops).toBeCloseTo(rep.profile.ops / 3, 3);
    expect(line).toMatch(/; not warmed up \(the run had no pass to spare: first-run compilation included\); wrote /);
  });

  it('several packed stacked groups: the first warms up, the others are profiled', { timeout: 120_000 }, async () => {
    // A budget that packs the three cells as two groups, found as the command's scorer packs them.
    const net = { ...NB201_DEFAULT, cellsPerStage: 1, channels: 8, numClasses: 10 };
    const scorer = new ZeroShotScorer(gpu!, ['wrcor'], { batchSize: 8, seed: 0, net, group: 'auto', groupMode: 'stacked' });
    let [lo, hi] = [1, 2 ** 40];
    let groups: Array<[number, number]> = [];
    while (groups.length !== 2) {
      expect(hi - lo).toBeGreaterThan(1);
      const mid = Math.floor((lo + hi) / 2);
      groups = [...scorer.stackedGroups(CELLS, mid)];
      if (groups.length > 2) lo = mid;
      else if (groups.length < 2) hi = mid;
      else process.env.WGNAS_GPU_MEMORY_BYTES = String(mid);
    }
    const first = groups[0][1] - groups[0][0];
    const { rep, line } = await profiled(3, 'stacked', 'two-groups.json');
    expect([rep.archs, rep.settings.warmupArchs, rep.warmedUp]).toEqual([3 - first, first, true]);
    expect(line).not.toMatch(/not warmed up/);
  });

  it(
    'separate groups after a probe: with one group left after the probe, that group is profiled',
    { timeout: 120_000 },
    async () => {
      process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 40);
      // The probe scores the first cell alone; the other two are one group (before: no profile).
      const { rep } = await profiled(3, 'separate', 'probe.json');
      expect([rep.archs, rep.settings.warmupArchs, rep.warmedUp]).toEqual([2, 1, false]);
      expect([rep.settings.group, rep.settings.groupMode]).toEqual([64, 'separate']);
      // One cell: the probe is the only pass.
      const one = await profiled(1, 'separate', 'probe-one.json');
      expect([one.rep.archs, one.rep.settings.warmupArchs, one.rep.warmedUp]).toEqual([1, 0, false]);
    },
  );
});
