/**
 * The C++ addon: loading, clock, CPU info, small real measurements with oneDNN (and XNNPACK where
 * built), and run() on given data against the f64 conv reference. Without a built addon these skip
 * locally but fail under CI=true.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, it } from 'vitest';

import { conv2dF64 } from '../../src/kernels/conv2d.js';
import {
  nativeCandidates,
  requireBackend,
  runOpSizes,
  type BackendName,
  type NativeBinding,
  type NativeOp,
  type NativeRunOp,
} from '../../src/native/binding.js';
import { Rng } from '../../src/util/rng.js';
import { expectClose } from '../helpers/gpu.js';
import { nativeOrNull } from '../helpers/native.js';

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});

const quick = { warmup: 1, repeats: 5 };

describe('native addon', () => {
  it('loads with N-API 8 and the expected functions', ({ skip }) => {
    if (!native) return skip();
    expect(native.napiVersion).toBe(8);
    for (const f of ['nowNs', 'cpuInfo', 'backends', 'profile', 'run'] as const) expect(typeof native[f]).toBe('function');
  });

  it('nowNs is a monotonic bigint clock in nanoseconds', async ({ skip }) => {
    if (!native) return skip();
    const a = native.nowNs();
    expect(typeof a).toBe('bigint');
    let prev = a;
    for (let i = 0; i < 1000; i++) {
      const t = native.nowNs();
      expect(t >= prev).toBe(true);
      prev = t;
    }
    const t0 = native.nowNs();
    await new Promise((r) => setTimeout(r, 20));
    const dtMs = Number(native.nowNs() - t0) / 1e6;
    expect(dtMs).toBeGreaterThan(15);
    expect(dtMs).toBeLessThan(5000);
  });

  it('cpuInfo is sane', ({ skip }) => {
    if (!native) return skip();
    const c = native.cpuInfo();
    expect(c.model.length).toBeGreaterThan(0);
    expect(c.logicalCores).toBeGreaterThanOrEqual(1);
    expect(c.availableCores).toBeGreaterThanOrEqual(1);
    expect(c.availableCores).toBeLessThanOrEqual(c.logicalCores);
    if (c.physicalCores !== undefined) expect(c.physicalCores).toBeLessThanOrEqual(c.logicalCores);
    expect(Array.isArray(c.features)).toBe(true);
    for (const v of Object.values(c.cacheBytes)) expect(v).toBeGreaterThan(0);
  });

  it('reports oneDNN and its threading runtime', ({ skip }) => {
    if (!native) return skip();
    const onednn = requireBackend(native, 'onednn');
    expect(onednn.version).toMatch(/^\d+\.\d+\.\d+$/);
    expect(['OpenMP', 'TBB', 'sequential', 'other']).toContain(onednn.runtime);
    const xnn = native.backends().find((b) => b.name === 'xnnpack')!;
    if (!xnn.available) expect(xnn.reason).toBeTruthy();
  });
});

const ops: Array<[string, NativeOp]> = [
  ['stem conv', { type: 'conv', inH: 32, inC: 3, outC: 16, kernel: 3, stride: 2 }],
  ['mbconv e6 k5 s1 skip', { type: 'mbconv', inH: 14, inC: 24, outC: 24, expand: 6, kernel: 5, stride: 1, idskip: true }],
  ['mbconv e1 k3', { type: 'mbconv', inH: 9, inC: 8, outC: 16, expand: 1, kernel: 3, stride: 1 }],
  ['mbconv e3 k7 s2 odd size', { type: 'mbconv', inH: 7, inW: 5, inC: 8, outC: 12, expand: 3, kernel: 7, stride: 2 }],
  ['1x1 conv', { type: 'conv', inH: 4, inC: 32, outC: 64, kernel: 1, stride: 1 }],
  ['depthwise k5 s2, batch 3', { type: 'dwconv', batch: 3, inH: 9, inW: 7, inC: 12, kernel: 5, stride: 2 }],
  ['conv batch 2', { type: 'conv', batch: 2, inH: 8, inC: 4, outC: 8, kernel: 3, stride: 1 }],
  ['pool', { type: 'pool', inH: 7, inC: 33 }],
  ['linear', { type: 'linear', inC: 100, outC: 10 }],
  ['logits', { type: 'logits', inH: 3, inC: 64, outC: 10 }],
];

describe('profile (oneDNN)', () => {
  for (const [name, op] of ops) {
    it(name, async ({ skip }) => {
      if (!native) return skip();
      const r = await native.profile([op], { ...quick, threads: 1 });
      expect(r.count).toBe(5);
      expect(r.warmup).toBe(1);
      expect(r.medianMs).toBeGreaterThan(0);
      expect(r.minMs).toBeLessThanOrEqual(r.p25Ms);
      expect(r.p25Ms).toBeLessThanOrEqual(r.medianMs);
      expect(r.medianMs).toBeLessThanOrEqual(r.p75Ms);
      expect(r.p75Ms).toBeLessThanOrEqual(r.maxMs);
      expect(r.iqrMs).toBeCloseTo(r.p75Ms - r.p25Ms, 12);
      expect(r.meanMs).toBeGreaterThanOrEqual(r.minMs);
      expect(r.meanMs).toBeLessThanOrEqual(r.maxMs);
      expect(r.stdMs).toBeGreaterThanOrEqual(0);
      expect(r.cv).toBeCloseTo(r.stdMs / r.meanMs, 9);
      expect(typeof r.pinned).toBe('boolean');
      if (!r.pinned) expect(r.pinError).toBeTruthy();
    });
  }

  it('stats match the raw samples', async ({ skip }) => {
    if (!native) return skip();
    const r = await native.profile([ops[1][1]], { warmup: 0, repeats: 9, keepSamples: true });
    const s = Array.from(r.samplesMs!).sort((a, b) => a - b);
    expect(s).toHaveLength(9);
    expect(r.medianMs).toBe(s[4]);
    expect(r.p25Ms).toBe(s[2]);
    expect(r.p75Ms).toBe(s[6]);
    const mean = s.reduce((a, b) => a + b, 0) / 9;
    expect(r.meanMs).toBeCloseTo(mean, 9);
    expect(r.stdMs).toBeCloseTo(Math.sqrt(s.reduce((a, b) => a + (b - mean) ** 2, 0) / 8), 9);
  });

  it('chains a small network, with 2 threads, a cache flush and a per-op breakdown', async ({ skip }) => {
    if (!native) return skip();
    const net: NativeOp[] = [
      { type: 'conv', inH: 16, inC: 3, outC: 8, kernel: 3, stride: 2 },
      { type: 'mbconv', inH: 8, inC: 8, outC: 8, expand: 3, kernel: 3, stride: 1, idskip: true },
      { type: 'mbconv', inH: 8, inC: 8, outC: 16, expand: 6, kernel: 5, stride: 2 },
      { type: 'conv', inH: 4, inC: 16, outC: 32, kernel: 1, stride: 1 },
      { type: 'logits', inH: 4, inC: 32, outC: 10 },
    ];
    const r = await native.profile(net, { ...quick, threads: 2, flushBytes: 1 << 20, perOp: true });
    expect(r.threads).toBe(2);
    expect(r.flushBytes).toBe(1 << 20);
    expect(r.medianMs).toBeGreaterThan(0);
    expect(r.opMeanMs).toHaveLength(5);
    for (const v of r.opMeanMs!) expect(v).toBeGreaterThan(0);
  });

  it('maxTimeMs stops early but keeps at least 3 samples', async ({ skip }) => {
    if (!native) return skip();
    const r = await native.profile([ops[0][1]], { warmup: 0, repeats: 100000, maxTimeMs: 1e-6 });
    expect(r.count).toBe(3);
  });

  it('runs off the JS thread (the event loop keeps turning)', async ({ skip }) => {
    if (!native) return skip();
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const big: NativeOp = { type: 'mbconv', inH: 56, inC: 24, outC: 24, expand: 6, kernel: 7, stride: 1, idskip: true };
    const r = await native.profile([big], { warmup: 2, repeats: 30 });
    clearInterval(timer);
    if (r.meanMs * 32 > 20) expect(ticks).toBeGreaterThan(0);
  });
});

describe('profile bad input', () => {
  const cases: Array<[string, unknown, RegExp]> = [
    ['unknown op type', [{ type: 'bogus', inH: 4, inC: 4, outC: 4 }], /unknown op type 'bogus'/],
    ['missing field', [{ type: 'mbconv', inH: 4, inC: 4, outC: 4, kernel: 3 }], /missing numeric field 'expand'/],
    ['non-integer', [{ type: 'conv', inH: 4.5, inC: 3, outC: 4, kernel: 3 }], /must be an integer/],
    ['even kernel', [{ type: 'conv', inH: 4, inC: 3, outC: 4, kernel: 4 }], /kernel 4 must be odd/],
    ['skip with stride 2', [{ type: 'mbconv', inH: 8, inC: 8, outC: 8, expand: 3, kernel: 3, stride: 2, idskip: true }], /identity skip needs stride 1/],
    ['zero channels', [{ type: 'conv', inH: 4, inC: 0, outC: 4, kernel: 3 }], /must be positive/],
    ['empty', [], /empty op list/],
    [
      'chain mismatch',
      [
        { type: 'conv', inH: 8, inC: 3, outC: 8, kernel: 3, stride: 2 },
        { type: 'conv', inH: 8, inC: 8, outC: 8, kernel: 1 },
      ],
      /op 1 \(conv\) input 8x8x8 does not match op 0 \(conv\) output 4x4x8/,
    ],
    ['linear on a spatial input', [{ type: 'linear', inH: 2, inC: 3, outC: 4 }], /linear input must be 1x1xC/],
    ['depthwise with outC != inC', [{ type: 'dwconv', inH: 4, inC: 4, outC: 8, kernel: 3 }], /depthwise output channels 8 must equal input channels 4/],
    ['zero batch', [{ type: 'conv', batch: 0, inH: 4, inC: 3, outC: 4, kernel: 3 }], /batch 0 must be in 1\.\.65536/],
    [
      'batch mismatch in a chain',
      [
        { type: 'conv', batch: 2, inH: 4, inC: 3, outC: 8, kernel: 3 },
        { type: 'pool', inH: 4, inC: 8 },
      ],
      /op 1 \(pool\) batch 1 differs from op 0's batch 2/,
    ],
  ];
  for (const [name, arg, re] of cases) {
    it(name, async ({ skip }) => {
      if (!native) return skip();
      await expect(native.profile(arg as NativeOp[], quick)).rejects.toThrow(re);
    });
  }

  it('bad options', async ({ skip }) => {
    if (!native) return skip();
    const op: NativeOp = { type: 'linear', inC: 4, outC: 4 };
    await expect(native.profile([op], { threads: 0 })).rejects.toThrow(/threads must be in 1\.\.1024/);
    await expect(native.profile([op], { repeats: 0 })).rejects.toThrow(/repeats/);
    await expect(native.profile([op], { backend: 'tpu' as never })).rejects.toThrow(/unknown backend 'tpu'/);
    await expect(native.profile([op], { flushBytes: -1 })).rejects.toThrow(/flushBytes/);
  });
});

describe('profile (XNNPACK)', () => {
  it('runs the same ops or says clearly why it cannot', async ({ skip }) => {
    if (!native) return skip();
    const xnn = native.backends().find((b) => b.name === 'xnnpack')!;
    if (!xnn.available) {
      await expect(native.profile([ops[0][1]], { backend: 'xnnpack' })).rejects.toThrow(/xnnpack backend is unavailable|XNNPACK/);
      expect(() => requireBackend(native!, 'xnnpack')).toThrow(/unavailable in this build/);
      return;
    }
    for (const [, op] of ops) {
      const r = await native.profile([op], { ...quick, backend: 'xnnpack', threads: 1 });
      expect(r.backend).toBe('xnnpack');
      expect(r.medianMs).toBeGreaterThan(0);
    }
    const r2 = await native.profile([ops[1][1]], { ...quick, backend: 'xnnpack', threads: 2 });
    expect(r2.pinned).toBe(false);
    expect(r2.pinError).toMatch(/pthreadpool/);
  });
});

// ---- run(): one op on given data vs the f64 reference -------------------------------------------

/** conv2dF64 (NCHW, [Cout, Cin/groups, K, K]) + bias, optionally clipped like ReLU6. */
function reference(op: NativeRunOp, x: Float32Array, w: Float32Array, bias: Float32Array | undefined, relu6: boolean): Float64Array {
  const batch = op.batch ?? 1;
  const inW = op.inW ?? op.inH;
  const groups = op.type === 'dwconv' ? op.inC : 1;
  const sz = runOpSizes(op);
  const y = conv2dF64(x, [batch, op.inC, op.inH, inW], w, [sz.outC, op.inC / groups, op.kernel, op.kernel], {
    stride: op.stride ?? 1,
    pad: op.kernel >> 1,
    groups,
  });
  const hw = sz.outH * sz.outW;
  for (let i = 0; i < y.length; i++) {
    const v = y[i] + (bias ? bias[Math.floor(i / hw) % sz.outC] : 0);
    y[i] = relu6 ? Math.min(Math.max(v, 0), 6) : v;
  }
  return y;
}

