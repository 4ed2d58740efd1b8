/**
 * A scoring process's memory (zeroshot/process-memory.ts) on the CPU backend, each case on a fresh
 * device (its pool empty): the estimate lies above what the pool held for the largest cell, proxy by
 * proxy and for every proxy at once, and not far above for WRCor; no other cell needs more than the
 * largest; a fixed --group's cells are held at once (the estimate takes the group); the scorer's
 * poolPeak is the pool's own figure; a run of params/flops needs the process alone.
 */
import { describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/index.js';
import { NativeDevice } from '../../src/native/device.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { sampleCell } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { ZeroShotScorer } from '../../src/zeroshot/index.js';
import { LARGEST_NB201_CELL, PROCESS_BASE_BYTES, scoringProcessBytes } from '../../src/zeroshot/process-memory.js';
import { cpuTestBackend } from '../helpers/backend.js';

const net = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 2 };
const BATCH = 8;

/** Scores `cell` with `proxies` on a fresh CPU device; its scorer's pool figures and the pool's own. */
async function poolOf(proxies: string[], cell = LARGEST_NB201_CELL) {
  const dev = NativeDevice.create({ threads: 2 });
  const b = cpuBackend(dev, { ownsDevice: true });
  try {
    const scorer = new ZeroShotScorer(b, proxies, { batchSize: BATCH, seed: 0, net });
    await scorer.score(cell);
    return {
      peak: scorer.poolPeak,
      stats: dev.stats(),
      poolBytes: scoringProcessBytes(scorer.net, BATCH, proxies) - PROCESS_BASE_BYTES,
    };
  } finally {
    b.dispose();
  }
}

describe('a scoring process: its pool peak and the estimate', () => {
  const available = () => cpuTestBackend() !== null;

  for (const proxies of [
    ['wrcor'],
    ['naswot'],
    ['grad_norm'],
    ['jacob_cov'],
    ['zico'],
    ['zen'],
    ['az_nas'],
    ['vkdnw'],
    ['all'],
  ]) {
    it(`${proxies[0]}: the pool held no more than the estimate for the largest cell`, async ({ skip }) => {
      if (!available()) return skip();
      const { peak, stats, poolBytes } = await poolOf(proxies);
      // What the scorer read after its pass is the pool's: its peak in use, and all it held.
      expect(peak.peakBytesInUse).toBe(stats.peakBytesInUse);
      expect(peak.peakBytesAllocated).toBe(stats.bytesAllocated);
      expect(peak.peakBytesInUse).toBeGreaterThan(0);
      expect(peak.peakBytesAllocated).toBeGreaterThanOrEqual(peak.peakBytesInUse);
      expect(poolBytes, `estimate ${poolBytes} vs held ${peak.peakBytesAllocated}`).toBeGreaterThanOrEqual(
        peak.peakBytesAllocated,
      );
      if (proxies[0] === 'wrcor') expect(poolBytes).toBeLessThanOrEqual(2 * peak.peakBytesAllocated);
    });
  }

  for (const mode of ['separate', 'stacked'] as const) {
    it(`--group 4 (${mode}): the pool holds a group's working set, under the estimate at that group, above one cell's`, async ({
      skip,
    }) => {
      if (!available()) return skip();
      const dev = NativeDevice.create({ threads: 2 });
      const b = cpuBackend(dev, { ownsDevice: true });
      try {
        const scorer = new ZeroShotScorer(b, ['wrcor'], { batchSize: BATCH, seed: 0, net, group: 4, groupMode: mode });
        await scorer.scoreMany(new Array(4).fill(LARGEST_NB201_CELL));
        const held = scorer.poolPeak.peakBytesAllocated;
        expect(scoringProcessBytes(scorer.net, BATCH, ['wrcor'], 4) - PROCESS_BASE_BYTES).toBeGreaterThanOrEqual(held);
        // One cell's estimate is well short of it (3.7x separate, 4.8x stacked measured).
        expect(held).toBeGreaterThan(2 * (scoringProcessBytes(scorer.net, BATCH, ['wrcor']) - PROCESS_BASE_BYTES));
      } finally {
        b.dispose();
      }
    });
  }

  it('no other cell needs more than the largest one', async ({ skip }) => {
    if (!available()) return skip();
    const largest = (await poolOf(['wrcor'])).peak.peakBytesInUse;
    const rng = new Rng(5);
    for (let i = 0; i < 6; i++)
      expect((await poolOf(['wrcor'], sampleCell(rng))).peak.peakBytesInUse).toBeLessThanOrEqual(largest);
  });

  it("a known selection: its largest cell's estimate still holds the pool, and lies under the space's largest", async ({
    skip,
  }) => {
    if (!available()) return skip();
    const rng = new Rng(11);
    for (const proxies of [['wrcor'], ['naswot']]) {
      for (let i = 0; i < 3; i++) {
        const cell = sampleCell(rng);
        const held = (await poolOf(proxies, cell)).peak.peakBytesAllocated;
        const estimate = scoringProcessBytes(net, BATCH, proxies, 1, [cell]) - PROCESS_BASE_BYTES;
        expect(estimate, `${proxies[0]} ${cell.edges.join(',')}`).toBeGreaterThanOrEqual(held);
        expect(estimate).toBeLessThanOrEqual(scoringProcessBytes(net, BATCH, proxies) - PROCESS_BASE_BYTES);
      }
    }
    // A selection holding the largest cell is estimated as the space.
    const light = { edges: new Array(6).fill('skip_connect') };
    expect(scoringProcessBytes(net, BATCH, ['wrcor'], 1, [light, LARGEST_NB201_CELL])).toBe(
      scoringProcessBytes(net, BATCH, ['wrcor']),
    );
    expect(scoringProcessBytes(net, BATCH, ['wrcor'], 1, [light])).toBeLessThan(scoringProcessBytes(net, BATCH, ['wrcor']));
  });

  it('params and flops run no network: the process alone; the estimate grows with the batch', () => {
    expect(scoringProcessBytes(net, 64, ['params', 'flops'])).toBe(PROCESS_BASE_BYTES);
    const at = (n: number) => scoringProcessBytes(net, n, ['wrcor']) - PROCESS_BASE_BYTES;
    expect(at(64)).toBeGreaterThan(1.8 * at(32));
    // NB201 at its defaults and batch 64: 1.5 GiB, as score --procs's help says.
    expect(scoringProcessBytes(NB201_DEFAULT, 64, ['wrcor']) / 2 ** 30).toBeCloseTo(1.48, 2);
  });
});
