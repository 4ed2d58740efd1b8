/**
 * Tensor lifetime on one backend (src/util/leaks.ts): the cases the webgpu and the cpu test files
 * both run. Garbage collection is forced through V8's gc, exposed at run time (no --expose-gc flag
 * for the vitest workers needed).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { type Backend, type BackendMemory, DisposedError, DisposedTensorError, type Tensor } from '../../src/backend/index.js';
import { GpuDisposedError } from '../../src/gpu/errors.js';
import { gpuOf } from '../../src/backend/webgpu.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { expandProxyNames, scoreAll, ZeroShotScorer } from '../../src/zeroshot/index.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { AutoSpace, DEFAULT_EVOLVE } from '../../src/autospace/evolve.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { fixedMadds } from '../../src/mobilenet/madds.js';
import { DEFAULT_SEARCH, ProxylessSearch } from '../../src/proxyless/search.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects the garbage and lets the finalizers run (they run as tasks of their own). */
export async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
}

/** memory() minus `before`, once the queued work has run and the garbage is collected. */
async function memoryDelta(b: Backend, before: BackendMemory): Promise<BackendMemory> {
  await b.sync();
  await collectGarbage();
  const m = b.memory();
  return {
    tensors: m.tensors - before.tensors,
    bytes: m.bytes - before.bytes,
    leakedTensors: m.leakedTensors - before.leakedTensors,
  };
}

/**
 * Creates tensors and drops them without dispose(): 4 that own memory (16 KiB + 4 KiB + 4 KiB + 64 B
 * on both pools), and a view and a window that own none. In a function of its own, so that no
 * variable of the caller's frame keeps one alive.
 */
function dropTensors(b: Backend): void {
  const x = b.upload(
    Float32Array.from({ length: 4096 }, (_, i) => i - 2048),
    [4096],
  );
  b.ops.relu(x);
  x.view([64, 64]);
  const e = b.empty([16, 64]);
  b.window(e, [10]);
  b.zeros([7]);
}

/** relu(x) queued with x dropped without dispose() at once: its memory is reclaimed while the op waits. */
function reluOfDropped(b: Backend, values: Float32Array): Tensor {
  return b.ops.relu(b.upload(values));
}

const NET = { ...NB201_DEFAULT, channels: 4, cellsPerStage: 1 };
const ARCHS = [
  '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|',
  '|skip_connect~0|+|none~0|nor_conv_1x1~1|+|nor_conv_3x3~0|avg_pool_3x3~1|skip_connect~2|',
];

export interface LifetimeSubject {
  name: 'webgpu' | 'cpu';
  /** The test file's shared backend (null: unavailable, the tests skip). */
  shared: () => Promise<Backend | null>;
  /** A new backend that owns its device (for the cases that dispose it or read the environment on open). */
  open: () => Promise<Backend>;
}