const uniform = (rng: Rng, n: number, scale = 1) => Float32Array.from({ length: n }, () => scale * (2 * rng.next() - 1));

const runCases: Array<[string, NativeRunOp]> = [
  ['conv k3 s1 pad 1', { type: 'conv', batch: 2, inH: 7, inW: 5, inC: 3, outC: 5, kernel: 3, stride: 1, relu6: false }],
  ['conv k3 s2 pad 1, odd size', { type: 'conv', batch: 3, inH: 9, inW: 6, inC: 4, outC: 7, kernel: 3, stride: 2, relu6: false }],
  ['conv k5 s1 pad 2, one image', { type: 'conv', inH: 6, inC: 2, outC: 3, kernel: 5, relu6: false }],
  ['1x1 conv', { type: 'conv', batch: 2, inH: 5, inC: 13, outC: 11, kernel: 1, relu6: false }],
  ['depthwise k3 s1', { type: 'dwconv', batch: 2, inH: 7, inC: 6, kernel: 3, stride: 1, relu6: false }],
  ['depthwise k3 s2', { type: 'dwconv', batch: 2, inH: 8, inW: 5, inC: 5, kernel: 3, stride: 2, relu6: false }],
  ['depthwise k5 s1', { type: 'dwconv', inH: 9, inC: 7, kernel: 5, stride: 1, relu6: false }],
  ['depthwise k5 s2, odd size', { type: 'dwconv', batch: 3, inH: 11, inW: 7, inC: 3, kernel: 5, stride: 2, relu6: false }],
];

