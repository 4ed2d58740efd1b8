/**
 * Staged uploads (write() into a buffer the open encoder already uses) share staging blocks
 * (src/gpu/blocks.ts): each lands exactly where it was recorded, after the work recorded before it
 * and before the work recorded after it, whatever its size and offset, across full blocks, next to
 * uploads too large for a block, and in blocks reused by the next encoders before the GPU is done.
 * Values are small integers, so every expected value below is exact.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Gpu, STAGED_SLOT_MAX_BYTES, STAGING_BLOCK_BYTES } from '../../src/gpu/gpu.js';
import { acquireGpu, type GpuTensor } from '../../src/gpu/index.js';
import { axpy, scale } from '../../src/kernels/elementwise.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';

// A device of its own: the block counts below start from nothing.
let gpu: Gpu | null = null;
beforeAll(async () => {
  if (await testGpu()) gpu = await acquireGpu();
});
afterAll(() => gpu?.destroy());

const ints = (n: number, from: number) => Float32Array.from({ length: n }, (_, i) => from + i);

/** Snapshots of t (dispatches reading it at this point of the recording) and what they must hold. */
class Snapshots {
  private readonly taken: Array<{ t: GpuTensor; want: Float32Array }> = [];
  constructor(private readonly g: Gpu) {}
  take(t: GpuTensor, want: Float32Array): void {
    this.taken.push({ t: scale(this.g, t, 1), want: want.slice() });
  }
  async check(): Promise<void> {
    for (const [i, { t, want }] of this.taken.entries()) {
      const got = await t.read();
      t.dispose();
      expect(Array.from(got), `snapshot ${i}`).toEqual(Array.from(want));
    }
  }
}

describe('staged uploads share staging blocks', () => {
  // One encoder throughout: no small first chunks after a wait (Gpu.firstDispatchesPerSubmit).
  let first = 0;
  beforeEach(async () => {
    if (!gpu) return;
    first = gpu.firstDispatchesPerSubmit;
    gpu.firstDispatchesPerSubmit = gpu.maxDispatchesPerSubmit;
    await gpu.sync(); // the wait sets the threshold
  });
  afterEach(() => {
    if (gpu) gpu.firstDispatchesPerSubmit = first;
  });

  it('many uploads of awkward sizes and offsets in one encoder land in order with the dispatches around them', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const n = 1001;
    const ref = ints(n, 0);
    const t = gpu.upload(ref, [n]);
    const ones = gpu.upload(new Float32Array(n).fill(1), [n]);
    const snaps = new Snapshots(gpu);
    const rng = new Rng(3);
    const submits = gpu.submitCount;
    const created = gpu.stagingBlocks.created;
    for (let i = 0; i < 60; i++) {
      snaps.take(t, ref); // reads t before the write: t is in use, so the write is staged
      const k = 1 + (i % 2 === 0 ? i % 7 : rng.int(37)); // 1..37 values: 4-byte slots and offsets
      const at = rng.int(n - k + 1);
      const data = ints(k, 10_000 * (i + 1));
      gpu.write(t, data, at);
      ref.set(data, at);
      if (i % 5 === 4) {
        axpy(gpu, t, ones, 1); // a dispatch after the write reads and writes it
        for (let j = 0; j < n; j++) ref[j] += 1;
      }
    }
    snaps.take(t, ref);
    expect(gpu.submitCount).toBe(submits); // one encoder, so every write above was staged
    await snaps.check();
    expect(Array.from(await t.read())).toEqual(Array.from(ref));
    // 60 small uploads: one block (or none, where a free one served).
    expect(gpu.stagingBlocks.created - created).toBeLessThanOrEqual(1);
    for (const x of [t, ones]) x.dispose();
  });

  it('a full block chains to the next within the encoder; uploads past the slot limit keep their own buffer', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const limitElems = STAGED_SLOT_MAX_BYTES / 4;
    // Sizes around the limit (the largest slot, one value past it, less) summing to ~3 blocks.
    const sizes = [limitElems, limitElems + 1, limitElems - 3, limitElems, 1, limitElems - 1, limitElems, limitElems + 7];
    for (let i = 0; i < 6; i++) sizes.push(limitElems - 5 * i);
    const n = 3 * limitElems + 11;
    const ref = ints(n, 0);
    const t = gpu.upload(ref, [n]);
    const snaps = new Snapshots(gpu);
    await gpu.sync(); // every block free
    const submits = gpu.submitCount;
    const created = gpu.stagingBlocks.created;
    const free0 = gpu.stagingBlocks.freeBlocks;
    let slotBytes = 0;
    for (const [i, k] of sizes.entries()) {
      snaps.take(t, ref);
      const at = (i * 7919) % (n - k + 1);
      const data = ints(k, 100_000 * (i + 1));
      gpu.write(t, data, at);
      ref.set(data, at);
      if (4 * k <= STAGED_SLOT_MAX_BYTES) slotBytes += 4 * k;
    }
    snaps.take(t, ref);
    expect(gpu.submitCount).toBe(submits);
    // The slots need at least this many blocks (free ones first), and a block is sealed only once
    // more than blockBytes - slot limit of it is used.
    const blocks = gpu.stagingBlocks.created - created;
    expect(slotBytes).toBeGreaterThan(2 * STAGING_BLOCK_BYTES);
    expect(blocks + free0).toBeGreaterThanOrEqual(Math.ceil(slotBytes / STAGING_BLOCK_BYTES));
    expect(blocks).toBeLessThanOrEqual(Math.ceil(slotBytes / (STAGING_BLOCK_BYTES - STAGED_SLOT_MAX_BYTES)));
    await snaps.check();
    expect(Array.from(await t.read())).toEqual(Array.from(ref));
    // Submitted: the blocks serve again, at most 4 kept.
    expect(gpu.stagingBlocks.freeBlocks).toBeGreaterThan(0);
    expect(gpu.stagingBlocks.freeBlocks).toBeLessThanOrEqual(4);
    t.dispose();
  });

  it('blocks are reused by the next encoders before the GPU has run the last one, without clobbering it', async ({ skip }) => {
    if (!gpu) return skip();
    await gpu.sync(); // every block free
    const n = 257;
    const t = gpu.upload(ints(n, 0), [n]);
    const snaps = new Snapshots(gpu);
    const created = gpu.stagingBlocks.created;
    const ref = ints(n, 0);
    for (let e = 0; e < 6; e++) {
      // Each encoder: a dispatch reads t, a staged write at the same offsets, a dispatch reads it again.
      snaps.take(t, ref);
      const data = ints(100, 1000 * (e + 1));
      gpu.write(t, data, 50);
      ref.set(data, 50);
      snaps.take(t, ref);
      gpu.flush(); // submitted, not waited for: the next encoder's block is this one
    }
    expect(gpu.stagingBlocks.created).toBe(created);
    await snaps.check();
    t.dispose();
  });

  it('a write into a buffer the encoder does not use stays a queue write (no staging)', async ({ skip }) => {
    if (!gpu) return skip();
    await gpu.sync();
    const t = gpu.upload(ints(64, 0), [64]);
    const free0 = gpu.stagingBlocks.freeBlocks;
    gpu.write(t, ints(8, 500), 3);
    gpu.write(t, ints(8, 600), 40);
    const want = ints(64, 0);
    want.set(ints(8, 500), 3);
    want.set(ints(8, 600), 40);
    // No staging block was taken from the free list (nor created): nothing was sealed at submit.
    expect(Array.from(await t.read())).toEqual(Array.from(want));
    expect(gpu.stagingBlocks.freeBlocks).toBe(free0);
    t.dispose();
  });
});
