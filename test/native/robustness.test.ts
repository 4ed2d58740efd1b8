/**
 * The addon at its JS boundary, as a library user or the CLI on a server meets it. Bad arguments
 * (wrong types, sizes whose products wrap around, non-integer handles, NaN or huge thread counts,
 * views with offsets, detached buffers) are JS errors naming the argument, never a crash, an abort
 * or a wrong number; lifetimes (a device collected with a read pending, exit with work in flight)
 * and concurrent jobs are safe. Cases that crashed the process run in a child process, so that a
 * regression fails a test instead of killing the runner.
 *
 * Under the sanitizers (CMakeLists.txt, WGNAS_SANITIZE): build into build-asan, then run this file
 * with WGNAS_NATIVE_PATH=build-asan/Release/wgnas_native.node LD_PRELOAD=$(gcc
 * -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1; the
 * children inherit the environment and a sanitizer report fails them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import * as nat from '../../src/backend/cpu/index.js';
import { nativeCandidates, type NativeBinding, type NativeRunOp } from '../../src/native/binding.js';
import { loadComputeAddon, type RawComputeDevice } from '../../src/native/compute.js';
import type { NativeDevice } from '../../src/native/device.js';
import { Rng } from '../../src/util/rng.js';
import { nativeOrNull } from '../helpers/native.js';
import { nativeDeviceOrNull } from '../helpers/native-ops.js';

let native: NativeBinding | null;
let dev: NativeDevice | null;
let raw: RawComputeDevice | null = null;
let addonPath = '';

beforeAll(() => {
  native = nativeOrNull();
  dev = nativeDeviceOrNull(2, { convAlgorithm: 'direct' });
  if (native) {
    addonPath = nativeCandidates().find((p) => existsSync(p))!;
    raw = new (loadComputeAddon().ComputeDevice)({ threads: 2, convAlgorithm: 'direct' });
  }
});
afterAll(() => {
  dev?.destroy();
  raw?.destroy();
});

/** Runs `code` (CommonJS, `addon` bound to the addon) in a child node; a crash or sanitizer report fails. */
function child(code: string, args: string[] = []): { status: number | null; signal: string | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...args, '-e', `const addon = require(${JSON.stringify(addonPath)});\n${code}`], {
    encoding: 'utf8',
    timeout: 240_000,
  });
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

function expectClean(r: ReturnType<typeof child>): void {
  expect(r.stderr).not.toMatch(/AddressSanitizer|runtime error:|terminate called|Segmentation/);
  expect({ status: r.status, signal: r.signal }).toEqual({ status: 0, signal: null });
}

