/**
 * What a long `wgnas score` run (all 15625 cells) keeps per cell must be nothing: every proxy
 * returns what it used to the device, so scoring the same cells again allocates no new buffer and
 * leaves no tensor live. Counts, not timings; on both backends.
 */
import { describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { gpuOf } from '../../src/backend/webgpu.js';
import { NativeTensor } from '../../src/native/device.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import type { ReluRecord } from '../../src/nn/tape.js';
import { wrcorScoresMany } from '../../src/proxies/correlation-proxies.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { expandProxyNames, scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { bothBackends } from '../helpers/backend.js';

const NET = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|',
];

/** Bytes of live tensors once the queued work has run (a leaked tensor stays in this count). */
async function liveBytes(b: Backend): Promise<number> {
  await b.sync();
  return b.stats().bytesInUse;
}

/** Buffers the device's pool holds (live and free): the GPU's buffer pool, the CPU's native one. */
function poolBuffers(b: Backend): number {
  const gpu = gpuOf(b);
  if (gpu) {
    const p = gpu.pool.stats();
    return p.buffersInUse + p.buffersFree;
  }
  const probe = b.empty([1]);
  probe.dispose();
  if (!(probe instanceof NativeTensor)) throw new Error('poolBuffers: neither a webgpu nor a cpu backend');
  const s = probe.device.stats();
  return s.buffersInUse + s.buffersFree;
}

describe.each(await bothBackends())('long runs on the $name backend hold nothing per cell', ({ backend }) => {
  it("a 2-D correlation's result owns its memory: disposing it frees it", async ({ skip }) => {
    if (!backend) return skip();
    const before = await liveBytes(backend);
    const x = backend.upload(
      Float32Array.from({ length: 6 * 10 }, (_, i) => Math.sin(i)),
      [6, 10],
    );
    const c = backend.ops.correlation(x);
    expect(c.shape).toEqual([6, 6]);
    expect((await c.read())[0]).toBeCloseTo(1, 6);
    c.dispose();
    x.dispose();
    expect(await liveBytes(backend)).toBe(before);
  });

  it('every proxy: scoring the cells a second time leaves no tensor live and allocates no new buffer', async ({ skip }) => {
    if (!backend) return skip();
    const proxies = expandProxyNames(['all']);
    const scorer = new ZeroShotScorer(backend, proxies, { batchSize: 8, seed: 1, net: NET });
    const cells = ARCHS.map(parseArch);
    const before = await liveBytes(backend);
    await scoreAll(scorer, cells);
    const live1 = await liveBytes(backend);
    const pool1 = poolBuffers(backend);
    await scoreAll(scorer, cells);
    expect({ live: live1, again: await liveBytes(backend) }).toEqual({ live: before, again: before });
    // The same cells need the same working set: any buffer a cell kept would be allocated anew. The
    // CPU's worker frees a disposed tensor only once the work queued on it ran, so how far it lags
    // the JS side decides a few allocations there; the GPU pool's count is exact.
    if (gpuOf(backend)) expect(poolBuffers(backend)).toBe(pool1);
    else expect(poolBuffers(backend)).toBeLessThanOrEqual(pool1 * 1.05);
  });

  it('the batched correlations take a few scratch sizes, not one buffer per layer count a group brings', async ({ skip }) => {
    if (!backend) return skip();
    // Groups of networks bring every count of ReLUs; each count sized the arena anew, and the pool
    // kept a buffer per size (64 KiB steps above 64 KiB): hundreds of MB on lavapipe within 60 cells.
    const n = 4;
    const d = 4096; // 64 KiB per layer: every count of layers is its own pool bucket
    const recs: ReluRecord[] = Array.from({ length: 40 }, (_, i) => ({
      name: `r${i}`,
      block: i % 3,
      module: i,
      input: backend.upload(
        Float32Array.from({ length: n * d }, (_, j) => Math.sin(i + j * (1 + i / 7))),
        [n, d],
      ),
    }));
    const layers = async (from: number, to: number) => {
      for (let L = from; L <= to; L++) {
        await wrcorScoresMany(backend, [recs.slice(0, L)], n);
      }
      return poolBuffers(backend);
    };
    try {
      const k = await layers(1, 20);
      // Twice the counts (21..40 layers): at most one more size class each for the arena and the matrices.
      expect((await layers(21, 40)) - k).toBeLessThanOrEqual(2);
    } finally {
      for (const r of recs) r.input.dispose();
    }
  });
});
