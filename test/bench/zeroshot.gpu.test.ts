import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Backend, webgpuBackend } from '../../src/backend/index.js';
import type { Gpu } from '../../src/gpu/index.js';
import { createTfjsBaseline, type TfjsBaseline } from '../../src/bench/tfjs.js';
import { nb201WeightShapes, readNb201Weights, tfjsWrcor } from '../../bench/tfjs-nb201.js';
import { Nb201Net, type Nb201NetConfig } from '../../src/nn/nb201-net.js';
import { Tape } from '../../src/nn/tape.js';
import { type WrcorScores, wrcorScores } from '../../src/proxies/correlation-proxies.js';
import type { ProxyBatch } from '../../src/proxies/index.js';
import { scoreCell } from '../../src/zeroshot/index.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';

const CFG: Nb201NetConfig = { channels: 4, cellsPerStage: 1, numClasses: 10 };
const N = 8;
const SEED = 3;
const RTOL = 1e-5;

let gpu: Gpu | null;
/** The WGSL kernels on gpu: what the tfjs-webgpu baseline runs next to. */
let be: Backend | null;
let tfb: TfjsBaseline | null = null;
let batch: ProxyBatch;
let batch16: ProxyBatch;

const randomBatch = (n: number, rng: Rng): ProxyBatch => ({
  x: rng.normals(n * 3 * 32 * 32),
  y: Float32Array.from({ length: n }, () => rng.int(10)),
  n,
});

beforeAll(async () => {
  gpu = await testGpu();
  be = gpu && webgpuBackend(gpu);
  if (gpu) tfb = await createTfjsBaseline(gpu);
  const rng = new Rng(7);
  batch = randomBatch(N, rng);
  batch16 = randomBatch(16, rng);
}, 60_000);

afterAll(() => tfb?.dispose());

/** Ours through the tape, with the ReLU bookkeeping the tfjs side must reproduce. */
async function ours(
  g: Backend,
  arch: string,
  b = batch,
): Promise<{ s: WrcorScores; relus: number; gradRelus: number; net: Nb201Net }> {
  const n = b.n;
  const net = new Nb201Net(g, parseArch(arch), CFG, new Rng(SEED));
  const x = g.upload(b.x, [n, 3, 32, 32]);
  const y = g.upload(b.y, [n]);
  const tape = new Tape(g, { recordRelus: true });
  try {
    const { logits } = net.forward(tape, tape.input(x));
    tape.backward(tape.crossEntropy(logits, y));
    const s = await wrcorScores(g, tape.relus, n);
    return { s, relus: tape.relus.length, gradRelus: tape.relus.filter((r) => r.gradInput).length, net };
  } finally {
    tape.dispose();
    net.zeroGrad();
    x.dispose();
    y.dispose();
  }
}

const CELLS: Array<[string, string]> = [
  ['every op, all edges live', '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|'],
  ['dead-end conv (no gradient through it)', '|nor_conv_3x3~0|+|none~0|none~1|+|avg_pool_3x3~0|none~1|none~2|'],
  ['output node gets nothing (zeros, cut gradient)', '|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|none~2|'],
  ['pools and skips only', '|skip_connect~0|+|avg_pool_3x3~0|skip_connect~1|+|none~0|avg_pool_3x3~1|skip_connect~2|'],
];

