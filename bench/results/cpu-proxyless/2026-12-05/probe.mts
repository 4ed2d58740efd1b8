// ProxylessNAS step (bench/cpu-vs-torch.ts's proxyless workload: CIFAR layout, batch 32, weight step on
// one path + architecture step on two), 1 thread, process CPU time; with PROFILE=1 the worker's ms per op.
//   npx tsx probe.mts OUT.json [rounds] [steps]
import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { cpuBackend } from '../../../../src/backend/index.js';
import { sampleGates } from '../../../../src/kernels/binarize.js';
import { CIFAR_LAYOUT, layoutSpace } from '../../../../src/mobilenet/layout.js';
import { NativeDevice } from '../../../../src/native/device.js';
import { WeightSgd } from '../../../../src/nn/optim.js';
import { Tape } from '../../../../src/nn/tape.js';
import { ProxylessSupernet } from '../../../../src/proxyless/supernet.js';
import { Rng } from '../../../../src/util/rng.js';
import { proxyBatch } from '../../../../src/zeroshot/index.js';

const out = process.argv[2];
const rounds = Number(process.argv[3] ?? 3);
const nSteps = Number(process.argv[4] ?? 3);
const dev = NativeDevice.create({ threads: 1 });
const be = cpuBackend(dev, { ownsDevice: true });
const batch = proxyBatch(64, 0);
const n = 32;
const S = CIFAR_LAYOUT.inputSize;
const positions = layoutSpace(CIFAR_LAYOUT).positions.slice(1);
const gateRng = new Rng(11);
const zeros = positions.map((p) => new Float32Array(p.candidates.length));
const steps = Array.from({ length: nSteps }, () => ({
  weight: zeros.map((a) => sampleGates(a, gateRng, 1).active),
  arch: zeros.map((a) => {
    const g = sampleGates(a, gateRng, 2);
    return [g.active, g.inactive[0]] as [number, number];
  }),
}));
const net = new ProxylessSupernet(be, CIFAR_LAYOUT, new Rng(1));
const sgd = new WeightSgd(be, net.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const losses: number[] = [];
const gateGrads: number[][] = [];
async function step(st: (typeof steps)[number]) {
  {
    const t = new Tape(be);
    const xb = be.upload(batch.x.subarray(0, n * 3 * S * S), [n, 3, S, S]);
    const yb = be.upload(batch.y.subarray(0, n));
    const { logits } = net.forward(t, t.input(xb), st.weight.map((a) => ({ active: a, inactive: [], involved: [a] })));
    const loss = t.crossEntropy(logits, yb);
    t.backward(loss);
    sgd.step(0.05);
    net.zeroGrad();
    losses.push((await loss.value.read())[0]);
    t.dispose();
    xb.dispose();
    yb.dispose();
  }
  const t = new Tape(be, { paramGrads: 'none' });
  const xv = be.upload(batch.x.subarray(n * 3 * S * S, 2 * n * 3 * S * S), [n, 3, S, S]);
  const yv = be.upload(batch.y.subarray(n, 2 * n));
  const gates = st.arch.map(([a, b]) => ({ active: a, inactive: [b], involved: [a, b] }));
  const { logits, records } = net.forward(t, t.input(xv, process.env.INPUT_GRAD === '1'), gates, { inactive: true });
  t.backward(t.crossEntropy(logits, yv));
  net.zeroGrad();
  gateGrads.push((await net.gateGradients(records, 'sampled')).flatMap((g) => g ?? []));
  t.dispose();
  xv.dispose();
  yv.dispose();
}
const warm = process.env.WARM_ALL === '1';
if (warm) writeFileSync('/tmp/h7-trace-off', '');
await step(steps[0]);
if (warm) {
  for (const st of steps) await step(st);
  await dev.sync();
  (await import('node:fs')).unlinkSync('/tmp/h7-trace-off');
}
const load0 = loadavg();
const ms: number[][] = steps.map(() => []);
const faults: number[] = [];
const profile = process.env.PROFILE === '1';
if (profile) dev.profile(true);
for (let r = 0; r < rounds; r++)
  for (const [i, st] of steps.entries()) {
    const t0 = cpuMs();
    const f0 = process.resourceUsage().minorPageFault;
    await step(st);
    ms[i].push(cpuMs() - t0);
    faults.push(process.resourceUsage().minorPageFault - f0);
  }
const prof = profile ? dev.profile(true) : null;
const mins = ms.map((a) => Math.min(...a));
const mean = mins.reduce((a, b) => a + b, 0) / mins.length;
const res = { faults, load: [load0, loadavg()], meanOfMinsMs: mean, ms, losses, gateGrads, profile: prof, stepsProfiled: rounds * nSteps };
writeFileSync(out, JSON.stringify(res, null, 1));
console.log(`mean of per-step min ${mean.toFixed(1)} ms; per step ${mins.map((x) => x.toFixed(1)).join(' ')}; load ${load0[0]}; minor faults per step ${faults.join(' ')}`);
if (prof) {
  const rows = Object.entries(prof.ops).sort((a, b) => b[1].cpuMs - a[1].cpuMs);
  const tot = rows.reduce((a, [, v]) => a + v.cpuMs, 0);
  const k = rounds * nSteps;
  console.log(`worker cpu ms per step ${(tot / k).toFixed(1)}`);
  for (const [op, v] of rows.slice(0, 30)) console.log(`${op.padEnd(36)} ${(v.count / k).toFixed(0).padStart(5)} ${(v.cpuMs / k).toFixed(2).padStart(8)} ms`);
}
sgd.dispose();
net.dispose();
be.dispose();
