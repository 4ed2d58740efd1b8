/**
 * The passes several proxies share: the host-side counts, and one cross-entropy forward/backward
 * tape per network that WRCor (+ablations), NASWOT, grad_norm and SNIP all read. Passes serving a
 * single proxy live in that proxy's file.
 */
import type { Backend, Tensor } from '../backend/index.js';
import type { ScorableNet } from '../nn/scorable.js';
import { type Param, Tape } from '../nn/tape.js';
import type { CorrRecord } from './correlation-proxies.js';
import { definePass, type NetContext } from './define.js';

/** Conv and linear weights: what grad_norm, SNIP, ZiCo and SynFlow sum over. */
export const weightParams = (net: ScorableNet): Param[] => net.params.filter((p) => p.kind === 'conv' || p.kind === 'linear');

/** Reads [1]-element tensors (one readback each, all in flight together) and disposes them. */
export async function readScalars(ts: Array<{ read(): Promise<Float32Array>; dispose(): void }>): Promise<number[]> {
  const vals = await Promise.all(ts.map((t) => t.read()));
  ts.forEach((t) => t.dispose());
  return vals.map((v) => v[0]);
}

/**
 * The first element of each tensor, like readScalars, through ONE read: the scalars are copied
 * into one tensor on the device first (a read is a round trip to the device; one per weight
 * tensor cost more than the copies). Disposes the inputs.
 */
export async function gatherScalars(backend: Backend, ts: Tensor[]): Promise<number[]> {
  if (ts.length === 0) return [];
  const all = backend.empty([ts.length]);
  try {
    ts.forEach((t, i) => backend.copy(t, all, 1, 0, i));
    return [...(await all.read())];
  } finally {
    all.dispose();
    ts.forEach((t) => t.dispose());
  }
}

/** Counts of the network itself (no device work): params, flops. */
export const staticPass = definePass<NetContext>({
  name: 'static',
  order: 0,
  timed: false,
  run: async (ctx) => ctx,
});

export interface CePassResult {
  /** Holds the ReLU records (inputs and, after backward, their own gradients). */
  tape: Tape;
  /** This network's ReLU records: the tape's, or its slices of a stacked tape's (scoreNetsStacked). */
  relus: readonly CorrRecord[];
  n: number;
  /** Conv/linear weights; their .grad is set when a proxy asked for paramGrads (null where none reached them). */
  weights: Param[];
}

/**
 * Forward on the batch recording every ReLU, then (if asked) backward from the mean cross-entropy.
 * NASWOT alone needs only the forward activations; WRCor reads activation gradients only, so the
 * weight-gradient convolutions run just for grad_norm / SNIP.
 */
export const cePass = definePass<CePassResult>({
  name: 'ce',
  order: 10,
  async run(ctx, needs) {
    const { backend, net } = ctx;
    const tape = new Tape(backend, { recordRelus: true, noGrad: !needs.backward, paramGrads: needs.paramGrads ? 'all' : 'none' });
    try {
      const { logits } = net.forward(tape, tape.input(ctx.x, !needs.paramGrads));
      if (needs.backward) tape.backward(tape.crossEntropy(logits, ctx.y));
    } catch (e) {
      tape.dispose();
      net.zeroGrad();
      throw e;
    }
    return { tape, relus: tape.relus, n: ctx.batch.n, weights: weightParams(net) };
  },
  release(r, ctx) {
    r.tape.dispose();
    ctx.net.zeroGrad();
  },
});
