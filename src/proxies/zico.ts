/**
 * ZiCo (Li et al. 2023): per conv/linear layer, log of sum over weights of mean|g| / std(g), the
 * gradients g taken on two half-batches; summed over layers.
 */
import { Tape } from '../nn/tape.js';
import { definePass, defineProxy, imageFloats, imageShape } from './define.js';
import { weightParams } from './passes.js';

/** Per half-batch, per conv/linear weight: its gradient, or null where the loss never reached it. */
type HalfGrads = Array<Float32Array | null>;

const zicoPass = definePass<HalfGrads[]>({
  name: 'zico',
  order: 30,
  async run(ctx) {
    const { backend, net, batch } = ctx;
    const half = Math.floor(batch.n / 2);
    if (half < 1) throw new RangeError('zico needs a batch of at least 2');
    const per = imageFloats(batch);
    const grads: HalfGrads[] = [];
    for (let h = 0; h < 2; h++) {
      const xs = backend.upload(batch.x.subarray(h * half * per, (h + 1) * half * per), imageShape(batch, half));
      const ys = backend.upload(batch.y.subarray(h * half, (h + 1) * half), [half]);
      const tape = new Tape(backend);
      try {
        const { logits } = net.forward(tape, tape.input(xs));
        tape.backward(tape.crossEntropy(logits, ys));
        grads.push(await Promise.all(weightParams(net).map((p) => (p.grad ? p.grad.read() : null))));
      } finally {
        tape.dispose();
        net.zeroGrad();
        xs.dispose();
        ys.dispose();
      }
    }
    return grads;
  },
});

export const zico = defineProxy({
  name: 'zico',
  description: 'ZiCo: sum over layers of log(sum |mean g| / std g) across two half-batches',
  // Merge tolerance: CPU vs lavapipe up to 2.0e-2, 1 vs 2 threads 2.8e-3 (std g cancels: below).
  mergeRtol: 2e-1,
  pass: zicoPass,
  compute(grads) {
    let score = 0;
    for (let l = 0; l < grads[0].length; l++) {
      // A weight without a gradient has g = 0 in both halves: std 0 everywhere, so like the
      // reference code (which only keeps weights with nonzero std and skips a layer whose sum is 0)
      // the layer adds nothing. A cell whose output node receives nothing scores 0.
      const a = grads[0][l];
      const b = grads[1][l];
      if (!a && !b) continue;
      const ga = a ?? new Float32Array(b!.length);
      const gb = b ?? new Float32Array(a!.length);
      // Summed in f64, but ga and gb are f32 gradients: where the halves nearly agree, ga - gb
      // cancels and the term carries their rounding, magnified (the device and CPU threads move
      // zico by up to 2e-2 relative; only gradients computed in f64 would do better).
      let sum = 0;
      for (let i = 0; i < ga.length; i++) {
        const sd = Math.abs(ga[i] - gb[i]) / 2; // population std of two values
        if (sd > 0) sum += (Math.abs(ga[i]) + Math.abs(gb[i])) / 2 / sd;
      }
      if (sum > 0) score += Math.log(sum);
    }
    return score;
  },
});
