import { beforeAll, describe, expect, it } from 'vitest';
import { DisposedTensorError } from '../../src/util/disposed.js';
import {
  acquireGpu,
  GpuDisposedError,
  GpuValidationError,
  KernelCompileError,
  NoAdapterError,
  ShapeError,
  type Gpu,
} from '../../src/gpu/index.js';
import { BufferPool, bucketBytes } from '../../src/gpu/pool.js';
import { defineUniforms } from '../../src/gpu/uniforms.js';
import { add, axpy, ELEMENTWISE_PARAMS, scale } from '../../src/kernels/elementwise.js';
import { matmul } from '../../src/kernels/matmul.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

describe('GPU runtime', () => {
  it('reports the adapter with features and limits', async ({ skip }) => {
    if (!gpu) return skip();
    const a = gpu.adapter;
    expect(a.description.length).toBeGreaterThan(0);
    expect(a.limits.maxStorageBufferBindingSize).toBeGreaterThan(0);
    expect(Array.isArray(a.features)).toBe(true);
    if (process.env.CI === 'true') expect(a.isSoftware).toBe(true); // CI has lavapipe only
  });

  it('a Gpu of its own is released by dispose(), as backends and tensors are (destroy() is the same)', async ({ skip }) => {
    if (!gpu) return skip();
    const own = await acquireGpu();
    const t = own.upload(new Float32Array([1, 2]), [2]);
    expect(Array.from(await t.read())).toEqual([1, 2]);
    own.dispose();
    expect(() => own.empty([1])).toThrow(GpuDisposedError);
    expect(() => own.empty([1])).toThrow('GPU context used after destroy()');
    expect(() => own.dispose()).not.toThrow();
    expect(() => own.destroy()).not.toThrow();
  });

  it('round-trips data through upload/read, including empty tensors', async ({ skip }) => {
    if (!gpu) return skip();
    const data = Float32Array.from({ length: 1001 }, (_, i) => i * 0.5 - 3);
    const t = gpu.upload(data, [7, 11, 13]);
    expect(Array.from(await t.read())).toEqual(Array.from(data));
    const e = gpu.empty([0, 4]);
    expect((await e.read()).length).toBe(0);
    t.dispose();
    e.dispose();
  });

  it('pools buffers: release makes bytes reusable and stats add up', ({ skip }) => {
    if (!gpu) return skip();
    const s0 = gpu.pool.stats();
    const a = gpu.empty([1000]);
    const s1 = gpu.pool.stats();
    expect(s1.bytesInUse - s0.bytesInUse).toBe(bucketBytes(4000));
    a.dispose();
    const s2 = gpu.pool.stats();
    expect(s2.bytesInUse).toBe(s0.bytesInUse);
    const b = gpu.empty([990]); // same bucket: no new allocation
    expect(gpu.pool.stats().bytesAllocated).toBe(s2.bytesAllocated);
    b.dispose();
    // A tensor's own dispose(): the class the backends share; the Gpu's destroy() is GpuDisposedError.
    expect(() => a.buffer).toThrow(DisposedTensorError);
    expect(() => a.buffer).not.toThrow(GpuDisposedError);
  });

  it('refuses a buffer released twice or from elsewhere', ({ skip }) => {
    if (!gpu) return skip();
    const buf = gpu.pool.acquire(64);
    gpu.pool.release(buf);
    expect(() => gpu!.pool.release(buf)).toThrow(/released twice or not from this pool/);
  });

  it('finds one pipeline for the same constants in any key order', async ({ skip }) => {
    if (!gpu) return skip();
    const file = 'conv2d_depthwise.wgsl';
    const entry = 'fwd';
    const a = gpu.pipeline({ file, entry, constants: { KS: 5, ST: 2, PD: 2 } });
    const count = gpu.pipelineCount;
    // Another key order first meets the canonical (sorted) key, then its own alias.
    expect(gpu.pipeline({ file, entry, constants: { PD: 2, KS: 5, ST: 2 } })).toBe(a);
    expect(gpu.pipeline({ file, entry, constants: { PD: 2, KS: 5, ST: 2 } })).toBe(a);
    expect(gpu.pipelineCount).toBe(count);
    const b = await gpu.compile({ file, entry, constants: { KS: 5, ST: 2, PD: 1 } });
    expect(b).not.toBe(a);
    expect(gpu.pipelineCount).toBe(count + 1);
  });

  it('bucketBytes rounds to powers of two, then eight steps per octave of at least 64 KiB', () => {
    expect(bucketBytes(1)).toBe(16);
    expect(bucketBytes(100)).toBe(128);
    expect(bucketBytes(65536)).toBe(65536);
    expect(bucketBytes(65537)).toBe(131072);
    expect(bucketBytes(200000)).toBe(262144);
    const MiB = 2 ** 20;
    expect(bucketBytes(MiB)).toBe(MiB);
    expect(bucketBytes(MiB + 4)).toBe(MiB + MiB / 8);
    expect(bucketBytes(200 * MiB)).toBe(208 * MiB); // 128-256 MiB: steps of 16 MiB
    expect(bucketBytes(208 * MiB + 4)).toBe(224 * MiB);
    // Every bucket holds its size and wastes at most 12.5 % above 64 KiB.
    for (let b = 65 * 1024; b < 3e9; b = Math.ceil(b * 1.37) + 4) {
      expect(bucketBytes(b)).toBeGreaterThanOrEqual(b);
      expect(bucketBytes(b)).toBeLessThanOrEqual(Math.ceil(b * 1.125) + 65536);
    }
  });

  it("the pool's trim keepRecent returns only idle buffers not handed out since the last trim", async ({ skip }) => {
    if (!gpu) return skip();
    const pool = new BufferPool(gpu.device, 2 ** 30);
    const a = pool.acquire(4096);
    const b = pool.acquire(8192);
    pool.release(a);
    pool.release(b);
    pool.trim({ keepRecent: true }); // both handed out since the start: kept
    expect(pool.stats().buffersFree).toBe(2);
    expect(pool.acquire(4096)).toBe(a); // a again, b idle through this round
    pool.release(a);
    pool.trim({ keepRecent: true });
    expect(pool.stats().buffersFree).toBe(1);
    expect(pool.stats().bytesAllocated).toBe(4096);
    expect(pool.freeBytes).toBe(4096);
    pool.trim({ keepRecent: true }); // a not handed out since: returned
    expect(pool.stats()).toMatchObject({ buffersFree: 0, bytesAllocated: 0 });
    // A size just under the binding limit: its own size, not a bucket past the limit.
    const max = 2 ** 20 + 2 ** 16;
    const small = new BufferPool(gpu.device, max);
    const big = small.acquire(max - 8);
    expect(small.stats().bytesInUse).toBe(max - 8);
    small.release(big);
    small.destroyAll();
    pool.destroyAll();
  });

  it('surfaces WGSL compile errors with the file name and line', async ({ skip }) => {
    if (!gpu) return skip();
    const spec = { file: '../test/fixtures/broken.wgsl' };
    const err = await gpu.compile(spec).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelCompileError);
    expect((err as Error).message).toMatch(/broken\.wgsl:5:/);
    expect((err as Error).message).toMatch(/undefined_symbol/);
  });

  it('work dispatched with a program that failed to compile fails once: the next work is not blamed for it', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.upload([1, 2, 3, 4]);
    const out = gpu.empty([4]);
    // Dawn drops the submission that used the invalid pipeline ("[Invalid ComputePipeline ...] is
    // invalid due to a previous error") and reports its bind group apart: consequences of the
    // compile error, which the first read throws. Before the fix the next read threw them
    // (autotune: the candidate after one that failed to compile failed too).
    gpu.dispatch({ kernel: { file: '../test/fixtures/broken.wgsl' }, buffers: [out], workgroups: [1] });
    const err = await out.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KernelCompileError);
    expect((err as Error).message).toMatch(/undefined_symbol/);
    const y = scale(gpu, x, 3);
    expect(Array.from(await y.read())).toEqual([3, 6, 9, 12]);
    await gpu.sync();
    // Timed work too (autotune's path): a timer around it ends with a time, not the old error.
    gpu.dispatch({ kernel: { file: '../test/fixtures/broken.wgsl' }, buffers: [out], workgroups: [1] });
    await expect(gpu.sync()).rejects.toThrow(KernelCompileError);
    await gpu.beginTimer();
    const z = scale(gpu, x, 2);
    expect((await gpu.endTimer()).ms).toBeGreaterThanOrEqual(0);
    expect(Array.from(await z.read())).toEqual([2, 4, 6, 8]);
    for (const t of [x, out, y, z]) t.dispose();
  });

  it('a compile error of a program never dispatched leaves the errors of other work to be reported', async ({ skip }) => {
    if (!gpu) return skip();
    const t = gpu.upload([1, 2, 3, 4]);
    gpu.copy(t, t, 2, 0, 2); // invalid: dropped at submit, an error of its own
    gpu.flush();
    await expect(gpu.compile({ file: '../test/fixtures/broken.wgsl' })).rejects.toThrow(KernelCompileError);
    await expect(gpu.sync()).rejects.toThrow(GpuValidationError);
    await gpu.sync();
    t.dispose();
  });

  it('a submission that fails validation rejects read() and sync() (WebGPU drops it: zeros, silently)', async ({ skip }) => {
    if (!gpu) return skip();
    const t = gpu.upload([1, 2, 3, 4]);
    gpu.copy(t, t, 2, 0, 2); // one buffer as both ends: a validation error at submit
    const err = await t.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuValidationError);
    expect((err as Error).message).toMatch(/GPU work failed validation.*same/is);
    // Reported once; the device goes on with later work.
    await gpu.sync();
    const u = gpu.upload([5, 6]);
    gpu.copy(u, t, 2);
    expect(Array.from((await t.read()).subarray(0, 2))).toEqual([5, 6]);
    gpu.copy(u, u);
    await expect(gpu.sync()).rejects.toThrow(GpuValidationError);
    for (const x of [t, u]) x.dispose();
  });

  it('a dispatch whose bind group is invalid fails the next read once; later work is not blamed for it', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.upload([1, 2, 3, 4]);
    const out = gpu.empty([4]);
    // 'scale' binds [out, x]: without x the bind group is invalid (an error no scope catches, at
    // createBindGroup) and so is the submission that uses it (the submit's scope).
    gpu.dispatch({
      kernel: { file: 'elementwise.wgsl', entry: 'scale' },
      buffers: [out],
      uniforms: ELEMENTWISE_PARAMS.pack({ n: 4, cols: 0, s: 2 }),
      workgroups: [1],
    });
    await expect(out.read()).rejects.toThrow(GpuValidationError);
    // Both reports were of that dispatch: the next sync and read go through.
    await gpu.sync();
    const y = scale(gpu, x, 3);
    expect(Array.from(await y.read())).toEqual([3, 6, 9, 12]);
    for (const t of [x, out, y]) t.dispose();
  });

  it('endTimer() rejects a timed submission that failed validation (not a time for dropped work, nor a later read blamed)', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const t = gpu.upload([1, 2, 3, 4]);
    await gpu.beginTimer();
    gpu.copy(t, t, 2, 0, 2); // invalid: dropped at submit
    await expect(gpu.endTimer()).rejects.toThrow(GpuValidationError);
    // Reported there, once: the next read is not blamed for it.
    expect(Array.from(await t.read())).toEqual([1, 2, 3, 4]);
    t.dispose();
  });

  it('leaves no error scope pushed when a submit throws', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const t = g.upload([1, 2]);
    await g.sync();
    const queue = g.device.queue;
    const submit = queue.submit.bind(queue);
    // A submit that throws (Dawn reports its errors through scopes; a binding may still throw).
    queue.submit = () => {
      throw new Error('submit failed');
    };
    const dst = g.empty([2]);
    try {
      g.copy(t, dst);
      expect(() => g.flush()).toThrow('submit failed');
    } finally {
      queue.submit = submit;
    }
    // The scope flush() pushed was popped: the stack is empty again (popping it rejects).
    await expect(g.device.popErrorScope()).rejects.toThrow();
    // And the runtime goes on (a new encoder, not the finished one).
    const u = g.upload([3, 4]);
    g.copy(u, t);
    expect(Array.from(await t.read())).toEqual([3, 4]);
    for (const x of [t, u, dst]) x.dispose();
  });

  it('times GPU work with timestamp queries or the wall clock', async ({ skip }) => {
    if (!gpu) return skip();
    const a = gpu.zeros([128, 128]);
    await gpu.beginTimer();
    matmul(gpu, a, a).dispose();
    const t = await gpu.endTimer();
    expect(t.ms).toBeGreaterThan(0);
    expect(['timestamp-query', 'wall-clock']).toContain(t.source);
    a.dispose();
  });

  it('orders dependent dispatches inside one compute pass, across recycled buffers and copies', async ({ skip }) => {
    if (!gpu) return skip();
    const n = 1000;
    const x = gpu.upload(Float32Array.from({ length: n }, (_, i) => i - 300));
    const y = gpu.zeros([n]);
    const before = gpu.dispatchCount;
    // Read-after-write and write-after-write on one buffer, all in the pass opened by the first.
    for (let k = 0; k < 64; k++) axpy(gpu, y, x, 1);
    // A chain through pooled temporaries: each is released and handed out again while the pass is
    // open, so a later dispatch overwrites what an earlier one read (write-after-read).
    let t = scale(gpu, y, 0.5);
    for (let k = 0; k < 20; k++) {
      const u = add(gpu, t, x);
      t.dispose();
      t = u;
    }
    // A copy needs the encoder (the pass ends); the dispatch after it must see the copied values.
    const c = gpu.empty([n]);
    gpu.copy(t, c);
    axpy(gpu, c, x, 1);
    expect(gpu.dispatchCount - before).toBe(64 + 1 + 20 + 1);
    const got = await c.read();
    for (let i = 0; i < n; i++) expect(got[i]).toBe(53 * (i - 300));
    for (const z of [x, y, t, c]) z.dispose();
  });

  it("keeps every dispatch's uniforms when one submission spans several 64 KiB uniform blocks", async ({ skip }) => {
    if (!gpu) return skip();
    // 700 scales of distinct factors in one submission: about 3 uniform blocks at 256-byte slots,
    // all filled in one reused CPU copy (queue.writeBuffer copies it as each block is sealed).
    const g = gpu;
    g.flush();
    const submits = g.submitCount;
    const first = g.firstDispatchesPerSubmit;
    g.firstDispatchesPerSubmit = g.maxDispatchesPerSubmit; // one submission, not the small chunks after a wait
    await g.sync();
    const x = g.upload(Float32Array.from([1, 2, 3]));
    const ys = Array.from({ length: 700 }, (_, i) => scale(g, x, i + 1));
    const got = await g.readMany(ys);
    g.firstDispatchesPerSubmit = first;
    expect(g.submitCount - submits).toBe(1);
    got.forEach((v, i) => expect(Array.from(v)).toEqual([1, 2, 3].map((e) => e * (i + 1))));
    for (const t of [x, ...ys]) t.dispose();
  });

  it('submits small chunks after a host wait, then doubling ones up to maxDispatchesPerSubmit', async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const [first, max] = [g.firstDispatchesPerSubmit, g.maxDispatchesPerSubmit];
    g.firstDispatchesPerSubmit = 4;
    g.maxDispatchesPerSubmit = 16;
    try {
      const x = g.upload(Float32Array.from([1, 2]));
      await g.sync(); // the GPU is idle: the next recording starts with a chunk of 4
      const submitsAt = (n: number) => {
        const s0 = g.submitCount;
        const ys = Array.from({ length: n }, () => scale(g, x, 2));
        for (const y of ys) y.dispose();
        return g.submitCount - s0;
      };
      expect(submitsAt(4 + 8 + 16 + 16)).toBe(4); // chunks of 4, 8, 16, then capped at 16
      expect(submitsAt(15)).toBe(0); // still in a chunk of 16
      await g.sync(); // another wait: small chunks again
      expect(submitsAt(4)).toBe(1);
      expect(Array.from(await g.read(scale(g, x, 3)))).toEqual([3, 6]);
      // A timed region is one command buffer (the GPU must not wait for the host inside it).
      await g.beginTimer();
      expect(submitsAt(15)).toBe(0);
      const s0 = g.submitCount;
      await g.endTimer();
      expect(g.submitCount - s0).toBe(1);
      x.dispose();
    } finally {
      g.firstDispatchesPerSubmit = first;
      g.maxDispatchesPerSubmit = max;
    }
  });

  it('validates shapes and uniforms', ({ skip }) => {
    if (!gpu) return skip();
    expect(() => gpu!.empty([2, -1])).toThrow(ShapeError);
    expect(() => gpu!.upload([1, 2, 3], [2, 2])).toThrow(/do not fill/);
    expect(() => defineUniforms('x.wgsl', 'P', { n: 'u32' }).pack({ n: 1.5 })).toThrow(/not a u32/);
    const t = gpu.zeros([6]);
    expect(() => t.view([4])).toThrow(ShapeError);
    expect(t.view([2, 3]).shape).toEqual([2, 3]);
    t.dispose();
  });

  it('NoAdapterError tells the user how to fix it', () => {
    const e = new NoAdapterError('test');
    expect(e.message).toMatch(/mesa-vulkan-drivers/);
    expect(e.message).toMatch(/bookworm-backports/);
  });
});
