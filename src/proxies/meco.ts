/**
 * MeCo (Jiang et al. 2023): sum over ReLU inputs of the minimum eigenvalue of the correlation
 * between channels, on one image.
 */
import type { Tensor } from '../backend/index.js';
import { Tape } from '../nn/tape.js';
import { definePass, defineProxy, imageFloats, imageShape } from './define.js';
import { rowCorrelationEigenvalues } from './linalg.js';

interface MecoResult {
  tape: Tape;
  one: Tensor;
}

/** Forward of the batch's first image, recording the ReLU inputs. */
const mecoPass = definePass<MecoResult>({
  name: 'meco',
  order: 40,
  async run(ctx) {
    const tape = new Tape(ctx.backend, { recordRelus: true, noGrad: true });
    const one = ctx.backend.upload(ctx.batch.x.subarray(0, imageFloats(ctx.batch)), imageShape(ctx.batch, 1));
    try {
      ctx.net.forward(tape, tape.input(one));
    } catch (e) {
      tape.dispose();
      one.dispose();
      throw e;
    }
    return { tape, one };
  },
  release(r) {
    r.tape.dispose();
    r.one.dispose();
  },
});

export const meco = defineProxy({
  name: 'meco',
  description: 'MeCo: sum over ReLU inputs of the minimum eigenvalue of the channel correlation (one sample)',
  // Merge tolerance: CPU vs lavapipe up to 1.2e-3: a minimum eigenvalue near 0 (docs/reliability.md).
  mergeRtol: 2e-2,
  pass: mecoPass,
  async compute(r, ctx) {
    let total = 0;
    for (const rec of r.tape.relus) {
      const [, ch, h, w] = rec.input.shape;
      if (ch < 2 || h * w < 2) continue;
      // A constant channel (e.g. all-zero maps behind a node that receives nothing) correlates 0
      // with the others and 1 with itself (the correlation kernel's convention).
      const ev = await rowCorrelationEigenvalues(ctx.backend, rec.input, ch, h * w);
      total += ev[0]; // the smallest
    }
    return total;
  },
});
