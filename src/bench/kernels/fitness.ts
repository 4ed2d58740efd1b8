/**
 * AutoSpace fitness mixing (src/kernels/fitness.ts, fitness.wgsl): a layer's K candidate outputs
 * mixed by p = softmax(φ). Forward: fitnessSoftmax + mixForward (y = Σ p_k o_k). Backward: for every
 * candidate mixBackward (dOut_k = p_k dy fused with g_k = Σ o_k ⊙ dy), then fitnessGrad (dφ).
 */
import type { Tensor } from '../../backend/index.js';
import { sumCosts } from '../../kernels/descriptor.js';
import { fitnessGradOp, fitnessSoftmaxOp, mixBackwardOp, mixForwardOp } from '../../kernels/fitness.js';
import type { BenchKernel, HostTensor, Shape, Tf, TfTensor } from '../registry.js';
import { rngFor, uniforms } from './util.js';

type Pass = 'fwd' | 'bwd';

const s = (K: number, N: number, C: number, HW: number): Shape => ({ K, N, C, H: HW, W: HW });

const SHAPES: BenchKernel['shapes'] = {
  tiny: [s(3, 1, 3, 5), s(2, 2, 5, 7)],
  small: [s(4, 8, 16, 32), s(8, 8, 64, 8), s(5, 8, 32, 16)],
  default: [s(4, 64, 16, 32), s(8, 64, 64, 8), s(5, 32, 32, 16)],
  large: [s(8, 128, 32, 32), s(8, 128, 128, 14), s(5, 256, 64, 16)],
};

const numel = (sh: Shape) => sh.N * sh.C * sh.H * sh.W;

/** Host inputs: φ [K], o_1..o_K [n], and (backward) dy [n]. */
function hostInputs(pass: Pass, name: string, sh: Shape): HostTensor[] {
  const rng = rngFor(name, sh);
  const n = numel(sh);
  const phi = uniforms(rng, sh.K).map((v) => 2 * v);
  const outs = Array.from({ length: sh.K }, () => ({ data: uniforms(rng, n), shape: [n] }));
  return [{ data: phi, shape: [sh.K] }, ...outs, ...(pass === 'bwd' ? [{ data: uniforms(rng, n), shape: [n] }] : [])];
}

function tfjsCase(pass: Pass, tf: Tf, sh: Shape, inputs: HostTensor[]) {
  const held = inputs.map((t) => tf.tensor(t.data, t.shape));
  const [phi, ...rest] = held;
  const outs = pass === 'bwd' ? rest.slice(0, -1) : rest;
  const dy = rest[rest.length - 1];
  const run = (): TfTensor =>
    tf.tidy(() => {
      const p = tf.softmax(phi);
      const pk = (k: number) => p.slice([k], [1]);
      if (pass === 'fwd') return tf.addN(outs.map((o, k) => o.mul(pk(k))));
      // dφ = p (g - Σ p g) with g_k = Σ o_k dy; plus every dOut_k = p_k dy (all computed, as ours).
      const g = tf.stack(outs.map((o) => tf.sum(o.mul(dy))));
      const dphi = p.mul(g.sub(tf.sum(p.mul(g))));
      const dOuts = outs.map((_, k) => dy.mul(pk(k)));
      return tf.concat([dphi, dOuts[sh.K - 1]]);
    });
  return { run, teardown: () => tf.dispose(held) };
}

function cpuCase(pass: Pass, sh: Shape, inputs: HostTensor[]) {
  const [phi, ...rest] = inputs.map((t) => t.data);
  const outs = pass === 'bwd' ? rest.slice(0, -1) : rest;
  const dy = rest[rest.length - 1];
  let out: ArrayLike<number> = new Float64Array(0);
  const run = () => {
    const p = fitnessSoftmaxOp.reference(phi);
    if (pass === 'fwd') {
      out = mixForwardOp.reference(outs, p);
      return;
    }
    const back = outs.map((o, k) => mixBackwardOp.reference(o, dy, p, k));
    const dphi = fitnessGradOp.reference(
      p,
      back.map((b) => b.gDot),
    );
    const last = back[sh.K - 1].dOut;
    const o = new Float64Array(sh.K + last.length);
    o.set(dphi);
    o.set(last, sh.K);
    out = o;
  };
  return { run, output: () => out };
}

function entry(pass: Pass): BenchKernel {
  const name = pass === 'fwd' ? 'fitness-mix' : 'fitness-mix-bwd';
  return {
    name,
    description:
      pass === 'fwd'
        ? 'AutoSpace mixture forward: p = softmax(phi), y = sum_k p_k o_k (fitness.wgsl)'
        : 'AutoSpace mixture backward: dOut_k = p_k dy, g_k = sum o_k*dy, dphi = p (g - sum p g) (fitness.wgsl)',
    shapes: SHAPES,
    label: ({ K, N, C, H, W }) => `K${K} N${N} ${C}x${H}x${W}`,
    // Forward: softmax + the mix; backward: softmax, one fused scale-and-dot per candidate, dphi.
    cost: (sh) => {
      const n = numel(sh);
      const probs = fitnessSoftmaxOp.cost({ K: sh.K });
      if (pass === 'fwd') return sumCosts(probs, mixForwardOp.cost({ K: sh.K, n }));
      return sumCosts(probs, ...Array.from({ length: sh.K }, () => mixBackwardOp.cost({ n })), fitnessGradOp.cost({ K: sh.K }));
    },
    setup(backend, sh) {
      const { fitnessSoftmax, mixForward, mixBackward, fitnessGrad } = backend.ops;
      const n = numel(sh);
      const K = sh.K;
      const inputs = hostInputs(pass, name, sh);
      const [gphi, ...grest] = inputs.map((t) => backend.upload(t.data, t.shape));
      const gouts = pass === 'bwd' ? grest.slice(0, -1) : grest;
      const gdy = grest[grest.length - 1];
      const dOuts = pass === 'bwd' ? gouts.map(() => backend.empty([n])) : [];
      const gDots = pass === 'bwd' ? backend.zeros([K]) : null;
      let last: Tensor[] = [];
      const run = () => {
        for (const t of last) t.dispose();
        const probs = fitnessSoftmax(gphi);
        if (pass === 'fwd') {
          last = [probs, mixForward(gouts, probs)];
          return;
        }
        gouts.forEach((o, k) => mixBackward(o, gdy, probs, k, dOuts[k], gDots));
        last = [probs, fitnessGrad(probs, gDots!)];
      };
      return {
        run,
        inputs,
        read: async () => {
          if (last.length === 0) throw new Error(`${name} bench: read() before run()`);
          const head = await last[last.length - 1].read();
          if (pass === 'fwd') return head;
          const tail = await dOuts[K - 1].read();
          const o = new Float32Array(K + n);
          o.set(head);
          o.set(tail, K);
          return o;
        },
        teardown: () => {
          for (const t of [...last, gphi, ...grest, ...dOuts, ...(gDots ? [gDots] : [])]) t.dispose();
        },
      };
    },
    tfjs: (tf, sh, inputs) => tfjsCase(pass, tf, sh, inputs),
    cpu: (sh, inputs) => cpuCase(pass, sh, inputs),
    // Forward: K products per element; backward: dots of n products of [-1, 1) values.
    tolerance: (sh) => (pass === 'fwd' ? { atol: 1e-5, rtol: 1e-4 } : { atol: 1e-5 * Math.sqrt(numel(sh)) + 1e-4, rtol: 1e-3 }),
  };
}

export const fitnessMixBench = entry('fwd');
export const fitnessMixBwdBench = entry('bwd');
