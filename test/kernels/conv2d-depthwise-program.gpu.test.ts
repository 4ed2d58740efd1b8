/**
 * The generated depthwise programs (src/kernels/conv2d-depthwise-program.ts, the program core)
 * against the legacy core's conv2d_depthwise.wgsl (WGNAS_CONV_CORE=legacy) and the CPU references,
 * on awkward shapes: 1x1 to 7x7 kernels, stride 1 and 2, planes of 1x1, 7x7 and 13x17, widths no
 * multiple of R, C = 1, N = 1, planes cut into bands and rows too wide for the tile (the legacy
 * kernel then runs). The forward and input gradient keep the legacy kernel's FMA order per output,
 * so they must match it bit for bit; the weight gradient sums in another order (checked against the
 * CPU reference at the conv tests' tolerance).
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Gpu, GpuTensor } from '../../src/gpu/index.js';
import {
  conv2d,
  conv2dBackwardInput,
  conv2dBackwardWeight,
  type Conv2dOptions,
  conv2dOutShape,
} from '../../src/kernels/conv2d.js';
import { planDepthwise } from '../../src/kernels/conv2d-depthwise-program.js';
import { testGpu } from '../helpers/gpu.js';
import { type ConvCase, convLabel } from '../helpers/cases.js';
import { convProblem, expectConvPassesMatchCpu } from '../helpers/conv.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const dw = (x: [number, number, number, number], k: number, stride: number, pad: number): ConvCase => ({
  x,
  cout: x[1],
  k,
  p: { stride, pad, groups: x[1] },
});

const CASES: ConvCase[] = [
  dw([2, 3, 13, 17], 3, 1, 1), // 13x17: 17 is no multiple of R
  dw([1, 2, 13, 17], 3, 2, 1), // N = 1, stride 2
  dw([3, 1, 7, 7], 5, 1, 2), // C = 1, 7x7 planes, three images per tile
  dw([2, 3, 13, 17], 5, 2, 2),
  dw([2, 2, 7, 7], 7, 1, 3), // kernel = plane
  dw([1, 3, 13, 17], 7, 2, 3),
  dw([4, 2, 1, 1], 3, 1, 1), // 1x1 planes
  dw([3, 2, 1, 1], 7, 2, 3), // 1x1 plane, 7x7 stride 2
  dw([2, 2, 9, 11], 5, 1, 0), // no padding
  dw([2, 2, 5, 6], 3, 2, 3), // padding > kernel: whole rows of zeros
  dw([2, 3, 7, 8], 4, 2, 1), // even kernel
  dw([2, 3, 7, 8], 1, 2, 0), // 1x1 kernel, stride 2
  dw([5, 2, 9, 9], 7, 1, 3), // R = 8 over 9 columns
  dw([1, 2, 45, 200], 3, 1, 1), // 200-wide rows: three bands of 15 rows
  dw([1, 2, 40, 600], 3, 2, 1), // stride 2 in bands (the input gradient's of even rows)
  dw([1, 2, 6, 700], 7, 1, 3), // rows too wide for the tile: conv2d_depthwise.wgsl runs
];

const LEGACY: Conv2dOptions = { core: 'legacy' };
const PROGRAM: Conv2dOptions = { core: 'program' };

/** Exact bits (NaN payloads and the sign of zero included). */
function expectSameBits(a: Float32Array, b: Float32Array, label: string): void {
  expect(a.length, label).toBe(b.length);
  const [ua, ub] = [new Uint32Array(a.buffer, a.byteOffset, a.length), new Uint32Array(b.buffer, b.byteOffset, b.length)];
  for (let i = 0; i < ua.length; i++) {
    if (ua[i] !== ub[i]) expect(`${label}[${i}] = ${a[i]}`).toBe(`${label}[${i}] = ${b[i]}`);
  }
}

/** The kernel files `run` dispatches. */
function filesOf(g: Gpu, run: () => void): string[] {
  const spy = vi.spyOn(g, 'dispatch');
  try {
    run();
    return spy.mock.calls.map(([a]) => a.kernel.file);
  } finally {
    spy.mockRestore();
  }
}

/**
 * Forward and input gradient of both cores on the same inputs: the same bits, the program core
 * through its generated programs where `programs` (else conv2d_depthwise.wgsl, as the legacy core).
 */
