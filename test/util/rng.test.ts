/** Rng.uniforms: the same values and the same state afterwards as n calls of next(). */
import { describe, expect, it } from 'vitest';
import { kaimingUniform } from '../../src/nn/init.js';
import { Rng } from '../../src/util/rng.js';

describe('Rng.uniforms', () => {
  for (const [seed, n, scale] of [
    [0, 0, 1],
    [1, 1, 0.5],
    [7, 1000, 1 / Math.sqrt(27)],
    [123456789, 4097, 3],
  ] as const) {
    it(`seed ${seed}, n ${n}, scale ${scale}`, () => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      const want = Float32Array.from({ length: n }, () => (b.next() * 2 - 1) * scale);
      expect(a.uniforms(n, scale)).toEqual(want);
      expect(a.next()).toBe(b.next());
    });
  }

  it('kaimingUniform keeps its values: U(-1/sqrt(fan_in), 1/sqrt(fan_in)) from next()', () => {
    const b = new Rng(5);
    const bound = 1 / Math.sqrt(3 * 3 * 3);
    const want = Float32Array.from({ length: 16 * 27 }, () => (b.next() * 2 - 1) * bound);
    expect(kaimingUniform([16, 3, 3, 3], new Rng(5))).toEqual(want);
  });
});
