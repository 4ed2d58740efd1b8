/** Several architectures scored together (batched correlations across networks) = each scored alone. */
import { methodBackend } from './helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backend/index.js';
import { NB201_DEFAULT, nb201Factory } from '../src/nn/nb201-net.js';
import { scoreNetsGrouped } from '../src/proxies/index.js';
import { parseArch } from '../src/spaces/nb201.js';
import { ZeroShotScorer, scoreAll } from '../src/zeroshot/index.js';

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
    const proxies = ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'naswot', 'params', 'flops'];
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

  it('refuses proxies that need their own passes', async ({ skip }) => {
    if (!gpu) return skip();
    await expect(scoreNetsGrouped(gpu, [nb201Factory(gpu, parseArch(ARCHS[0]), NET)], ['synflow'], { x: new Float32Array(2 * 3072), y: new Float32Array(2), n: 2 })).rejects.toThrow(/synflow cannot be grouped/);
    expect(new ZeroShotScorer(gpu, ['wrcor', 'synflow'], { batchSize: 8, seed: 0, net: NET, group: 4 }).grouped).toBe(false);
  });
});
