/**
 * WGNAS_F16=1 (Gpu.f16Compute) and the proxies f16 operands would break: SynFlow (its input scaled
 * to 2^-64, far below f16's range, whose overflow checks see only f32 sums) and Zen (a 1%
 * perturbation's effect) run at f32 whatever the Gpu says (TapeOptions.precision), bit for bit the
 * scores of a Gpu without the opt-in; WRCor, which does not pin, shows the opt-in was on.
 */
import { describe, expect, it } from 'vitest';
import { gpuOf } from '../../src/backend/index.js';
import { hasF16 } from '../../src/kernels/f16.js';
import { Param, Tape } from '../../src/nn/tape.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { gpuBackend } from '../helpers/backend.js';

const backend = await gpuBackend();
const gpu = backend && gpuOf(backend);
const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const N = 4;
const BATCH = { x: new Rng(3).normals(N * 3 * 32 * 32), y: Float32Array.from({ length: N }, (_, i) => i % 10), n: N };

/** `body` with the Gpu's f16 opt-in set to `on` (restored after). */
async function withF16<T>(on: boolean, body: () => Promise<T>): Promise<T> {
  const was = gpu!.f16Compute;
  gpu!.f16Compute = on;
  try {
    return await body();
  } finally {
    gpu!.f16Compute = was;
  }
}

describe('f32 pinned under WGNAS_F16', () => {
  it("a tape with precision 'f32': conv and linear, forward and backward, as without the opt-in", async ({ skip }) => {
    if (!backend || !gpu || !hasF16(gpu)) return skip();
    const rng = new Rng(9);
    const x = backend.upload(rng.normals(2 * 8 * 6 * 6), [2, 8, 6, 6]);
    const w = backend.upload(rng.normals(8 * 8 * 3 * 3), [8, 8, 3, 3]);
    const lw = backend.upload(rng.normals(5 * 8 * 36), [5, 8 * 36]);
    const run = async (precision: 'f32' | undefined) => {
      const tape = new Tape(backend, { precision });
      const [cw, fw] = [new Param(w, 'w', 'conv'), new Param(lw, 'lw', 'linear')];
      const seed = backend.upload(new Float32Array(10).fill(1), [2, 5]);
      try {
        const h = tape.reluConv(tape.conv(tape.input(x), cw, { pad: 1 }), cw, { pad: 1 }, { block: 0, module: 0 });
        const y = tape.linear(tape.reshape(h, [2, 8 * 36]), fw, null);
        tape.backward(y, seed);
        const out = await backend.readMany([y.value, cw.grad!, fw.grad!]);
        return out.map((v) => Array.from(v));
      } finally {
        tape.dispose();
        seed.dispose();
        cw.zeroGrad();
        fw.zeroGrad();
      }
    };
    const f32 = await withF16(false, () => run(undefined));
    expect(await withF16(true, () => run('f32'))).toEqual(f32);
    expect(await withF16(true, () => run(undefined))).not.toEqual(f32); // the opt-in was on
    for (const t of [x, w, lw]) t.dispose();
  });

  it('SynFlow and Zen score as without the opt-in, bit for bit; WRCor does not', async ({ skip }) => {
    if (!backend || !gpu || !hasF16(gpu)) return skip();
    const score = () =>
      scoreAll(
        new ZeroShotScorer(backend, ['synflow', 'zen', 'wrcor'], {
          batchSize: N,
          seed: 0,
          batch: BATCH,
          net: { channels: 4, cellsPerStage: 1, numClasses: 10 },
        }),
        [parseArch(ARCH)],
      );
    const [f32] = await withF16(false, score);
    const [f16] = await withF16(true, score);
    for (const p of ['synflow', 'zen']) {
      expect(Number.isFinite(f32.scores[p]), p).toBe(true);
      expect(Object.is(f16.scores[p], f32.scores[p]), `${p}: ${f16.scores[p]} vs ${f32.scores[p]}`).toBe(true);
    }
    expect(f16.scores.wrcor).not.toBe(f32.scores.wrcor);
  });
});
