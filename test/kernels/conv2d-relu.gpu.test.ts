/**
 * The convolutions after a ReLU (reluConv2d and its gradients, src/kernels/conv2d.ts) equal the
 * composition they replace bit for bit, on every GEMM core: the forward is conv2d(relu(x)), the
 * input gradient reluBackward(conv2dBackwardInput(dy), x), the weight gradient
 * conv2dBackwardWeight(relu(x), dy). x has exact zeros (relu(0) = 0, gradient 0 there). The
 * reference values are test/helpers/op-cases.ts's; this pins the fusion itself.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Gpu, GpuTensor } from '../../src/gpu/index.js';
import { relu, reluBackward } from '../../src/kernels/activation.js';
import {
  type Conv2dOptions,
  type Conv2dParams,
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dOutShape,
  reluConv2d,
  reluConv2dBackwardInput,
  reluConv2dBackwardWeight,
} from '../../src/kernels/conv2d.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';
import { prod, withWorkgroupLimit } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

interface Case {
  x: [number, number, number, number];
  w: [number, number, number, number];
  p: Conv2dParams;
}

const CASES: Case[] = [
  { x: [2, 5, 9, 7], w: [7, 5, 3, 3], p: { stride: 2, pad: 1 } }, // odd everything, stride 2
  { x: [3, 4, 6, 6], w: [9, 4, 1, 1], p: { stride: 1, pad: 0 } }, // 1x1
  { x: [6, 3, 24, 24], w: [5, 3, 3, 3], p: { stride: 1, pad: 1 } }, // split-K weight gradient
  { x: [2, 6, 7, 5], w: [9, 2, 3, 3], p: { stride: 2, pad: 1, groups: 3 } }, // grouped GEMM
  { x: [2, 4, 5, 5], w: [4, 1, 3, 3], p: { stride: 1, pad: 1, groups: 4 } }, // depthwise: composed
];

const CORES: Array<[string, Conv2dOptions]> = [
  ['program', { algo: 'tiled', core: 'program', tile: { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 } }],
  ['legacy', { algo: 'tiled', core: 'legacy', tile: { BM: 16, BN: 64, BK: 16, TM: 4, TN: 4 } }],
  ['broadcast', { algo: 'broadcast' }],
];

const label = (c: Case) => `x[${c.x}] w[${c.w}] s${c.p.stride} p${c.p.pad} g${c.p.groups ?? 1}`;

async function bits(ts: GpuTensor[]): Promise<Uint32Array[]> {
  const out = await Promise.all(ts.map(async (t) => new Uint32Array(Float32Array.from(await t.read()).buffer)));
  for (const t of ts) t.dispose();
  return out;
}

describe('convolutions after a ReLU', () => {
  for (const [core, o] of CORES) {
    it(`equal relu then the plain convolution bit for bit (${core} core)`, async ({ skip }) => {
      if (!gpu) return skip();
      const g = gpu;
      for (const [i, c] of CASES.entries()) {
        if (core === 'broadcast' && (c.p.groups ?? 1) > 1) continue; // grouped GEMMs run tiled only
        const rng = new Rng(700 + i);
        const x = rng.normals(prod(c.x)).map((v, j) => (j % 5 === 0 ? 0 : v));
        const yShape = conv2dOutShape(c.x, c.w, c.p);
        const [gx, gw, gdy] = [
          g.upload(x, c.x),
          g.upload(rng.normals(prod(c.w), 0.5), c.w),
          g.upload(rng.normals(prod(yShape)), yShape),
        ];
        const fused = await bits([
          reluConv2d(g, gx, gw, c.p, o),
          reluConv2dBackwardInput(g, gdy, gw, gx, c.p, o),
          reluConv2dBackwardWeight(g, gx, gdy, c.w, c.p, o),
        ]);
        const r = relu(g, gx);
        const dr = conv2dBackwardInput(g, gdy, gw, c.x, c.p, o);
        const composed = await bits([
          conv2d(g, r, gw, c.p, o),
          reluBackward(g, dr, gx),
          conv2dBackwardWeight(g, r, gdy, c.w, c.p, o),
        ]);
        for (const t of [r, dr, gx, gw, gdy]) t.dispose();
        for (const [j, pass] of ['y', 'dx', 'dw'].entries()) {
          expect(fused[j], `${label(c)} ${pass}`).toEqual(composed[j]);
        }
        // The ReLU really acts: the input gradient vanishes wherever x <= 0.
        const dx = new Float32Array(fused[1].buffer);
        for (let j = 0; j < x.length; j++) if (x[j] <= 0) expect(dx[j]).toBe(0);
      }
    });
  }

  it('fold the column grid into z as the plain kernels do', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const c: Case = { x: [3, 4, 13, 11], w: [5, 4, 3, 3], p: { stride: 1, pad: 1 } };
    const rng = new Rng(800);
    const yShape = conv2dOutShape(c.x, c.w, c.p);
    const [gx, gw, gdy] = [
      g.upload(rng.normals(prod(c.x)), c.x),
      g.upload(rng.normals(prod(c.w)), c.w),
      g.upload(rng.normals(prod(yShape)), yShape),
    ];
    const o = CORES[0][1];
    const [fused, composed] = await withWorkgroupLimit(g, 3, async () => {
      const f = await bits([reluConv2d(g, gx, gw, c.p, o), reluConv2dBackwardInput(g, gdy, gw, gx, c.p, o)]);
      const r = relu(g, gx);
      const dr = conv2dBackwardInput(g, gdy, gw, c.x, c.p, o);
      const k = await bits([conv2d(g, r, gw, c.p, o), reluBackward(g, dr, gx)]);
      r.dispose();
      dr.dispose();
      return [f, k];
    });
    expect(fused).toEqual(composed);
    for (const t of [gx, gw, gdy]) t.dispose();
  });
});
