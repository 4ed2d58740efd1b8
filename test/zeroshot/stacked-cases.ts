/**
 * Shared by stacked.test.ts (CPU backend) and stacked.gpu.test.ts (lavapipe): a group scored as
 * one channel-stacked network (--group-mode stacked) gives each cell the scores it gets alone.
 * Not bit for bit: the grouped convolution cores may sum in another order than the groups = 1
 * ones, a 1x1 conv may run as a 3x3 one with zeros around its centre (where another network puts
 * a 3x3 on the edge), the classifier is a grouped 1x1 conv where the network has a matmul, and the
 * loss gradient is the mean over N*G rows times G (~1 ulp); so relative 1e-5 (non-finite scores
 * exactly). Groups 3 and 4 merge 3x3 and 1x1 convs on an edge.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { NB201_DEFAULT, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import { nb201StackedFactory, planCell } from '../../src/nn/nb201-stacked.js';
import { scoreNetsStacked } from '../../src/proxies/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';

const PROXIES = ['wrcor', 'wrcor_act', 'wrcor_grad', 'wrcor_unweighted', 'wrcor_stage', 'naswot', 'params', 'flops'];

/** Awkward cells: mixed, all-none, unfed edges, all-skip, dead ends, an output fed only from unfed nodes. */
export const CELLS = {
  mixed: '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  mixed2: '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|',
  allNone: '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|',
  unfed: '|none~0|+|none~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|',
  allSkip: '|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|',
  deadEnd: '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|none~1|avg_pool_3x3~2|',
  noOutput: '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|none~0|none~1|none~2|',
  onlyUnfedToOutput: '|none~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|nor_conv_1x1~2|',
  allConv: '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_3x3~1|nor_conv_3x3~2|',
} as const;

const GROUPS: Array<Array<keyof typeof CELLS>> = [
  ['mixed'],
  ['mixed', 'allNone', 'unfed'],
  ['allSkip', 'deadEnd', 'noOutput', 'onlyUnfedToOutput', 'mixed2'],
  ['allConv', 'allConv', 'mixed'],
];

function expectScore(stacked: number, alone: number, what: string): void {
  if (!Number.isFinite(alone)) {
    expect(stacked, what).toBe(alone);
    return;
  }
  expect(Math.abs(stacked - alone), `${what}: ${stacked} vs ${alone}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(alone)));
}

export function stackedScoringCases(backendOf: () => Promise<Backend | null>): void {
  describe('stacked group scoring (--group-mode stacked)', () => {
    for (const unfedEdges of ['skip', 'zeros'] as const) {
      const net: Nb201NetConfig = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1, unfedEdges };
      for (const names of GROUPS) {
        it(`G=${names.length} [${names.join(', ')}], unfed edges '${unfedEdges}': each cell's scores alone`, async ({ skip }) => {
          const backend = await backendOf();
          if (!backend) return skip();
          const cells = names.map((k) => parseArch(CELLS[k]));
          const single = new ZeroShotScorer(backend, PROXIES, { batchSize: 6, seed: 5, net });
          const alone = await scoreAll(single, cells);
          const before = backend.memory().tensors;
          const rows = await scoreNetsStacked(backend, nb201StackedFactory(backend, cells, net), PROXIES, single.batch, 5);
          expect(backend.memory().tensors).toBe(before);
          rows.forEach((r, i) => {
            for (const p of PROXIES) expectScore(r.scores[p], alone[i].scores[p], `${names[i]} ${p}`);
          });
        });
      }
    }

    it("init 'kaiming' (host-drawn weights, 1x1 kernels placed in merged 3x3 ones): each cell's scores alone", async ({
      skip,
    }) => {
      const backend = await backendOf();
      if (!backend) return skip();
      const net = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
      const cells = GROUPS[3].map((k) => parseArch(CELLS[k]));
      const single = new ZeroShotScorer(backend, PROXIES, { batchSize: 6, seed: 2, net, init: 'kaiming' });
      const alone = await scoreAll(single, cells);
      const rows = await scoreNetsStacked(backend, nb201StackedFactory(backend, cells, net), PROXIES, single.batch, 2, 'kaiming');
      rows.forEach((r, i) => PROXIES.forEach((p) => expectScore(r.scores[p], alone[i].scores[p], `${GROUPS[3][i]} ${p}`)));
    });

    it('through ZeroShotScorer (group 5, groupMode stacked): NASWOT alone (forward only), the counts alone, both', async ({
      skip,
    }) => {
      const backend = await backendOf();
      if (!backend) return skip();
      const net = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
      const cells = GROUPS[2].map((k) => parseArch(CELLS[k]));
      for (const proxies of [['naswot'], ['params', 'flops'], ['wrcor', 'params']]) {
        const opts = { batchSize: 6, seed: 1, net };
        const alone = await scoreAll(new ZeroShotScorer(backend, proxies, opts), cells);
        const rows = await scoreAll(new ZeroShotScorer(backend, proxies, { ...opts, group: 5, groupMode: 'stacked' }), cells);
        rows.forEach((r, i) => {
          expect(r.arch).toBe(alone[i].arch);
          expect(Object.keys(r.scores).sort()).toEqual(Object.keys(alone[i].scores).sort());
          for (const p of Object.keys(alone[i].scores)) expectScore(r.scores[p], alone[i].scores[p], `${GROUPS[2][i]} ${p}`);
        });
      }
    });
  });
}

/** planCell against hand-derived answers (backend-free). */
export function planCellCases(): void {
  describe('planCell: which edges run and which ReLUs get a gradient, as Nb201Net', () => {
    it('skip mode', () => {
      // Nodes 1 and 2 are unfed: only the skip 3 <- 0 runs.
      expect(planCell(parseArch(CELLS.unfed))).toEqual({
        ops: ['none', 'none', 'none', 'skip_connect', 'none', 'none'],
        grad: [false, false, false, false, false, false],
        alive: true,
      });
      expect(planCell(parseArch(CELLS.deadEnd))).toEqual({
        ops: ['nor_conv_3x3', 'skip_connect', 'none', 'nor_conv_1x1', 'none', 'avg_pool_3x3'],
        // Edge 0 feeds node 1, which feeds nothing: its ReLU gets no gradient.
        grad: [false, false, false, true, false, false],
        alive: true,
      });
      expect(planCell(parseArch(CELLS.noOutput)).alive).toBe(false);
      expect(planCell(parseArch(CELLS.noOutput)).grad.some(Boolean)).toBe(false);
    });
    it("'zeros' mode: convs out of unfed nodes run on zeros, without gradients", () => {
      expect(planCell(parseArch(CELLS.unfed), 'zeros')).toEqual({
        ops: ['none', 'none', 'nor_conv_3x3', 'skip_connect', 'nor_conv_1x1', 'avg_pool_3x3'],
        grad: [false, false, false, false, false, false],
        alive: true,
      });
      // Node 3 is fed, but only by constants: nothing gets a gradient.
      const p = planCell(parseArch(CELLS.onlyUnfedToOutput), 'zeros');
      expect(p.ops).toEqual(['none', 'none', 'none', 'none', 'nor_conv_3x3', 'nor_conv_1x1']);
      expect(p.alive).toBe(false);
    });
  });
}
