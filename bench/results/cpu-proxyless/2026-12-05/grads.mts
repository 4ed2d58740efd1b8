// One weight step's parameter gradients and one architecture step's gate gradients from the same
// initial weights (no SGD update in between), for comparing two addons: npx tsx grads.mts OUT.json
import { writeFileSync } from 'node:fs';
import { cpuBackend } from '../../../../src/backend/index.js';
import { sampleGates } from '../../../../src/kernels/binarize.js';
import { CIFAR_LAYOUT, layoutSpace } from '../../../../src/mobilenet/layout.js';
import { NativeDevice } from '../../../../src/native/device.js';
import { Tape } from '../../../../src/nn/tape.js';
import { ProxylessSupernet } from '../../../../src/proxyless/supernet.js';
import { Rng } from '../../../../src/util/rng.js';
import { proxyBatch } from '../../../../src/zeroshot/index.js';

const dev = NativeDevice.create({ threads: 1 });
const be = cpuBackend(dev, { ownsDevice: true });
const batch = proxyBatch(64, 0);
const n = 32;
const S = CIFAR_LAYOUT.inputSize;
const positions = layoutSpace(CIFAR_LAYOUT).positions.slice(1);
const gateRng = new Rng(11);
const zeros = positions.map((p) => new Float32Array(p.candidates.length));
const out: { grads: Record<string, number[]>; gates: number[][] } = { grads: {}, gates: [] };
const net = new ProxylessSupernet(be, CIFAR_LAYOUT, new Rng(1));
for (let s = 0; s < 3; s++) {
  const weight = zeros.map((a) => sampleGates(a, gateRng, 1).active);
  const arch = zeros.map((a) => {
    const g = sampleGates(a, gateRng, 2);
    return [g.active, g.inactive[0]] as [number, number];
  });
  const t = new Tape(be);
  const xb = be.upload(batch.x.subarray(0, n * 3 * S * S), [n, 3, S, S]);
  const yb = be.upload(batch.y.subarray(0, n));
  const { logits } = net.forward(t, t.input(xb), weight.map((a) => ({ active: a, inactive: [], involved: [a] })));
  t.backward(t.crossEntropy(logits, yb));
  for (const p of net.params) if (p.grad) out.grads[`s${s}.${p.name}`] = Array.from(await p.grad.read());
  net.zeroGrad();
  t.dispose();
  const t2 = new Tape(be, { paramGrads: 'none' });
  const xv = be.upload(batch.x.subarray(n * 3 * S * S, 2 * n * 3 * S * S), [n, 3, S, S]);
  const yv = be.upload(batch.y.subarray(n, 2 * n));
  const gates = arch.map(([a, b]) => ({ active: a, inactive: [b], involved: [a, b] }));
  const { logits: l2, records } = net.forward(t2, t2.input(xv, true), gates, { inactive: true });
  t2.backward(t2.crossEntropy(l2, yv));
  out.gates.push((await net.gateGradients(records, 'sampled')).flatMap((g) => g ?? []));
  t2.dispose();
  for (const x of [xb, yb, xv, yv]) x.dispose();
}
writeFileSync(process.argv[2], JSON.stringify(out));
net.dispose();
be.dispose();
