import { onGpu } from '../helpers/backend.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import type { GateSample } from '../../src/kernels/binarize.js';
import { fromNetConfig } from '../../src/latency/arch.js';
import type { MbconvExpand, MbconvKernel } from '../../src/latency/space.js';
import { Tape } from '../../src/nn/tape.js';
import { CIFAR_LAYOUT, type MobileNetLayout } from '../../src/mobilenet/layout.js';
import { WeightSgd } from '../../src/nn/optim.js';
import { toNetConfig, choicesFromNetConfig } from '../../src/proxyless/net-config.js';
import { type Tensor64, type WeightMap, mbconvParamNames, mbconvRef, supernetLossRef } from '../../src/proxyless/reference.js';
import { BN_EPS, ProxylessSupernet } from '../../src/proxyless/supernet.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { TINY_SUPERNET_LAYOUT } from '../helpers/cases.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

const TINY = TINY_SUPERNET_LAYOUT;

async function weightMap(net: ProxylessSupernet): Promise<WeightMap> {
  const wm: WeightMap = new Map();
  for (const p of net.params) wm.set(p.name, { data: Float64Array.from(await p.value.read()), shape: [...p.value.shape] });
  return wm;
}

function oneHotGates(net: ProxylessSupernet, gates: GateSample[]): number[][] {
  return net.positions.map((p, b) => p.candidates.map((_, j) => (j === gates[b].active ? 1 : 0)));
}

/** Central difference in f64; h is small because ReLU6 kinks sit close together at these tiny shapes. */
function fd(f: (h: number) => number, h = 1e-6): number {
  return (f(h) - f(-h)) / (2 * h);
}

describe('MBConv candidate vs f64 CPU reference', () => {
  for (const [kernel, expand, stride] of [
    [3, 3, 1],
    [5, 6, 2],
    [7, 3, 2],
  ] as Array<[MbconvKernel, MbconvExpand, number]>) {
    it(`k${kernel} e${expand} s${stride}: forward, input and weight gradients`, async ({ skip }) => {
      if (!gpu) return skip();
      const layout: MobileNetLayout = {
        ...TINY,
        widths: [5],
        depths: [1],
        strides: [stride],
        kernels: [kernel],
        expands: [expand],
        inputSize: 7,
      };
      const net = new ProxylessSupernet(onGpu(gpu), layout, new Rng(kernel * 10 + expand));
      const rng = new Rng(7);
      const xShape = [2, 4, 7, 7];
      const xData = rng.normals(2 * 4 * 49);
      const t = new Tape(onGpu(gpu));
      const x = t.input(t.adopt(gpu.upload(xData, xShape)), true);
      const o = net.layers[0].candidateOutput(t, x, 0, { block: 0, module: 0 }, 'mb');
      const r = rng.normals(o.value.size);
      const seed = t.adopt(gpu.upload(r, o.shape));
      t.backward(o, seed);
      const wm = await weightMap(net);
      const x64: Tensor64 = { data: Float64Array.from(xData), shape: xShape };
      const ref = mbconvRef(x64, wm, 'b0.c0', kernel, expand, stride, BN_EPS);
      expect(o.shape).toEqual(ref.shape);
      expectClose(await o.value.read(), ref.data, { atol: 2e-4, rtol: 1e-3, label: 'forward' });
      // L = Σ o ⊙ r; central differences of the f64 reference.
      const lossAt = (w: WeightMap, xx: Tensor64) =>
        mbconvRef(xx, w, 'b0.c0', kernel, expand, stride, BN_EPS).data.reduce((s, v, i) => s + v * r[i], 0);
      const dx = await x.grad!.read();
      for (const i of [0, 17, 101, 391]) {
        const g = fd((h) => {
          const xx = { data: x64.data.slice(), shape: xShape };
          xx.data[i] += h;
          return lossAt(wm, xx);
        });
        expect(Math.abs(dx[i] - g)).toBeLessThan(2e-3 + 2e-3 * Math.abs(g));
      }
      const names = mbconvParamNames('b0.c0', kernel, expand);
      for (const name of [names.dw, names.project, `${names.expand}.bn.gamma`, `${names.dw}.bn.beta`]) {
        const p = net.paramMap().get(name)!;
        const grad = await p.grad!.read();
        for (const i of [0, Math.floor(p.value.size / 2), p.value.size - 1]) {
          const g = fd((h) => {
            const w2: WeightMap = new Map(wm);
            const e = wm.get(name)!;
            const d = e.data.slice();
            d[i] += h;
            w2.set(name, { data: d, shape: e.shape });
            return lossAt(w2, x64);
          });
          expect(Math.abs(grad[i] - g), `${name}[${i}]`).toBeLessThan(2e-3 + 2e-3 * Math.abs(g));
        }
      }
      t.dispose();
      net.dispose();
    });
  }
});