function runBackends(): BackendName[] {
  return native!.backends().filter((b) => b.available).map((b) => b.name);
}

describe('run (given data)', () => {
  for (const [name, op] of runCases) {
    it(`${name} matches conv2dF64 (+ bias) on every available backend`, async ({ skip }) => {
      if (!native) return skip();
      const rng = new Rng(0x5eed + name.length);
      const sz = runOpSizes(op);
      const x = uniform(rng, sz.input);
      const w = uniform(rng, sz.weights);
      const bias = uniform(rng, sz.outC, 0.5);
      const want = reference(op, x, w, bias, false);
      const wantNoBias = reference(op, x, w, undefined, false);
      const terms = (op.type === 'dwconv' ? 1 : op.inC) * op.kernel * op.kernel;
      const tol = { atol: 1e-6 * terms + 1e-5, rtol: 1e-5 };
      for (const backend of runBackends()) {
        const y = await native.run(backend, op, { input: x, weights: w, bias });
        expect(y).toBeInstanceOf(Float32Array);
        expectClose(y, want, { ...tol, label: `${backend} ${name}` });
        // No bias = zeros.
        expectClose(await native.run(backend, op, { input: x, weights: w }), wantNoBias, { ...tol, label: `${backend} ${name} (no bias)` });
      }
    });
  }

  it('applies ReLU6 unless relu6 is false', async ({ skip }) => {
    if (!native) return skip();
    const rng = new Rng(11);
    const op: NativeRunOp = { type: 'conv', inH: 5, inC: 8, outC: 4, kernel: 3 };
    const sz = runOpSizes(op);
    const x = uniform(rng, sz.input, 4);
    const w = uniform(rng, sz.weights);
    const want = reference(op, x, w, undefined, true);
    expect(want.some((v) => v === 6) && want.some((v) => v === 0)).toBe(true);
    for (const backend of runBackends()) expectClose(await native.run(backend, op, { input: x, weights: w }), want, { atol: 1e-4, label: backend });
  });

  it("layout 'nhwc' passes input and output through unconverted", async ({ skip }) => {
    if (!native) return skip();
    const rng = new Rng(12);
    const op: NativeRunOp = { type: 'dwconv', batch: 2, inH: 4, inW: 3, inC: 5, kernel: 3, stride: 2, relu6: false };
    const sz = runOpSizes(op);
    const x = uniform(rng, sz.input);
    const w = uniform(rng, sz.weights);
    const nchw = await native.run('onednn', op, { input: x, weights: w });
    // NCHW -> NHWC by hand, run as NHWC, compare after converting the output back.
    const [N, C, H, W] = [2, 5, 4, 3];
    const xh = new Float32Array(x.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < H * W; p++) xh[(n * H * W + p) * C + c] = x[(n * C + c) * H * W + p];
    const yh = await native.run('onednn', op, { input: xh, weights: w }, { layout: 'nhwc' });
    const hw = sz.outH * sz.outW;
    const back = new Float32Array(yh.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let p = 0; p < hw; p++) back[(n * C + c) * hw + p] = yh[(n * hw + p) * C + c];
    expect(Array.from(back)).toEqual(Array.from(nchw));
  });

  it('runs with 2 threads', async ({ skip }) => {
    if (!native) return skip();
    const rng = new Rng(13);
    const op: NativeRunOp = { type: 'conv', batch: 2, inH: 8, inC: 6, outC: 8, kernel: 3, stride: 1, relu6: false };
    const sz = runOpSizes(op);
    const x = uniform(rng, sz.input);
    const w = uniform(rng, sz.weights);
    expectClose(await native.run('onednn', op, { input: x, weights: w }, { threads: 2 }), reference(op, x, w, undefined, false), { atol: 1e-4 });
  });
});

