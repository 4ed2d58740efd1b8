import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError, type Gpu } from '../../src/gpu/index.js';
import {
  batchNormBackward,
  batchNormBackwardF64,
  batchNormBackwardPlanned,
  batchNormEvalF64,
  batchNormEvalPlanned,
  batchNormForward,
  batchNormForwardAddCpu,
  batchNormForwardF64,
  batchNormForwardPlanned,
  batchNormRelu6Backward,
  batchNormRelu6BackwardF64,
  batchNormRelu6Forward,
  batchNormRelu6ForwardF64,
  bnPlaneWorkgroup,
  bnPlanFor,
  bnPlanSetting,
  bnRecord,
  bnSplits,
  bnWorkgroup,
  parseBnPlan,
  parseBnWorkgroup,
  type BnPlan,
  type BnPlanName,
  type BnWg,
} from '../../src/kernels/batchnorm.js';
import { relu6, relu6Backward } from '../../src/kernels/activation.js';
import { add } from '../../src/kernels/elementwise.js';
import { Rng } from '../../src/util/rng.js';
import { BN_SHAPES } from '../helpers/cases.js';
import { expectClose, testGpu } from '../helpers/gpu.js';
import { dot, expectBatchNormMatchesCpu, expectGradMatchesFd, prod } from '../helpers/layers.js';

let gpu: Gpu | null;
beforeAll(async () => {
  gpu = await testGpu();
});

/**
 * The statistics kernels' widths under test: 64 (software adapters, CI) and 256 (GPUs); each has its
 * own chunking (bnSplits) and summation order, so each is held to the reference and to its own
 * single-pass/split identity.
 */
const WIDTHS: BnWg[] = [64, 256];

/** The plans by name, each held to the reference at the GPUs' width (at 64 all three give the same bits). */
const PLANS: BnPlanName[] = ['auto', 'single', 'split'];

const shapes: number[][] = [
  ...BN_SHAPES,
  [1, 3, 1, 1], // one element per channel (count 1)
  [1, 1, 25, 41], // 1025: one element past a round of 4 loads x 256 threads ('split': 2 chunks at 256)
  [4, 2, 32, 32], // 4096: the largest channel 'auto' keeps in one kernel at 256
  [1, 2, 64, 65], // 4160: 'auto' splits it in 2 at 256
  [1, 1, 127, 129], // 16383: just below the largest one-kernel channel at 64; not a multiple of any width
  [1, 1, 128, 128], // 16384: the largest one-kernel channel at 64 (and of 'single' at 256)
  // More than 16384 elements per channel: several statistics workgroups (S > 1), then the
  // per-plane merge; N * H * W not a multiple of the workgroup size.
  [5, 1, 29, 113], // 16385: S = 2 at width 64, 5 at 256
  [3, 2, 77, 75], // S = 2 (64), 5 (256)
  [5, 1, 61, 59], // C = 1, S = 2 (64), 5 (256)
  [16500, 2], // H * W = 1, S = 2 (64), 5 (256)
  [1, 1, 300, 300], // S = 6 (64), 22 (256), one plane per channel (256 threads per plane at 256)
  [5, 2, 64, 64], // planes of 4096: the per-plane passes run 256 wide at width 256
];

