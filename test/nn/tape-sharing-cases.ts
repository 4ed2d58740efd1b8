/**
 * The tape's copy-on-write gradients (src/nn/tape.ts), run on one backend by tape-sharing.test.ts
 * (CPU) and tape-sharing.gpu.test.ts (WGSL): an add hands its output gradient to both inputs, a ReLU
 * its dx to its record and its input, crossEntropy its dlogits to the logits; a shared gradient must
 * never be updated in place, nor freed while a var or record still holds it.
 *
 * Graphs of relu and add on dyadic values (multiples of 1/8, small): every sum is exact in f32, so the
 * tape's gradients must equal the f64 host reference exactly whatever order it accumulates in, and a
 * ReLU record overwritten by a later in-place accumulation would show as a wrong value.
 */
import { describe, expect, it } from 'vitest';
import type { Backend, Tensor } from '../../src/backend/index.js';
import { Param, Tape, type Var } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';

/** Vars 0..leaves-1 are the leaves; step i makes var leaves + i. The last var is the root. */
type Step = { op: 'relu'; src: number } | { op: 'add'; a: number; b: number };
interface Program {
  leaves: number;
  steps: Step[];
}

const SHAPE = [2, 3, 2, 2];
const SIZE = 24;

/**
 * x feeds a ReLU (record r0) and an add; h = relu(x) feeds three adds; c = b + b; root = e + e.
 * Backward from the root: e gets the root's gradient twice (shared, then a new sum), d and h share
 * e's, c and h share d's (h's is shared: a new sum), b gets c's twice, a shares r1's dx, then h's
 * own gradient takes a's in place and x, holding a's, takes r0's dx into a new sum.
 */
const P0: Program = {
  leaves: 1,
  steps: [
    { op: 'relu', src: 0 }, // 1 h
    { op: 'add', a: 1, b: 0 }, // 2 a
    { op: 'relu', src: 2 }, // 3 b
    { op: 'add', a: 3, b: 3 }, // 4 c
    { op: 'add', a: 4, b: 1 }, // 5 d
    { op: 'add', a: 5, b: 1 }, // 6 e
    { op: 'add', a: 6, b: 6 }, // 7 root
  ],
};

function randomProgram(rng: Rng, leaves: number, steps: number): Program {
  const out: Step[] = [];
  // Mostly recent vars, so that gradients meet (several consumers) and paths run deep.
  const pick = (n: number) => Math.max(0, n - 1 - rng.int(Math.min(n, 4)));
  for (let i = 0; i < steps; i++) {
    const n = leaves + i;
    out.push(
      rng.next() < 0.4 ? { op: 'relu', src: pick(n) } : { op: 'add', a: pick(n), b: rng.next() < 0.2 ? pick(n) : rng.int(n) },
    );
  }
  return { leaves, steps: out };
}

/** Nonzero multiples of 1/4 in [-2, 2] (inputs), or multiples of 1/8 in [-1, 1] (seeds). */
const dyadic = (rng: Rng, kind: 'input' | 'seed') =>
  Float32Array.from({ length: SIZE }, () =>
    kind === 'input' ? ((rng.int(8) + 1) * (rng.next() < 0.5 ? -1 : 1)) / 4 : (rng.int(17) - 8) / 8,
  );

interface HostResult {
  values: Float64Array[];
  /** null where no gradient reaches the var (it does not feed the root). */
  grads: Array<Float64Array | null>;
  /** By step index of the ReLU; undefined where no gradient reached it. */
  reluGrads: Map<number, Float64Array>;
}

