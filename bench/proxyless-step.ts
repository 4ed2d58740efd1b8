/**
 * ProxylessNAS supernet step time on this machine's adapter: a weight step (one sampled path,
 * forward + backward + SGD) and a gradient architecture step (two paths, gate gradients, Adam on α),
 * and, with --tfjs, the same single-path training step in tfjs-backend-webgpu on the same Dawn device.
 *
 *   npx tsx bench/proxyless-step.ts [--layout cifar|imagenet] [--batch 32] [--steps 5] [--tfjs]
 */
import { parseArgs } from 'node:util';
import { webgpuBackend } from '../src/backend/index.js';
import { acquireGpu } from '../src/gpu/adapter.js';
import { sampleGates } from '../src/kernels/binarize.js';
import { Tape } from '../src/nn/tape.js';
import { candidateName, getLayout, type MobileNetLayout } from '../src/mobilenet/layout.js';
import { AlphaAdam, WeightSgd } from '../src/nn/optim.js';
import { ProxylessSupernet } from '../src/proxyless/supernet.js';
import { binarizeAlphaGrad } from '../src/kernels/binarize.js';
import { Rng } from '../src/util/rng.js';

const { values } = parseArgs({
  options: {
    layout: { type: 'string', default: 'cifar' },
    batch: { type: 'string', default: '32' },
    steps: { type: 'string', default: '5' },
    tfjs: { type: 'boolean', default: false },
  },
});
const layout = getLayout(values.layout!);
const B = Number(values.batch);
const steps = Number(values.steps);

const gpu = await acquireGpu();
// The WGSL kernels, next to tfjs-webgpu on the same Dawn device.
const be = webgpuBackend(gpu);
const net = new ProxylessSupernet(be, layout, new Rng(1));
const sgd = new WeightSgd(be, net.params, { momentum: 0.9, nesterov: true, weightDecay: 4e-5 });
const adam = new AlphaAdam(be, net.choiceSizes, { lr: 6e-3, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 0 });
let alpha: Float32Array[] = net.choiceSizes.map((n) => new Float32Array(n));
const rng = new Rng(2);
const S = layout.inputSize;
const xData = rng.normals(B * 3 * S * S);
const labels = Float32Array.from({ length: B }, (_, i) => i % layout.classes);

/** One path, fixed for the comparison with tfjs (which builds that path as a static network). */
const fixedGates = alpha.map((a) => sampleGates(a, new Rng(3), 1));

async function weightStep(fixed = false): Promise<void> {
  const gates = fixed ? fixedGates : alpha.map((a) => sampleGates(a, rng, 1));
  const t = new Tape(be);
  const x = gpu.upload(xData, [B, 3, S, S]);
  const y = gpu.upload(labels);
  const { logits } = net.forward(t, t.input(x), gates);
  const loss = t.crossEntropy(logits, y);
  t.backward(loss);
  sgd.step(0.01);
  net.zeroGrad();
  await loss.value.read();
  t.dispose();
  x.dispose();
  y.dispose();
}

async function archStep(): Promise<void> {
  const gates = alpha.map((a) => sampleGates(a, rng, 2));
  const t = new Tape(be);
  const x = gpu.upload(xData, [B, 3, S, S]);
  const y = gpu.upload(labels);
  const { logits, records } = net.forward(t, t.input(x), gates, { inactive: true });
  const loss = t.crossEntropy(logits, y);
  t.backward(loss);
  net.zeroGrad();
  const dg = await net.gateGradients(records);
  const grads = alpha.map((a, b) => (dg[b] ? binarizeAlphaGrad(a, dg[b]!, gates[b].involved) : new Array(a.length).fill(0)));
  alpha = await adam.update(alpha, grads);
  t.dispose();
  x.dispose();
  y.dispose();
}

async function time(name: string, fn: () => Promise<void>): Promise<number> {
  await fn(); // compile pipelines, warm the pool
  const ms: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    await fn();
    ms.push(performance.now() - t0);
  }
  ms.sort((a, b) => a - b);
  const med = ms[Math.floor(ms.length / 2)];
  console.log(
    `${name.padEnd(34)} median ${med.toFixed(1)} ms  (min ${ms[0].toFixed(1)}, max ${ms[ms.length - 1].toFixed(1)}, ${steps} steps)`,
  );
  return med;
}