describe('batch norm widths and plans (no GPU)', () => {
  const plan = (count: number, C: number, wg: BnWg, p: BnPlanName) => {
    const { S, onePass } = bnPlanFor(count, C, wg, p);
    return `${S}${onePass ? ' one' : ''}`;
  };
  it('width 64: every plan as before (chunks of 16384, one kernel up to 16384; split: two kernels)', () => {
    const at = (count: number, C: number) => PLANS.map((p) => plan(count, C, 64, p));
    expect(at(1, 1)).toEqual(['1 one', '1 one', '1']);
    expect(at(16384, 3)).toEqual(['1 one', '1 one', '1']);
    expect(at(16385, 1)).toEqual(['2', '2', '2']);
    expect(at(64 * 32 * 32, 16)).toEqual(['4', '4', '4']);
    expect(at(128 * 56 * 56, 144)).toEqual(['25', '25', '25']);
    expect(at(1 << 24, 1)).toEqual(['256', '256', '256']);
    expect(at(20000, 1024)).toEqual(['2', '2', '2']);
  });

  it('width 256: auto splits channels of more than 16 elements a thread, up to ~262144 threads', () => {
    const at = (count: number, C: number) => PLANS.map((p) => plan(count, C, 256, p));
    expect(at(1, 1)).toEqual(['1 one', '1 one', '1']);
    expect(at(1024, 1)).toEqual(['1 one', '1 one', '1']); // one round of 4 loads a thread
    expect(at(1025, 1)).toEqual(['1 one', '1 one', '2']);
    expect(at(4096, 2)).toEqual(['1 one', '1 one', '4']);
    expect(at(4097, 2)).toEqual(['2', '1 one', '5']);
    expect(at(16384, 3)).toEqual(['4', '1 one', '16']);
    expect(at(16385, 1)).toEqual(['5', '5', '17']);
    // At most 32 chunks a channel (every plane thread merges them).
    expect(at(1 << 24, 1)).toEqual(['32', '32', '32']);
    // Channels that fill the GPU alone: one chunk (and one kernel) at any count.
    expect(at(20000, 1024)).toEqual(['1 one', '1 one', '1']);
    expect(bnSplits(16385, 1, 128, 'auto')).toBe(9);
  });

  // [label, N, C, HW, plans at 256: [S, onePass, statistics workgroups, threads per statistics pass]]
  const NETS: Array<[string, number, number, number, Record<BnPlanName, [number, boolean, number, number]>]> = [
    // NAS-Bench-201 at batch 64 (docs/results.md: 54 % of a WRCor cell's GPU time was batch norm).
    [
      'NB201 C16 32x32',
      64,
      16,
      32 * 32,
      { auto: [16, false, 256, 65536], single: [16, false, 256, 65536], split: [32, false, 512, 131072] },
    ],
    [
      'NB201 C32 16x16',
      64,
      32,
      16 * 16,
      { auto: [4, false, 128, 32768], single: [1, true, 32, 8192], split: [16, false, 512, 131072] },
    ],
    ['NB201 C64 8x8', 64, 64, 8 * 8, { auto: [1, true, 64, 16384], single: [1, true, 64, 16384], split: [4, false, 256, 65536] }],
    // MBConv (ProxylessNAS at 224): the expansion at 56x56, a depthwise output at 14x14, the last stage's 960 at 7x7.
    [
      'MBConv N128 C144 56x56',
      128,
      144,
      56 * 56,
      { auto: [8, false, 1152, 294912], single: [8, false, 1152, 294912], split: [8, false, 1152, 294912] },
    ],
    [
      'MBConv N64 C240 14x14',
      64,
      240,
      14 * 14,
      { auto: [4, false, 960, 245760], single: [1, true, 240, 61440], split: [5, false, 1200, 307200] },
    ],
    [
      'MBConv N64 C960 7x7',
      64,
      960,
      7 * 7,
      { auto: [1, true, 960, 245760], single: [1, true, 960, 245760], split: [2, false, 1920, 491520] },
    ],
  ];
  for (const [label, N, C, HW, want] of NETS) {
    it(`${label}: the plans' chunks and statistics workgroups at 256; one kernel per channel at 64 up to 16384`, () => {
      for (const p of PLANS) {
        const { S, onePass } = bnPlanFor(N * HW, C, 256, p);
        expect([S, onePass, S * C, S * C * 256], p).toEqual(want[p]);
        // Width 64 keeps its plan whatever the name ('split': the same chunks in two kernels).
        const at64 = bnPlanFor(N * HW, C, 64, p);
        expect(at64.S).toBe(N * HW <= 16384 ? 1 : Math.ceil((N * HW) / 16384));
      }
      // The per-plane pass (two-kernel plans): one workgroup per (n, c) plane, 64 wide for planes of < 2048.
      expect(bnPlaneWorkgroup(HW, 256)).toBe(HW >= 2048 ? 128 : 64);
    });
  }

  it('widen the per-plane passes only while each thread keeps 16 elements of the plane', () => {
    expect([64, 1024, 2048, 3136, 4096, 1 << 20].map((hw) => bnPlaneWorkgroup(hw, 256))).toEqual([64, 64, 128, 128, 256, 256]);
    expect(bnPlaneWorkgroup(1 << 20, 64)).toBe(64);
    expect(bnPlaneWorkgroup(1 << 20, 128)).toBe(128);
  });

  it('take WGNAS_BN_WG as 64, 128 or 256 and refuse anything else in one line', () => {
    expect([undefined, '', '64', '128', '256', ' 256 '].map(parseBnWorkgroup)).toEqual([null, null, 64, 128, 256, 256]);
    for (const bad of ['32', '512', '0x40', '64.0', 'wide'])
      expect(() => parseBnWorkgroup(bad)).toThrow(new RegExp(`^WGNAS_BN_WG must be 64, 128 or 256, got '${bad}'$`));
    const env = parseBnWorkgroup(process.env.WGNAS_BN_WG);
    expect([bnWorkgroup({ isSoftware: true }), bnWorkgroup({ isSoftware: false })]).toEqual([env ?? 64, env ?? 256]);
  });

  it("take WGNAS_BN_PLAN as auto, single or split and refuse anything else in one line; record 'auto' at width 64", () => {
    expect([undefined, '', 'auto', 'single', ' split '].map(parseBnPlan)).toEqual([null, null, 'auto', 'single', 'split']);
    for (const bad of ['Auto', 'one', '1', 'split,single'])
      expect(() => parseBnPlan(bad)).toThrow(new RegExp(`^WGNAS_BN_PLAN must be 'auto', 'single' or 'split', got '${bad}'$`));
    const plan = parseBnPlan(process.env.WGNAS_BN_PLAN) ?? 'auto';
    expect(bnPlanSetting()).toBe(plan);
    const wg = bnWorkgroup({ isSoftware: false });
    expect(bnRecord({ isSoftware: false })).toEqual({ wg, plan: wg === 64 ? 'auto' : plan });
    if (bnWorkgroup({ isSoftware: true }) === 64) expect(bnRecord({ isSoftware: true })).toEqual({ wg: 64, plan: 'auto' });
  });

  it('refuse a chunk count that is not a plan', () => {
    // No GPU work: the plan is checked before anything is dispatched.
    const gpu = { adapter: { isSoftware: true, limits: {} } } as unknown as Gpu;
    const x = { shape: [2, 3, 4, 4] } as unknown as Parameters<typeof batchNormForwardPlanned>[1];
    for (const plan of [
      { S: 0, onePass: false },
      { S: 2, onePass: true },
      { S: 257, onePass: false },
      { S: 1.5, onePass: false },
    ])
      expect(() => batchNormForwardPlanned(gpu, x, null, null, 1e-5, plan, null, false, 64)).toThrow(/is not a plan/);
  });
});

