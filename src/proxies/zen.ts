/**
 * Zen-score (Lin et al. 2021) on a Gaussian-initialised copy of the network with a Gaussian input:
 * log E|f(x) - f(x + 0.01 e)| of the pre-pooling features, plus sum over BN layers of
 * log sqrt(mean batch variance).
 */
import { Tape } from '../nn/tape.js';
import { Rng } from '../util/rng.js';
import { definePass, defineProxy, imageFloats, imageShape } from './define.js';

interface ZenResult {
  /** Features of x and of x + 0.01 e. */
  feats: Float32Array[];
  logBn: number;
}

const zenPass = definePass<ZenResult>({
  name: 'zen',
  order: 50,
  async run(ctx) {
    const { backend, batch } = ctx;
    const n = batch.n;
    const rng = new Rng(ctx.seed ^ 0x5eed);
    const net = ctx.factory.build('gaussian', rng);
    const per = imageFloats(batch);
    const x = rng.normals(n * per);
    const eps = rng.normals(n * per);
    const xm = x.map((v, i) => v + 0.01 * eps[i]);
    const feats: Float32Array[] = [];
    let logBn = 0;
    try {
      for (const [k, data] of [x, xm].entries()) {
        // f32 whatever WGNAS_F16 says: the score is a 1% perturbation's effect, which f16 operands'
        // rounding (2^-11 per operand, per layer) would drown.
        const tape = new Tape(backend, { noGrad: true, recordBn: k === 0, precision: 'f32' });
        const t = backend.upload(data, imageShape(batch));
        try {
          const { features } = net.forward(tape, tape.input(t));
          feats.push(await features.value.read());
          if (k === 0) {
            for (const bn of tape.bns) {
              const inv = await bn.invStd.read();
              let meanVar = 0;
              for (const v of inv) meanVar += 1 / (v * v) - 1e-5;
              logBn += Math.log(Math.sqrt(Math.max(meanVar / inv.length, 1e-30)));
            }
          }
        } finally {
          tape.dispose();
          t.dispose();
        }
      }
    } finally {
      net.dispose();
    }
    return { feats, logBn };
  },
});

export const zen = defineProxy({
  name: 'zen',
  description: 'Zen-score: log E|f(x) - f(x + 0.01 e)| + sum log sqrt(mean BN var), Gaussian init and input',
  // Merge tolerance: CPU vs lavapipe up to 1.6e-7 (docs/reliability.md).
  mergeRtol: 1e-5,
  pass: zenPass,
  compute({ feats, logBn }, ctx) {
    // Features that do not depend on the input (the cell's output node receives nothing) give
    // log 0 = -Infinity; the reference (NASLib) stores its failure value -1e8 there.
    let diff = 0;
    for (let i = 0; i < feats[0].length; i++) diff += Math.abs(feats[0][i] - feats[1][i]);
    return Math.log(diff / ctx.batch.n) + logBn;
  },
});