describe('sizes whose products wrap around are refused before anything is queued', () => {
  // Each op's check() multiplied its size parameters in int64 / size_t: a product that wrapped to
  // 0 (2^32 x 2^32) passed the tensor-size check and the kernel ran far past its buffers
  // (setDiag, normalizeRows, batchNormForward, softmaxCrossEntropy, rowSums: SIGSEGV), or divided
  // by the wrapped product (avgPool2d with no planes: hung); matmul / conv2d reached oneDNN.
  const big = 2 ** 32;
  const cases: Array<[string, number[], Record<string, number | number[]>]> = [
    ['setDiag', [1], { B: 1, N: big }],
    ['normalizeRows', [1], { rows: big, D: big }],
    ['batchNormForward', [1, 1, 1, 1], { N: big, C: 1, HW: big, eps: 1e-5 }],
    ['softmaxCrossEntropy', [4096, 4096, 4096, 4096], { N: 2 ** 12, K: 2 ** 52 }],
    ['matmul', [1, 1, 1], { batch: 1, M: big, N: big, K: big }],
    ['conv2d', [1, 1, 1], { N: big, Cin: big, H: 1, W: 1, Cout: big, KH: 1, KW: 1, stride: 1, pad: 0, groups: 1 }],
    ['avgPool2d', [1, 1], { planes: 0, H: big, W: big, OH: big, OW: big, kernel: 1, stride: 1, pad: 0 }],
    ['firstElementGrad', [1, 1, 1], { N: 0, OH: big, OW: big, ys: 1, stride: 1, pad: 0, row: 0 }],
    ['rowSums', [4096, 4096], { rows: 2 ** 12, cols: 2 ** 52 }],
    ['colSums', [4096, 4096], { rows: 2 ** 52, cols: 2 ** 12 }],
    ['sumSlices', [4096, 4096], { n: 2 ** 12, slices: 2 ** 52 }],
    ['globalAvgPoolBackward', [4096, 4096], { planes: 2 ** 12, HW: 2 ** 52, scale: 1 }],
    ['accumulateAbsBatched', [1, 1], { n: big, slots: 1, layerSlots: [0], weights: [1] }],
  ];

  it('through enqueue() and enqueuePacked(), naming the op; the device keeps working', ({ skip }) => {
    if (!native) return skip();
    const r = child(`
      const d = new addon.ComputeDevice({ threads: 2, convAlgorithm: 'direct' });
      const ops = d.ops();
      const out = {};
      for (const [op, sizes, params] of ${JSON.stringify(cases)}) {
        const hs = sizes.map((n) => d.alloc(n));
        const msgs = [];
        try { d.enqueue(op, hs, params); msgs.push('queued'); } catch (e) { msgs.push(e.constructor.name + ': ' + e.message); }
        // The packed form NativeDevice uses: [tensor count, handles, values in the order of keys].
        const vals = [hs.length, ...hs];
        let keys = '';
        for (const [k, v] of Object.entries(params)) {
          if (Array.isArray(v)) { vals.push(v.length, ...v); keys += '[' + k + ','; } else { vals.push(v); keys += k + ','; }
        }
        try { d.enqueuePacked(ops.indexOf(op), Float64Array.from(vals), vals.length, keys); msgs.push('queued'); } catch (e) { msgs.push(e.constructor.name + ': ' + e.message); }
        out[op] = msgs;
      }
      const x = d.upload(Float32Array.from([-1, 2])), y = d.alloc(2);
      d.enqueue('relu', [x, y], { n: 2 });
      d.read(y).then((v) => { console.log(JSON.stringify({ out, relu: Array.from(v) })); d.destroy(); });
    `);
    expectClean(r);
    const got = JSON.parse(r.stdout) as { out: Record<string, string[]>; relu: number[] };
    for (const [op] of cases) {
      for (const m of got.out[op]) expect(m, op).toMatch(new RegExp(`^RangeError: native op ${op}: sizes [0-9 x]+ multiply past 2\\^50 elements`));
    }
    expect(got.relu).toEqual([0, 2]);
  });

  it('valid shapes next to the limits still run, with the right values', async ({ skip }) => {
    if (!dev) return skip();
    // An empty batch, and a window reading only the first elements of a larger buffer.
    const x = dev.upload([1, 2, 3, 4, 5, 6], [6]);
    const rows = dev.zeros([2]);
    dev.enqueue('rowSums', [x, rows], { rows: 2, cols: 3, scale: 1 });
    const none = dev.zeros([1]);
    dev.enqueue('firstElementGrad', [x, x, none], { N: 0, OH: 1, OW: 1, ys: 1, stride: 1, pad: 0, row: 0 });
    expect(Array.from(await rows.read())).toEqual([6, 15]);
    expect(Array.from(await none.read())).toEqual([0]);
    for (const t of [x, rows, none]) t.dispose();
  });
});