describe('supernet with binarized gates vs f64 CPU reference', () => {
  // Block 0: active k5e3 (1), inactive 'zero' (4); block 1: active k3e6 (2), inactive k3e3 (0);
  // block 2 (stride 2, no zero): active k5e6 (3), inactive k5e3 (1).
  const gates: GateSample[] = [
    { active: 1, inactive: [4], involved: [1, 4] },
    { active: 2, inactive: [0], involved: [2, 0] },
    { active: 3, inactive: [1], involved: [3, 1] },
  ];

  async function run(gpu: Gpu, mode: 'sampled' | 'all', bnEps?: number) {
    const net = new ProxylessSupernet(onGpu(gpu), TINY, new Rng(3), { bnEps });
    const rng = new Rng(4);
    const n = 3;
    const xData = rng.normals(n * 3 * 64);
    const labels = Float32Array.from([0, 2, 1]);
    const t = new Tape(onGpu(gpu));
    const x = gpu.upload(xData, [n, 3, 8, 8]);
    const y = gpu.upload(labels);
    const { logits, records } = net.forward(t, t.input(x), gates, { inactive: true });
    const loss = t.crossEntropy(logits, y);
    t.backward(loss);
    const dg = await net.gateGradients(records, mode);
    const lossGpu = (await loss.value.read())[0];
    const wm = await weightMap(net);
    const grads = new Map<string, Float32Array>();
    for (const p of net.params) if (p.grad) grads.set(p.name, await p.grad.read());
    t.dispose();
    x.dispose();
    y.dispose();
    return { net, wm, dg, lossGpu, grads, x64: { data: Float64Array.from(xData), shape: [n, 3, 8, 8] }, labels };
  }

  it("bnEps reaches every BN (the search's 1e-3): the loss is the reference's at that eps", async ({ skip }) => {
    if (!gpu) return skip();
    const { net, wm, lossGpu, x64, labels } = await run(gpu, 'sampled', 1e-3);
    const g0 = oneHotGates(net, gates);
    const at3 = supernetLossRef(TINY, wm, x64, labels, g0, 1e-3);
    const at5 = supernetLossRef(TINY, wm, x64, labels, g0, 1e-5);
    expect(Math.abs(lossGpu - at3)).toBeLessThan(Math.abs(at3 - at5) / 10);
    net.dispose();
  });

  it('loss and gate gradients dL/dg_j (sampled pairs) match finite differences', async ({ skip }) => {
    if (!gpu) return skip();
    const { net, wm, dg, lossGpu, x64, labels } = await run(gpu, 'sampled');
    const g0 = oneHotGates(net, gates);
    expect(lossGpu).toBeCloseTo(supernetLossRef(TINY, wm, x64, labels, g0, BN_EPS), 4);
    gates.forEach((g, b) => {
      for (let j = 0; j < net.positions[b].candidates.length; j++) {
        const evaluated = j === g.active || g.inactive.includes(j);
        if (!evaluated) {
          expect(dg[b]![j]).toBe(0);
          continue;
        }
        const want = fd((h) => {
          const gg = g0.map((r) => r.slice());
          gg[b][j] += h;
          return supernetLossRef(TINY, wm, x64, labels, gg, BN_EPS);
        });
        expect(Math.abs(dg[b]![j] - want), `block ${b} gate ${j}`).toBeLessThan(2e-5 + 1e-3 * Math.abs(want));
      }
    });
    // 'zero' has no output: its gate gradient is exactly 0.
    expect(dg[0]![4]).toBe(0);
    net.dispose();
  });

  it("'all' mode (full_v2) gives every candidate's gate gradient", async ({ skip }) => {
    if (!gpu) return skip();
    const { net, wm, dg, x64, labels } = await run(gpu, 'all');
    const g0 = oneHotGates(net, gates);
    gates.forEach((_, b) => {
      net.positions[b].candidates.forEach((c, j) => {
        const want =
          c === 'zero'
            ? 0
            : fd((h) => {
                const gg = g0.map((r) => r.slice());
                gg[b][j] += h;
                return supernetLossRef(TINY, wm, x64, labels, gg, BN_EPS);
              });
        expect(Math.abs(dg[b]![j] - want), `block ${b} gate ${j}`).toBeLessThan(2e-5 + 1e-3 * Math.abs(want));
      });
    });
    net.dispose();
  });

  it('weight gradients reach only the active paths and match finite differences', async ({ skip }) => {
    if (!gpu) return skip();
    const { net, wm, grads, x64, labels } = await run(gpu, 'sampled');
    const g0 = oneHotGates(net, gates);
    // Inactive candidates (even the 2-path partner, run without grad) get no gradient.
    // TINY's candidates: 0 k3e3, 1 k5e3, 2 k3e6, 3 k5e6, 4 zero.
    expect(grads.has(mbconvParamNames('b1.c0', 3, 3).dw)).toBe(false);
    expect(grads.has(mbconvParamNames('b2.c1', 5, 3).project)).toBe(false);
    expect(grads.has(mbconvParamNames('b1.c2', 3, 6).dw)).toBe(true);
    for (const name of [
      'stem.conv',
      mbconvParamNames('b0.c1', 5, 3).expand!,
      `${mbconvParamNames('b2.c3', 5, 6).dw}.bn.gamma`,
      'mix.conv',
      'classifier.w',
      'classifier.b',
    ]) {
      const grad = grads.get(name)!;
      const e = wm.get(name)!;
      for (const i of [0, Math.floor(e.data.length / 3), e.data.length - 1]) {
        const want = fd((h) => {
          const w2: WeightMap = new Map(wm);
          const d = e.data.slice();
          d[i] += h;
          w2.set(name, { data: d, shape: e.shape });
          return supernetLossRef(TINY, w2, x64, labels, g0, BN_EPS);
        });
        expect(Math.abs(grad[i] - want), `${name}[${i}]`).toBeLessThan(2e-5 + 2e-3 * Math.abs(want));
      }
    }
    net.dispose();
  });

  it("'zero' active: the block passes its input through and reports no gate gradient", async ({ skip }) => {
    if (!gpu) return skip();
    const net = new ProxylessSupernet(onGpu(gpu), TINY, new Rng(3));
    const t = new Tape(onGpu(gpu));
    const x = gpu.upload(new Rng(1).normals(2 * 3 * 64), [2, 3, 8, 8]);
    const y = gpu.upload(Float32Array.from([1, 0]));
    const gz: GateSample[] = [
      { active: 4, inactive: [0], involved: [4, 0] },
      { active: 4, inactive: [], involved: [4, 0, 1, 2, 3] },
      { active: 0, inactive: [], involved: [0, 1, 2, 3] },
    ];
    const { logits, records } = net.forward(t, t.input(x), gz, { inactive: true });
    expect(records[0].activeOut).toBeNull();
    expect(records[1].input).toBe(records[0].input);
    t.backward(t.crossEntropy(logits, y));
    const dg = await net.gateGradients(records);
    expect(dg[0]).toBeNull();
    expect(dg[1]).toBeNull();
    expect(dg[2]![0]).not.toBe(0);
    t.dispose();
    x.dispose();
    y.dispose();
    net.dispose();
  });

  it('rejects a wrong input shape and a candidate that was not built', async ({ skip }) => {
    if (!gpu) return skip();
    const net = new ProxylessSupernet(onGpu(gpu), TINY, new Rng(3), { only: [0, 1, 2] });
    const t = new Tape(onGpu(gpu));
    const bad = gpu.zeros([1, 3, 9, 9]);
    const g = [0, 1, 2].map((a) => ({ active: a, inactive: [], involved: [a] }));
    expect(() => net.forward(t, t.input(bad), g)).toThrow(ShapeError);
    const x = gpu.zeros([1, 3, 8, 8]);
    expect(() => net.forward(t, t.input(x), [g[0], g[0], g[2]])).toThrow(/not built/);
    t.dispose();
    bad.dispose();
    x.dispose();
    net.dispose();
  });
});