console.log(
  `adapter: ${gpu.name}${gpu.adapter.isSoftware ? ' (software)' : ''}; layout ${layout.name}, batch ${B}, ${net.positions.length} searchable blocks, ${net.store.count()} supernet params`,
);
const dispatch0 = gpu.dispatchCount;
await weightStep();
console.log(`dispatches per weight step: ${gpu.dispatchCount - dispatch0}`);
console.log(`fixed path: ${fixedGates.map((g, b) => candidateName(net.positions[b].candidates[g.active])).join(' ')}`);
await time('wgnas weight step (1 path)', () => weightStep());
await time('wgnas weight step (fixed path)', () => weightStep(true));
await time('wgnas arch step (2 paths + gates)', archStep);

if (values.tfjs) await tfjsStep(layout);
net.dispose();
sgd.dispose();
adam.dispose();
process.exit(0);

/** The same single-path network and training step (forward, backward, SGD momentum) in tfjs-webgpu. */
async function tfjsStep(l: MobileNetLayout): Promise<void> {
  // The tfjs webgpu backend built on our GPUDevice (same Dawn instance, device and queue).
  const { createTfjsBaseline } = await import('../src/bench/tfjs.js');
  const base = await createTfjsBaseline(gpu);
  const tf = base.tf as unknown as typeof import('@tensorflow/tfjs');
  console.log(`tfjs ${base.version} on the same device`);
  const r = new Rng(3);
  const gates = fixedGates;
  const vars: import('@tensorflow/tfjs').Variable[] = [];
  const v = (shape: number[], fill?: number) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const fan = shape.length === 4 ? shape[0] * shape[1] * shape[2] : shape[0];
    const data =
      fill === undefined
        ? Float32Array.from({ length: n }, () => (r.next() * 2 - 1) / Math.sqrt(fan))
        : new Float32Array(n).fill(fill);
    const t = tf.variable(tf.tensor(data, shape));
    vars.push(t);
    return t;
  };
  type T = import('@tensorflow/tfjs').Tensor4D;
  // NHWC (tfjs' native layout); layers built once, applied in the loss closure. BN uses batch
  // statistics, as the wgnas tape does.
  const layers: Array<(x: T) => T> = [];
  const convBn = (cin: number, cout: number, k: number, stride: number, act: boolean, depthwise = false) => {
    const w = (depthwise ? v([k, k, cin, 1]) : v([k, k, cin, cout])) as unknown as T;
    const gamma = v([cout], 1);
    const beta = v([cout], 0);
    layers.push((x) => {
      const c = depthwise ? tf.depthwiseConv2d(x, w, stride, 'same') : tf.conv2d(x, w, stride, 'same');
      const { mean, variance } = tf.moments(c, [0, 1, 2]);
      const y = tf.batchNorm(c, mean, variance, beta, gamma, 1e-5) as T;
      return act ? (tf.relu6(y) as T) : y;
    });
  };
  convBn(3, l.stemC, 3, l.stemStride, true);
  convBn(l.stemC, l.stemC, 3, 1, true, true);
  convBn(l.stemC, l.firstBlockC, 1, 1, false);
  net.positions.forEach((pos, b) => {
    const c = pos.candidates[gates[b].active];
    if (c === 'zero') return;
    const start = layers.length;
    const mid = c.inC * c.expand;
    if (c.expand !== 1) convBn(c.inC, mid, 1, 1, true);
    convBn(mid, mid, c.kernel, c.stride, true, true);
    convBn(mid, c.outC, 1, 1, false);
    if (c.idskip) {
      const seq = layers.splice(start);
      layers.push(
        (x) =>
          tf.add(
            x,
            seq.reduce((h, f) => f(h), x),
          ) as T,
      );
    }
  });
  const lastC = net.positions[net.positions.length - 1].outC;
  convBn(lastC, l.featureMixC, 1, 1, true);
  const fcW = v([l.featureMixC, l.classes]);
  const fcB = v([l.classes], 0);
  const x = tf.tensor(xData, [B, 3, S, S]).transpose([0, 2, 3, 1]) as T;
  const y = tf.oneHot(tf.tensor1d(Array.from(labels), 'int32'), l.classes);
  const opt = tf.train.momentum(0.01, 0.9, true);
  const step = async () => {
    const cost = opt.minimize(() => {
      const h = layers.reduce((acc, f) => f(acc), x);
      const logits = tf.add(tf.matMul(tf.mean(h, [1, 2]), fcW), fcB);
      return tf.losses.softmaxCrossEntropy(y, logits) as import('@tensorflow/tfjs').Scalar;
    }, true);
    await cost!.data();
    cost!.dispose();
  };
  await time('tfjs-webgpu weight step (same path)', step);
}
