/**
 * Multi-tensor SGD on both backends, bit for bit against one sgdStep per tensor: sgdStepMany on
 * more tensors than one dispatch takes (sizes 0, 1, odd, past a workgroup; per-tensor lr and weight
 * decay; Nesterov, plain momentum and none), WeightSgd.step (parameters without a gradient left
 * alone, no decay on BN parameters) and stepWeightSgds over two optimizers at different rates;
 * AlphaAdam (one adamStepRows per step) against one adamStep per block over several steps with
 * blocks skipped, and its state saved and loaded.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { AlphaAdam, stepWeightSgds, WeightSgd } from '../../src/nn/optim.js';
import { Param, type ParamKind } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';

const backends = await bothBackends();
const SIZES = [1, 257, 0, 33, 3, 512, 7, 1, 100, 2, 19, 300, 64];

async function readAll(ts: readonly Tensor[]): Promise<number[][]> {
  return Promise.all(ts.map(async (t) => Array.from(await t.read())));
}

describe('sgdStepMany', () => {
  for (const { name, backend } of backends) {
    for (const cfg of [{ momentum: 0.9, nesterov: true }, { momentum: 0.5, dampening: 0.25 }, { momentum: 0 }]) {
      it(`equals sgdStep per tensor bit for bit (${name}, ${JSON.stringify(cfg)})`, async ({ skip }) => {
        if (!backend) return skip();
        const rng = new Rng(3);
        const data = SIZES.map((n) => [rng.normals(n), rng.normals(n), rng.normals(n, 0.1)]);
        const lr = SIZES.map((_, j) => 0.01 * (j + 1));
        const weightDecay = SIZES.map((_, j) => (j % 3 === 0 ? 0 : 4e-5 * j));
        const up = () => data.map((d) => d.map((a) => backend.upload(a, [a.length])));
        const [one, many] = [up(), up()];
        try {
          one.forEach(([w, g, b], j) => backend.ops.sgdStep(w, g, b, { ...cfg, lr: lr[j], weightDecay: weightDecay[j] }));
          backend.ops.sgdStepMany(
            many.map((t) => t[0]),
            many.map((t) => t[1]),
            many.map((t) => t[2]),
            { ...cfg, lr, weightDecay },
          );
          const [a, b] = [await readAll(one.flatMap((t) => [t[0], t[2]])), await readAll(many.flatMap((t) => [t[0], t[2]]))];
          expect(b).toEqual(a);
          // It moved: not a pair of untouched copies.
          expect(b[2]).not.toEqual(Array.from(data[1][0]));
        } finally {
          for (const t of [...one, ...many].flat()) t.dispose();
        }
      });
    }
  }
});

function params(be: Backend, seed: number, grads: boolean[]): Param[] {
  const rng = new Rng(seed);
  const kinds: ParamKind[] = ['conv', 'bn_gamma', 'bn_beta', 'linear', 'bias', 'conv', 'conv'];
  return grads.map((hasGrad, j) => {
    const n = 5 + 37 * j;
    const p = new Param(be.upload(rng.normals(n), [n]), `p${j}`, kinds[j % kinds.length]);
    if (hasGrad) p.grad = be.upload(rng.normals(n), [n]);
    return p;
  });
}

describe('WeightSgd and stepWeightSgds', () => {
  for (const { name, backend } of backends) {
    it(`move what one sgdStep per parameter moves, bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const cfg = { momentum: 0.9, nesterov: true, weightDecay: 4e-5 };
      const hasGrad = [true, true, false, true, true, true, false, true, true, true];
      const [mine, ref] = [params(backend, 1, hasGrad), params(backend, 1, hasGrad)];
      const [a, b] = [params(backend, 2, [true, true, true]), params(backend, 2, [true, true, true])];
      const sgd = new WeightSgd(backend, mine, cfg);
      const sgdA = new WeightSgd(backend, a, cfg);
      const bufs: Tensor[] = [];
      const byHand = (ps: Param[], lr: number) =>
        ps.forEach((p) => {
          if (!p.grad) return;
          const buf = bufs[bufs.push(backend.zeros(p.value.shape)) - 1];
          const noDecay = ['bn_gamma', 'bn_beta', 'bias'].includes(p.kind);
          backend.ops.sgdStep(p.value, p.grad, buf, { lr, momentum: 0.9, nesterov: true, weightDecay: noDecay ? 0 : 4e-5 });
        });
      try {
        expect(sgd.step(0.05)).toBe(8);
        byHand(ref, 0.05);
        expect(stepWeightSgds([{ sgd: sgdA, lr: 0.2 }])).toBe(3);
        byHand(b, 0.2);
        const vals = (ps: Param[]) => readAll(ps.map((p) => p.value));
        expect(await vals(mine)).toEqual(await vals(ref));
        expect(await vals(a)).toEqual(await vals(b));
        // Parameters without a gradient keep their values and get no buffer.
        expect(sgd.buffers.size).toBe(8);
        // Two optimizers in one step, at their own rates, as each alone.
        const [c, d] = [params(backend, 4, [true, true]), params(backend, 4, [true, true])];
        const sgdC = new WeightSgd(backend, c, cfg);
        try {
          expect(
            stepWeightSgds([
              { sgd, lr: 0.01 },
              { sgd: sgdC, lr: 0.3 },
            ]),
          ).toBe(10);
          byHand(d, 0.3);
          expect(await vals(c)).toEqual(await vals(d));
        } finally {
          sgdC.dispose();
          for (const p of [...c, ...d]) {
            p.value.dispose();
            p.zeroGrad();
          }
        }
      } finally {
        sgd.dispose();
        sgdA.dispose();
        for (const t of bufs) t.dispose();
        for (const p of [...mine, ...ref, ...a, ...b]) {
          p.value.dispose();
          p.zeroGrad();
        }
      }
    });
  }
});

describe('AlphaAdam', () => {
  for (const { name, backend } of backends) {
    it(`moves α as one adamStep per block would, bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const sizes = [7, 1, 7, 300, 4];
      const cfg = { lr: 6e-3, beta1: 0, beta2: 0.999, eps: 1e-8, weightDecay: 1e-4 };
      const rng = new Rng(9);
      const adam = new AlphaAdam(backend, sizes, cfg);
      // The reference: a tensor triple per block, adamStep at the block's own step count.
      const ref = sizes.map((n) => ({ w: backend.zeros([n]), m: backend.zeros([n]), v: backend.zeros([n]), steps: 0 }));
      let alpha: Float32Array[] = sizes.map((n) => rng.normals(n, 1e-3));
      let want: Float32Array[] = alpha.map((a) => Float32Array.from(a));
      try {
        for (let s = 0; s < 4; s++) {
          const grads = sizes.map((n) => Array.from(rng.normals(n)));
          const hasGrad = sizes.map((_, b) => (b + s) % 3 !== 0);
          alpha = await adam.update(alpha, grads, hasGrad);
          want = await Promise.all(
            want.map(async (a, b) => {
              if (!hasGrad[b]) return a;
              const r = ref[b];
              r.steps++;
              backend.write(r.w, a);
              const g = backend.upload(Float32Array.from(grads[b]));
              backend.ops.adamStep(r.w, g, r.m, r.v, { ...cfg, step: r.steps });
              g.dispose();
              return r.w.read();
            }),
          );
          expect(alpha.map((a) => Array.from(a))).toEqual(want.map((a) => Array.from(a)));
        }
        expect(adam.steps).toEqual(ref.map((r) => r.steps));
        const st = await adam.state();
        const flat = async (k: 'm' | 'v') => (await Promise.all(ref.map((r) => r[k].read()))).flatMap((a) => Array.from(a));
        expect(st.m).toEqual(await flat('m'));
        expect(st.v).toEqual(await flat('v'));
        // Loaded into a fresh optimizer, the next step is the same.
        const again = new AlphaAdam(backend, sizes, cfg);
        try {
          again.load(st);
          const grads = sizes.map((n) => Array.from(rng.normals(n)));
          expect((await again.update(alpha, grads)).map((a) => Array.from(a))).toEqual(
            (await adam.update(alpha, grads)).map((a) => Array.from(a)),
          );
        } finally {
          again.dispose();
        }
      } finally {
        adam.dispose();
        for (const r of ref) for (const t of [r.w, r.m, r.v]) t.dispose();
      }
    });
  }
});
