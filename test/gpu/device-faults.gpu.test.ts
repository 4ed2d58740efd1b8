/**
 * The GPU runtime when the device fails mid-run (test/helpers/faulty-device.ts: lavapipe behind a
 * stand-in that refuses allocations as Dawn does, or loses the device as a driver reset does; and
 * lavapipe's own device.destroy()): an out-of-memory error is thrown before any read returns data
 * (never the zeros of dropped work), the runtime goes on cleanly once the memory is freed, and a
 * lost device rejects every wait with GpuDeviceLostError instead of hanging.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { GpuDeviceLostError, GpuOutOfMemoryError, GpuValidationError, KernelCompileError } from '../../src/gpu/errors.js';
import { STAGED_SLOT_MAX_BYTES, STAGING_BLOCK_BYTES } from '../../src/gpu/gpu.js';
import { acquireGpu, Gpu, type GpuTensor } from '../../src/gpu/index.js';
import { unreportedGpuError } from '../../src/gpu/unreported.js';
import { bucketBytes } from '../../src/gpu/pool.js';
import { scale } from '../../src/kernels/elementwise.js';
import { matmul } from '../../src/kernels/matmul.js';
import { faultyDevice, type Faults, type FaultyDevice } from '../helpers/faulty-device.js';
import { testGpu } from '../helpers/gpu.js';

const A = [1, 2, 3, 4, 5, 6]; // [2, 3]
const B = [1, 0, 0, 1, 1, 1]; // [3, 2]
const AB = [4, 5, 10, 11]; // A @ B

const opened: Gpu[] = [];
afterEach(() => {
  for (const g of opened.splice(0)) g.destroy();
});

/** A fresh device (each test may lose its own) behind the stand-in. */
async function faulty(faults: Faults): Promise<{ gpu: Gpu; fd: FaultyDevice } | null> {
  if (!(await testGpu())) return null;
  const real = await acquireGpu();
  const fd = faultyDevice(real.device, faults);
  const gpu = new Gpu(fd.device, real.adapter);
  opened.push(gpu);
  return { gpu, fd };
}

async function product(gpu: Gpu): Promise<number[]> {
  const [a, b] = [gpu.upload(A, [2, 3]), gpu.upload(B, [3, 2])];
  let c: GpuTensor | null = null;
  try {
    c = matmul(gpu, a, b);
    return Array.from(await c.read());
  } finally {
    for (const t of [a, b, c]) t?.dispose();
  }
}

/** Settles within `ms`, or says it hung. */
function within<T>(p: Promise<T>, ms = 20_000): Promise<T | 'hung'> {
  return Promise.race([p, new Promise<'hung'>((r) => setTimeout(() => r('hung'), ms).unref())]);
}