async function expectLegacyBits(
  g: Gpu,
  c: ConvCase,
  x: Float32Array,
  w: Float32Array,
  dy: Float32Array,
  programs = true,
): Promise<void> {
  const wShape = [c.cout, 1, c.k, c.k];
  const [gx, gw] = [g.upload(x, c.x), g.upload(w, wShape)];
  let y0!: GpuTensor, y1!: GpuTensor, dx0!: GpuTensor, dx1!: GpuTensor;
  const gdy = g.upload(dy, conv2dOutShape(c.x, wShape, c.p));
  const newFiles = filesOf(g, () => {
    y0 = conv2d(g, gx, gw, c.p, PROGRAM);
    dx0 = conv2dBackwardInput(g, gdy, gw, c.x, c.p, PROGRAM);
  });
  const oldFiles = filesOf(g, () => {
    y1 = conv2d(g, gx, gw, c.p, LEGACY);
    dx1 = conv2dBackwardInput(g, gdy, gw, c.x, c.p, LEGACY);
  });
  const label = convLabel(c);
  expect(oldFiles, label).toEqual(['conv2d_depthwise.wgsl', 'conv2d_depthwise.wgsl']);
  expect(newFiles, label).toEqual(
    programs ? [expect.stringMatching(/^conv2d_dw_fwd_/), expect.stringMatching(/^conv2d_dw_bwd_input_/)] : oldFiles,
  );
  expectSameBits(await y0.read(), await y1.read(), `${label} y`);
  expectSameBits(await dx0.read(), await dx1.read(), `${label} dx`);
  for (const t of [gx, gw, gdy, y0, y1, dx0, dx1]) t.dispose();
}

describe('generated depthwise programs', () => {
  it('cover the cases as meant: bands, several images per tile, the too-wide fallback', () => {
    expect(CASES.filter((c) => c.x[1] === 1).length).toBe(1);
    const plan = (c: ConvCase, pass: 'fwd' | 'bwd_input') => {
      const [N, C, H, W] = c.x;
      const OH = Math.floor((H + 2 * c.p.pad! - c.k) / c.p.stride!) + 1;
      const OW = Math.floor((W + 2 * c.p.pad! - c.k) / c.p.stride!) + 1;
      return planDepthwise(pass, { N, C, H, W, OH, OW, KS: c.k, ST: c.p.stride!, PD: c.p.pad! });
    };
    expect(plan(CASES[2], 'fwd')?.imgs).toBe(3);
    expect(plan(CASES[13], 'fwd')?.bands).toBe(3);
    expect(plan(CASES[13], 'bwd_input')?.bands).toBe(3);
    expect(plan(CASES[14], 'fwd')?.bands).toBeGreaterThan(1);
    expect(plan(CASES[14], 'bwd_input')?.bands).toBeGreaterThan(1);
    expect(plan(CASES[14], 'bwd_input')!.rows % 2).toBe(0);
    expect(plan(CASES[15], 'fwd')).toBeNull();
    expect(plan(CASES[15], 'bwd_input')).toBeNull();
  });

  for (const [i, c] of CASES.entries()) {
    it(`match the CPU reference in every pass and the legacy kernel's bits (fwd, dx): ${convLabel(c)}`, async ({ skip }) => {
      if (!gpu) return skip();
      await expectConvPassesMatchCpu(gpu, c, PROGRAM, 700 + i);
      // C = 1 is groups = 1: a dense convolution forward and backward to the input (the weight
      // gradient still runs the depthwise kernels).
      if (c.x[1] === 1) return;
      const { x, w, dy } = convProblem(c, 800 + i);
      await expectLegacyBits(gpu, c, x, w, dy, i !== CASES.length - 1);
    });
  }

  it("keep the legacy kernel's bits through NaN, infinities and signed zeros", async ({ skip }) => {
    if (!gpu) return skip();
    for (const [i, c] of [CASES[3], CASES[5]].entries()) {
      const { x, w, dy } = convProblem(c, 900 + i);
      for (let j = 0; j < x.length; j += 7) x[j] = [NaN, Infinity, -0, 0, -Infinity][(j / 7) % 5];
      for (let j = 3; j < dy.length; j += 11) dy[j] = [-0, NaN, 1e-38, -Infinity][((j - 3) / 11) % 4];
      w[1] = -0;
      await expectLegacyBits(gpu, c, x, w, dy);
    }
  });

  it('split the weight gradient over the batch (partials summed) and run an empty batch', async ({ skip }) => {
    if (!gpu) return skip();
    // One channel: 128 target workgroups on a software adapter split these 9 images 9 ways.
    const c = dw([9, 1, 6, 5], 3, 1, 1);
    await expectConvPassesMatchCpu(gpu, c, PROGRAM, 1000);
    const [gx, gdy] = [gpu.zeros(c.x), gpu.zeros(c.x)];
    let g9!: GpuTensor;
    const files = filesOf(gpu, () => (g9 = conv2dBackwardWeight(gpu!, gx, gdy, [1, 1, 3, 3], c.p, PROGRAM)));
    expect(files).toEqual([expect.stringMatching(/^conv2d_dw_bwd_weight_k3s1p1_r4_t1024/), 'reduce.wgsl']);
    for (const t of [gx, gdy, g9]) t.dispose();
    const x = gpu.zeros([0, 3, 5, 5]);
    const w = gpu.upload(new Float32Array(27).fill(1), [3, 1, 3, 3]);
    const p = { stride: 1, pad: 1, groups: 3 };
    const y = conv2d(gpu, x, w, p, PROGRAM);
    expect(y.shape).toEqual([0, 3, 5, 5]);
    const gw = conv2dBackwardWeight(gpu, x, y, [3, 1, 3, 3], p, PROGRAM);
    expect(Array.from(await gw.read())).toEqual(new Array(27).fill(0));
    for (const t of [x, w, y, gw]) t.dispose();
  });
});
