/**
 * NativeDevice semantics: tensors in native memory with deterministic release, queue order (ops,
 * writes, copies and reads run in the order they were issued), disposal while work is queued,
 * failures that surface at the next read/sync naming the op, stats, and the errors for misuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/gpu/errors.js';
import type { NativeOpName } from '../../src/native/compute.js';
import { NativeComputeError, NativeDevice, NativeDisposedError } from '../../src/native/device.js';
import { DisposedError, DisposedTensorError } from '../../src/util/disposed.js';
import * as nat from '../../src/backend/cpu/index.js';
import { Rng } from '../../src/util/rng.js';
import { nativeDeviceOrNull } from '../helpers/native-ops.js';

let dev: NativeDevice | null;
beforeAll(() => {
  dev = nativeDeviceOrNull();
});
afterAll(() => dev?.destroy());

describe('NativeDevice', () => {
  it('uploads, reads back, views and windows without copies', async ({ skip }) => {
    if (!dev) return skip();
    const t = dev.upload([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(t.shape).toEqual([2, 3]);
    expect([t.size, t.bytes]).toEqual([6, 24]);
    expect(Array.from(await t.read())).toEqual([1, 2, 3, 4, 5, 6]);
    const v = t.view([3, 2]);
    expect(Array.from(await v.read())).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(await t.window([4]).read())).toEqual([1, 2, 3, 4]);
    expect(() => t.view([4, 2])).toThrow(ShapeError);
    v.dispose(); // a view does not own the memory
    expect(Array.from(await t.read())).toEqual([1, 2, 3, 4, 5, 6]);
    t.dispose();
    expect(t.isDisposed && v.isDisposed).toBe(true);
    expect(() => t.handle).toThrow(DisposedTensorError);
    const z = dev.zeros([3]);
    const e = dev.upload(new Float32Array(0), [0, 4]);
    expect(Array.from(await z.read())).toEqual([0, 0, 0]);
    expect((await e.read()).length).toBe(0);
    z.dispose();
    e.dispose();
    expect(() => dev!.upload([1, 2, 3], [2, 2])).toThrow(/3 values do not fill shape \[2, 2\]/);
    expect(() => dev!.empty([2, -1])).toThrow(ShapeError);
  });

  it('runs ops, writes, copies and reads in issue order', async ({ skip }) => {
    if (!dev) return skip();
    const x = dev.upload([-1, 2, -3, 4]);
    const ops0 = dev.stats().enqueued;
    const y = nat.relu(dev, x); // queued before the write: sees the old x
    expect(dev.stats().enqueued).toBe(ops0 + 1);
    dev.write(x, Float32Array.from([5, -6]), 1);
    const z = nat.relu(dev, x); // after the write
    const c = dev.zeros([6]);
    dev.copy(x, c, 3, 1, 2);
    const [ry, rz, rx, rc] = await Promise.all([y.read(), z.read(), x.read(), c.read()]);
    expect(Array.from(ry)).toEqual([0, 2, 0, 4]);
    expect(Array.from(rz)).toEqual([0, 5, 0, 4]);
    expect(Array.from(rx)).toEqual([-1, 5, -6, 4]);
    expect(Array.from(rc)).toEqual([0, 0, 5, -6, 4, 0]);
    expect(() => dev!.write(x, new Float32Array(4), 1)).toThrow(/exceed the tensor's 4 elements/);
    expect(() => dev!.copy(x, c, 5)).toThrow(/do not fit/);
    for (const t of [x, y, z, c]) t.dispose();
  });

  it('a tensor disposed while work on it is queued is freed only after that work', async ({ skip }) => {
    if (!dev) return skip();
    await dev.sync();
    const before = dev.stats().bytesInUse;
    const rng = new Rng(1);
    const data = rng.normals(1 << 20);
    const x = dev.upload(data, [1 << 20]);
    const ys = Array.from({ length: 8 }, () => nat.relu(dev!, x));
    x.dispose(); // the relus still hold it
    const s = nat.sum(dev, ys[7]);
    for (const y of ys) y.dispose();
    const got = (await s.read())[0];
    const want = data.reduce((a, v) => a + Math.max(v, 0), 0);
    expect(Math.abs(got - want)).toBeLessThan(1e-2);
    s.dispose();
    await dev.sync();
    // (<=: a tensor another test leaked may be collected meanwhile, its handle released by the finalizer)
    expect(dev.stats().bytesInUse).toBeLessThanOrEqual(before);
    expect(dev.stats().peakBytesInUse).toBeGreaterThanOrEqual(before + 9 * 4 * (1 << 20));
    dev.trim();
    expect(dev.stats().buffersFree).toBe(0);
  });

  it('a failure on the worker rejects the next read or sync with the op name, once', async ({ skip }) => {
    if (!dev) return skip();
    const x = dev.upload([1, -2]);
    dev.enqueue('debugFail' as NativeOpName, []);
    const y = nat.relu(dev, x); // later ops still run
    await expect(y.read()).rejects.toThrow(NativeComputeError);
    dev.enqueue('debugFail' as NativeOpName, []);
    await expect(dev.sync()).rejects.toThrow(/native op 'debugFail' failed: deliberate failure/);
    expect(Array.from(await y.read())).toEqual([1, 0]); // reported once
    await dev.sync();
    x.dispose();
    y.dispose();
  });

  it('the addon checks sizes against parameters before queueing, naming the op', ({ skip }) => {
    if (!dev) return skip();
    const x = dev.zeros([4]);
    expect(() => dev!.enqueue('relu', [x, x], { n: 5 })).toThrow(/native op relu: tensor 0 has 4 elements, needs at least 5/);
    expect(() => dev!.enqueue('relu', [x], { n: 4 })).toThrow(/expected 2 tensors, got 1/);
    expect(() => dev!.enqueue('conv2d', [x, x, x], { N: 1 })).toThrow(/missing parameter 'Cin'/);
    expect(() => dev!.enqueue('nope' as NativeOpName, [x])).toThrow(/unknown native op 'nope'/);
    expect(() => dev!.enqueue('fill', [x], { n: 4, value: 'a' as unknown as number })).toThrow(/must be a number/);
    x.dispose();
  });

  it('threads: 1 and 2 give the same results; bad counts are refused', async ({ skip }) => {
    if (!dev) return skip();
    const one = NativeDevice.create({ threads: 1 });
    expect(one.threads).toBe(1);
    expect(one.name).toBe('native CPU (1 thread)');
    const rng = new Rng(2);
    const x = rng.normals(2 * 16 * 16 * 16);
    const w = rng.normals(16 * 16 * 9);
    const run = async (d: NativeDevice) => {
      const y = nat.conv2d(d, d.upload(x, [2, 16, 16, 16]), d.upload(w, [16, 16, 3, 3]), { stride: 1, pad: 1 });
      return nat.batchNormForward(d, y, null, null).y.read();
    };
    const [a, b] = await Promise.all([run(one), run(dev)]);
    expect(one.stats().cachedPrimitives).toBe(1); // the conv's forward primitive
    for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-4);
    one.destroy();
    expect(() => NativeDevice.create({ threads: 0 })).toThrow(/threads must be an integer in 1..1024/);
  });

  it('destroy() finishes queued work, frees everything and refuses further use', async ({ skip }) => {
    if (!dev) return skip();
    const d = NativeDevice.create({ threads: 2 });
    const x = d.upload([1, 2, 3]);
    const p = nat.scale(d, x, 2).read();
    d.destroy();
    expect(Array.from(await p)).toEqual([2, 4, 6]);
    expect(() => d.zeros([1])).toThrow(NativeDisposedError);
    expect(() => nat.relu(d, x)).toThrow(NativeDisposedError);
    expect(() => d.zeros([1])).toThrow(DisposedError);
    x.dispose(); // harmless after destroy
    d.destroy(); // idempotent
  });
});
