/** Several architectures scored together (batched correlations across networks) = each scored alone. */
import { methodBackend } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { NB201_DEFAULT, nb201Factory } from '../../src/nn/nb201-net.js';
import { scoreNetsGrouped } from '../../src/proxies/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { ZeroShotScorer, scoreAll } from '../../src/zeroshot/index.js';
import { autoGroupSize, groupDevice, MAX_AUTO_GROUP, memoryBudgetBytes } from '../../src/zeroshot/group-size.js';

let gpu: Backend | null;
beforeAll(async () => {
  gpu = await methodBackend();
});

const NET = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|',
  '|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|',
];

describe('grouped zero-shot scoring', () => {
  it('three NB201 networks scored in one group give the scores each gets alone', async ({ skip }) => {
    if (!gpu) return skip();
    const proxies = ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage', 'naswot', 'params', 'flops'];
    const alone = new ZeroShotScorer(gpu, proxies, { batchSize: 8, seed: 3, net: NET });
    const grouped = new ZeroShotScorer(gpu, proxies, { batchSize: 8, seed: 3, net: NET, group: 3 });
    expect(grouped.grouped).toBe(true);
    const cells = ARCHS.map(parseArch);
    const a = await scoreAll(alone, cells);
    const g = await scoreAll(grouped, cells);
    a.forEach((r, i) => {
      expect(g[i].arch).toBe(r.arch);
      for (const p of proxies) expect(g[i].scores[p]).toBeCloseTo(r.scores[p], 3);
    });
  });

  it("--group auto: 1 on software adapters and the CPU; on a hardware GPU, the first architecture's working set sizes the groups", async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const cells = ARCHS.map(parseArch);
    const proxies = ['wrcor', 'naswot'];
    const opts = { batchSize: 8, seed: 3, net: NET };
    const alone = await scoreAll(new ZeroShotScorer(gpu, proxies, { ...opts, group: 1 }), cells);
    if (groupDevice(gpu).noGain) {
      const auto = new ZeroShotScorer(gpu, proxies, { ...opts, group: 'auto' });
      expect(auto.needsProbe).toBe(false);
      expect(auto.grouped).toBe(false);
    }
    // As a hardware GPU would be treated (the backend's ops are the same; only the sizing differs).
    const g: Backend = { ...gpu, device: 'gpu', isSoftware: false };
    const saved = process.env.WGNAS_GPU_MEMORY_BYTES;
    process.env.WGNAS_GPU_MEMORY_BYTES = String(1e12);
    try {
      const auto = new ZeroShotScorer(g, proxies, { ...opts, group: 'auto' });
      expect(auto.needsProbe).toBe(true);
      const progress: number[] = [];
      const streamed: string[][] = [];
      const rows = await scoreAll(
        auto,
        cells,
        (done) => progress.push(done),
        (rs) => streamed.push(rs.map((r) => r.arch)),
      );
      expect(auto.needsProbe).toBe(false);
      // Every row reaches onRows (what `score --out` streams), the probed one first.
      expect(streamed).toEqual([[ARCHS[0]], [ARCHS[1], ARCHS[2]]]);
      expect(auto.groupSize).toBe(MAX_AUTO_GROUP); // a huge budget: capped
      expect(progress).toEqual([1, 3]); // the probe alone, then one group of the other two
      rows.forEach((r, i) => {
        expect(r.arch).toBe(alone[i].arch);
        for (const p of proxies) expect(r.scores[p]).toBeCloseTo(alone[i].scores[p], 3);
      });
      // Ungrouped proxies are never probed.
      expect(new ZeroShotScorer(g, ['synflow'], { ...opts, group: 'auto' }).needsProbe).toBe(false);
    } finally {
      if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
      else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
    }
  });

  it('auto group size: memory budget over the per-architecture working set, within [1, MAX_AUTO_GROUP]', () => {
    const hw = { noGain: false, maxBufferBytes: 4 * 2 ** 30 };
    const saved = process.env.WGNAS_GPU_MEMORY_BYTES;
    delete process.env.WGNAS_GPU_MEMORY_BYTES;
    try {
      expect(memoryBudgetBytes(hw)).toBe(8 * 2 ** 30);
      expect(autoGroupSize(hw, 256 * 2 ** 20)).toBe(32);
      expect(autoGroupSize(hw, 4 * 2 ** 30)).toBe(2);
      expect(autoGroupSize(hw, 16 * 2 ** 30)).toBe(1);
      expect(autoGroupSize(hw, 1024)).toBe(MAX_AUTO_GROUP);
      expect(autoGroupSize({ ...hw, noGain: true }, 1024)).toBe(1);
      expect(
        groupDevice({ device: 'cpu', isSoftware: false, limits: { maxTensorBytes: 0, maxBatchedLayers: 0, maxBufferBytes: 0 } })
          .noGain,
      ).toBe(true);
      expect(
        groupDevice({ device: 'gpu', isSoftware: true, limits: { maxTensorBytes: 0, maxBatchedLayers: 0, maxBufferBytes: 0 } })
          .noGain,
      ).toBe(true);
      process.env.WGNAS_GPU_MEMORY_BYTES = String(2 ** 30);
      expect(autoGroupSize(hw, 256 * 2 ** 20)).toBe(4);
    } finally {
      if (saved === undefined) delete process.env.WGNAS_GPU_MEMORY_BYTES;
      else process.env.WGNAS_GPU_MEMORY_BYTES = saved;
    }
  });

  it('refuses proxies that need their own passes', async ({ skip }) => {
    if (!gpu) return skip();
    await expect(
      scoreNetsGrouped(gpu, [nb201Factory(gpu, parseArch(ARCHS[0]), NET)], ['synflow'], {
        x: new Float32Array(2 * 3072),
        y: new Float32Array(2),
        n: 2,
      }),
    ).rejects.toThrow(/synflow cannot be grouped/);
    expect(new ZeroShotScorer(gpu, ['wrcor', 'synflow'], { batchSize: 8, seed: 0, net: NET, group: 4 }).grouped).toBe(false);
  });
});
