/**
 * Native convolution (oneDNN) against the f64 references of src/kernels/conv2d.ts: the WGSL tests'
 * shape table (layers-conv2d.test.ts) plus CPU-specific awkward shapes (negative right padding,
 * depthwise with a channel multiplier, wide channels at tiny spatial sizes, NB201 shapes at a
 * real batch), gradients against finite differences, and the shape errors of the GPU op.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../../src/gpu/errors.js';
import {
  conv2dBackwardInputF64,
  conv2dBackwardWeightF64,
  conv2dCpu,
  conv2dF64,
  conv2dOutShape as gpuOutShape,
} from '../../../src/kernels/conv2d.js';
import type { NativeDevice } from '../../../src/native/device.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  conv2dMacs,
  conv2dOutShape,
  reluConv2d,
  reluConv2dBackwardInput,
  reluConv2dBackwardWeight,
} from '../../../src/backend/cpu/conv2d.js';
import { relu, reluBackward } from '../../../src/backend/cpu/activation.js';
import { Rng } from '../../../src/util/rng.js';
import { expectClose } from '../../helpers/gpu.js';
import { dot, expectGradMatchesFd, prod } from '../../helpers/layers.js';
import { CONV_CASES, type ConvCase, convLabel, convWShape } from '../../helpers/cases.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';
import { cpuTestBackend } from '../../helpers/backend.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

// Run after the WGSL conv tests' table (CONV_CASES): shapes that stress the CPU path, oneDNN's
// blocked layouts, padding arithmetic and grouping.
const cpuCases: ConvCase[] = [
  { x: [2, 4, 6, 6], cout: 5, k: 3, p: { stride: 2, pad: 0 } }, // right padding -1
  { x: [1, 3, 10, 7], cout: 2, k: 4, p: { stride: 3, pad: 0 } }, // even kernel, right padding < 0
  { x: [2, 4, 6, 6], cout: 8, k: 3, p: { stride: 1, pad: 1, groups: 4 } }, // depthwise, multiplier 2
  { x: [1, 3, 7, 7], cout: 9, k: 5, p: { stride: 2, pad: 2, groups: 3 } }, // depthwise, multiplier 3, stride 2
  { x: [2, 256, 2, 2], cout: 96, k: 3, p: { stride: 1, pad: 1 } }, // wide channels, tiny spatial
  { x: [3, 160, 1, 1], cout: 320, k: 1, p: { stride: 1, pad: 0 } }, // 1x1 on 1x1 (a dense layer)
  { x: [2, 64, 3, 3], cout: 64, k: 3, p: { stride: 1, pad: 1, groups: 64 } }, // depthwise, 64 channels
  { x: [2, 48, 5, 5], cout: 48, k: 3, p: { stride: 2, pad: 1, groups: 12 } }, // grouped, 4 per group
  { x: [4, 16, 32, 32], cout: 16, k: 3, p: { stride: 1, pad: 1 } }, // NB201 stage 1
  { x: [4, 32, 16, 16], cout: 32, k: 1, p: { stride: 1, pad: 0 } }, // NB201 stage 2, 1x1
  { x: [4, 32, 16, 16], cout: 64, k: 3, p: { stride: 2, pad: 1 } }, // NB201 reduction, stride 2
  { x: [3, 3, 33, 31], cout: 16, k: 3, p: { stride: 1, pad: 1 } }, // RGB stem, odd sizes
  { x: [1, 17, 9, 11], cout: 35, k: 3, p: { stride: 2, pad: 1 } }, // channels off every SIMD width
  // Depthwise with the kernel larger than the plane (direct loops, depthwise_small.cpp):
  { x: [2, 20, 2, 2], cout: 20, k: 7, p: { stride: 1, pad: 3, groups: 20 } }, // MBConv 7x7 on 2x2
  { x: [3, 9, 4, 4], cout: 9, k: 7, p: { stride: 2, pad: 3, groups: 9 } }, // 7x7 stride 2 on 4x4
  { x: [1, 5, 1, 1], cout: 5, k: 3, p: { stride: 1, pad: 1, groups: 5 } }, // 1x1 plane, batch 1
  { x: [2, 6, 2, 3], cout: 6, k: 5, p: { stride: 2, pad: 2, groups: 6 } }, // 5x5, odd plane, stride 2
  { x: [1, 17, 3, 4], cout: 17, k: 5, p: { stride: 1, pad: 1, groups: 17 } }, // padding under K / 2
  { x: [19, 6, 2, 2], cout: 6, k: 7, p: { stride: 1, pad: 3, groups: 6 } }, // 16 images per vector + 3
  { x: [33, 4, 4, 4], cout: 4, k: 5, p: { stride: 2, pad: 2, groups: 4 } }, // two full blocks + 1, stride 2
  // nChw16c relayouts (relayout16.cpp) with a zero-padded last channel block and planes of 16k + r px:
  { x: [2, 24, 9, 9], cout: 24, k: 3, p: { stride: 2, pad: 1, groups: 24 } }, // 8 channels in the last block
  { x: [3, 36, 8, 8], cout: 36, k: 5, p: { stride: 1, pad: 2, groups: 36 } }, // MBConv 5x5, 4 in the last block
  { x: [2, 72, 5, 5], cout: 72, k: 3, p: { stride: 1, pad: 1, groups: 72 } }, // 25 px: one 16 px transpose + 9
  { x: [2, 12, 17, 17], cout: 20, k: 3, p: { stride: 1, pad: 1 } }, // dense, one partial block in and out
  // Depthwise weight gradients oneDNN has no kernel for, on zero-padded 16-image planes (depthwisePaddedBackwardWeights):
  { x: [19, 20, 8, 8], cout: 20, k: 7, p: { stride: 2, pad: 3, groups: 20 } }, // MBConv 7x7 stride 2, 16 images + 3
  { x: [3, 17, 9, 7], cout: 17, k: 5, p: { stride: 1, pad: 2, groups: 17 } }, // non-square plane
  { x: [2, 8, 11, 11], cout: 8, k: 7, p: { stride: 2, pad: 1, groups: 8 } }, // padding under K / 2
  { x: [2, 6, 10, 10], cout: 6, k: 5, p: { stride: 2, pad: 1, groups: 6 } }, // last window short of the edge
];

describe('native conv2d vs the f64 reference', () => {
  for (const c of [...CONV_CASES, ...cpuCases]) {
    it(`forward and both backward passes: ${convLabel(c)}`, async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(prod(c.x) * 31 + c.k + c.cout);
      const wShape = convWShape(c);
      const x = rng.normals(prod(c.x));
      const w = rng.normals(prod(wShape), 0.5);
      const yShape = gpuOutShape(c.x, wShape, c.p);
      expect(conv2dOutShape(c.x, wShape, c.p)).toEqual(yShape);
      const dy = rng.normals(prod(yShape));
      const tx = dev.upload(x, c.x);
      const tw = dev.upload(w, wShape);
      const tdy = dev.upload(dy, yShape);
      const y = conv2d(dev, tx, tw, c.p);
      const dx = conv2dBackwardInput(dev, tdy, tw, c.x, c.p);
      const dw = conv2dBackwardWeight(dev, tx, tdy, wShape, c.p);
      expect(y.shape).toEqual(yShape);
      expect(dx.shape).toEqual(c.x);
      expect(dw.shape).toEqual(wShape);
      // f32 products summed over the reduction: tolerance grows with its length.
      const fan = (c.x[1] / (c.p.groups ?? 1)) * c.k * c.k;
      expectClose(await y.read(), conv2dF64(x, c.x, w, wShape, c.p), {
        atol: 2e-5 * Math.sqrt(fan) + 1e-5,
        rtol: 1e-4,
        label: 'y',
      });
      const fanIn = (c.cout / (c.p.groups ?? 1)) * c.k * c.k;
      expectClose(await dx.read(), conv2dBackwardInputF64(dy, w, wShape, c.x, c.p), {
        atol: 2e-5 * Math.sqrt(fanIn) + 1e-5,
        rtol: 1e-4,
        label: 'dx',
      });
      const fanW = yShape[0] * yShape[2] * yShape[3];
      expectClose(await dw.read(), conv2dBackwardWeightF64(x, c.x, dy, wShape, c.p), {
        atol: 4e-5 * Math.sqrt(fanW) + 1e-5,
        rtol: 1e-4,
        label: 'dw',
      });
      for (const t of [tx, tw, tdy, y, dx, dw]) t.dispose();
    });
  }

  it('runs the same shape again from its cached primitives, with the same result', async ({ skip }) => {
    if (!dev) return skip();
    const rng = new Rng(3);
    const shape = [2, 16, 9, 9];
    const p = { stride: 2, pad: 1 };
    const x = dev.upload(rng.normals(prod(shape)), shape);
    const w = dev.upload(rng.normals(32 * 16 * 9), [32, 16, 3, 3]);
    const a = conv2d(dev, x, w, p);
    const b = conv2d(dev, x, w, p);
    expect(Array.from(await b.read())).toEqual(Array.from(await a.read()));
    for (const t of [x, w, a, b]) t.dispose();
  });

  it('an empty batch gives empty outputs and a zero weight gradient', async ({ skip }) => {
    if (!dev) return skip();
    const p = { stride: 1, pad: 1 };
    const x = dev.upload(new Float32Array(0), [0, 2, 4, 4]);
    const w = dev.upload(new Float32Array(2 * 2 * 9).fill(1), [2, 2, 3, 3]);
    const dy = dev.upload(new Float32Array(0), [0, 2, 4, 4]);
    const y = conv2d(dev, x, w, p);
    const dw = conv2dBackwardWeight(dev, x, dy, [2, 2, 3, 3], p);
    expect(y.shape).toEqual([0, 2, 4, 4]);
    expect(Array.from(await dw.read())).toEqual(new Array(36).fill(0));
    for (const t of [x, w, dy, y, dw]) t.dispose();
  });
});

describe("native conv2d, convAlgorithm 'auto' (Winograd where oneDNN expects a gain) vs 'direct'", () => {
  // NB201's dense 3x3 convolutions at batch 64, where oneDNN takes Winograd for the forward and
  // data-gradient passes; 'direct' is checked against the f64 reference above, so the two native
  // results are compared here (an f64 reference at this size would take seconds per pass).
  for (const [C, H] of [
    [32, 16],
    [64, 8],
  ]) {
    it(`C=${C} ${H}x${H}, batch 64`, async ({ skip }) => {
      if (!dev) return skip();
      const direct = nativeDeviceOrNull(2, { convAlgorithm: 'direct' })!;
      expect([dev.convAlgorithm, direct.convAlgorithm]).toEqual(['auto', 'direct']);
      const rng = new Rng(C * H);
      const xs = [64, C, H, H];
      const wShape = [C, C, 3, 3];
      const x = rng.normals(prod(xs));
      const w = rng.normals(prod(wShape), Math.sqrt(2 / (9 * C)));
      const dy = rng.normals(prod(xs));
      const p = { stride: 1, pad: 1 };
      const run = async (d: NativeDevice) => {
        const [tx, tw, tdy] = [d.upload(x, xs), d.upload(w, wShape), d.upload(dy, xs)];
        const out = await Promise.all([
          conv2d(d, tx, tw, p).read(),
          conv2dBackwardInput(d, tdy, tw, xs, p).read(),
          conv2dBackwardWeight(d, tx, tdy, wShape, p).read(),
        ]);
        for (const t of [tx, tw, tdy]) t.dispose();
        return out;
      };
      const [a, b] = [await run(dev), await run(direct)];
      direct.destroy();
      expectClose(a[0], b[0], { atol: 1e-4, rtol: 1e-5, label: 'y' });
      expectClose(a[1], b[1], { atol: 1e-4, rtol: 1e-5, label: 'dx' });
      expectClose(a[2], b[2], { atol: 2e-3, rtol: 1e-5, label: 'dw' });
    });
  }
});

describe('native conv2d gradients vs finite differences', () => {
  const fdCases: ConvCase[] = [
    { x: [2, 3, 5, 4], cout: 2, k: 3, p: { stride: 2, pad: 1 } },
    { x: [1, 4, 5, 5], cout: 8, k: 3, p: { stride: 1, pad: 1, groups: 4 } },
  ];
  for (const c of fdCases) {
    it(convLabel(c), async ({ skip }) => {
      if (!dev) return skip();
      const rng = new Rng(77 + c.cout);
      const wShape = convWShape(c);
      const x = rng.normals(prod(c.x));
      const w = rng.normals(prod(wShape));
      const yShape = gpuOutShape(c.x, wShape, c.p);
      const dy = rng.normals(prod(yShape));
      const tx = dev.upload(x, c.x);
      const tw = dev.upload(w, wShape);
      const tdy = dev.upload(dy, yShape);
      const dx = await conv2dBackwardInput(dev, tdy, tw, c.x, c.p).read();
      const dw = await conv2dBackwardWeight(dev, tx, tdy, wShape, c.p).read();
      // L = <dy, conv(x, w)>, in f64: dL/dx and dL/dw from the native backward passes.
      expectGradMatchesFd((v) => dot(dy, conv2dF64(v, c.x, w, wShape, c.p)), x, dx, { atol: 1e-4, rtol: 1e-4, label: 'dx' });
      expectGradMatchesFd((v) => dot(dy, conv2dF64(x, c.x, v, wShape, c.p)), w, dw, { atol: 1e-4, rtol: 1e-4, label: 'dw' });
      for (const t of [tx, tw, tdy]) t.dispose();
    });
  }
});

describe('native ReLU-Conv pair: the ReLU folded into the relayouts, bit for bit the composed ops', () => {
  // Channels in blocks of 16 take the nChw16c relayout loops (planes of 49 and 9 pixels leave a
  // tail after the 16-pixel transposes); 1x1 runs oneDNN's plain GEMM (no relayout), 3 channels
  // and the 7x7 depthwise on 2x2 planes the plain paths with relu(x) in a temporary.
  const cases: ConvCase[] = [
    { x: [3, 16, 7, 7], cout: 16, k: 3, p: { stride: 1, pad: 1 } },
    { x: [2, 32, 7, 7], cout: 16, k: 3, p: { stride: 2, pad: 1 } },
    { x: [2, 16, 3, 3], cout: 32, k: 3, p: { stride: 1, pad: 1 } },
    { x: [4, 16, 8, 8], cout: 16, k: 1, p: { stride: 1, pad: 0 } },
    { x: [2, 3, 6, 6], cout: 5, k: 3, p: { stride: 1, pad: 1 } },
    { x: [4, 32, 2, 2], cout: 32, k: 7, p: { stride: 1, pad: 3, groups: 32 } },
    { x: [2, 16, 9, 9], cout: 16, k: 3, p: { stride: 1, pad: 1, groups: 16 } },
  ];
  for (const c of cases) {
    it(`${c.x.join('x')} -> ${c.cout}, ${c.k}x${c.k} ${JSON.stringify(c.p)}`, async ({ skip }) => {
      if (!dev) return skip();
      const d = dev;
      const rng = new Rng(prod(c.x) + c.k);
      const x = rng.normals(prod(c.x));
      // ReLU's edge cases: NaN and -0 pass through relu(x) unchanged; the mask takes x > 0 only.
      [x[0], x[1], x[2], x[17]] = [NaN, -0, 0, NaN];
      const wShape = [c.cout, c.x[1] / (c.p.groups ?? 1), c.k, c.k];
      const yShape = conv2dOutShape(c.x, wShape, c.p);
      const tx = d.upload(x, c.x);
      const tw = d.upload(rng.normals(prod(wShape)), wShape);
      const tdy = d.upload(rng.normals(prod(yShape)), yShape);
      const r = relu(d, tx);
      const pairs: Array<[string, () => ReturnType<typeof conv2d>, () => ReturnType<typeof conv2d>]> = [
        ['forward', () => reluConv2d(d, tx, tw, c.p), () => conv2d(d, r, tw, c.p)],
        [
          'weight gradient',
          () => reluConv2dBackwardWeight(d, tx, tdy, wShape, c.p),
          () => conv2dBackwardWeight(d, r, tdy, wShape, c.p),
        ],
        [
          'data gradient',
          () => reluConv2dBackwardInput(d, tdy, tw, tx, c.p),
          () => reluBackward(d, conv2dBackwardInput(d, tdy, tw, c.x, c.p), tx),
        ],
      ];
      for (const [what, fused, composed] of pairs) {
        const [a, b] = [fused(), composed()];
        const [ga, gb] = [await a.read(), await b.read()];
        expect(ga.length, what).toBe(gb.length);
        // Bit for bit (NaN where the composition has NaN, -0 where it has -0).
        expect(Buffer.from(ga.buffer).equals(Buffer.from(gb.buffer)), what).toBe(true);
        a.dispose();
        b.dispose();
      }
      for (const t of [tx, tw, tdy, r]) t.dispose();
    });
  }
});

describe('native conv2d errors (as the GPU op)', () => {
  it('rejects mismatched shapes and bad parameters before queueing', ({ skip }) => {
    if (!dev) return skip();
    const x = dev.zeros([1, 4, 5, 5]);
    const w = dev.zeros([2, 3, 3, 3]);
    expect(() => conv2d(dev!, x, w, { stride: 1, pad: 1 })).toThrow(/needs Cin\/groups = 4 input channels/);
    expect(() => conv2d(dev!, x, dev!.zeros([2, 4, 9, 9]), { stride: 1, pad: 0 })).toThrow(ShapeError);
    expect(() => conv2d(dev!, x, dev!.zeros([3, 2, 3, 3]), { stride: 1, pad: 1, groups: 2 })).toThrow(/groups 2 must divide/);
    expect(() => conv2d(dev!, x, w, { stride: 0, pad: 1 })).toThrow(RangeError);
    const w4 = dev.zeros([2, 4, 3, 3]);
    expect(() => conv2dBackwardInput(dev!, dev!.zeros([1, 2, 4, 4]), w4, [1, 4, 5, 5], { stride: 1, pad: 1 })).toThrow(
      /dy is \[1, 2, 4, 4\], expected \[1, 2, 5, 5\]/,
    );
    expect(conv2dMacs([1, 4, 5, 5], [2, 4, 3, 3], { stride: 1, pad: 1 })).toBe(2 * 25 * 36);
    for (const t of [x, w, w4]) t.dispose();
  });

  it("params default as PyTorch's conv2d (stride 1, no padding, one group); a params that is not an object is named", async ({
    skip,
  }) => {
    const b = cpuTestBackend();
    if (!b) return skip();
    const xs = Float32Array.from({ length: 2 * 3 * 5 * 5 }, (_, i) => Math.sin(i));
    const ws = Float32Array.from({ length: 4 * 3 * 3 * 3 }, (_, i) => Math.cos(i));
    const x = b.upload(xs, [2, 3, 5, 5]);
    const w = b.upload(ws, [4, 3, 3, 3]);
    const y = b.ops.conv2d(x, w);
    expect(y.shape).toEqual([2, 4, 3, 3]);
    const want = conv2dCpu(Array.from(xs), [2, 3, 5, 5], Array.from(ws), [4, 3, 3, 3], { stride: 1, pad: 0 });
    expectClose(await y.read(), want, { atol: 1e-5, rtol: 1e-5, label: 'conv2d(x, w)' });
    const z = b.ops.conv2d(x, w, { pad: 1 });
    expect(z.shape).toEqual([2, 4, 5, 5]);
    expect(conv2dOutShape([2, 3, 5, 5], [4, 3, 3, 3])).toEqual([2, 4, 3, 3]);
    expect(() => b.ops.conv2d(x, w, 2 as never)).toThrow('conv2d: params must be {stride?, pad?, groups?}, got 2');
    for (const t of [x, w, y, z]) t.dispose();
  });

  it('CPU reference sanity: conv2dCpu is conv2dF64 in f32', () => {
    const x = [1, 2, 3, 4];
    expect(Array.from(conv2dCpu(x, [1, 1, 2, 2], [2], [1, 1, 1, 1], { stride: 1, pad: 0 }))).toEqual([2, 4, 6, 8]);
  });
});