describe('batch norm vs CPU reference', () => {
  // Width 64: 'auto' (every plan's bits); 256: each plan (its own chunks), affine off for 'auto' only.
  const runs: Array<[BnWg, BnPlanName, boolean[]]> = [
    [64, 'auto', [true, false]],
    [256, 'auto', [true, false]],
    [256, 'single', [true]],
    [256, 'split', [true]],
  ];
  for (const [wg, plan, affines] of runs) {
    for (const shape of shapes) {
      for (const affine of affines) {
        it(`width ${wg} ${plan} [${shape}] affine=${affine}`, async ({ skip }) => {
          if (!gpu) return skip();
          const rng = new Rng(prod(shape) + (affine ? 1 : 0));
          const C = shape[1];
          const x = rng.normals(prod(shape), 2).map((v, i) => v + (i % 3)); // non-zero means
          const gamma = affine ? rng.normals(C).map((v) => 1 + 0.3 * v) : null;
          const beta = affine ? rng.normals(C, 0.5) : null;
          const dy = rng.normals(prod(shape));
          const gx = gpu.upload(x, shape);
          const gg = gamma ? gpu.upload(gamma, [C]) : null;
          const gb = beta ? gpu.upload(beta, [C]) : null;
          const gdy = gpu.upload(dy, shape);
          const f = batchNormForwardPlanned(gpu, gx, gg, gb, 1e-5, plan, null, false, wg);
          const b = batchNormBackwardPlanned(gpu, gdy, gx, f.mean, f.invStd, gg, plan, null, wg);
          await expectBatchNormMatchesCpu(f, b, { x, dy, shape, gamma, beta });
          expect(f.mean.shape).toEqual([C]);
          expect(b.dgamma.shape).toEqual([C]);
          for (const t of [gx, gg, gb, gdy, f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta]) t?.dispose();
        });
      }
    }
  }

  it("run at the adapter's width by default (64 on lavapipe, unless WGNAS_BN_WG says otherwise)", async ({ skip }) => {
    if (!gpu) return skip();
    const g = gpu;
    const shape = [3, 2, 77, 75];
    const rng = new Rng(5);
    const gx = g.upload(rng.normals(prod(shape), 2), shape);
    const bits = async (t: { read(): Promise<Float32Array> }) => new Uint32Array((await t.read()).buffer);
    const stats = async (wg?: BnWg) => {
      const f = wg
        ? batchNormForwardPlanned(g, gx, null, null, 1e-5, bnPlanSetting(), null, false, wg)
        : batchNormForward(g, gx, null, null);
      const out = [await bits(f.mean), await bits(f.invStd)];
      for (const t of [f.y, f.mean, f.invStd]) t.dispose();
      return out;
    };
    expect(await stats()).toEqual(await stats(bnWorkgroup(g.adapter)));
    const byWidth = new Map<BnWg, Uint32Array[]>();
    for (const wg of WIDTHS) byWidth.set(wg, await stats(wg));
    // The width reaches the kernels: 256's summation order gives other last bits on this data.
    expect(byWidth.get(64)).not.toEqual(byWidth.get(256));
    gx.dispose();
  });

  // [4, 2, 48, 48]: 9216 per channel, one statistics workgroup; [8, 2, 48, 48]: 18432, two, Chan-merged.
  // At 256: 'auto' splits both (3 and 5 chunks), 'split' more (9, 18).
  for (const [shape, wg, plan] of [
    [[4, 2, 48, 48], 64, 'auto'],
    [[8, 2, 48, 48], 64, 'auto'],
    [[4, 2, 48, 48], 256, 'auto'],
    [[8, 2, 48, 48], 256, 'split'],
  ] as Array<[number[], BnWg, BnPlanName]>) {
    it(`variance stays accurate for a large mean (two-pass / Chan merge, no E[x^2] - E[x]^2) [${shape}] width ${wg} ${plan}`, async ({
      skip,
    }) => {
      if (!gpu) return skip();
      const rng = new Rng(3);
      const x = rng.normals(prod(shape), 0.01).map((v) => v + 1000);
      const gx = gpu.upload(x, shape);
      const f = batchNormForwardPlanned(gpu, gx, null, null, 1e-5, plan, null, false, wg);
      const ref = batchNormForwardF64(x, shape, null, null);
      // Naive E[x^2] - E[x]^2 in f32 loses all digits here (1e6 vs 1e-4).
      expectClose(await f.invStd.read(), ref.invStd, { rtol: 1e-3, atol: 0, label: 'invStd' });
      expectClose(await f.y.read(), ref.y, { atol: 2e-2, label: 'y' });
      for (const t of [gx, f.y, f.mean, f.invStd]) t.dispose();
    });
  }

  it('honours eps', async ({ skip }) => {
    if (!gpu) return skip();
    const x = [1, 1, 1, 1]; // zero variance: invStd = 1/sqrt(eps)
    const gx = gpu.upload(x, [4, 1, 1, 1]);
    const f = batchNormForward(gpu, gx, null, null, 0.25);
    expectClose(await f.invStd.read(), [2], { atol: 1e-6 });
    expectClose(await f.y.read(), [0, 0, 0, 0], { atol: 1e-6 });
    for (const t of [gx, f.y, f.mean, f.invStd]) t.dispose();
  });

  it('rejects bad shapes', async ({ skip }) => {
    if (!gpu) return skip();
    const x = gpu.zeros([2, 3, 4, 4]);
    const g4 = gpu.zeros([4]);
    expect(() => batchNormForward(gpu!, x, g4, null)).toThrow(ShapeError);
    expect(() => batchNormForward(gpu!, gpu!.zeros([2, 3, 4]), null, null)).toThrow(/expected \[N, C, H, W\]/);
    expect(() => batchNormBackward(gpu!, gpu!.zeros([2, 3, 4, 5]), x, g4, g4, null)).toThrow(ShapeError);
    for (const t of [x, g4]) t.dispose();
  });
});

