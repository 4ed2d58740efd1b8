/**
 * Where the MobileNet skeleton's ReLUs sit (ReluPlace), the exponents of WRCor's weights: `module`
 * as the WRCor authors' MobileNetV2 indexes its block_list (stem 0, one super block per stage, the
 * final 1x1 conv last), here stem 0, first block 1, every layer of stage s s + 2, the feature mix
 * one past the last stage; `block` the stage (wrcor_stage). CPU backend, forward only.
 */
import { describe, expect, it } from 'vitest';
import { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TOY_LAYOUT } from '../helpers/cases.js';

const cpu = cpuTestBackend();

describe.skipIf(!cpu)('MobileNet ReLU places', () => {
  it('module: stem 0, first block 1, a layer its stage + 2, the feature mix one past; block: the stage', async () => {
    const be = cpu!;
    // TOY_LAYOUT: stages of 2 and 1 layers (depths [2, 1]), 8x8 images.
    const space = spaceFromLayout(TOY_LAYOUT);
    const net = FixedNet.fromChoices(be, TOY_LAYOUT, space.cells, [0, 0, 0], new Rng(1));
    const t = new Tape(be, { recordRelus: true, noGrad: true });
    const x = be.upload(new Rng(2).normals(2 * 3 * 8 * 8), [2, 3, 8, 8]);
    try {
      net.forward(t, t.input(x));
      const places = t.relus.map((r) => `${r.name.split('.')[0]} ${r.module} ${r.block}`);
      // Each MBConv layer has two ReLU6 (expand, depthwise); the first block (expand 1) one.
      expect([...new Set(places)]).toEqual(['stem 0 0', 'first 1 0', 'b0 2 0', 'b1 2 0', 'b2 3 1', 'mix 4 1']);
      expect(places.filter((p) => p.startsWith('b0 ')).length).toBe(2);
    } finally {
      t.dispose();
      x.dispose();
      net.dispose();
    }
  });
});
