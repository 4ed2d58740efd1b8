/**
 * Native parameter initialisation (uniformFill) against Rng.uniforms, bit for bit: sizes that span
 * several threads' chunks, generator states that wrap around 2^32, and ParamStore's weights on the
 * CPU backend against the values it uploads where a backend has no uniforms().
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuBackend } from '../../../src/backend/cpu.js';
import { uniformTensor } from '../../../src/backend/cpu/random.js';
import type { NativeDevice } from '../../../src/native/device.js';
import { ParamStore } from '../../../src/nn/init.js';
import { Rng } from '../../../src/util/rng.js';
import { nativeDeviceOrNull } from '../../helpers/native-ops.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

describe('native uniformTensor vs Rng.uniforms', () => {
  for (const [seed, shape, scale] of [
    [1, [0], 1],
    [7, [1], 0.5],
    [123, [16, 3, 3, 3], 1 / Math.sqrt(27)],
    [0xfffffff0, [33], 3], // the state wraps past 2^32 within the draw
    [99, [100_003], 1 / Math.sqrt(1152)], // several threads' chunks (2 threads, 32768-element grain)
  ] as const) {
    it(`seed ${seed}, shape [${shape}], scale ${scale.toPrecision(3)}`, async ({ skip }) => {
      if (!dev) return skip();
      const n = shape.reduce((a: number, b: number) => a * b, 1);
      const want = new Rng(seed).uniforms(n, scale);
      const rng = new Rng(seed);
      const t = uniformTensor(dev, shape, rng.skip(n), scale);
      expect(t.shape).toEqual(shape);
      const got = await t.read();
      expect(got.length).toBe(n);
      // Bit for bit: the first index whose value differs (toEqual on 100k elements takes seconds).
      expect(got.findIndex((v, i) => !Object.is(v, want[i]))).toBe(-1);
      t.dispose();
    });
  }

  it('refuses a generator state that is not a uint32', ({ skip }) => {
    if (!dev) return skip();
    expect(() => uniformTensor(dev!, [2], -1, 1)).toThrow(/uint32/);
    expect(() => uniformTensor(dev!, [2], 2 ** 32, 1)).toThrow(/uint32/);
    expect(() => uniformTensor(dev!, [2], 0.5, 1)).toThrow(/uint32/);
  });

  it("ParamStore's weights on the CPU backend equal the uploaded ones, and later draws stay in step", async ({ skip }) => {
    if (!dev) return skip();
    const be = cpuBackend(dev);
    const { uniforms: _native, ...plain } = be; // the same backend without uniforms(): the JS draw + upload path
    expect(_native).toBeTypeOf('function');
    const read = async (backend: typeof be) => {
      const rng = new Rng(42);
      const store = new ParamStore(backend, rng);
      store.weight('conv', [24, 8, 3, 3]);
      store.bias('fc.b', 10, 64);
      store.weight('fc', [10, 64], 'linear');
      const values = await Promise.all(store.params.map((p) => p.value.read()));
      store.dispose();
      return { values, next: rng.next() };
    };
    const a = await read(be);
    const b = await read(plain as typeof be);
    expect(a.values).toEqual(b.values);
    expect(a.next).toBe(b.next);
  });
});
