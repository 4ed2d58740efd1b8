/**
 * The native stride-1 average pooling that keeps the plane's size (kernel 2 pad + 1, NB201's
 * avg_pool_3x3: native/compute/avgpool_same.cpp) against the f64 reference, and bit for bit against
 * an f32 model of the separable loops it replaced (row box sums, then column sums, then the counts),
 * on awkward shapes: N = 1, odd and 1-wide planes, planes smaller than the kernel, channels not a
 * multiple of 16, NaN / ±Inf / -0 inputs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { avgPool2dBackwardCpu, avgPool2dCpu, type Pool2dParams } from '../../../src/kernels/pool.js';
import type { NativeDevice } from '../../../src/native/device.js';
import * as nat from '../../../src/backend/cpu/index.js';
import { Rng } from '../../../src/util/rng.js';
import { expectClose } from '../../helpers/gpu.js';
import { prod } from '../../helpers/layers.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';

const f = Math.fround;

/** 1 / (window count) along one axis of `size`, per output position (same-size pooling). */
function invCounts(size: number, k: number, pad: number, includePad: boolean): number[] {
  return Array.from({ length: size }, (_, o) => {
    const start = o - pad;
    const ePad = Math.min(start + k, size + pad);
    const n = includePad ? ePad - start : Math.min(ePad, size) - Math.max(start, 0);
    return f(1 / n);
  });
}

/** Box sums of each plane in f32, taps in the native order: along rows first, then along columns. */
function boxSumsF32(x: Float32Array, planes: number, H: number, W: number, k: number, pad: number): Float32Array {
  const rows = new Float32Array(H * W);
  const out = new Float32Array(x.length);
  for (let p = 0; p < planes; p++) {
    const o = p * H * W;
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        let s = 0;
        for (let j = 0; j < k; j++) {
          const c = w + j - pad;
          if (c >= 0 && c < W) s = f(s + x[o + h * W + c]);
        }
        rows[h * W + w] = s;
      }
    for (let h = 0; h < H; h++)
      for (let w = 0; w < W; w++) {
        let s = 0;
        for (let j = 0; j < k; j++) {
          const r = h + j - pad;
          if (r >= 0 && r < H) s = f(s + rows[r * W + w]);
        }
        out[o + h * W + w] = s;
      }
  }
  return out;
}

/** The separable loops' forward in f32: box sums times (1 / count_h) (1 / count_w), the product first. */
function poolF32(x: Float32Array, shape: number[], p: Required<Pool2dParams>): Float32Array {
  const [N, C, H, W] = shape;
  const ih = invCounts(H, p.kernel, p.pad, p.countIncludePad);
  const iw = invCounts(W, p.kernel, p.pad, p.countIncludePad);
  const y = boxSumsF32(x, N * C, H, W, p.kernel, p.pad);
  for (let i = 0; i < y.length; i++) {
    const hw = i % (H * W);
    y[i] = f(y[i] * f(ih[Math.floor(hw / W)] * iw[hw % W]));
  }
  return y;
}

/** Its adjoint in f32: dy scaled by (dy / count_h) / count_w, then the same (symmetric) box sums. */
function poolBackwardF32(dy: Float32Array, shape: number[], p: Required<Pool2dParams>): Float32Array {
  const [N, C, H, W] = shape;
  const ih = invCounts(H, p.kernel, p.pad, p.countIncludePad);
  const iw = invCounts(W, p.kernel, p.pad, p.countIncludePad);
  const g = new Float32Array(dy.length);
  for (let i = 0; i < g.length; i++) {
    const hw = i % (H * W);
    g[i] = f(f(dy[i] * ih[Math.floor(hw / W)]) * iw[hw % W]);
  }
  return boxSumsF32(g, N * C, H, W, p.kernel, p.pad);
}

/** Equal bit for bit (NaN payloads aside: any NaN matches any NaN). */
function expectSameBits(got: Float32Array, want: Float32Array, label: string): void {
  expect(got.length).toBe(want.length);
  const gb = new Uint32Array(got.buffer, got.byteOffset, got.length);
  const wb = new Uint32Array(want.buffer, want.byteOffset, want.length);
  for (let i = 0; i < got.length; i++) {
    if (Number.isNaN(got[i]) && Number.isNaN(want[i])) continue;
    if (gb[i] !== wb[i])
      throw new Error(`${label}[${i}]: ${got[i]} (0x${gb[i].toString(16)}) != ${want[i]} (0x${wb[i].toString(16)})`);
  }
}

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

describe('native same-size average pooling (stride 1, kernel 2 pad + 1)', () => {
  const shapes: number[][] = [
    [1, 1, 1, 1],
    [1, 3, 1, 9],
    [2, 5, 9, 1],
    [1, 17, 7, 5],
    [3, 2, 2, 2],
    [1, 20, 31, 33],
    [2, 16, 32, 32],
    [4, 24, 8, 8],
  ];
  const params: Array<Required<Pool2dParams>> = [];
  for (const [kernel, pad] of [
    [3, 1],
    [1, 0],
    [5, 2],
    [7, 3],
  ])
    for (const countIncludePad of [false, true]) params.push({ kernel, stride: 1, pad, countIncludePad });
  for (const shape of shapes) {
    it(`x[${shape}], kernels 1, 3, 5, 7, counting the padding or not`, async ({ skip }) => {
      if (!dev) return skip();
      for (const p of params) {
        const rng = new Rng(prod(shape) * 31 + p.kernel);
        const x = rng.normals(prod(shape));
        const tx = dev.upload(x, shape);
        const y = nat.avgPool2d(dev, tx, p);
        expect(y.shape).toEqual(shape);
        const got = await y.read();
        const label = `k=${p.kernel} incl=${p.countIncludePad}`;
        expectSameBits(got, poolF32(x, shape, p), `y ${label}`);
        expectClose(got, avgPool2dCpu(x, shape, p), { atol: 1e-5, label: `y ${label}` });
        const dy = rng.normals(y.size);
        const tdy = dev.upload(dy, shape);
        const dx = nat.avgPool2dBackward(dev, tdy, shape, p);
        const gotDx = await dx.read();
        expectSameBits(gotDx, poolBackwardF32(dy, shape, p), `dx ${label}`);
        expectClose(gotDx, avgPool2dBackwardCpu(dy, shape, p), { atol: 1e-5, label: `dx ${label}` });
        for (const t of [tx, y, tdy, dx]) t.dispose();
      }
    });
  }

  it('NaN, ±Inf and -0 reach the windows that hold them, as the separable loops', async ({ skip }) => {
    if (!dev) return skip();
    const shape = [2, 3, 5, 6];
    const p: Required<Pool2dParams> = { kernel: 3, stride: 1, pad: 1, countIncludePad: false };
    const x = new Rng(5).normals(prod(shape));
    x[0] = -0;
    x[7] = NaN;
    x[40] = Infinity;
    x[41] = -Infinity;
    x[95] = -0;
    x[96] = -0;
    x[101] = -0;
    x[102] = -0;
    const tx = dev.upload(x, shape);
    const y = nat.avgPool2d(dev, tx, p);
    const got = await y.read();
    expectSameBits(got, poolF32(x, shape, p), 'y');
    expect(Number.isNaN(got[0]) && Number.isNaN(got[14]) && !Number.isNaN(got[15])).toBe(true);
    const dx = nat.avgPool2dBackward(dev, tx, shape, p);
    expectSameBits(await dx.read(), poolBackwardF32(x, shape, p), 'dx');
    for (const t of [tx, y, dx]) t.dispose();
  });
});