export function tensorLifetimeCases(s: LifetimeSubject): void {
  describe(`tensor lifetime on the ${s.name} backend`, () => {
    it('tensors dropped without dispose() are reclaimed and counted as leaks; views and windows are not', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const before = b.memory();
      dropTensors(b);
      expect(b.memory().tensors - before.tensors).toBe(4);
      expect(await memoryDelta(b, before)).toEqual({ tensors: 0, bytes: 0, leakedTensors: 4 });
    });

    it('memory() counts exactly the tensors that own memory and their bytes; double dispose is safe', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const before = b.memory();
      const a = b.empty([1024]); // 4 KiB, a size class of both pools
      const c = b.upload(new Float32Array(32 * 64), [32, 64]); // 8 KiB
      const v = a.view([32, 32]);
      const w = b.window(c, [100]);
      expect(await memoryDelta(b, before)).toEqual({ tensors: 2, bytes: 4096 + 8192, leakedTensors: 0 });
      v.dispose();
      w.dispose();
      expect(await memoryDelta(b, before)).toEqual({ tensors: 2, bytes: 4096 + 8192, leakedTensors: 0 });
      a.dispose();
      a.dispose();
      expect([a.isDisposed, v.isDisposed, c.isDisposed]).toEqual([true, true, false]);
      expect(await memoryDelta(b, before)).toEqual({ tensors: 1, bytes: 8192, leakedTensors: 0 });
      c.dispose();
      expect(await memoryDelta(b, before)).toEqual({ tensors: 0, bytes: 0, leakedTensors: 0 });
    });

    it('a tensor used after dispose() throws one line saying so', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const before = b.memory();
      const x = b.upload([1, -2, 3, -4]);
      const xView = x.view([2, 2]);
      const live = b.upload([0, 0, 0, 0]);
      x.dispose();
      const oneLine = /^(\w+: )?(native )?tensor \[4\] used after dispose\(\)$/;
      const uses: Array<[string, () => unknown]> = [
        ['view', () => x.view([2, 2])],
        ['window', () => b.window(x, [2])],
        ['write', () => b.write(x, new Float32Array(4))],
        ['copy from', () => b.copy(x, live)],
        ['copy to', () => b.copy(live, x)],
        ['an op', () => b.ops.relu(x)],
      ];
      for (const [what, use] of uses) {
        expect(use, what).toThrow(oneLine);
        // One class whichever call and backend (docs/api.md): the devices' own errors are not it.
        expect(use, what).toThrow(DisposedTensorError);
      }
      await expect(x.read()).rejects.toThrow(oneLine);
      await expect(x.read()).rejects.toThrow(DisposedTensorError);
      await expect(b.readMany([live, x])).rejects.toThrow(DisposedTensorError);
      // A view made before the dispose shares it.
      expect(await xView.read().catch((e: unknown) => e)).toBeInstanceOf(DisposedTensorError);
      expect(Array.from(await live.read())).toEqual([0, 0, 0, 0]);
      live.dispose();
      // An op refused its input before it made its output (which leaked, ops allocating first).
      expect(await memoryDelta(b, before)).toEqual({ tensors: 0, bytes: 0, leakedTensors: 0 });
    });

    it('memory reclaimed while an op that reads it is still queued is reused after that op', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const values = Float32Array.from({ length: 4096 }, (_, i) => (i % 7) - 3);
      const before = b.memory();
      const y = reluOfDropped(b, values);
      await collectGarbage(); // nothing here submits the GPU's open encoder: the relu is still recorded only
      expect(b.memory().leakedTensors - before.leakedTensors).toBe(1);
      const allocated = gpuOf(b)?.pool.stats().bytesAllocated;
      const z = b.upload(new Float32Array(4096).fill(99)); // the GPU pool hands the relu's input buffer out again
      if (allocated !== undefined) expect(gpuOf(b)!.pool.stats().bytesAllocated).toBe(allocated);
      expect(Array.from(await y.read())).toEqual(Array.from(values, (v) => Math.max(0, v)));
      expect((await z.read()).every((v) => v === 99)).toBe(true);
      y.dispose();
      z.dispose();
    });

    it('nothing the library does leaks: scoring cells with every proxy, one by one and grouped', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const cells = ARCHS.map(parseArch);
      const before = b.memory();
      await scoreAll(new ZeroShotScorer(b, expandProxyNames(['all']), { batchSize: 8, seed: 1, net: NET }), cells);
      await scoreAll(new ZeroShotScorer(b, ['wrcor', 'naswot'], { batchSize: 8, seed: 1, net: NET, group: 2 }), cells);
      expect(await memoryDelta(b, before)).toEqual({ tensors: 0, bytes: 0, leakedTensors: 0 });
    });

    it('nothing the library does leaks: ProxylessNAS steps (warm-up and search) and AutoSpace iterations', async ({ skip }) => {
      const b = await s.shared();
      if (!b) return skip();
      const before = b.memory();
      const data = cifarSearchSplit(32, 16);
      const search = new ProxylessSearch(
        b,
        {
          ...DEFAULT_SEARCH,
          layout: CIFAR_LAYOUT,
          warmupSteps: 1,
          searchSteps: 2,
          batchSize: 4,
          valBatchSize: 4,
          checkpointEvery: 0,
          costLoss: null,
        },
        data,
        null,
      );
      try {
        await search.run(() => {});
      } finally {
        search.dispose();
      }
      const cfg = { ...DEFAULT_EVOLVE, layout: CIFAR_LAYOUT, budgetMadds: 2 * fixedMadds(CIFAR_LAYOUT), iterations: 2, steps: 1 };
      const evo = new AutoSpace(b, { ...cfg, warmupSteps: 1, replaceEvery: 1, batchSize: 4, seed: 3 }, data);
      try {
        await evo.run(() => {});
      } finally {
        evo.dispose();
      }
      expect(await memoryDelta(b, before)).toEqual({ tensors: 0, bytes: 0, leakedTensors: 0 });
    });

    it('WGNAS_WARN_LEAKS=1: one warning per collection names the leaked shapes; disposing after the backend is a no-op', async () => {
      const saved = process.env.WGNAS_WARN_LEAKS;
      process.env.WGNAS_WARN_LEAKS = '1';
      let b: Backend;
      try {
        b = await s.open(); // read when the device opens
      } finally {
        if (saved === undefined) delete process.env.WGNAS_WARN_LEAKS;
        else process.env.WGNAS_WARN_LEAKS = saved;
      }
      const warnings: Error[] = [];
      const onWarning = (w: Error) => {
        if (w.name === 'TensorLeakWarning') warnings.push(w);
      };
      process.on('warning', onWarning);
      try {
        dropTensors(b);
        await b.sync();
        await collectGarbage();
        expect(warnings.map((w) => w.message)).toEqual([
          `wgnas: 4 tensors garbage-collected without dispose() on the ${s.name} backend (2 x [4096], 1 x [16, 64], 1 x [7]); ` +
            'their memory was reclaimed (4 since it opened). Call dispose() on each tensor when done with it.',
        ]);
        const kept = b.empty([8]);
        dropTensors(b);
        b.dispose();
        expect(() => kept.dispose()).not.toThrow();
        expect(kept.isDisposed).toBe(true);
        await collectGarbage(); // tensors the backend's dispose() freed are no leak
        expect(b.memory().leakedTensors).toBe(4);
        expect(warnings).toHaveLength(1);
      } finally {
        process.off('warning', onWarning);
        b.dispose();
      }
    });

    it('a read pending when the backend is disposed settles: the values (CPU: the queue drains) or a typed error saying so (GPU)', async () => {
      const b = await s.open();
      const x = b.upload([1, -2, 3]);
      const pending = x.read().then(
        (v) => Array.from(v),
        (e: unknown) => e,
      );
      b.dispose();
      const r = await pending;
      if (b.device === 'cpu') expect(r).toEqual([1, -2, 3]);
      else {
        // Not Dawn's bare AbortError with an empty message.
        expect(r).toBeInstanceOf(GpuDisposedError);
        expect(r).toBeInstanceOf(DisposedError);
        expect((r as Error).message).toBe('the GPU backend was disposed while a read was pending (its result is lost)');
      }
    });
  });
}
