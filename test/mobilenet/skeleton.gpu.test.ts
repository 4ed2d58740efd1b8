/**
 * The one skeleton with its three layer bodies: a fixed cell, a binarized choice and a mixture of
 * one cell compute the same network from the same weights; the parameters come in network order.
 */
import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { type Gpu, ShapeError } from '../../src/gpu/index.js';
import { ChoiceLayer } from '../../src/mobilenet/choice-layer.js';
import { FixedNet } from '../../src/mobilenet/fixed-net.js';
import { mixtureForward } from '../../src/mobilenet/mixture-layer.js';
import { spaceFromLayout } from '../../src/mobilenet/space-file.js';
import { ParamStore } from '../../src/nn/init.js';
import { Param, Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { threeBlockLayout } from '../helpers/cases.js';
import { expectClose, testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

/** 16×16 input, three layers: two with a shortcut (and zero), one strided. */
const SMALL = threeBlockLayout({ name: 'small', inputSize: 16, stemStride: 2, featureMixC: 12, classes: 5 });

describe('Skeleton', () => {
  it('fixed cell, binarized choice and a one-cell mixture give the same logits from the same weights', async ({ skip }) => {
    if (!gpu) return skip();
    const space = spaceFromLayout(SMALL);
    const choices = [1, 4, 2]; // k5e3, zero (a shortcut layer), k3e6 (strided)
    const net = FixedNet.fromChoices(onGpu(gpu), SMALL, space.cells, choices, new Rng(3));
    const x = gpu.upload(new Rng(4).normals(2 * 3 * 16 * 16), [2, 3, 16, 16]);
    // Choice layers over the same candidates, sharing the fixed net's modules for the chosen ones.
    const store = new ParamStore(onGpu(gpu), new Rng(9));
    const layers = space.shapes.map((shape, b) => new ChoiceLayer(store, b, space.cells[b], shape, choices[b]));
    layers.forEach(
      (l, b) => (l.candidates[choices[b]] = net.skeleton.layers[b].cell.nodes.length ? net.skeleton.layers[b] : null),
    );
    const phi = space.shapes.map((_, b) => new Param(gpu!.zeros([1]), `phi${b}`, 'bias'));
    const tapes = [0, 1, 2].map(() => new Tape(onGpu(gpu!), { noGrad: true }));
    try {
      const fixed = await net.forward(tapes[0], tapes[0].input(x)).logits.value.read();
      const gates = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));
      const t1 = tapes[1];
      const chosen = await net.skeleton
        .forward(t1, t1.input(x), (_, b, h, block) => layers[b].forward(t1, h, gates[b], block).out)
        .logits.value.read();
      const t2 = tapes[2];
      const mixed = await net.skeleton
        .forward(t2, t2.input(x), (m, b, h, block) => mixtureForward(t2, h, [m], phi[b], m.shape, block))
        .logits.value.read();
      expect(fixed.length).toBe(2 * SMALL.classes);
      expect(Array.from(chosen)).toEqual(Array.from(fixed));
      expectClose(mixed, fixed, { atol: 1e-5, rtol: 1e-5, label: 'mixture of one' });
    } finally {
      for (const t of tapes) t.dispose();
      for (const p of phi) p.value.dispose();
      x.dispose();
      net.dispose();
      store.dispose();
    }
  });

  it('allocates in network order and checks the input shape', async ({ skip }) => {
    if (!gpu) return skip();
    const space = spaceFromLayout(SMALL);
    const net = FixedNet.fromChoices(onGpu(gpu), SMALL, space.cells, [0, 0, 0], new Rng(1));
    const t = new Tape(onGpu(gpu), { noGrad: true });
    const bad = gpu.zeros([1, 3, 8, 8]);
    try {
      const names = net.params.map((p) => p.name);
      expect(names.slice(0, 3)).toEqual(['stem.conv', 'stem.conv.bn.gamma', 'stem.conv.bn.beta']);
      expect(names[3]).toBe('first.n0.dw3');
      expect(names.indexOf('b0.c0.n0.pw3')).toBeLessThan(names.indexOf('b2.c0.n2.pwl'));
      expect(names.slice(-5)).toEqual(['mix.conv', 'mix.conv.bn.gamma', 'mix.conv.bn.beta', 'classifier.w', 'classifier.b']);
      expect(() => net.forward(t, t.input(bad))).toThrow(ShapeError);
      expect(() => FixedNet.fromChoices(onGpu(gpu!), SMALL, space.cells, [0, 0], new Rng(1))).toThrow(/2 choices for 3 layers/);
    } finally {
      t.dispose();
      bad.dispose();
      net.dispose();
    }
  });
});