describe('tfjs NB201 WRCor matches ours (channels 4, 1 cell per stage, batch 8)', () => {
  // Batch 16 makes each Z Z^T a shape tfjs would send to its broken vec4 split-K matmul.
  const cases: Array<[string, string, () => ProxyBatch]> = [
    ...CELLS.map(([label, arch]): [string, string, () => ProxyBatch] => [label, arch, () => batch]),
    ['every op, batch 16 (tfjs split-K matmul avoided)', CELLS[0][1], () => batch16],
  ];
  for (const [label, arch, getBatch] of cases) {
    it(
      label,
      async ({ skip }) => {
        if (!gpu || !tfb) return skip();
        const b = getBatch();
        const o = await ours(be!, arch, b);
        const weights = await readNb201Weights(o.net);
        o.net.dispose();
        const before = tfb.tf.memory().numTensors;
        const t = await tfjsWrcor(tfb.tf, parseArch(arch), CFG, weights, b);
        expect(tfb.tf.memory().numTensors).toBe(before); // everything disposed
        expect(t.relus).toBe(o.relus);
        expect(t.gradRelus).toBe(o.gradRelus);
        // Observed agreement is ~1e-9 relative on lavapipe; tfjs's own avgPool (whose gradient
        // counts the padding) would already miss by 3e-5 on wrcor and 1e-4 on wrcor_grad.
        const pairs: Array<[number, number]> = [
          [t.wrcor, o.s.wrcor],
          [t.wrcorAct, o.s.wrcor_act],
          [t.wrcorGrad, o.s.wrcor_grad],
        ];
        for (const [got, want] of pairs) {
          // -Infinity: every gradient matrix skipped (the output node gets nothing).
          if (want === -Infinity && label.startsWith('output node')) expect(got).toBe(want);
          else expect(Math.abs(got - want)).toBeLessThanOrEqual(RTOL * Math.max(1, Math.abs(want)));
        }
        for (let i = 0; i < b.n; i++) for (let j = 0; j < i; j++) expect(t.k[i * b.n + j]).toBeCloseTo(t.k[j * b.n + i], 4);
      },
      60_000,
    );
  }

  it('scoreCell (what the benchmark times) gives the same WRCor as the tape path', async ({ skip }) => {
    if (!gpu) return skip();
    const arch = CELLS[0][1];
    const o = await ours(be!, arch);
    o.net.dispose();
    const r = await scoreCell(be!, parseArch(arch), ['wrcor'], batch, { net: CFG, seed: SEED });
    expect(r.scores.wrcor).toBeCloseTo(o.s.wrcor, 6);
  }, 60_000);

  it('nb201WeightShapes lists exactly the parameters Nb201Net creates', async ({ skip }) => {
    if (!gpu) return skip();
    for (const [, arch] of CELLS) {
      const net = new Nb201Net(be!, parseArch(arch), { ...CFG, cellsPerStage: 2 }, new Rng(SEED));
      const got = nb201WeightShapes(parseArch(arch), { ...CFG, cellsPerStage: 2 });
      expect([...got.entries()]).toEqual(net.params.map((p) => [p.name, [...p.shape]]));
      net.dispose();
    }
  });

  it('rejects missing, foreign or misshapen weights and a malformed batch, leaking no tensors', async ({ skip }) => {
    if (!gpu || !tfb) return skip();
    const cell = parseArch(CELLS[0][1]);
    const net = new Nb201Net(be!, cell, CFG, new Rng(SEED));
    const weights = await readNb201Weights(net);
    net.dispose();
    const before = tfb.tf.memory().numTensors;
    // Weights of another cell: its conv edges differ.
    await expect(tfjsWrcor(tfb.tf, parseArch(CELLS[1][1]), CFG, weights, batch)).rejects.toThrow(
      /unexpected weight 's0.c0.e1.conv'/,
    );
    await expect(tfjsWrcor(tfb.tf, cell, { ...CFG, channels: 8 }, weights, batch)).rejects.toThrow(
      /'stem.conv' is \[4, 3, 3, 3\]/,
    );
    await expect(tfjsWrcor(tfb.tf, cell, CFG, weights, { ...batch, n: N + 1 })).rejects.toThrow(RangeError);
    weights.delete('s1.c0.e0.conv');
    await expect(tfjsWrcor(tfb.tf, cell, CFG, weights, batch)).rejects.toThrow(/weight 's1.c0.e0.conv' missing/);
    expect(tfb.tf.memory().numTensors).toBe(before);
  }, 60_000);
});