describe('run bad input', () => {
  const op: NativeRunOp = { type: 'conv', batch: 2, inH: 4, inC: 3, outC: 5, kernel: 3 };
  const ok = () => ({ input: new Float32Array(2 * 3 * 16), weights: new Float32Array(5 * 3 * 9) });
  const cases: Array<[string, () => Promise<Float32Array>, RegExp]> = [
    ['unknown backend', () => native!.run('tpu' as BackendName, op, ok()), /unknown backend 'tpu' \(expected onednn or xnnpack\)/],
    ['unsupported op', () => native!.run('onednn', { type: 'pool', inH: 4, inC: 3 } as unknown as NativeRunOp, ok()), /supports conv and dwconv ops only \(got 'pool'\)/],
    ['input too short', () => native!.run('onednn', op, { ...ok(), input: new Float32Array(95) }), /tensors\.input has 95 elements, expected 96 \(2 images of 3 channels, 4x4\)/],
    ['wrong weights size', () => native!.run('onednn', op, { ...ok(), weights: new Float32Array(5 * 3) }), /tensors\.weights has 15 elements, expected 135 \(\[5, 3, 3, 3\]\)/],
    ['wrong bias size', () => native!.run('onednn', op, { ...ok(), bias: new Float32Array(4) }), /tensors\.bias has 4 elements, expected 5/],
    ['not a Float32Array', () => native!.run('onednn', op, { ...ok(), input: new Float64Array(96) as unknown as Float32Array }), /tensors\.input must be a Float32Array/],
    ['even kernel', () => native!.run('onednn', { ...op, kernel: 2 }, ok()), /kernel 2 must be odd/],
    ['non-integer size', () => native!.run('onednn', { ...op, inH: 4.5 }, ok()), /inH must be a positive integer \(got 4\.5\)/],
    ['depthwise outC', () => native!.run('onednn', { type: 'dwconv', inH: 4, inC: 3, outC: 6, kernel: 3 }, ok()), /depthwise output channels 6 must equal input channels 3/],
    ['bad layout', () => native!.run('onednn', op, ok(), { layout: 'nwhc' as 'nhwc' }), /unknown layout 'nwhc'/],
  ];
  for (const [name, call, re] of cases) {
    it(name, async ({ skip }) => {
      if (!native) return skip();
      await expect(call()).rejects.toThrow(re);
    });
  }

  it('the addon itself throws JS errors (never aborts) when the TypeScript checks are bypassed', async ({ skip }) => {
    if (!native) return skip();
    const path = nativeCandidates().find((p) => existsSync(p))!;
    const raw = createRequire(import.meta.url)(path) as { run: (...a: unknown[]) => Promise<Float32Array> };
    const { input, weights } = ok();
    const call = async (...a: unknown[]) => raw.run(...a);
    await expect(call('tpu', op, { input, weights })).rejects.toThrow(/unknown backend 'tpu'/);
    await expect(call('onednn', { ...op, type: 'mbconv', expand: 1 }, { input, weights })).rejects.toThrow(/supports conv and dwconv ops only \(got mbconv\)/);
    await expect(call('onednn', op, { input: input.subarray(1), weights })).rejects.toThrow(/input has 95 elements, expected 96/);
    await expect(call('onednn', op, { input, weights: weights.subarray(3) })).rejects.toThrow(/weights has 132 elements, expected 135/);
    await expect(call('onednn', op, { input, weights, bias: new Float32Array(0) })).rejects.toThrow(/bias has 0 elements, expected 5/);
    await expect(call('onednn', op, { input: [1, 2], weights })).rejects.toThrow(/tensors\.input must be a Float32Array/);
    await expect(call('onednn', op, null)).rejects.toThrow(/tensors must be an object/);
    await expect(call('onednn', { ...op, kernel: 4 }, { input, weights })).rejects.toThrow(/kernel 4 must be odd/);
    await expect(call('onednn', op)).rejects.toThrow(/expected at least 3 arguments/);
    await expect(call('xnnpack', op, { input, weights }, { layout: 'chw' })).rejects.toThrow(/unknown layout 'chw'/);
  });
});

describe('loadNative errors', () => {
  it('names concrete fixes when the addon is missing', async () => {
    const { NativeUnavailableError: E } = await import('../../src/native/binding.js');
    const e = new E('not built: build/Release/wgnas_native.node does not exist');
    expect(e.message).toMatch(/npm run build:native/);
    expect(e.message).toMatch(/libdnnl-dev/);
    expect(e.message).toMatch(/cmake/);
  });

  it('an installed package is told to npm rebuild wgnas (it has no build:native script)', async () => {
    const { nativeBuildCommand } = await import('../../src/native/binding.js');
    expect(nativeBuildCommand('/home/u/app/node_modules/wgnas')).toBe('npm rebuild wgnas');
    expect(nativeBuildCommand('/home/u/app/node_modules/.pnpm/wgnas@0.1.0/node_modules/wgnas')).toBe('npm rebuild wgnas');
    expect(nativeBuildCommand('/work/wgnas')).toBe('npm run build:native');
  });
});