describe('out of GPU memory', () => {
  it('a refused allocation fails the read that depends on it with its size, and the runtime goes on once it is freed', async ({
    skip,
  }) => {
    let armed = false;
    const f = await faulty({ refuse: () => armed && !(armed = false) });
    if (!f) return skip();
    const { gpu, fd } = f;
    expect(await product(gpu)).toEqual(AB);
    const s0 = gpu.pool.stats();
    // A shape of its own, so the output is a new allocation (the pool's buckets hold the others).
    const a = gpu.upload(
      Array.from({ length: 64 * 48 }, (_, i) => i % 7),
      [64, 48],
    );
    const b = gpu.upload(
      Array.from({ length: 48 * 40 }, (_, i) => i % 5),
      [48, 40],
    );
    armed = true;
    const c = matmul(gpu, a, b);
    expect(fd.refusedBytes).toEqual([bucketBytes(64 * 40 * 4)]);
    const err = await c.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as GpuOutOfMemoryError).bytes).toBe(bucketBytes(64 * 40 * 4));
    expect((err as Error).message).toBe('out of GPU memory: allocating 16 KiB failed');
    for (const t of [a, b, c]) t.dispose();
    // The refused buffer is destroyed, not pooled; nothing else was lost.
    expect(gpu.pool.stats().bytesInUse).toBe(s0.bytesInUse);
    // The dropped work's validation errors were consequences: the next work reads its own values.
    expect(await product(gpu)).toEqual(AB);
    await gpu.sync();
  });

  it('a write into a refused buffer is not printed by Dawn but fails the next check as out of memory', async ({ skip }) => {
    let armed = false;
    const f = await faulty({ refuse: () => armed && !(armed = false) });
    if (!f) return skip();
    const { gpu } = f;
    armed = true;
    const t = gpu.upload([1, 2, 3, 4, 5, 6, 7, 8, 9], [9]); // writeBuffer into the invalid buffer: an uncaptured error
    await expect(gpu.sync()).rejects.toThrow(GpuOutOfMemoryError);
    t.dispose();
    await gpu.sync(); // reported once
    expect(await product(gpu)).toEqual(AB);
  });

  it('an allocation refused outside any scope (uncaptured) is out of memory too, not a validation error', async ({ skip }) => {
    const f = await faulty({});
    if (!f) return skip();
    const { gpu, fd } = f;
    // What an allocation outside the pool's scopes (Dawn's own, in a submit) would raise.
    fd.raiseUncaptured(new GPUOutOfMemoryError('Out of memory (stand-in, uncaptured)'));
    const err = await gpu.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as Error).message).toBe('out of GPU memory (Out of memory (stand-in, uncaptured))');
    fd.raiseUncaptured(new GPUValidationError('something else (stand-in)'));
    await expect(gpu.sync()).rejects.toThrow(GpuValidationError);
    await gpu.sync();
  });

  it('a small staged write whose staging block cannot be allocated fails the next read with the block size', async ({ skip }) => {
    let armed = false;
    const block = (d: GPUBufferDescriptor) => d.usage === (GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST);
    const f = await faulty({ refuse: (d) => armed && block(d) && !(armed = false) });
    if (!f) return skip();
    const { gpu, fd } = f;
    const t = gpu.upload(A, [2, 3]);
    const c = matmul(gpu, t, gpu.upload(B, [3, 2]));
    armed = true;
    // t is used by the recorded matmul: the write is staged, in a block (one buffer for many writes).
    gpu.write(t, new Float32Array(6).fill(9));
    gpu.write(t, new Float32Array(2).fill(7), 4); // the same block
    expect(fd.refusedBytes).toEqual([STAGING_BLOCK_BYTES]);
    const err = await t.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as GpuOutOfMemoryError).bytes).toBe(STAGING_BLOCK_BYTES);
    expect((err as Error).message).toBe('out of GPU memory: allocating 256 KiB failed');
    for (const x of [t, c]) x.dispose();
    // The refused block is not reused: the next staged writes get a new one and land.
    expect(gpu.stagingBlocks.freeBlocks).toBe(0);
    const u = gpu.upload(A, [2, 3]);
    const v = gpu.upload(B, [3, 2]);
    const d = matmul(gpu, u, v);
    gpu.write(u, new Float32Array(6).fill(5));
    expect(Array.from(await u.read())).toEqual([5, 5, 5, 5, 5, 5]);
    expect(Array.from(await d.read())).toEqual(AB);
    for (const x of [u, v, d]) x.dispose();
    expect(await product(gpu)).toEqual(AB);
  });

  it('a large staged write whose own staging buffer cannot be allocated fails the next read with its size', async ({ skip }) => {
    let armed = false;
    const f = await faulty({ refuse: (d) => armed && d.mappedAtCreation === true && !(armed = false) });
    if (!f) return skip();
    const { gpu } = f;
    const n = STAGED_SLOT_MAX_BYTES / 4 + 1; // one value past a block slot
    const t = gpu.zeros([n]);
    const s = gpu.empty([n]);
    gpu.copy(t, s);
    armed = true;
    // t is used by the recorded copy: the write is staged, through a mapped buffer of its own.
    gpu.write(t, new Float32Array(n).fill(9));
    const err = await t.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as GpuOutOfMemoryError).bytes).toBe(4 * n);
    for (const x of [t, s]) x.dispose();
    expect(await product(gpu)).toEqual(AB);
  });
});

