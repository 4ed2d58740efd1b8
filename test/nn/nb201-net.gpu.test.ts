import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import { loadNb201ReferenceProxies } from '../../src/data/nb201-bench.js';
import { NB201_DEFAULT, Nb201Net, nb201Complexity } from '../../src/nn/nb201-net.js';
import { Tape } from '../../src/nn/tape.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { Rng } from '../../src/util/rng.js';
import { testGpu } from '../helpers/gpu.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const ALL_CONV = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|skip_connect~0|avg_pool_3x3~1|nor_conv_3x3~2|';

describe('NAS-Bench-201 network on WGSL layers', () => {
  it('parameter counts equal the NAS-Bench-201 reference (40 cells, built on the GPU)', ({ skip }) => {
    if (!gpu) return skip();
    const ref = loadNb201ReferenceProxies().slice(0, 40);
    for (const r of ref) {
      const net = new Nb201Net(onGpu(gpu), parseArch(r.arch), NB201_DEFAULT, new Rng(0));
      expect(net.paramCount() / 1e6, r.arch).toBeCloseTo(r.scores.params, 5);
      net.dispose();
    }
  });

  it('the FLOPs counter reproduces the NAS-Bench-201 table on all 9445 cells', () => {
    let worst = 0;
    for (const r of loadNb201ReferenceProxies()) {
      const { flopsNb201 } = nb201Complexity(parseArch(r.arch));
      worst = Math.max(worst, Math.abs(flopsNb201 / 1e6 - r.scores.flops));
    }
    expect(worst).toBeLessThan(1e-6);
  });

  it('backward matches finite differences of the loss on a tiny network', async ({ skip }) => {
    if (!gpu) return skip();
    const cfg = { channels: 4, cellsPerStage: 1, numClasses: 3 };
    const net = new Nb201Net(onGpu(gpu), parseArch(ALL_CONV), cfg, new Rng(3));
    const rng = new Rng(4);
    const n = 3;
    const x = gpu.upload(rng.normals(n * 3 * 32 * 32), [n, 3, 32, 32]);
    const y = gpu.upload([0, 2, 1], [n]);
    const loss = async (): Promise<number> => {
      const t = new Tape(onGpu(gpu!), { noGrad: true });
      const l = t.crossEntropy(net.forward(t, t.input(x)).logits, y);
      const v = (await l.value.read())[0];
      t.dispose();
      return v;
    };
    const tape = new Tape(onGpu(gpu));
    tape.backward(tape.crossEntropy(net.forward(tape, tape.input(x)).logits, y));
    // Directional derivative along each tensor's normalised gradient u: (L(w+hu) - L(w-hu)) / 2h = |g|.
    // A whole-tensor direction gives a large signal, so f32 round-off and ReLU kinks stay small.
    const picks = ['stem.conv', 's0.c0.e0.conv', 's1.c0.e5.conv', 'reduce2.down', 'last.bn.gamma', 'classifier.w'];
    for (const name of picks) {
      const p = net.params.find((q) => q.name === name)!;
      const g = await p.grad!.read();
      const w = await p.value.read();
      const norm = Math.hypot(...g);
      const h = 2e-3;
      const at = async (s: number) => {
        onGpu(gpu!).write(
          p.value,
          w.map((v, i) => v + (s * h * g[i]) / norm),
        );
        return loss();
      };
      const fd = ((await at(1)) - (await at(-1))) / (2 * h);
      onGpu(gpu!).write(p.value, w);
      expect(Math.abs(fd - norm), `${name}: finite difference ${fd} vs |grad| ${norm}`).toBeLessThan(0.05 * norm + 1e-4);
    }
    tape.dispose();
    net.dispose();
    x.dispose();
    y.dispose();
  });

  it('records every ReLU with its block and gradient', async ({ skip }) => {
    if (!gpu) return skip();
    const net = new Nb201Net(onGpu(gpu), parseArch(ALL_CONV), { channels: 4, cellsPerStage: 1, numClasses: 10 }, new Rng(1));
    const x = gpu.upload(new Rng(2).normals(2 * 3 * 32 * 32), [2, 3, 32, 32]);
    const y = gpu.upload([1, 7], [2]);
    const t = new Tape(onGpu(gpu), { recordRelus: true });
    t.backward(t.crossEntropy(net.forward(t, t.input(x)).logits, y));
    // 4 conv edges per cell x 3 cells + 2 per reduction block x 2 + the final ReLU
    expect(t.relus.length).toBe(4 * 3 + 2 * 2 + 1);
    expect(t.relus.map((r) => r.block)).toContain(2);
    expect(t.relus.every((r) => r.gradInput && r.gradInput.size === r.input.size)).toBe(true);
    t.dispose();
    net.dispose();
  });

  it('rejects a wrongly shaped input', ({ skip }) => {
    if (!gpu) return skip();
    const net = new Nb201Net(onGpu(gpu), parseArch(ALL_CONV), { channels: 4, cellsPerStage: 1, numClasses: 10 }, new Rng(1));
    const t = new Tape(onGpu(gpu));
    const x = gpu.zeros([1, 3, 28, 28]);
    expect(() => net.forward(t, t.input(x))).toThrow(ShapeError);
    x.dispose();
    net.dispose();
  });
});