/** The program and its backward in f64 on the host. */
function hostRun(p: Program, leaves: Float32Array[], seed: Float32Array): HostResult {
  const values = leaves.map((l) => Float64Array.from(l));
  for (const s of p.steps) {
    values.push(s.op === 'relu' ? values[s.src].map((v) => Math.max(v, 0)) : values[s.a].map((v, i) => v + values[s.b][i]));
  }
  const grads: Array<Float64Array | null> = values.map(() => null);
  const acc = (k: number, g: Float64Array) => {
    const cur = grads[k];
    grads[k] = cur ? cur.map((v, i) => v + g[i]) : Float64Array.from(g);
  };
  grads[values.length - 1] = Float64Array.from(seed);
  const reluGrads = new Map<number, Float64Array>();
  for (let i = p.steps.length - 1; i >= 0; i--) {
    const s = p.steps[i];
    const gy = grads[p.leaves + i];
    if (!gy) continue;
    if (s.op === 'add') {
      acc(s.a, gy);
      acc(s.b, gy);
    } else {
      const gx = gy.map((v, j) => (values[s.src][j] > 0 ? v : 0));
      reluGrads.set(i, gx);
      acc(s.src, gx);
    }
  }
  return { values, grads, reluGrads };
}

/** The program on a tape: its vars, and the ReLU record name of each ReLU step ('r<step>'). */
function tapeRun(t: Tape, p: Program, leaves: Var[]): Var[] {
  const vars = [...leaves];
  p.steps.forEach((s, i) =>
    vars.push(s.op === 'relu' ? t.relu(vars[s.src], { block: i % 3, module: i }, `r${i}`) : t.add(vars[s.a], vars[s.b])),
  );
  return vars;
}

async function readOrNull(t: Tensor | null | undefined): Promise<number[] | null> {
  return t ? Array.from(await t.read()) : null;
}

/** Every var's gradient and every ReLU record's equal the host's, exactly. */
async function expectMatchesHost(t: Tape, p: Program, vars: Var[], host: HostResult, label: string): Promise<void> {
  for (let k = 0; k < vars.length - 1; k++) {
    const want = host.grads[k];
    expect(await readOrNull(vars[k].grad), `${label}: grad of var ${k}`).toEqual(want ? Array.from(want) : null);
  }
  if (!t.opts.recordRelus) return;
  const reluSteps = p.steps.flatMap((s, i) => (s.op === 'relu' ? [i] : []));
  expect(t.relus.map((r) => r.name)).toEqual(reluSteps.map((i) => `r${i}`));
  for (const [j, i] of reluSteps.entries()) {
    const want = host.reluGrads.get(i);
    expect(await readOrNull(t.relus[j].gradInput), `${label}: record r${i}`).toEqual(want ? Array.from(want) : null);
  }
}

async function bytesInUse(be: Backend): Promise<number> {
  await be.sync();
  return be.stats().bytesInUse;
}