describe('batch norm dispatch plans', () => {
  const bits = async (t: { read(): Promise<Float32Array> }) => new Uint32Array((await t.read()).buffer);
  // One kernel per channel and the two-kernel plan at one chunk give the same bits at each width;
  // every plan by name runs bnPlanFor's dispatches (1 per pass for one kernel, else 2).
  const cases: number[][] = [
    [1, 3, 1, 1], // one element per channel: zero variance
    [2, 70], // more channels than a workgroup has threads
    [2, 3, 7, 5],
    [1, 1, 25, 41], // 1025: 4 loads a thread at 256, and one more
    [2, 2, 64, 41], // 5248: 'auto' splits it at 256
    [1, 1, 127, 129], // 16383
    [1, 1, 128, 128], // 16384: the largest single-kernel channel at 64
    [5, 1, 29, 113], // 16385: two statistics workgroups (64), five (256 auto)
    [3, 2, 77, 75],
    [5, 2, 64, 64], // planes of 4096: the per-plane merge 256 wide at width 256
  ];
  for (const wg of WIDTHS) {
    for (const shape of cases) {
      for (const affine of [true, false]) {
        it(`width ${wg} [${shape}] affine=${affine}: one kernel and two at one chunk agree bit for bit; each plan's dispatches`, async ({
          skip,
        }) => {
          if (!gpu) return skip();
          const g = gpu;
          const rng = new Rng(7 * prod(shape) + (affine ? 1 : 0));
          const C = shape[1];
          const count = prod(shape) / C;
          const gx = g.upload(
            rng.normals(prod(shape), 3).map((v, i) => v + (i % 5)),
            shape,
          );
          const gdy = g.upload(rng.normals(prod(shape)), shape);
          const gg = affine
            ? g.upload(
                rng.normals(C).map((v) => 1 + 0.3 * v),
                [C],
              )
            : null;
          const gb = affine ? g.upload(rng.normals(C, 0.5), [C]) : null;
          const gres = g.upload(rng.normals(prod(shape)), shape);
          const run = async (plan: BnPlan) => {
            const d0 = g.dispatchCount;
            const f = batchNormForwardPlanned(g, gx, gg, gb, 1e-5, plan, null, false, wg);
            const d1 = g.dispatchCount;
            const b = batchNormBackwardPlanned(g, gdy, gx, f.mean, f.invStd, gg, plan, null, wg);
            const d2 = g.dispatchCount;
            // With a residual: the same dispatches, and the bits of the batch norm then add(residual, y).
            const fr = batchNormForwardPlanned(g, gx, gg, gb, 1e-5, plan, gres, false, wg);
            const counts = [d1 - d0, d2 - d1, g.dispatchCount - d2];
            const sum = add(g, gres, f.y);
            const outs = [f.y, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta, fr.y, fr.mean, fr.invStd, sum];
            const read = await Promise.all(outs.map(bits));
            for (const t of outs) t.dispose();
            expect(read[6], 'y + residual').toEqual(read[9]);
            expect([read[7], read[8]], 'statistics with a residual').toEqual([read[1], read[2]]);
            return { counts, read: read.slice(0, 6) };
          };
          const one = await run({ S: 1, onePass: true });
          const two = await run({ S: 1, onePass: false });
          expect(one.counts).toEqual([1, 1, 1]);
          expect(two.counts).toEqual([2, 2, 2]);
          ['y', 'mean', 'invStd', 'dx', 'dgamma', 'dbeta'].forEach((name, i) => expect(one.read[i], name).toEqual(two.read[i]));
          // The named plans: their dispatches, and the bits of their resolution (S = 1: the above).
          for (const name of affine ? PLANS : []) {
            const choice = bnPlanFor(count, C, wg, name);
            const n = choice.onePass ? 1 : 2;
            const r = await run(name);
            expect(r.counts, name).toEqual([n, n, n]);
            if (choice.S === 1) expect(r.read, name).toEqual(one.read);
          }
          for (const t of [gx, gdy, gg, gb, gres]) t?.dispose();
        });
      }
    }
  }
});