describe("a pipeline the driver's compiler refuses (an internal error, not a validation one)", () => {
  it('fails its own work as a compile error, once: other work, and the same pipeline built again, go on', async ({ skip }) => {
    let armed = true;
    const f = await faulty({ failPipeline: (d) => armed && d.label === 'elementwise.wgsl:scale' && !(armed = false) });
    if (!f) return skip();
    const { gpu } = f;
    const x = gpu.upload([1, 2, 3, 4]);
    const y = scale(gpu, x, 3);
    const err = await y.read().catch((e: unknown) => e);
    // Before the 'internal' scope: no scope caught it, the pipeline passed its check, and the read
    // threw the dropped submission as a GpuValidationError ("... invalid due to a previous error").
    expect(err).toBeInstanceOf(KernelCompileError);
    expect((err as Error).message).toBe(
      'WGSL kernel elementwise.wgsl failed to compile:\n' +
        `  internal error (the driver's compiler): Internal error (stand-in): the driver failed to compile "elementwise.wgsl:scale"`,
    );
    // Its consequences (the dropped submission, the bind group) were taken with it: nothing is left
    // for the next check, other work reads right, and the pipeline is built anew (the driver takes it now).
    await gpu.sync();
    expect(await product(gpu)).toEqual(AB);
    const z = scale(gpu, x, 2);
    expect(Array.from(await z.read())).toEqual([2, 4, 6, 8]);
    for (const t of [x, y, z]) t.dispose();
  });

  it('compile() of such a pipeline rejects with it, and leaves the errors of other work to be reported', async ({ skip }) => {
    let armed = true;
    const f = await faulty({ failPipeline: (d) => armed && d.label === 'elementwise.wgsl:scale' && !(armed = false) });
    if (!f) return skip();
    const { gpu } = f;
    const t = gpu.upload([1, 2, 3, 4]);
    gpu.copy(t, t, 2, 0, 2); // invalid: dropped at submit, an error of its own
    gpu.flush();
    await expect(gpu.compile({ file: 'elementwise.wgsl', entry: 'scale' })).rejects.toThrow(/internal error/);
    await expect(gpu.sync()).rejects.toThrow(GpuValidationError);
    await gpu.sync();
    expect(await product(gpu)).toEqual(AB);
    t.dispose();
  });
});