export function tapeSharingSuite(getBackend: () => Promise<Backend | null>): void {
  describe('Tape copy-on-write gradients', () => {
    it('shared gradients (a var with several consumers, add reaching both inputs, one var added to itself, ReLU records) are exact; a seed the caller frees is copied', async ({
      skip,
    }) => {
      const be = await getBackend();
      if (!be) return skip();
      const start = await bytesInUse(be);
      const rng = new Rng(11);
      const xData = dyadic(rng, 'input');
      const seedData = dyadic(rng, 'seed');
      const host = hostRun(P0, [xData], seedData);
      const x = be.upload(xData, SHAPE);
      // The tape owns the seed (shared with both inputs of the root), or the caller does and frees it
      // straight after backward (the root's add copies it).
      for (const [seedOwner, recordRelus] of [
        ['tape', true],
        ['caller', true],
        ['tape', false],
      ] as const) {
        // Without records a ReLU's dx is fresh: it takes a shared gradient's sum in place.
        const t = new Tape(be, { recordRelus });
        const vars = tapeRun(t, P0, [t.input(x, true)]);
        const seed = be.upload(seedData, SHAPE);
        if (seedOwner === 'tape') t.adopt(seed);
        t.backward(vars[vars.length - 1], seed);
        if (seedOwner === 'caller') seed.dispose();
        await expectMatchesHost(t, P0, vars, host, `seed owned by the ${seedOwner}, records ${recordRelus}`);
        t.dispose();
      }
      // x's gradient against central differences of L(x) = sum(seed * root(x)): exact, as no input
      // is within eps of a ReLU kink and all values are dyadic.
      const eps = 1 / 64;
      const lossAt = async (data: Float32Array): Promise<number> => {
        const t = new Tape(be, { noGrad: true });
        const xi = be.upload(data, SHAPE);
        const vars = tapeRun(t, P0, [t.input(xi)]);
        const y = await vars[vars.length - 1].value.read();
        t.dispose();
        xi.dispose();
        return y.reduce((s, v, i) => s + v * seedData[i], 0);
      };
      const fd: number[] = [];
      for (let i = 0; i < SIZE; i++) {
        const plus = Float32Array.from(xData);
        const minus = Float32Array.from(xData);
        plus[i] += eps;
        minus[i] -= eps;
        fd.push(((await lossAt(plus)) - (await lossAt(minus))) / (2 * eps));
      }
      expect(fd).toEqual(Array.from(host.grads[0]!));
      x.dispose();
      expect(await bytesInUse(be)).toBe(start);
    });

    it('random graphs of relu and add: every gradient and ReLU record equals the host reference, nothing leaks', async ({
      skip,
    }) => {
      const be = await getBackend();
      if (!be) return skip();
      const start = await bytesInUse(be);
      const rng = new Rng(29);
      for (let g = 0; g < 12; g++) {
        const p = randomProgram(rng, 1 + (g % 2), 10);
        const leafData = Array.from({ length: p.leaves }, () => dyadic(rng, 'input'));
        const seedData = dyadic(rng, 'seed');
        const host = hostRun(p, leafData, seedData);
        const leaves = leafData.map((d) => be.upload(d, SHAPE));
        const t = new Tape(be, { recordRelus: g % 3 !== 2 });
        const vars = tapeRun(
          t,
          p,
          leaves.map((l) => t.input(l, true)),
        );
        t.backward(vars[vars.length - 1], t.adopt(be.upload(seedData, SHAPE)));
        await expectMatchesHost(t, p, vars, host, `graph ${g} ${JSON.stringify(p.steps)}`);
        t.dispose();
        leaves.forEach((l) => l.dispose());
        expect(await bytesInUse(be), `graph ${g}`).toBe(start);
      }
    });

    for (const recordRelus of [false, true]) {
      it(`retainGraph${recordRelus ? ' with ReLU records' : ''}: two backward runs with resetGrads between give each run's gradients and free its shared ones`, async ({
        skip,
      }) => {
        const be = await getBackend();
        if (!be) return skip();
        const start = await bytesInUse(be);
        const rng = new Rng(recordRelus ? 41 : 43);
        const xData = dyadic(rng, 'input');
        const x = be.upload(xData, SHAPE);
        const t = new Tape(be, { recordRelus, retainGraph: true });
        const vars = tapeRun(t, P0, [t.input(x, true)]);
        const afterForward = await bytesInUse(be);
        const afterReset: number[] = [];
        for (let run = 0; run < 3; run++) {
          const seedData = dyadic(rng, 'seed');
          const seed = be.upload(seedData, SHAPE);
          t.backward(vars[vars.length - 1], seed);
          const host = hostRun(P0, [xData], seedData);
          if (recordRelus) await expectMatchesHost(t, P0, vars, host, `run ${run}`);
          else {
            for (let k = 0; k < vars.length - 1; k++) {
              expect(await readOrNull(vars[k].grad), `run ${run}, var ${k}`).toEqual(Array.from(host.grads[k]!));
            }
          }
          t.resetGrads();
          seed.dispose();
          expect(vars.slice(0, -1).every((v) => v.grad === null)).toBe(true);
          // Records still read after resetGrads (each holds its own gradient until dispose()).
          if (recordRelus) {
            for (const r of t.relus) {
              const i = Number(r.name.slice(1));
              expect(await readOrNull(r.gradInput), `run ${run}, ${r.name} after resetGrads`).toEqual(
                Array.from(host.reluGrads.get(i)!),
              );
            }
          }
          afterReset.push(await bytesInUse(be));
        }
        if (!recordRelus) expect(afterReset).toEqual([afterForward, afterForward, afterForward]);
        else {
          // A run's record gradients stay until dispose(), as their copies did: the same growth per run.
          const step = afterReset[0] - afterForward;
          expect(step).toBeGreaterThan(0);
          expect(afterReset).toEqual([afterForward + step, afterForward + 2 * step, afterForward + 3 * step]);
        }
        t.dispose();
        x.dispose();
        expect(await bytesInUse(be)).toBe(start);
      });
    }

    it('crossEntropy shares its dlogits across retained runs: the same gradients each run, nothing leaks', async ({ skip }) => {
      const be = await getBackend();
      if (!be) return skip();
      const start = await bytesInUse(be);
      const rng = new Rng(57);
      const x = be.upload(dyadic(rng, 'input'), SHAPE);
      const w = new Param(be.upload(dyadic(rng, 'seed').subarray(0, 12), [4, 3]), 'w', 'linear');
      const labels = be.upload([1, 3]);
      const withInputs = await bytesInUse(be);
      const t = new Tape(be, { retainGraph: true });
      const xin = t.input(x, true);
      const logits = t.linear(t.globalAvgPool(t.relu(xin, { block: 0, module: 0 })), w, null);
      const loss = t.crossEntropy(logits, labels);
      const runs: Array<{ logits: number[]; x: number[]; w: number[]; bytes: number }> = [];
      for (let run = 0; run < 3; run++) {
        t.backward(loss);
        runs.push({
          logits: (await readOrNull(logits.grad))!,
          x: (await readOrNull(xin.grad))!,
          w: (await readOrNull(w.grad))!,
          bytes: 0,
        });
        t.resetGrads();
        runs[run].bytes = await bytesInUse(be);
      }
      expect(runs[0].logits.some((v) => v !== 0)).toBe(true);
      for (const r of runs.slice(1)) {
        expect(r.logits).toEqual(runs[0].logits);
        expect(r.x).toEqual(runs[0].x);
      }
      // The Param accumulates across runs (no zeroGrad): (g + g) + g is 3g rounded once to f32.
      expect(runs[2].w).toEqual(runs[0].w.map((v) => Math.fround(3 * v)));
      // The loss gets no seed (it reads none) and activation gradients are freed: no growth per run.
      expect(runs.map((r) => r.bytes)).toEqual([runs[0].bytes, runs[0].bytes, runs[0].bytes]);
      t.dispose();
      expect(await readOrNull(w.grad)).toEqual(runs[2].w);
      w.zeroGrad();
      expect(await bytesInUse(be)).toBe(withInputs);
      w.value.dispose();
      x.dispose();
      labels.dispose();
      expect(await bytesInUse(be)).toBe(start);
    });

    it('backward uploads no seed for a crossEntropy root (it reads none): the gradients an explicit ones seed gives, bit for bit, one upload fewer; any other root still gets its ones', async ({
      skip,
    }) => {
      const inner = await getBackend();
      if (!inner) return skip();
      const start = await bytesInUse(inner);
      let uploads = 0;
      // The real backend, its uploads counted.
      const be = new Proxy(inner, {
        get(target, prop) {
          if (prop === 'upload')
            return (...a: Parameters<Backend['upload']>) => {
              uploads++;
              return target.upload(...a);
            };
          const v = Reflect.get(target, prop, target) as unknown;
          return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
        },
      });
      const rng = new Rng(83);
      const x = be.upload(dyadic(rng, 'input'), SHAPE);
      const wData = dyadic(rng, 'seed').subarray(0, 12);
      const labels = be.upload([2, 0]);
      /** x -> relu -> pool -> linear -> root (the smoothed loss, or the logits); its gradients and the backward's uploads. */
      const run = async (root: 'loss' | 'logits', seed: 'default' | 'ones') => {
        const w = new Param(be.upload(wData, [4, 3]), 'w', 'linear');
        const t = new Tape(be);
        const xin = t.input(x, true);
        const logits = t.linear(t.globalAvgPool(t.relu(xin, { block: 0, module: 0 })), w, null);
        const out = root === 'loss' ? t.crossEntropy(logits, labels, 1, 0.1) : logits;
        uploads = 0;
        const ones = seed === 'ones' ? t.adopt(be.upload(new Float32Array(out.value.size).fill(1), out.shape)) : undefined;
        t.backward(out, ones);
        const r = { uploads, rootGrad: out.grad !== null, x: (await readOrNull(xin.grad))!, w: (await readOrNull(w.grad))! };
        t.dispose();
        w.zeroGrad();
        w.value.dispose();
        return r;
      };
      const loss = await run('loss', 'default');
      const lossOnes = await run('loss', 'ones');
      expect(loss.w.some((v) => v !== 0)).toBe(true);
      expect(loss.x).toEqual(lossOnes.x);
      expect(loss.w).toEqual(lossOnes.w);
      expect([loss.uploads, lossOnes.uploads]).toEqual([0, 1]);
      expect(loss.rootGrad).toBe(false);
      const logits = await run('logits', 'default');
      const logitsOnes = await run('logits', 'ones');
      expect(logits.x).toEqual(logitsOnes.x);
      expect(logits.w).toEqual(logitsOnes.w);
      expect([logits.uploads, logitsOnes.uploads]).toEqual([1, 1]);
      expect(logits.rootGrad).toBe(true);
      x.dispose();
      labels.dispose();
      expect(await bytesInUse(inner)).toBe(start);
    });

    it('Params never share a tape tensor: relu and add of a Param, a Param added to itself, give each its own gradient, exact, outliving the tape', async ({
      skip,
    }) => {
      const be = await getBackend();
      if (!be) return skip();
      const start = await bytesInUse(be);
      const rng = new Rng(71);
      // root = (relu(relu(p) + p) * 2) + (q + q) + relu(p): p's first gradient is a's shared one, then
      // r0's dx in place; q's is shared twice.
      const prog: Program = {
        leaves: 2,
        steps: [
          { op: 'relu', src: 0 }, // 2 h
          { op: 'add', a: 2, b: 0 }, // 3 a
          { op: 'relu', src: 3 }, // 4 b
          { op: 'add', a: 4, b: 4 }, // 5 c
          { op: 'add', a: 1, b: 1 }, // 6 q + q
          { op: 'add', a: 5, b: 6 }, // 7
          { op: 'add', a: 7, b: 2 }, // 8 root
        ],
      };
      const leafData = [dyadic(rng, 'input'), dyadic(rng, 'input')];
      const params = leafData.map((d, i) => new Param(be.upload(d, SHAPE), `p${i}`, 'conv'));
      const seedData = dyadic(rng, 'seed');
      const host = hostRun(prog, leafData, seedData);
      const t = new Tape(be, { recordRelus: true });
      const vars = tapeRun(t, prog, params);
      t.backward(vars[vars.length - 1], t.adopt(be.upload(seedData, SHAPE)));
      await expectMatchesHost(t, prog, vars, host, 'Param leaves');
      const grads = params.map((p) => p.grad);
      t.dispose();
      for (const [i, p] of params.entries()) {
        expect(p.grad).toBe(grads[i]);
        expect(await readOrNull(p.grad)).toEqual(Array.from(host.grads[i]!));
        p.zeroGrad();
        p.value.dispose();
      }
      expect(await bytesInUse(be)).toBe(start);
    });
  });
}