describe("relu6(batch norm) in the batch norm's passes (the MBConv pair)", () => {
  // The composition it replaces (batch norm, relu6; relu6Backward, batch norm backward), bit for
  // bit, under each plan (the composition at that plan's chunks); one kernel and two at one chunk
  // agree; both clamps hit (gamma ~3, beta ~2); every affine combination.
  const bits = async (t: { read(): Promise<Float32Array> }) => new Uint32Array((await t.read()).buffer);
  const cases: number[][] = [
    [1, 3, 1, 1],
    [2, 70],
    [2, 3, 7, 5],
    [3, 5, 1, 1],
    [1, 1, 128, 128],
    [5, 1, 29, 113],
    [3, 2, 77, 75],
  ];
  // Every case at width 64, the GPUs' 256 on a subset (each costs a few hundred ms on lavapipe).
  const wide = new Set(['3,5,1,1', '2,3,7,5', '1,1,128,128', '5,1,29,113']);
  const affines: Array<[boolean, boolean]> = [
    [true, true],
    [false, false],
    [true, false],
    [false, true],
  ];
  for (const wg of WIDTHS) {
    for (const shape of cases) {
      if (wg !== 64 && !wide.has(String(shape))) continue;
      for (const [withGamma, withBeta] of affines) {
        it(`width ${wg} [${shape}] gamma=${withGamma} beta=${withBeta}: the composition's bits under each plan`, async ({
          skip,
        }) => {
          if (!gpu) return skip();
          const g = gpu;
          const rng = new Rng(11 * prod(shape) + (withGamma ? 1 : 0) + (withBeta ? 2 : 0));
          const C = shape[1];
          const count = prod(shape) / C;
          const gx = g.upload(
            rng.normals(prod(shape), 2).map((v, i) => v + (i % 5) - 1),
            shape,
          );
          const gdz = g.upload(rng.normals(prod(shape)), shape);
          const gg = withGamma
            ? g.upload(
                rng.normals(C).map((v) => 3 + v),
                [C],
              )
            : null;
          const gb = withBeta
            ? g.upload(
                rng.normals(C).map((v) => 2 + v),
                [C],
              )
            : null;
          const composed = async (plan: BnPlan) => {
            const f = batchNormForwardPlanned(g, gx, gg, gb, 1e-3, plan, null, false, wg);
            const z = relu6(g, f.y);
            const dy = relu6Backward(g, gdz, f.y);
            const b = batchNormBackwardPlanned(g, dy, gx, f.mean, f.invStd, gg, plan, null, wg);
            const outs = [z, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta];
            const read = await Promise.all(outs.map(bits));
            for (const t of [...outs, f.y, dy]) t.dispose();
            return read;
          };
          const nine = (g.adapter.limits.maxStorageBuffersPerShaderStage ?? 8) >= 9;
          const fused = async (plan: BnPlan) => {
            const d0 = g.dispatchCount;
            // The adapter's width and WGNAS_BN_PLAN's plan: the public entries; else the planned ones.
            const pub = plan === bnPlanSetting() && wg === bnWorkgroup(g.adapter);
            const f = pub
              ? batchNormRelu6Forward(g, gx, gg, gb, 1e-3)
              : (({ y, mean, invStd }) => ({ z: y, mean, invStd }))(
                  batchNormForwardPlanned(g, gx, gg, gb, 1e-3, plan, null, true, wg),
                );
            const d1 = g.dispatchCount;
            const b = pub
              ? batchNormRelu6Backward(g, gdz, gx, f.mean, f.invStd, gg, gb)
              : batchNormBackwardPlanned(g, gdz, gx, f.mean, f.invStd, gg, plan, { beta: gb }, wg);
            const counts = [d1 - d0, g.dispatchCount - d1];
            const outs = [f.z, f.mean, f.invStd, b.dx, b.dgamma, b.dbeta];
            const read = await Promise.all(outs.map(bits));
            for (const t of outs) t.dispose();
            return { counts, read };
          };
          const names = ['z', 'mean', 'invStd', 'dx', 'dgamma', 'dbeta'];
          const plans: BnPlan[] = [{ S: 1, onePass: true }, { S: 1, onePass: false }, ...PLANS];
          const byS = new Map<number, Uint32Array[]>();
          for (const plan of plans) {
            const choice = typeof plan === 'string' ? bnPlanFor(count, C, wg, plan) : plan;
            const want = byS.get(choice.S) ?? (await composed({ S: choice.S, onePass: false }));
            byS.set(choice.S, want);
            const got = await fused(plan);
            // One kernel per channel backward needs 9 storage buffers; with fewer the two-kernel plan runs.
            const n = choice.onePass ? 1 : 2;
            expect(got.counts, JSON.stringify(plan)).toEqual([n, choice.onePass && !nine ? 2 : n]);
            names.forEach((name, i) => expect(got.read[i], `${JSON.stringify(plan)} ${name}`).toEqual(want[i]));
          }
          // Both clamps were hit (6 with gamma and beta), and some values lie between: the mask matters.
          const z = new Float32Array(byS.get(1)![0].buffer);
          if (prod(shape) >= 30) {
            expect([z.some((v) => v === 0), z.some((v) => v > 0 && v < 6)]).toEqual([true, true]);
            if (withGamma && withBeta) expect(z.some((v) => v === 6)).toBe(true);
          }
          for (const t of [gx, gdz, gg, gb]) t?.dispose();
        });
      }
    }
  }
});

