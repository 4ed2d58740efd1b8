/**
 * castF16 (cast_f16.wgsl), the f16 paths' operand rounding, against f16 bits worked out by hand
 * (numpy's float16 gives the same): round to nearest even within range, and the values WGSL leaves
 * indeterminate for pack2x16float mapped explicitly: |x| >= 65520 and infinities to +-inf, NaN to
 * NaN, so an overflow reaches the f32 sums as it would in f32 arithmetic.
 */
import { describe, expect, it } from 'vitest';
import { castF16 } from '../../src/kernels/f16.js';
import { testGpu } from '../helpers/gpu.js';

// [f32 value, its f16 bits]
const CASES: Array<[number, number]> = [
  [1, 0x3c00],
  [-2, 0xc000],
  [0.1, 0x2e66],
  [-0.333251953125, 0xb555],
  [2 ** -14, 0x0400], // the smallest normal f16
  [-0, 0x8000],
  [65504, 0x7bff],
  [65519, 0x7bff], // below the midpoint: rounds to the largest finite f16
  [-65519, 0xfbff],
  [65520, 0x7c00], // the midpoint: rounds to even, past 65504, so inf
  [-65520, 0xfc00],
  [1e6, 0x7c00],
  [-3e38, 0xfc00],
  [Infinity, 0x7c00],
  [-Infinity, 0xfc00],
];

describe('castF16', () => {
  it('rounds to nearest even, overflow and infinities to inf, NaN to NaN; an odd count pads 0', async ({ skip }) => {
    const gpu = await testGpu();
    if (!gpu) return skip();
    // Then NaN and pi (0x4248), an odd count: the last word's high half is the padding.
    const odd = Float32Array.from([...CASES.map(([v]) => v), NaN, 3.14159]);
    expect(odd.length % 2).toBe(1);
    const t = gpu.upload(odd, [odd.length]);
    const h = castF16(gpu, t);
    try {
      const f = await h.read();
      const bits = new Uint16Array(f.buffer, f.byteOffset, f.length * 2);
      expect(bits.length).toBe(odd.length + 1);
      CASES.forEach(([v, want], i) => expect(bits[i].toString(16), `${v}`).toBe(want.toString(16)));
      const nan = bits[CASES.length];
      expect((nan & 0x7c00) === 0x7c00 && (nan & 0x3ff) !== 0, `NaN -> 0x${nan.toString(16)}`).toBe(true);
      expect(bits[odd.length - 1].toString(16)).toBe((0x4248).toString(16)); // 3.14159
      expect(bits[odd.length]).toBe(0); // padding
    } finally {
      t.dispose();
      h.dispose();
    }
  });
});
