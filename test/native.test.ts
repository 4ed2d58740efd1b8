/**
 * The C++ addon: loading, clock, CPU info, and small real measurements with oneDNN (and XNNPACK
 * where built). Without a built addon these skip locally but fail under CI=true.
 */
import { beforeAll, describe, expect, it } from 'vitest';

import { loadNative, NativeUnavailableError, requireBackend, type NativeBinding, type NativeOp } from '../src/native/binding.js';

function nativeOrNull(): NativeBinding | null {
  try {
    return loadNative();
  } catch (e) {
    if (e instanceof NativeUnavailableError && process.env.CI !== 'true') {
      console.warn(`native tests skipped: ${e.message.split('\n')[0]}`);
      return null;
    }
    throw e;
  }
}

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});

const quick = { warmup: 1, repeats: 5 };

describe('native addon', () => {
  it('loads with N-API 8 and the expected functions', ({ skip }) => {
    if (!native) return skip();
    expect(native.napiVersion).toBe(8);
    for (const f of ['nowNs', 'cpuInfo', 'backends', 'profile'] as const) expect(typeof native[f]).toBe('function');
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

describe('loadNative errors', () => {
  it('names concrete fixes when the addon is missing', async () => {
    const { NativeUnavailableError: E } = await import('../src/native/binding.js');
    const e = new E('not built: build/Release/wgnas_native.node does not exist');
    expect(e.message).toMatch(/npm run build:native/);
    expect(e.message).toMatch(/libdnnl-dev/);
    expect(e.message).toMatch(/cmake/);
  });
});
