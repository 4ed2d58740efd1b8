/**
 * SynFlow (Tanaka et al. 2020): R = sum of the logits of the network with |W| and BN removed on
 * an all-ones input; score ln sum over conv/linear weights of |W * dR/dW|.
 */
import type { Tensor } from '../backend/index.js';
import { Tape } from '../nn/tape.js';
import { definePass, defineProxy, imageFloats, imageShape } from './define.js';
import { gatherScalars, weightParams } from './passes.js';

const SYNFLOW_SHIFT = 64;

interface SynflowResult {
  tape: Tape;
  ones: Tensor;
}

/** Linearises the network in place (|W| for every parameter) and runs R's forward/backward. */
const synflowPass = definePass<SynflowResult>({
  name: 'synflow',
  order: 100,
  mutatesNet: true,
  async run(ctx) {
    const { backend, net } = ctx;
    for (const p of net.params) {
      // Batch norm is the identity on this tape: its parameters are never read.
      if (p.kind === 'bn_gamma' || p.kind === 'bn_beta') continue;
      const a = backend.ops.abs(p.value);
      p.value.dispose();
      p.value = a;
    }
    const tape = new Tape(backend, { bnIdentity: true });
    // With |W| and BN removed every ReLU sees non-negative input, so R is linear in the input:
    // scaling the all-ones input by 2^-SYNFLOW_SHIFT scales the score exactly by the same factor
    // and keeps f32 activations of deep cells far from overflow (PyTorch uses f64 instead).
    const ones = backend.upload(new Float32Array(imageFloats(ctx.batch)).fill(2 ** -SYNFLOW_SHIFT), imageShape(ctx.batch, 1));
    try {
      const { logits } = net.forward(tape, tape.input(ones));
      tape.backward(logits);
    } catch (e) {
      tape.dispose();
      ones.dispose();
      net.zeroGrad();
      throw e;
    }
    return { tape, ones };
  },
  release(r, ctx) {
    r.tape.dispose();
    r.ones.dispose();
    ctx.net.zeroGrad();
  },
});

export const synflow = defineProxy({
  name: 'synflow',
  description: 'SynFlow: ln sum |W * dR/dW| with |W|, BN removed, all-ones input',
  pass: synflowPass,
  async compute(_r, ctx) {
    // A weight without a gradient (R never reaches it) has dR/dW = 0 and adds 0. When nothing
    // reaches the input side (the cell's output node receives nothing) the sum is 0 and the score
    // ln 0 = -Infinity; the reference (NASLib) stores the raw sum, 0, there.
    const ws = weightParams(ctx.net).filter((p) => p.grad);
    const v = await gatherScalars(
      ctx.backend,
      ws.map((p) => ctx.backend.ops.sumAbsProduct(p.value, p.grad!)),
    );
    // Reported as a natural log: the raw sum exceeds f32 range for deep NB201 cells.
    return Math.log(v.reduce((s, a) => s + a, 0)) + SYNFLOW_SHIFT * Math.LN2;
  },
});
