/**
 * What a training step batches, on both backends: gateDotMany bit for bit against one gateDot per
 * pair (more pairs than a dispatch takes, shared operands); AutoSpace's mixture (mixForward in one
 * dispatch, mixBackwardMany) against one mixAccumulate / mixBackward per candidate; Backend.readMany against one read()
 * each (empty tensors, views, repeated tensors), and Tape.take (a sub-tape's output kept without a
 * copy; inputs and views copied; dispose() leaves the taken tensor alone).
 */
import { describe, expect, it } from 'vitest';
import type { Tensor } from '../../src/backend/index.js';
import { gpuOf } from '../../src/backend/webgpu.js';
import { Tape } from '../../src/nn/tape.js';
import { Rng } from '../../src/util/rng.js';
import { bothBackends } from '../helpers/backend.js';

const backends = await bothBackends();

describe('gateDotMany', () => {
  for (const { name, backend } of backends) {
    it(`equals one gateDot per pair bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const rng = new Rng(21);
      const sizes = [4096, 1, 20000, 0, 33, 4096, 4096, 300, 7, 64, 5000, 4096, 12];
      const as = sizes.map((n) => backend.upload(rng.normals(n), [n]));
      const dy = backend.upload(rng.normals(4096), [4096]);
      const bs = sizes.map((n) => (n === 4096 ? dy : backend.upload(rng.normals(n), [n])));
      const indices = sizes.map((_, j) => (5 * j + 3) % sizes.length);
      const [one, many] = [backend.zeros([sizes.length + 2]), backend.zeros([sizes.length + 2])];
      try {
        as.forEach((a, j) => backend.ops.gateDot(a, bs[j], one, indices[j], -0.5));
        const d0 = gpuOf(backend)?.dispatchCount ?? 0;
        backend.ops.gateDotMany(as, bs, many, indices, -0.5);
        const dispatches = (gpuOf(backend)?.dispatchCount ?? 0) - d0;
        const [a, b] = await backend.readMany([one, many]);
        expect(Array.from(b)).toEqual(Array.from(a));
        expect(b.filter((v) => v !== 0).length).toBe(sizes.filter((n) => n > 0).length);
        const g = gpuOf(backend);
        if (g) {
          const per = Math.min(10, Math.floor(((g.adapter.limits.maxStorageBuffersPerShaderStage ?? 8) - 1) / 2));
          expect(dispatches).toBe(Math.ceil(sizes.length / per) + 1);
        }
      } finally {
        for (const t of new Set([...as, ...bs, dy, one, many])) t.dispose();
      }
    });
  }
});

describe('the mixture over all candidates', () => {
  for (const { name, backend } of backends) {
    it(`equals one mixAccumulate / mixBackward per candidate bit for bit (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const rng = new Rng(24);
      // K 4 (AutoSpace's) over several chunks of the fold, and a candidate alone.
      for (const [K, n] of [
        [4, 5000],
        [1, 7],
      ]) {
        const outs = Array.from({ length: K }, () => backend.upload(rng.normals(n), [n]));
        const dy = backend.upload(rng.normals(n), [n]);
        const probs = backend.ops.fitnessSoftmax(backend.upload(rng.normals(K), [K]));
        const y = backend.ops.mixForward(outs, probs);
        const y1 = backend.empty([n]);
        outs.forEach((o, k) =>
          k === 0 ? backend.ops.mixAccumulate(y1, o, probs, 0, { overwrite: true }) : backend.ops.mixAccumulate(y1, o, probs, k),
        );
        const [dMany, dOne] = [outs.map(() => backend.empty([n])), outs.map(() => backend.empty([n]))];
        const [gMany, gOne] = [backend.zeros([K]), backend.zeros([K])];
        backend.ops.mixBackwardMany(outs, dy, probs, dMany, gMany);
        outs.forEach((o, k) => backend.ops.mixBackward(o, dy, probs, k, dOne[k], gOne));
        const [a, b] = [await backend.readMany([y, ...dMany, gMany]), await backend.readMany([y1, ...dOne, gOne])];
        expect(a.map((v) => Array.from(v))).toEqual(b.map((v) => Array.from(v)));
        for (const t of [...outs, dy, probs, y, y1, ...dMany, ...dOne, gMany, gOne]) t.dispose();
      }
    });
  }
});

describe('Backend.readMany', () => {
  for (const { name, backend } of backends) {
    it(`reads what read() reads, in one wait (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const rng = new Rng(22);
      const ts = [5, 0, 1, 1000, 3].map((n) => backend.upload(rng.normals(n), [n]));
      const view = ts[3].view([10, 100]);
      const list: Tensor[] = [...ts, view, ts[0]];
      try {
        const g = gpuOf(backend);
        const waits = g?.hostWaitCount ?? 0;
        const many = await backend.readMany(list);
        if (g) expect(g.hostWaitCount - waits).toBe(1);
        const one = await Promise.all(list.map((t) => t.read()));
        expect(many.map((v) => Array.from(v))).toEqual(one.map((v) => Array.from(v)));
        expect(many.map((v) => v.length)).toEqual([5, 0, 1, 1000, 3, 1000, 5]);
        expect(await backend.readMany([])).toEqual([]);
      } finally {
        for (const t of ts) t.dispose();
      }
    });
  }
});

describe('Tape.take', () => {
  for (const { name, backend } of backends) {
    it(`hands over an owned output, copies inputs and views (${name})`, async ({ skip }) => {
      if (!backend) return skip();
      const x = backend.upload(new Rng(23).normals(24), [2, 3, 4]);
      const t = new Tape(backend, { noGrad: true });
      const xin = t.input(x);
      const y = t.relu(xin, { block: 0, module: 0 });
      const v = t.reshape(y, [6, 4]);
      const taken = t.take(y);
      const fromView = t.take(v);
      const fromInput = t.take(xin);
      const want = Array.from(await y.value.read());
      t.dispose();
      try {
        expect(taken).toBe(y.value);
        expect(fromView).not.toBe(v.value);
        expect(fromInput).not.toBe(x);
        expect(taken.isDisposed).toBe(false);
        expect(Array.from(await taken.read())).toEqual(want);
        expect(Array.from(await fromView.read())).toEqual(want);
        expect(Array.from(await fromInput.read())).toEqual(Array.from(await x.read()));
      } finally {
        for (const z of [taken, fromView, fromInput, x]) z.dispose();
      }
    });
  }
});
