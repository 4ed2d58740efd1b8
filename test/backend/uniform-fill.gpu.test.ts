/**
 * Parameter initialisation where the tensor lives (the uniformFill op) against Rng.uniforms, bit for
 * bit, on both backends: sizes that span several threads' chunks and workgroup rows, generator states
 * that wrap around 2^32, scales from every exponent a network uses (each value's f64 product rounded
 * to f32, ties included), the scales outside the GPU kernel's range (drawn on the host), several
 * tensors per dispatch (uniformFillMany), and ParamStore's weights, one by one or batched, against
 * the values kaimingUniform draws in JS.
 */
import { describe, expect, it } from 'vitest';
import { kaimingUniform, ParamStore } from '../../src/nn/init.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';

const backends = await bothBackends();
const numel = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

describe('uniformFill vs Rng.uniforms', () => {
  for (const { name, backend } of backends) {
    it(`bit for bit on shapes, states and scales (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const cases: Array<[number, number[], number]> = [
        [1, [0], 1],
        [7, [1], 0.5],
        [123, [16, 3, 3, 3], 1 / Math.sqrt(27)],
        [0xfffffff0, [4099], 3], // the state wraps past 2^32 within the draw
        [99, [100_003], 1 / Math.sqrt(1152)], // several threads' chunks, a folded workgroup grid
        [5, [65536], 1], // scale 1: the f64 value is exact, one rounding (ties to even ~1 in 256)
        [6, [4096], 2 ** -20 * 1.1], // a small scale
        [8, [4096], 1 / 3], // a full 53-bit significand
        [9, [4096], 2 ** 100], // beyond the GPU kernel's range: drawn on the host
        [10, [64], -0.25], // a negative scale: the host too
      ];
      // First draws whose f64 product rounds to an exact f32 tie, so one rounding straight to f32
      // would give the other neighbour (found by a BigInt search over states and significands).
      for (const [state, scale] of [
        [1, 0.015369991205167091],
        [4, 0.009220767075894103],
        [6, 0.009482438948992372],
        [7, 0.007999772112703167],
        [8, 0.012886794505332286],
      ]) {
        const got = await backend.ops.uniformFill([1], state, scale).read();
        expect(Object.is(got[0], Rng.fromState(state).uniforms(1, scale)[0]), `state ${state} scale ${scale}`).toBe(true);
      }
      // Every NAS-Bench-201 / MobileNet fan-in's bound.
      for (const fanIn of [3, 9, 16, 27, 32, 64, 144, 288, 576, 1152]) cases.push([fanIn, [2048], 1 / Math.sqrt(fanIn)]);
      for (const [seed, shape, scale] of cases) {
        const n = numel(shape);
        const want = new Rng(seed).uniforms(n, scale);
        const t = backend.ops.uniformFill(shape, new Rng(seed).skip(n), scale);
        expect(t.shape).toEqual(shape);
        const got = await t.read();
        t.dispose();
        expect(got.length).toBe(n);
        // The first index whose bits differ (toEqual on 100k elements takes seconds).
        const bad = got.findIndex((v, i) => !Object.is(v, want[i]));
        expect(bad, `seed ${seed} scale ${scale}: [${bad}] ${got[bad]} vs ${want[bad]}`).toBe(-1);
      }
      expect(Rng.fromState(0).uniforms(3, 1)).toEqual(Rng.fromState(0).uniforms(3, 1));
      const z = await backend.ops.uniformFill([5], 0, 1).read();
      expect(Array.from(z)).toEqual(Array.from(Rng.fromState(0).uniforms(5, 1)));
    });

    it(`refuses a generator state that is not a uint32 (${name})`, ({ skip }) => {
      if (!backend) return skip();
      for (const s of [-1, 2 ** 32, 0.5])
        expect(() => backend.ops.uniformFill([2], s, 1)).toThrow(/generator state must be a uint32/);
    });

    it(`fills several tensors at once with each one's values (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const rng = new Rng(77);
      // 19 targets: more than two dispatches' worth, an empty one, single elements, and a scale the
      // GPU kernel leaves to the host in the middle.
      const shapes = [[16, 3, 3, 3], [0], [1], [70_001], [5, 7], ...Array.from({ length: 14 }, (_, i) => [i + 2, 3])];
      const states = shapes.map(() => rng.int(2 ** 32));
      const scales = shapes.map((_, i) => (i === 4 ? 2 ** 100 : 1 / Math.sqrt(3 + i)));
      const targets = shapes.map((sh) => backend.empty(sh));
      backend.ops.uniformFillMany(targets, states, scales);
      const got = await Promise.all(targets.map((t) => t.read()));
      targets.forEach((t) => t.dispose());
      shapes.forEach((sh, i) => {
        const want = Rng.fromState(states[i]).uniforms(numel(sh), scales[i]);
        expect(
          got[i].findIndex((v, j) => !Object.is(v, want[j])),
          `target ${i} [${sh}]`,
        ).toBe(-1);
      });
      const t = backend.empty([4]);
      expect(() => backend.ops.uniformFillMany([t, t], [1, 2], [1, 1])).toThrow(/a tensor appears twice/);
      expect(() => backend.ops.uniformFillMany([t], [1, 2], [1])).toThrow(/1 targets, 2 states and 1 scales/);
      expect(() => backend.ops.uniformFillMany([t], [-1], [1])).toThrow(/generator state must be a uint32/);
      t.dispose();
    });

    it(`gives ParamStore the weights kaimingUniform draws, with later draws in step (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const host = new Rng(42);
      const w1 = kaimingUniform([24, 8, 3, 3], host);
      const b = Float32Array.from({ length: 10 }, () => (host.next() * 2 - 1) / 8);
      const w2 = kaimingUniform([10, 64], host);
      const next = host.next();
      // One dispatch per weight, or batched (batchWeights: drawn by drawPending()).
      for (const batchWeights of [false, true]) {
        const rng = new Rng(42);
        const store = new ParamStore(backend, rng, 'pytorch', { batchWeights });
        store.weight('conv', [24, 8, 3, 3]);
        store.bias('fc.b', 10, 64);
        store.weight('fc', [10, 64], 'linear');
        store.drawPending();
        const got = await Promise.all(store.params.map((p) => p.value.read()));
        store.dispose();
        expect(got).toEqual([w1, b, w2]);
        expect(rng.next()).toBe(next);
      }
    });
  }
});