describe('every batch norm entry vs the f64 reference at each width', () => {
  // Forward + residual, relu6 forward and backward, eval: the single-kernel channels and the split
  // ones (16385: 2 chunks at 64, 5 at 256; planes of 4096: the per-plane passes 256 wide at 256).
  // At 256 under each plan: 1025 (split: 2 chunks), 4160 (auto: 2), 16383 (auto 4, split 16).
  const cases: number[][] = [
    [1, 3, 1, 1],
    [6, 4],
    [2, 3, 7, 5],
    [1, 1, 25, 41],
    [1, 2, 64, 65],
    [1, 1, 127, 129],
    [5, 1, 29, 113],
    [5, 2, 64, 64],
  ];
  const runs: Array<[BnWg, BnPlanName]> = [[64, 'auto'], ...PLANS.map((p): [BnWg, BnPlanName] => [256, p])];
  for (const [wg, plan] of runs) {
    for (const shape of cases) {
      it(`width ${wg} ${plan} [${shape}]`, async ({ skip }) => {
        if (!gpu) return skip();
        const g = gpu;
        const n = prod(shape);
        const C = shape[1];
        const HW = n / shape[0] / C;
        const rng = new Rng(13 * n + wg);
        const x = rng.normals(n, 2).map((v, i) => v + (i % 5) - 1);
        const gamma = rng.normals(C).map((v) => 3 + v);
        const beta = rng.normals(C).map((v) => 2 + v);
        const res = rng.normals(n);
        const eps = 1e-3;
        const ref = batchNormRelu6ForwardF64(x, shape, gamma, beta, eps);
        // dz is 0 within 1e-3 of a clamp edge, where f32 and f64 may disagree about the mask.
        const dz = rng.normals(n).map((v, k) => {
          const c = Math.floor(k / HW) % C;
          const y = (x[k] - ref.mean[c]) * ref.invStd[c] * gamma[c] + beta[c];
          return Math.abs(y) < 1e-3 || Math.abs(y - 6) < 1e-3 ? 0 : v;
        });
        const [gx, gg, gb, gres, gdz] = [
          g.upload(x, shape),
          g.upload(gamma, [C]),
          g.upload(beta, [C]),
          g.upload(res, shape),
          g.upload(dz, shape),
        ];
        const stats = { atol: 1e-5, rtol: 1e-4 };
        // Forward + residual: y = bn(x) + residual.
        const fa = batchNormForwardPlanned(g, gx, gg, gb, eps, plan, gres, false, wg);
        const refAdd = batchNormForwardAddCpu(x, shape, gamma, beta, res, eps);
        expectClose(await fa.y.read(), refAdd.y, { atol: 1e-4, rtol: 1e-4, label: 'y + residual' });
        expectClose(await fa.mean.read(), ref.mean, { ...stats, label: 'mean' });
        expectClose(await fa.invStd.read(), ref.invStd, { ...stats, label: 'invStd' });
        // relu6(bn(x)) and its backward from the GPU's statistics.
        const fr = batchNormForwardPlanned(g, gx, gg, gb, eps, plan, null, true, wg);
        expectClose(await fr.y.read(), ref.z, { atol: 1e-4, rtol: 1e-4, label: 'relu6 z' });
        const br = batchNormBackwardPlanned(g, gdz, gx, fr.mean, fr.invStd, gg, plan, { beta: gb }, wg);
        const [mean, invStd] = [await fr.mean.read(), await fr.invStd.read()];
        const refB = batchNormRelu6BackwardF64(dz, x, shape, mean, invStd, gamma, beta);
        const m = n / C;
        expectClose(await br.dx.read(), refB.dx, { atol: 1e-4, rtol: 1e-3, label: 'relu6 dx' });
        expectClose(await br.dgamma.read(), refB.dgamma, { atol: 1e-5 * m, rtol: 1e-4, label: 'relu6 dgamma' });
        expectClose(await br.dbeta.read(), refB.dbeta, { atol: 1e-5 * m, rtol: 1e-4, label: 'relu6 dbeta' });
        // Eval with given statistics (those of the forward): the same bits at every width, as the
        // per-plane pass computes each element on its own.
        const ev = batchNormEvalPlanned(g, gx, fr.mean, fr.invStd, gg, gb, wg);
        const ev64 = batchNormEvalPlanned(g, gx, fr.mean, fr.invStd, gg, gb, 64);
        const yEval = await ev.read();
        expectClose(yEval, batchNormEvalF64(x, shape, mean, invStd, gamma, beta), { atol: 1e-4, rtol: 1e-5, label: 'eval y' });
        expect(new Uint32Array(yEval.buffer)).toEqual(new Uint32Array((await ev64.read()).buffer));
        for (const t of [
          gx,
          gg,
          gb,
          gres,
          gdz,
          fa.y,
          fa.mean,
          fa.invStd,
          fr.y,
          fr.mean,
          fr.invStd,
          br.dx,
          br.dgamma,
          br.dbeta,
          ev,
          ev64,
        ])
          t.dispose();
      });
    }
  }
});