describe('memory: a supernet step costs what one (two) paths cost', () => {
  it('CIFAR layout, batch 4: 1-path step ≈ stand-alone network step; 2-path adds only block outputs', async ({ skip }) => {
    if (!gpu) return skip();
    const layout = CIFAR_LAYOUT;
    const choices = [5, 2, 1, 5, 0, 4, 3, 6, 2, 1, 5].slice(
      0,
      layout.depths.reduce((a, b) => a + b, 0),
    );
    const n = 4;
    const rng = new Rng(9);
    const xData = rng.normals(n * 3 * 32 * 32);
    const labels = Float32Array.from([1, 5, 9, 0]);
    const g1: GateSample[] = choices.map((a) => ({ active: a, inactive: [], involved: [a] }));

    const step = async (net: ProxylessSupernet, gates: GateSample[], inactive: boolean): Promise<number> => {
      const sgd = new WeightSgd(onGpu(gpu!), net.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
      // Warm the pool and the momentum buffers with one step, then measure the second.
      let peak = 0;
      for (let k = 0; k < 2; k++) {
        await gpu!.sync();
        const base = gpu!.pool.stats().bytesInUse;
        gpu!.pool.resetPeak();
        const t = new Tape(onGpu(gpu!));
        const x = gpu!.upload(xData, [n, 3, 32, 32]);
        const y = gpu!.upload(labels);
        const { logits, records } = net.forward(t, t.input(x), gates, { inactive });
        t.backward(t.crossEntropy(logits, y));
        await net.gateGradients(records);
        sgd.step(0.01);
        net.zeroGrad();
        t.dispose();
        x.dispose();
        y.dispose();
        peak = gpu!.pool.stats().peakBytesInUse - base;
      }
      sgd.dispose();
      return peak;
    };

    const alone = new ProxylessSupernet(onGpu(gpu), layout, new Rng(1), { only: choices });
    const aloneBytes = await step(alone, g1, false);
    const aloneParams = alone.store.count();
    alone.dispose();

    const sup = new ProxylessSupernet(onGpu(gpu), layout, new Rng(1));
    const superParams = sup.store.count();
    const oneBytes = await step(sup, g1, false);
    const pairRng = new Rng(5);
    const g2: GateSample[] = choices.map((a, b) => {
      const nc = sup.positions[b].candidates.length;
      const other = (a + 1 + pairRng.int(nc - 1)) % nc;
      return { active: a, inactive: [other], involved: [a, other] };
    });
    const twoBytes = await step(sup, g2, true);
    sup.dispose();

    // The supernet holds ~7x the parameters, but a step's working memory does not grow with them.
    expect(superParams).toBeGreaterThan(4 * aloneParams);
    expect(oneBytes).toBeLessThanOrEqual(aloneBytes * 1.02 + 64 * 1024);
    expect(oneBytes).toBeGreaterThanOrEqual(aloneBytes * 0.98);
    expect(twoBytes).toBeGreaterThan(oneBytes);
    expect(twoBytes).toBeLessThan(oneBytes * 1.5);
    console.log(
      `step working memory (batch ${n}): stand-alone ${(aloneBytes / 2 ** 20).toFixed(2)} MiB, ` +
        `supernet 1-path ${(oneBytes / 2 ** 20).toFixed(2)} MiB, 2-path ${(twoBytes / 2 ** 20).toFixed(2)} MiB; ` +
        `params ${aloneParams} vs ${superParams}`,
    );
  });
});

describe('derived network as net.config', () => {
  it('round-trips through the latency module’s net.config reader', () => {
    const choices = [0, 6, 1, 6, 2, 3, 4, 5, 0, 6, 1];
    const cfg = toNetConfig(CIFAR_LAYOUT, choices);
    const arch = fromNetConfig(cfg, CIFAR_LAYOUT.inputSize);
    expect(arch.blocks.length).toBe(12);
    expect(arch.blocks[2]).toBe('zero');
    expect(arch.stem.stride).toBe(1);
    expect(choicesFromNetConfig(CIFAR_LAYOUT, cfg)).toEqual(choices);
    expect(() => toNetConfig(CIFAR_LAYOUT, [0])).toThrow(/choices/);
    expect(() =>
      toNetConfig(
        CIFAR_LAYOUT,
        choices.map(() => 9),
      ),
    ).toThrow(/out of range/);
  });
});