describe('handles, types and numbers crossing into the addon', () => {
  it('a handle that is not an integer in 1..2^32-1 is refused, not truncated onto another tensor', async ({ skip }) => {
    if (!raw) return skip();
    const h = raw.upload(Float32Array.from([1, 2]));
    // 2^32 + h cast to uint32 read tensor h; h + 0.5 likewise; NaN was undefined behaviour.
    for (const bad of [h + 2 ** 32, h + 0.5, NaN, -h, Infinity]) {
      expect(() => raw!.read(bad), String(bad)).toThrow(/^invalid native tensor handle (\d+(\.5)?|NaN|-\d+|Infinity) \(not from this device\)$/);
      expect(() => raw!.enqueue('relu', [bad, h], { n: 2 }), String(bad)).toThrow(/invalid native tensor handle/);
      expect(() => raw!.enqueuePacked(raw!.ops().indexOf('relu'), Float64Array.from([2, bad, h, 2]), 4, 'n,'), String(bad)).toThrow(/invalid native tensor handle/);
      expect(() => raw!.release(bad), String(bad)).toThrow(/^release: invalid native tensor handle/);
    }
    expect(Array.from(await raw.read(h))).toEqual([1, 2]); // release(h + 0.5) used to free it
    raw.release(h);
    raw.release(h); // idempotent for a real handle
    expect(() => raw!.read(h)).toThrow(/used after dispose\(\)/);
  });

  it('thread counts, sizes and op fields that are NaN, infinite or out of range are errors naming them', async ({ skip }) => {
    if (!native || !dev) return skip();
    const op = { type: 'pool', inH: 2, inC: 2 } as const;
    await expect(native.profile([op], { threads: NaN })).rejects.toThrow(/^options: field 'threads' must be an integer \(got NaN\)$/);
    await expect(native.profile([op], { threads: Infinity })).rejects.toThrow(/field 'threads' must be an integer \(got Infinity\)/);
    // 1e10 used to be "must be an integer (got 10000000000.000000)": it is one, out of range.
    await expect(native.profile([op], { threads: 1e10 })).rejects.toThrow(/^options: field 'threads' is out of range \(got 10000000000\)$/);
    await expect(native.profile([op], { threads: 2.5 })).rejects.toThrow(/field 'threads' must be an integer \(got 2\.5\)/);
    await expect(native.profile([op], { repeats: -(2 ** 31) - 1 })).rejects.toThrow(/field 'repeats' is out of range \(got -2147483649\)/);
    await expect(native.profile([{ ...op, batch: 2 ** 31 }])).rejects.toThrow(/^op 0: field 'batch' is out of range \(got 2147483648\)$/);
    await expect(native.profile([{ ...op, inC: NaN }])).rejects.toThrow(/op 0: field 'inC' must be an integer \(got NaN\)/);
    const conv: NativeRunOp = { type: 'conv', inH: 2, inC: 1, outC: 1, kernel: 1 };
    const t = { input: new Float32Array(4), weights: new Float32Array(1) };
    await expect(native.run('onednn', conv, t, { threads: NaN })).rejects.toThrow(/run options: field 'threads' must be an integer \(got NaN\)/);
    await expect(native.run('onednn', conv, t, { threads: 2 ** 32 + 1 })).rejects.toThrow(/field 'threads' is out of range \(got 4294967297\)/);
    const { ComputeDevice } = loadComputeAddon();
    for (const threads of [NaN, 0, 2.5, 1025, 2 ** 32 + 1, '2' as unknown as number]) {
      expect(() => new ComputeDevice({ threads, convAlgorithm: 'direct' }), String(threads)).toThrow(/threads must be an integer in 1\.\.1024/);
    }
    for (const n of [-1, NaN, 1.5, -Infinity]) {
      expect(() => raw!.alloc(n), String(n)).toThrow(/^alloc: numel must be a non-negative integer \(got (-1|NaN|1\.5|-Infinity)\)$/);
    }
    expect(() => raw!.alloc('3' as unknown as number)).toThrow(/^alloc: numel must be a number$/);
    // A shape of 2^48 elements is an integer, too large: say so.
    expect(() => dev!.empty([65536, 65536, 65536])).toThrow(/^alloc: numel 281474976710656 exceeds 4e12 elements$/);
    const h = raw!.alloc(4);
    expect(() => raw!.read(h, NaN)).toThrow(/^read: offset must be a non-negative integer \(got NaN\)$/);
    expect(() => raw!.read(h, 0, 5)).toThrow(/^read: 5 values at offset 0 exceed the tensor's 4$/);
    raw!.release(h);
  });

  it('the standalone profiler refuses a --threads beyond int (4294967297 ran on 1 thread)', ({ skip }) => {
    if (!native) return skip();
    const profiler = join(dirname(addonPath), 'wgnas-profiler');
    if (!existsSync(profiler)) return skip();
    const r = spawnSync(profiler, ['--threads', '4294967297', '--info'], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threads is out of range, got '4294967297'/);
  });

  it('typed-array views with offsets are read from their offset; other array types are refused', async ({ skip }) => {
    if (!native || !dev) return skip();
    const rng = new Rng(5);
    const op: NativeRunOp = { type: 'conv', batch: 2, inH: 5, inW: 4, inC: 3, outC: 4, kernel: 3 };
    const input = Float32Array.from(rng.normals(2 * 3 * 5 * 4));
    const weights = Float32Array.from(rng.normals(4 * 3 * 9));
    const want = await native.run('onednn', op, { input, weights });
    // The same values at an element offset inside larger buffers (one shared, one not).
    const wide = new Float32Array(input.length + 7);
    wide.set(input, 3);
    const shared = new Float32Array(new SharedArrayBuffer(4 * (weights.length + 5)));
    shared.set(weights, 5);
    const got = await native.run('onednn', op, { input: wide.subarray(3, 3 + input.length), weights: shared.subarray(5) });
    expect(Array.from(got)).toEqual(Array.from(want));
    const t = dev.upload(wide.subarray(3, 9), [6]);
    dev.write(t, wide.subarray(7, 9), 1);
    expect(Array.from(await t.read())).toEqual([input[0], input[4], input[5], input[3], input[4], input[5]]);
    t.dispose();
    expect(() => raw!.upload(new Float64Array(2) as unknown as Float32Array)).toThrow(/^upload: data must be a Float32Array$/);
    expect(() => raw!.upload(new Uint8Array(input.buffer) as unknown as Float32Array)).toThrow(/upload: data must be a Float32Array/);
    const h = raw!.alloc(2);
    expect(() => raw!.write(h, new DataView(new ArrayBuffer(8)) as unknown as Float32Array, 0)).toThrow(/write: data must be a Float32Array/);
    raw!.release(h);
  });

  it('detached buffers are empty arrays: a size error naming the tensor, never a read of freed memory', async ({ skip }) => {
    if (!native || !dev) return skip();
    const detached = (n: number) => {
      const a = new Float32Array(n);
      structuredClone(a.buffer, { transfer: [a.buffer] });
      return a;
    };
    expect(detached(4).length).toBe(0);
    const op: NativeRunOp = { type: 'conv', inH: 4, inC: 2, outC: 2, kernel: 1 };
    await expect(native.run('onednn', op, { input: detached(32), weights: new Float32Array(4) })).rejects.toThrow(/tensors\.input has 0 elements, expected 32/);
    const rawAddon = createRequire(import.meta.url)(addonPath) as { run: (...a: unknown[]) => Promise<Float32Array> };
    const rawRun = async (...a: unknown[]) => rawAddon.run(...a);
    await expect(rawRun('onednn', op, { input: new Float32Array(32), weights: detached(4) })).rejects.toThrow(/weights has 0 elements, expected 4/);
    expect(() => dev!.upload(detached(4), [4])).toThrow(/0 values do not fill shape \[4\]/);
    const h = raw!.upload(detached(4));
    expect((await raw!.read(h)).length).toBe(0);
    raw!.release(h);
  });

  it('a sparse array parameter is a TypeError naming it (its length asked for 32 GiB and aborted)', ({ skip }) => {
    if (!native) return skip();
    const r = child(`
      const d = new addon.ComputeDevice({ threads: 1, convAlgorithm: 'direct' });
      const h = d.alloc(1);
      const sparse = [];
      sparse.length = 4e9;
      try { d.enqueue('fill', [h], { n: 1, value: 0, x: sparse }); } catch (e) { console.log(e.constructor.name + ': ' + e.message); }
      d.destroy();
    `);
    expectClean(r);
    expect(r.stdout.trim()).toBe('TypeError: native op fill: parameter x must hold numbers');
  });
});

describe('lifetimes', () => {
  it('run() copies its inputs: detaching or overwriting them right after the call changes nothing', async ({ skip }) => {
    if (!native) return skip();
    const rng = new Rng(9);
    const op: NativeRunOp = { type: 'dwconv', batch: 2, inH: 6, inC: 4, kernel: 3 };
    const input = Float32Array.from(rng.normals(2 * 4 * 36));
    const weights = Float32Array.from(rng.normals(4 * 9));
    const want = await native.run('onednn', op, { input: input.slice(), weights: weights.slice() });
    const a = input.slice();
    const w = weights.slice();
    const p = native.run('onednn', op, { input: a, weights: w });
    a.fill(NaN);
    structuredClone(w.buffer, { transfer: [w.buffer] });
    expect(Array.from(await p)).toEqual(Array.from(want));
  });

  it('a tensor disposed right after read() / an op still reads its values', async ({ skip }) => {
    if (!dev) return skip();
    const x = dev.upload([3, -1, 2]);
    const r = x.read();
    const y = nat.relu(dev, x);
    x.dispose();
    x.dispose();
    expect(Array.from(await r)).toEqual([3, -1, 2]);
    expect(Array.from(await y.read())).toEqual([3, 0, 2]);
    expect(() => x.view([3]).handle).toThrow(/used after dispose/);
    y.dispose();
  });

  it('a device dropped with a read pending is kept alive until the read resolves (was a use-after-free)', ({ skip }) => {
    if (!native) return skip();
    const r = child(
      `
      let d = new addon.ComputeDevice({ threads: 2, convAlgorithm: 'direct' });
      const n = 1 << 20;
      const h = d.upload(new Float32Array(n).fill(1));
      for (let i = 0; i < 100; i++) d.enqueue('scale', [h, h], { n, s: 2 });
      const p = d.read(h, 0, 4);
      d = null;
      (async () => {
        for (let i = 0; i < 5; i++) { global.gc(); await new Promise((r) => setImmediate(r)); }
        console.log(Array.from(await p).join(','));
      })();
    `,
      ['--expose-gc'],
    );
    expectClean(r);
    expect(r.stdout.trim()).toBe(Array(4).fill(2 ** 100).join(','));
  });

  const exits: Array<[string, string]> = [
    // The worker went on running ops while exit() destroyed the op registry (heap-use-after-free).
    [
      'process.exit() while the device worker runs ops',
      `const d = new addon.ComputeDevice({ threads: 2, convAlgorithm: 'direct' });
       const n = 1 << 22, h = d.upload(new Float32Array(n).fill(1));
       for (let i = 0; i < 2000; i++) d.enqueue('scale', [h, h], { n, s: 1 });
       d.read(h, 0, 1);
       setTimeout(() => process.exit(0), 20);`,
    ],
    [
      'the event loop ends with ops queued and never read',
      `const d = new addon.ComputeDevice({ threads: 1, convAlgorithm: 'direct' });
       const n = 1 << 20, h = d.upload(new Float32Array(n));
       for (let i = 0; i < 200; i++) d.enqueue('scale', [h, h], { n, s: 1 });`,
    ],
    [
      'process.exit() while profile() and run() jobs run',
      `addon.profile([{ type: 'conv', inH: 56, inC: 32, outC: 32, kernel: 3 }], { repeats: 200, warmup: 0 });
       addon.run('onednn', { type: 'conv', inH: 64, inC: 16, outC: 16, kernel: 3 }, { input: new Float32Array(16 * 64 * 64), weights: new Float32Array(16 * 16 * 9) });
       setTimeout(() => process.exit(0), 20);`,
    ],
    // A filter still active at exit aborted (std::terminate on the joinable reader thread).
    ['process.exit() with the stderr filter active', `addon.stderrFilterBegin(['x']); process.exit(0);`],
    ['the event loop ends with the stderr filter active', `addon.stderrFilterBegin(['x']);`],
  ];
  for (const [name, code] of exits) {
    it(`${name}: exit status 0, no crash`, ({ skip }) => {
      if (!native) return skip();
      expectClean(child(code));
    });
  }
});

describe('concurrency', () => {
  it('profile(), run() and two devices at once give the results each gives alone', async ({ skip }) => {
    if (!native || !dev) return skip();
    const rng = new Rng(11);
    const op: NativeRunOp = { type: 'conv', batch: 2, inH: 12, inC: 8, outC: 8, kernel: 3 };
    const tensors = { input: Float32Array.from(rng.normals(2 * 8 * 144)), weights: Float32Array.from(rng.normals(8 * 8 * 9)) };
    const xs = rng.normals(4 * 16 * 8 * 8);
    const ws = rng.normals(16 * 16 * 9);
    const compute = async (d: NativeDevice) => {
      const y = nat.conv2d(d, d.upload(xs, [4, 16, 8, 8]), d.upload(ws, [16, 16, 3, 3]), { stride: 1, pad: 1 });
      return nat.batchNormForward(d, y, null, null).y.read();
    };
    const other = nativeDeviceOrNull(1, { convAlgorithm: 'direct' })!;
    try {
      // Alone, one after the other, with the thread count changing between calls.
      const alone1 = await native.run('onednn', op, tensors, { threads: 1 });
      const alone2 = await native.run('onednn', op, tensors, { threads: 2 });
      const devAlone = await compute(dev);
      const otherAlone = await compute(other);
      const profiles = [
        native.profile([{ type: 'mbconv', inH: 14, inC: 16, outC: 16, expand: 3, kernel: 3, idskip: true }], { threads: 2, warmup: 1, repeats: 5 }),
        native.profile([{ type: 'conv', inH: 14, inC: 8, outC: 8, kernel: 3 }], { backend: 'xnnpack', threads: 2, warmup: 1, repeats: 5 }),
        native.profile([{ type: 'logits', inH: 7, inC: 32, outC: 10 }], { threads: 1, warmup: 1, repeats: 5 }),
      ];
      const [r1, r2, r1b, d1, d2, ...ps] = await Promise.all([
        native.run('onednn', op, tensors, { threads: 1 }),
        native.run('onednn', op, tensors, { threads: 2 }),
        native.run('onednn', op, tensors, { threads: 1 }),
        compute(dev),
        compute(other),
        ...profiles,
      ]);
      expect(Array.from(r1)).toEqual(Array.from(alone1));
      expect(Array.from(r1b)).toEqual(Array.from(alone1));
      expect(Array.from(r2)).toEqual(Array.from(alone2));
      expect(Array.from(d1)).toEqual(Array.from(devAlone));
      expect(Array.from(d2)).toEqual(Array.from(otherAlone));
      for (const p of ps) {
        const res = p as Awaited<ReturnType<NativeBinding['profile']>>;
        expect(res.count).toBe(5);
        expect(res.medianMs).toBeGreaterThan(0);
      }
    } finally {
      other.destroy();
    }
  });
});

describe('library errors name the cause and a fix', () => {
  // Under a 4 GB address-space limit (not with ASan, which reserves far more). The sizes make the
  // failing allocation come before any large memory is touched, so the case stays quick.
  const asan = /asan/.test(process.env.LD_PRELOAD ?? '');
  it('out of memory in profile(), a device op and upload(): an error saying so, never an abort', ({ skip }) => {
    if (!native || asan) return skip();
    const xnnpack = native.backends().find((b) => b.name === 'xnnpack')?.available === true;
    const code = `
      (async () => {
        const out = [];
        const big = { type: 'conv', inH: 1024, inC: 1024, outC: 1024, kernel: 1 };
        for (const backend of ${JSON.stringify(xnnpack ? ['onednn', 'xnnpack'] : ['onednn'])}) {
          try { await addon.profile([big], { backend, repeats: 1, warmup: 0 }); out.push('ok'); } catch (e) { out.push(e.message); }
        }
        const d = new addon.ComputeDevice({ threads: 1, convAlgorithm: 'direct' });
        // x and y (1.3 GB each, never touched) fit; the blocked-layout copy of x does not.
        const n = 16 * 4096 * 5000, x = d.alloc(n), y = d.alloc(n), w = d.alloc(16 * 16 * 9);
        d.enqueue('conv2d', [x, w, y], { N: 1, Cin: 16, H: 4096, W: 5000, Cout: 16, KH: 3, KW: 3, stride: 1, pad: 1, groups: 1 });
        try { await d.sync(); out.push('ok'); } catch (e) { out.push(e.message); }
        for (const h of [x, y, w]) d.release(h);
        d.trim();
        try { d.upload(new Float32Array(4e8)); out.push('ok'); } catch (e) { out.push(e.constructor.name + ': ' + e.message); }
        console.log(JSON.stringify(out));
        d.destroy();
      })();
    `;
    const script = `const addon = require(${JSON.stringify(addonPath)});\n${code}`;
    const r = spawnSync('sh', ['-c', 'ulimit -v 4000000 && exec "$0" -e "$1"', process.execPath, script], { encoding: 'utf8', timeout: 240_000 });
    expectClean({ status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr });
    const out = JSON.parse(r.stdout) as string[];
    expect(out[0]).toMatch(/^oneDNN could not build the ops: .*\(out of memory: use a smaller batch or input, or free memory\)$/);
    if (xnnpack) expect(out[1]).toMatch(/^XNNPACK could not build the ops: out of memory for their buffers: use a smaller batch or input$/);
    expect(out.at(-2)).toBe("native op 'conv2d' failed: out of memory for its buffers: use a smaller batch, or free memory");
    // std::bad_alloc escaping N-API aborted the process here.
    expect(out.at(-1)).toBe('RangeError: upload: out of memory for 400000000 floats');
  });
});
