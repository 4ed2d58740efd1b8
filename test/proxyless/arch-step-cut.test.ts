/**
 * An architecture step's backward stops at the first searchable block (ChoiceLayer.forward): with no
 * weight gradients and an input without one, each block's output is a leaf that wants a gradient,
 * so the gate gradients are those of the full backward bit for bit while the stem's and the first
 * block's backward convolutions never run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../src/backend/index.js';
import type { GateSample } from '../../src/kernels/binarize.js';
import type { NativeDevice } from '../../src/native/device.js';
import { Tape } from '../../src/nn/tape.js';
import { ProxylessSupernet } from '../../src/proxyless/supernet.js';
import { Rng } from '../../src/util/rng.js';
import { nativeDeviceOrNull } from '../helpers/native-ops.js';
import { TINY_SUPERNET_LAYOUT } from '../helpers/cases.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull(1);
});
afterAll(() => dev?.destroy());

const TINY = TINY_SUPERNET_LAYOUT;

// Block 0: k5e3 active, 'zero' inactive; block 1: k3e6 / k3e3; block 2 (stride 2): k5e6 / k5e3.
const gates: GateSample[] = [
  { active: 1, inactive: [4], involved: [1, 4] },
  { active: 2, inactive: [0], involved: [2, 0] },
  { active: 3, inactive: [1], involved: [3, 1] },
];

describe('architecture step without an input gradient', () => {
  it('gives the gate gradients of the full backward, bit for bit, with fewer backward convolutions', async ({ skip }) => {
    if (!dev) return skip();
    const be = cpuBackend(dev);
    const net = new ProxylessSupernet(be, TINY, new Rng(3));
    const rng = new Rng(4);
    const x = be.upload(rng.normals(3 * 3 * 64), [3, 3, 8, 8]);
    const y = be.upload(Float32Array.from([0, 2, 1]));
    const step = async (inputGrad: boolean) => {
      dev!.profile(true);
      const t = new Tape(be, { paramGrads: 'none' });
      const input = t.input(x, inputGrad);
      const { logits, records } = net.forward(t, input, gates, { inactive: true });
      t.backward(t.crossEntropy(logits, y));
      const dg = await net.gateGradients(records, 'sampled');
      const ops = dev!.profile(true).ops;
      const out = {
        dg,
        inputGrad: input.grad !== null,
        block0Grad: records[0].activeOut?.grad !== null,
        paramGrads: net.params.filter((p) => p.grad !== null).length,
        bwdInput: ops.conv2dBackwardInput?.count ?? 0,
      };
      t.dispose();
      return out;
    };
    const full = await step(true);
    const cut = await step(false);
    expect(cut.dg).toEqual(full.dg);
    expect(cut.dg.flat().filter((g) => g !== null && g !== 0).length).toBeGreaterThan(3);
    expect([full.inputGrad, cut.inputGrad, cut.block0Grad]).toEqual([true, false, true]);
    expect([full.paramGrads, cut.paramGrads]).toEqual([0, 0]);
    // Stem conv, first-block depthwise and pointwise, block 0's three convolutions: 6 fewer.
    expect(full.bwdInput - cut.bwdInput).toBe(6);
    x.dispose();
    y.dispose();
    net.dispose();
  });
});