describe('batch norm CPU backward vs finite differences (f64)', () => {
  // eps 1e-3 (ProxylessNAS's) on values of variance ~1e-3, where it is half the normaliser: the
  // backward's saved invStd carries the eps, so its gradient is that of the forward at that eps.
  for (const [shape, affine, eps, scale] of [
    [[2, 3, 2, 3], true, 1e-5, 1],
    [[3, 2, 1, 1], false, 1e-5, 1],
    [[1, 2, 3, 2], true, 1e-5, 1],
    [[2, 3, 2, 3], true, 1e-3, 0.03],
    [[3, 2, 1, 1], false, 1e-3, 0.03],
  ] as Array<[number[], boolean, number, number]>) {
    it(`[${shape}] affine=${affine} eps=${eps}`, () => {
      const rng = new Rng(prod(shape));
      const C = shape[1];
      const x = Float64Array.from(rng.normals(prod(shape), scale));
      const gamma = affine ? Float64Array.from(rng.normals(C)) : null;
      const beta = affine ? Float64Array.from(rng.normals(C)) : null;
      const dy = Float64Array.from(rng.normals(prod(shape)));
      const f = batchNormForwardF64(x, shape, gamma, beta, eps);
      const b = batchNormBackwardF64(dy, x, shape, f.mean, f.invStd, gamma);
      const h = 1e-5 * scale;
      const loss = (xv: ArrayLike<number>, g: ArrayLike<number> | null, bv: ArrayLike<number> | null) =>
        dot(dy, batchNormForwardF64(xv, shape, g, bv, eps).y);
      expectGradMatchesFd((xv) => loss(xv, gamma, beta), x, b.dx, { h, label: 'dx' });
      if (gamma && beta) {
        expectGradMatchesFd((g) => loss(x, g, beta), gamma, b.dgamma, { label: 'dgamma' });
        expectGradMatchesFd((bv) => loss(x, gamma, bv), beta, b.dbeta, { label: 'dbeta' });
      }
    });
  }
});
