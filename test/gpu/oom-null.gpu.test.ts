/**
 * Dawn's own out-of-memory path, not a stand-in: the null backend refuses allocations past 512 MiB
 * in all (DeviceNull.cpp's IncrementMemoryUsage), exactly as a GPU driver's refusal reaches Dawn:
 * an invalid buffer and a GPUOutOfMemoryError. The runtime reports it with the size asked for, keeps
 * the refused buffer out of the pool, and allocates again once the memory is freed. The null backend
 * computes nothing, so only the errors and the pool are checked here (device-faults.gpu.test.ts
 * checks the values on lavapipe).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Read once, when this file's process first asks Dawn for an adapter (each test file runs in its own fork).
process.env.WGNAS_BACKEND = 'null';

const { acquireGpu, GpuOutOfMemoryError } = await import('../../src/gpu/index.js');
const { matmul } = await import('../../src/kernels/matmul.js');

let gpu: Awaited<ReturnType<typeof acquireGpu>>;
beforeAll(async () => {
  gpu = await acquireGpu();
});
afterAll(() => gpu?.destroy());

const MiB = 2 ** 20;

describe("Dawn's out-of-memory error (null backend)", () => {
  it('the allocation past the device memory fails the next check with its size; freed, the memory serves again', async () => {
    expect(gpu.adapter.description).toBe('null-backend');
    const elems = (96 * MiB) / 4; // a bucket of its own size (pool.ts)
    const ts = Array.from({ length: 6 }, () => gpu.empty([elems]));
    const err = await gpu.sync().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as Error).message).toBe('out of GPU memory: allocating 96 MiB failed');
    for (const t of ts) t.dispose();
    // The refused buffer went away on release; the others are pooled, and trimmed.
    expect(gpu.pool.stats().buffersFree).toBe(5);
    gpu.pool.trim();
    expect(gpu.pool.stats().bytesAllocated).toBe(0);
    const again = Array.from({ length: 4 }, () => gpu.empty([elems]));
    await gpu.sync();
    for (const t of again) t.dispose();
    gpu.pool.trim();
  });

  it('work that uses a refused buffer reads as out of memory, not as a validation error or data', async () => {
    const hold = Array.from({ length: 5 }, () => gpu.empty([(96 * MiB) / 4]));
    const a = gpu.upload(new Float32Array(64 * 64).fill(1), [64, 64]);
    const b = gpu.empty([2048, 2048]); // 16 MiB: past the 12 MiB left
    const c = matmul(gpu, a, a);
    gpu.copy(c, b, 64 * 64);
    const err = await b.read().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GpuOutOfMemoryError);
    expect((err as Error).message).toBe('out of GPU memory: allocating 16 MiB failed');
    for (const t of [...hold, a, b, c]) t.dispose();
    gpu.pool.trim();
    await gpu.sync();
  });
});