describe('device lost', () => {
  it('a read pending when the driver loses the device rejects with the loss, and every later call too', async ({ skip }) => {
    const f = await faulty({});
    if (!f) return skip();
    const { gpu, fd } = f;
    expect(await product(gpu)).toEqual(AB);
    const t = gpu.upload(A, [6]);
    const pending = t.read();
    fd.lose();
    const err = await within(pending.catch((e: unknown) => e));
    expect(err).toBeInstanceOf(GpuDeviceLostError);
    expect((err as Error).message).toBe(
      'GPU device lost (reason: unknown, VK_ERROR_DEVICE_LOST (stand-in: Xid 79, GPU has fallen off the bus))',
    );
    expect(() => gpu.empty([4])).toThrow(GpuDeviceLostError);
    await expect(within(gpu.sync())).rejects.toThrow(GpuDeviceLostError);
    t.dispose(); // disposing what is left is safe
  });

  it('a map that never settles does not hang the read: the loss ends it', async ({ skip }) => {
    const f = await faulty({});
    if (!f) return skip();
    const { gpu, fd } = f;
    const t = gpu.upload(A, [6]);
    // A driver that drops the map's callback: the readback's mapAsync never settles.
    const create = gpu.pool.createBuffer.bind(gpu.pool);
    gpu.pool.createBuffer = (d) => {
      const b = create(d);
      if (d.usage & GPUBufferUsage.MAP_READ) Object.defineProperty(b, 'mapAsync', { value: () => new Promise(() => {}) });
      return b;
    };
    const pending = t.read();
    setTimeout(() => fd.lose(), 50);
    expect(await within(pending.catch((e: unknown) => e))).toBeInstanceOf(GpuDeviceLostError);
  });

  it("lavapipe's own device.destroy() mid-run: the pending read rejects naming the reason", async ({ skip }) => {
    const f = await faulty({ loss: 'destroy' });
    if (!f) return skip();
    const { gpu, fd } = f;
    const t = gpu.upload(A, [6]);
    const pending = t.read();
    fd.lose();
    const err = await within(pending.catch((e: unknown) => e));
    expect(err).toBeInstanceOf(GpuDeviceLostError);
    expect((err as Error).message).toBe('GPU device lost (reason: destroyed, device was destroyed)');
  });

  it("a pipeline's check rejected by a loss before any wait: no unhandled rejection, the next check throws the loss", async ({
    skip,
  }) => {
    const f = await faulty({ rejectScopesWhenLost: true });
    if (!f) return skip();
    const { gpu, fd } = f;
    const unhandled: unknown[] = [];
    const note = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', note);
    try {
      const spec = { file: 'elementwise.wgsl', entry: 'scale' };
      gpu.pipeline(spec); // its scopes popped, its check pending: nothing awaits it yet
      fd.lose();
      await new Promise((r) => setTimeout(r, 100));
      expect(unhandled).toEqual([]);
      // The cached pipeline's check, awaited now, is said as the loss (not the scope's OperationError).
      await expect(within(gpu.compile(spec))).rejects.toThrow(GpuDeviceLostError);
    } finally {
      process.off('unhandledRejection', note);
    }
  });

  it('lost at a submit inside recorded work: the next wait rejects, none hangs', async ({ skip }) => {
    const f = await faulty({ loseAtSubmit: 2 });
    if (!f) return skip();
    const { gpu } = f;
    expect(await product(gpu)).toEqual(AB); // submit 1
    const err = await within(product(gpu).catch((e: unknown) => e));
    expect(err).toBeInstanceOf(GpuDeviceLostError);
  });
});

describe('work that no read follows', () => {
  it("the last work's error is kept when the device is destroyed, for the end of the command to report", async ({ skip }) => {
    if (!(await testGpu())) return skip();
    await unreportedGpuError(); // what other tests' devices left
    const opens = async () => {
      const g = await acquireGpu();
      opened.push(g);
      return g;
    };
    // A copy within one buffer, recorded last: the submission destroy() makes fails validation.
    const a = await opens();
    const t = a.upload(A, [6]);
    a.copy(t, t, 2, 0, 4);
    a.destroy();
    const copied = await unreportedGpuError();
    expect(copied).toBeInstanceOf(GpuValidationError);
    expect((copied as Error).message).toMatch(
      /^GPU work failed validation and was dropped: Source and destination are the same buffer/,
    );
    // An error no scope catches (a bind group of the wrong usage), Dawn's print suppressed.
    const b = await opens();
    const buffer = b.device.createBuffer({ size: 16, usage: GPUBufferUsage.STORAGE });
    const layout = b.device.createBindGroupLayout({
      entries: [{ binding: 0, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } }],
    });
    b.device.createBindGroup({ layout, entries: [{ binding: 0, resource: { buffer } }] });
    b.destroy();
    const bound = await unreportedGpuError();
    expect(bound).toBeInstanceOf(GpuValidationError);
    expect((bound as Error).message).toMatch(/^GPU work failed and was dropped: Binding usage/);
    // Work read before the end leaves nothing; each error is taken once.
    const c = await opens();
    expect(await product(c)).toEqual(AB);
    c.destroy();
    expect(await unreportedGpuError()).toBeNull();
  });
});
