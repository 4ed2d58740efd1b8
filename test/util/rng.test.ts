/** Rng.uniforms: the same values and the same state afterwards as n calls of next(); Rng.skip: that state. */
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

describe('Rng.skip', () => {
  for (const [seed, n] of [
    [0, 0],
    [1, 1],
    [7, 1000],
    [0xffffffff, 4097],
  ] as const) {
    it(`seed ${seed}: skip(${n}) returns the state before and leaves the state uniforms(${n}) leaves`, () => {
      const a = new Rng(seed);
      const b = new Rng(seed);
      const c = new Rng(seed);
      const before = a.skip(n);
      b.uniforms(n, 1);
      expect(a.next()).toBe(b.next());
      // The state returned is the one uniforms starts from: a generator seeded with it draws the same values.
      expect(new Rng(before).uniforms(3, 1)).toEqual(c.uniforms(3, 1));
    });
  }

  it('refuses a negative or fractional count', () => {
    expect(() => new Rng(1).skip(-1)).toThrow(/non-negative integer/);
    expect(() => new Rng(1).skip(1.5)).toThrow(/non-negative integer/);
    // A seed that is not an integer is refused, not mapped onto another seed.
    for (const bad of [NaN, 1.5, Infinity, '7', undefined])
      expect(() => new Rng(bad as number)).toThrow(/^Rng: seed must be an integer, got /);
    expect(new Rng(-1).next()).toBe(new Rng(0xffffffff).next());
  });
});

describe('Rng.snapshot', () => {
  it('restore continues exactly where the snapshot was taken, a held-back Gaussian included', () => {
    const a = new Rng(42);
    a.next();
    a.normal(); // draws two, holds the second back
    const snap = JSON.parse(JSON.stringify(a.snapshot()));
    expect(snap.spare).not.toBeNull();
    const b = new Rng(7);
    b.restore(snap);
    const draws = (r: Rng) => [r.normal(), r.next(), r.int(1000), r.normal(), r.normal()];
    expect(draws(b)).toEqual(draws(a));
  });

  it('refuses what is not a snapshot', () => {
    for (const bad of [{ s: -1, spare: null }, { s: 1.5, spare: null }, { s: 1, spare: NaN }, null])
      expect(() => new Rng(1).restore(bad as never)).toThrow(/^Rng.restore: not a generator snapshot/);
  });
});
