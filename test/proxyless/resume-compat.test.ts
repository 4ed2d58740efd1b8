/**
 * Checkpoints written before two of 2026-12-06's changes (no GPU: the settings check alone):
 * --loss mul recorded an unused --lambda 0.1 (mul#log takes β only, and a resume cannot give
 * --lambda with mul), and the search split became stratified per class, which cuts unbalanced
 * data otherwise (the refusal says so, not that the images changed) and balanced data as before;
 * and the precision (WGNAS_F16) and the GPU kernels (the adapter kind, WGNAS_BN_WG, WGNAS_BN_PLAN, the core and
 * tiles) recorded since: an older checkpoint reads as util/kernels-record.ts says (refused where it cannot be told).
 */
import { describe, expect, it } from 'vitest';
import { F16_KEY } from '../../src/backend/index.js';
import { DEFAULT_EVOLVE, type EvolveConfig } from '../../src/autospace/evolve-config.js';
import { checkEvolveSettings, EVOLVE_CHECKPOINT_KIND, evolveRunSettings } from '../../src/autospace/resume-state.js';
import { type BnSetting, type GpuKernels, WORKERS_OWN_KERNELS } from '../../src/util/ab-env.js';
import { formerSplitReason, SEARCH_SPLIT_VERSION, SPLIT_KEY } from '../../src/data/search-split.js';
import { CheckpointError, type CheckpointState } from '../../src/nn/checkpoint.js';
import {
  checkSettingsAndLayout,
  PROXYLESS_CHECKPOINT_KIND,
  proxylessRunSettings,
  type RunSettings,
} from '../../src/proxyless/resume-state.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig } from '../../src/proxyless/search-config.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';

const IMAGES = 'edaf367fc799 from /data/unbal/train/c000/ (44 images)';
const cfgOf = (costLoss: ProxylessSearchConfig['costLoss'], images = IMAGES): ProxylessSearchConfig => ({
  ...DEFAULT_SEARCH,
  layout: TOY_LAYOUT,
  costLoss,
  dataset: { flag: 'folder:/data/unbal', images },
});
const SPLIT = { train: 30, val: 14 };
const nowOf = (cfg: ProxylessSearchConfig) => proxylessRunSettings(cfg, TOY_COST, SPLIT, 'cpu', 1);

/** A checkpoint state recording `settings` (and the layout), as an older wgnas wrote it. */
const ckOf = (settings: RunSettings, kind = PROXYLESS_CHECKPOINT_KIND): CheckpointState => ({
  path: '/ck/ckpt-000002',
  meta: { kind, layout: TOY_LAYOUT, settings } as unknown as CheckpointState['meta'],
});

/** The settings as a wgnas from before 2026-12-06 recorded them: no split version. */
function before(s: RunSettings, over: RunSettings = {}): RunSettings {
  const { [SPLIT_KEY]: _split, ...rest } = s;
  return { ...rest, ...over };
}

const mul = { kind: 'mul' as const, target: 60, beta: 0.3 };

describe('--loss mul checkpoints that recorded --lambda 0.1', () => {
  it('resume without --lambda; another recorded setting is still compared', () => {
    const now = nowOf(cfgOf(mul));
    expect(now['--lambda']).toBeNull();
    const old = before(now, { '--lambda': 0.1 });
    expect(() => checkSettingsAndLayout(ckOf(old), { layout: TOY_LAYOUT }, now)).not.toThrow();
    const other = nowOf(cfgOf({ ...mul, beta: 0.5 }));
    expect(() => checkSettingsAndLayout(ckOf(old), { layout: TOY_LAYOUT }, other)).toThrow(
      /^--resume: --beta was 0\.3, now 0\.5/,
    );
  });

  it('--lambda is still compared for add and hinge', () => {
    const hinge = (lambda: number) => nowOf(cfgOf({ kind: 'hinge', target: 60, lambda }));
    expect(() => checkSettingsAndLayout(ckOf(before(hinge(2))), { layout: TOY_LAYOUT }, hinge(3))).toThrow(
      /^--resume: --lambda was 2, now 3/,
    );
  });
});

describe('checkpoints of the former search split', () => {
  const hinge = { kind: 'hinge' as const, target: 60, lambda: 2 };

  it('other images from the same flags: one line on the split, not on the images', () => {
    const old = before(nowOf(cfgOf(hinge)));
    const now = nowOf(cfgOf(hinge, '1bb0a2c3d4e5 from /data/unbal/train/c000/ (44 images)'));
    let err: unknown;
    try {
      checkSettingsAndLayout(ckOf(old), { layout: TOY_LAYOUT }, now);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CheckpointError);
    const msg = (err as Error).message;
    expect(msg).toBe(
      '--resume: /ck/ckpt-000002: it was written on the former, unstratified search split, and the search split became ' +
        'stratified per class on 2026-12-06 (other images on each side of unbalanced data): such a run cannot resume; ' +
        'start a new --checkpoint directory',
    );
    expect(msg).not.toMatch(/\n/);
  });

  it('balanced data (the same images found elsewhere too) resumes; new checkpoints record the split', () => {
    const now = nowOf(cfgOf(hinge));
    expect(now[SPLIT_KEY]).toBe(SEARCH_SPLIT_VERSION);
    expect(() => checkSettingsAndLayout(ckOf(before(now)), { layout: TOY_LAYOUT }, now)).not.toThrow();
    expect(() => checkSettingsAndLayout(ckOf(now), { layout: TOY_LAYOUT }, now)).not.toThrow();
  });

  it('another --train is named first; a checkpoint of this split with other images names the images', () => {
    const old = before(nowOf(cfgOf(hinge)));
    const now = proxylessRunSettings(cfgOf(hinge, '1bb0 from x (44 images)'), TOY_COST, { train: 29, val: 15 }, 'cpu', 1);
    expect(() => checkSettingsAndLayout(ckOf(old), { layout: TOY_LAYOUT }, now)).toThrow(/^--resume: --train was 30, now 29/);
    const recorded = nowOf(cfgOf(hinge));
    const other = nowOf(cfgOf(hinge, '1bb0 from x (44 images)'));
    expect(() => checkSettingsAndLayout(ckOf(recorded), { layout: TOY_LAYOUT }, other)).toThrow(
      /^--resume: --dataset images was edaf367fc799/,
    );
  });

  it('evolve-space and the --train-steps training give the same reason', () => {
    const now: RunSettings = { '--dataset': 'd', '--dataset images': 'bbbb from x', [SPLIT_KEY]: SEARCH_SPLIT_VERSION };
    const old: RunSettings = { '--dataset': 'd', '--dataset images': 'aaaa from x' };
    expect(() => checkEvolveSettings(ckOf(old, EVOLVE_CHECKPOINT_KIND), TOY_LAYOUT, now)).toThrow(
      /former, unstratified search split/,
    );
    expect(formerSplitReason({ ...old, '--dataset images': 'bbbb from y' }, now)).toBeNull();
    expect(formerSplitReason(old, { '--dataset images': 'bbbb from x' })).toBeNull();
  });
});

describe('WGNAS_F16 in proxyless checkpoints', () => {
  it('is recorded where the precision is known; another one is refused naming it; older checkpoints resume', () => {
    const hinge = cfgOf({ kind: 'hinge', target: 60, lambda: 2 });
    const at = (f16?: boolean) => proxylessRunSettings(hinge, TOY_COST, SPLIT, 'gpu', null, f16);
    expect(at(true)[F16_KEY]).toBe(1);
    expect(at(false)[F16_KEY]).toBe(0);
    expect(F16_KEY in at()).toBe(false);
    expect(() => checkSettingsAndLayout(ckOf(at(true)), { layout: TOY_LAYOUT }, at(false))).toThrow(
      /^--resume: WGNAS_F16 was 1, now 0;/,
    );
    expect(() => checkSettingsAndLayout(ckOf(at()), { layout: TOY_LAYOUT }, at(true))).not.toThrow();
  });
});

describe('the batch norm plan (WGNAS_BN_WG, WGNAS_BN_PLAN) in proxyless and evolve-space checkpoints', () => {
  it('is recorded on the GPU; another width or plan is refused naming it; older checkpoints and the CPU record none', () => {
    const hinge = cfgOf({ kind: 'hinge', target: 60, lambda: 2 });
    const at = (bn?: BnSetting | null) => proxylessRunSettings(hinge, TOY_COST, SPLIT, 'gpu', null, false, bn);
    expect(at({ wg: 256, plan: 'auto' })).toMatchObject({ WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto' });
    expect(['WGNAS_BN_WG' in at(null), 'WGNAS_BN_PLAN' in at()]).toEqual([false, false]);
    const check = (saved: RunSettings, now: RunSettings) => () =>
      checkSettingsAndLayout(ckOf(saved), { layout: TOY_LAYOUT }, now);
    expect(check(at({ wg: 256, plan: 'auto' }), at({ wg: 64, plan: 'auto' }))).toThrow(/^--resume: WGNAS_BN_WG was 256, now 64;/);
    expect(check(at({ wg: 256, plan: 'auto' }), at({ wg: 256, plan: 'split' }))).toThrow(
      /^--resume: WGNAS_BN_PLAN was auto, now split;/,
    );
    // A checkpoint from before: width 64 and 'auto' where its provenance names a software adapter
    // (its default width): it resumes there, and is refused at 256. Another's width cannot be told
    // (hardware training ran at 256 before train checkpoints recorded it): refused at either.
    const lavapipe = { ...ckOf(at()), provenance: { deviceName: 'llvmpipe (LLVM 15.0.7, 256 bits)' } };
    const from = (ck: CheckpointState, now: RunSettings) => () => checkSettingsAndLayout(ck, { layout: TOY_LAYOUT }, now);
    const advice =
      "no batch norm width recorded \\(written before it was\\): a software adapter's reads as WGNAS_BN_WG=64 \\(resume with it\\), another's cannot be told \\(hardware training ran at 64 or 256 by the wgnas version\\); --force starts over, or start a new --checkpoint directory$";
    expect(from(lavapipe, at({ wg: 64, plan: 'auto' }))).not.toThrow();
    expect(from(lavapipe, at({ wg: 256, plan: 'auto' }))).toThrow(
      new RegExp(`^--resume: WGNAS_BN_WG was 64, now 256; ${advice}`),
    );
    for (const wg of [64, 256] as const)
      expect(check(at(), at({ wg, plan: 'auto' }))).toThrow(
        new RegExp(`^--resume: WGNAS_BN_WG was not recorded, now ${wg}; ${advice}`),
      );
    // evolve-space records the same keys.
    const cfg = { ...DEFAULT_EVOLVE, layout: TOY_LAYOUT, budgetMadds: 1e6 } as EvolveConfig;
    const evolve = (bn: BnSetting | null) =>
      evolveRunSettings(cfg, SPLIT, { flag: 'cifar10', images: IMAGES }, 'gpu', null, false, bn);
    expect(evolve({ wg: 128, plan: 'single' })).toMatchObject({ WGNAS_BN_WG: 128, WGNAS_BN_PLAN: 'single' });
    expect('WGNAS_BN_WG' in evolve(null)).toBe(false);
    const saved = ckOf(evolve({ wg: 128, plan: 'single' }), EVOLVE_CHECKPOINT_KIND);
    expect(() => checkEvolveSettings(saved, TOY_LAYOUT, evolve({ wg: 256, plan: 'single' }))).toThrow(
      /^--resume: WGNAS_BN_WG was 128, now 256;/,
    );
  });
});

describe("the convolution core (WGNAS_CONV_CORE) and a queue's kernels in checkpoints", () => {
  const hinge = cfgOf({ kind: 'hinge', target: 60, lambda: 2 });
  const at = (bn: GpuKernels) => proxylessRunSettings(hinge, TOY_COST, SPLIT, 'gpu', null, false, bn);
  const check = (saved: RunSettings, now: RunSettings) => () => checkSettingsAndLayout(ckOf(saved), { layout: TOY_LAYOUT }, now);

  it('a hardware run records its core: a resume with the other is refused naming it; a software run records none', () => {
    const hw = (core: 'program' | 'legacy') => at({ wg: 256, plan: 'auto', core });
    expect(hw('legacy')).toMatchObject({ WGNAS_BN_WG: 256, WGNAS_BN_PLAN: 'auto', WGNAS_CONV_CORE: 'legacy' });
    expect(check(hw('program'), hw('legacy'))).toThrow(/^--resume: WGNAS_CONV_CORE was program, now legacy;/);
    expect(check(hw('legacy'), hw('legacy'))).not.toThrow();
    // A software adapter's bits do not depend on it (broadcast GEMMs, conv2d_depthwise.wgsl).
    expect('WGNAS_CONV_CORE' in at({ wg: 64, plan: 'auto' })).toBe(false);
    // A checkpoint from before the core was recorded reads as the default core, program.
    expect(check(at({ wg: 256, plan: 'auto' }), hw('program'))).not.toThrow();
    expect(check(at({ wg: 256, plan: 'auto' }), hw('legacy'))).toThrow(
      /^--resume: WGNAS_CONV_CORE was program, now legacy; no convolution core recorded \(written before it was\): read as WGNAS_CONV_CORE=program, the default \(resume without WGNAS_CONV_CORE\); --force starts over, or start a new --checkpoint directory$/,
    );
  });

  it("evolve-space --redis records each worker's own: a local resume of it, and a queued resume of a local one, are refused", () => {
    const cfg = { ...DEFAULT_EVOLVE, layout: TOY_LAYOUT, budgetMadds: 1e6 } as EvolveConfig;
    const evolve = (bn: GpuKernels) => evolveRunSettings(cfg, SPLIT, { flag: 'cifar10', images: IMAGES }, 'gpu', null, false, bn);
    const queued = evolve(WORKERS_OWN_KERNELS);
    expect(queued).toMatchObject({
      WGNAS_BN_WG: "each worker's own",
      WGNAS_BN_PLAN: "each worker's own",
      WGNAS_CONV_CORE: "each worker's own",
    });
    const local = evolve({ wg: 256, plan: 'auto', core: 'program' });
    const ck = (s: RunSettings) => ckOf(s, EVOLVE_CHECKPOINT_KIND);
    expect(() => checkEvolveSettings(ck(queued), TOY_LAYOUT, local)).toThrow(
      /^--resume: WGNAS_BN_WG was each worker's own, now 256;/,
    );
    expect(() => checkEvolveSettings(ck(local), TOY_LAYOUT, queued)).toThrow(
      /^--resume: WGNAS_BN_WG was 256, now each worker's own;/,
    );
    expect(() => checkEvolveSettings(ck(queued), TOY_LAYOUT, queued)).not.toThrow();
    // The CPU records none, queued or not.
    expect(Object.keys(evolveRunSettings(cfg, SPLIT, { flag: 'cifar10', images: IMAGES }, 'cpu', 2, false, null))).not.toContain(
      'WGNAS_BN_WG',
    );
  });
});

describe('the adapter kind (GPU adapter) and tuned tiles in checkpoints, and checkpoints from before them', () => {
  const hinge = cfgOf({ kind: 'hinge', target: 60, lambda: 2 });
  const at = (bn: GpuKernels) => proxylessRunSettings(hinge, TOY_COST, SPLIT, 'gpu', null, false, bn);
  const withProvenance = (saved: RunSettings, provenance?: unknown): CheckpointState => ({ ...ckOf(saved), provenance });
  const check = (ck: CheckpointState, now: RunSettings) => () => checkSettingsAndLayout(ck, { layout: TOY_LAYOUT }, now);
  const hw: BnSetting = {
    adapter: 'hardware',
    identity: 'nvidia | ? | nvidia-h100-80gb-hbm3 | NVIDIA: 580.159.04 580.159.4.0',
    wg: 256,
    plan: 'auto',
    core: 'program',
    tiles: 'matmul 128x128x8, conv 128x128x8',
  };
  const sw: BnSetting = { adapter: 'software', wg: 64, plan: 'auto' };
  const lavapipe = { deviceName: 'llvmpipe (LLVM 15.0.7, 256 bits)' };

  it('another adapter kind, or another hardware adapter, is refused naming the one that wrote it, also with the width forced to agree', () => {
    const h100 = 'hardware: nvidia | ? | nvidia-h100-80gb-hbm3 | NVIDIA: 580.159.04 580.159.4.0';
    expect(at(hw)).toMatchObject({ 'GPU adapter': h100, 'GPU tiles': 'matmul 128x128x8, conv 128x128x8' });
    const restart = '--force starts over, or start a new --checkpoint directory';
    expect(check(withProvenance(at(hw)), at({ ...sw, wg: 256 }))).toThrow(
      `--resume: GPU adapter was ${h100}, now software; computed on ${h100}, whose kernels differ from a software adapter's: resume on it; ${restart}`,
    );
    // The same tiles on another GPU (or driver): its rounding may differ.
    const h200 = { ...hw, identity: 'nvidia | ? | nvidia-h200 | NVIDIA: 580.159.04 580.159.4.0' };
    expect(check(withProvenance(at(hw)), at(h200))).toThrow(
      `--resume: GPU adapter was ${h100}, now hardware: ${h200.identity}; another GPU or driver may round the same kernels otherwise (FMA fusion, transcendentals): resume on the one recorded; ${restart}`,
    );
    // A record of the kind alone (written before the identity was) names no GPU.
    expect(check(withProvenance(at({ ...hw, identity: undefined })), at(hw))).toThrow(
      `--resume: GPU adapter was hardware, now ${h100}; recorded before the GPU's identity was, and another GPU or driver may round the same kernels otherwise: which one cannot be told; ${restart}`,
    );
    expect(check(withProvenance(at(hw)), at({ ...hw, tiles: 'matmul 64x64x16, conv 64x64x16' }))).toThrow(
      /^--resume: GPU tiles was matmul 128x128x8, conv 128x128x8, now matmul 64x64x16, conv 64x64x16; /,
    );
    expect(check(withProvenance(at(hw)), at(hw))).not.toThrow();
  });

  it('one from before any kernel key resumes where its provenance names a software adapter; else it is refused in one line', () => {
    const old = at(null);
    expect(check(withProvenance(old, lavapipe), at(sw))).not.toThrow();
    expect(check(withProvenance(old, { deviceName: 'NVIDIA H100 80GB HBM3' }), at(sw))).toThrow(
      /^--resume: GPU adapter was not recorded, now software; no GPU adapter recorded \(written before it was\), and neither a convolution core \(hardware\) nor its provenance \(a software adapter's name\) tells which; --force starts over, or start a new --checkpoint directory$/,
    );
    expect(check(withProvenance(old), at(hw))).toThrow(
      /^--resume: GPU adapter was not recorded, now hardware: nvidia \| .*; no GPU adapter recorded/,
    );
    // One recording the core was a hardware run's, which GPU's cannot be told (nor its tiles).
    expect(check(withProvenance(at({ wg: 256, plan: 'auto', core: 'program' })), at(hw))).toThrow(
      /^--resume: GPU adapter was hardware, now hardware: nvidia \| .*; recorded before the GPU's identity was, .*: which one cannot be told; --force starts over, or start a new --checkpoint directory$/,
    );
    expect(check(withProvenance(at({ wg: 256, plan: 'auto', core: 'program' })), at({ ...hw, identity: undefined }))).toThrow(
      /^--resume: GPU tiles was not recorded, now matmul 128x128x8, conv 128x128x8; no GPU tiles recorded \(written before they were\): the autotune cache's of then cannot be told; --force starts over, or start a new --checkpoint directory$/,
    );
    // The CPU records none: nothing to read.
    const cpu = proxylessRunSettings(hinge, TOY_COST, SPLIT, 'cpu', 1, false, null);
    expect(check(withProvenance({ ...cpu }), cpu)).not.toThrow();
  });

  it("evolve-space's advice names the queue, whose checkpoints from before recorded no kernels", () => {
    const cfg = { ...DEFAULT_EVOLVE, layout: TOY_LAYOUT, budgetMadds: 1e6 } as EvolveConfig;
    const evolve = (bn: GpuKernels) => evolveRunSettings(cfg, SPLIT, { flag: 'cifar10', images: IMAGES }, 'gpu', null, false, bn);
    const old = ckOf(evolve(null), EVOLVE_CHECKPOINT_KIND);
    expect(() => checkEvolveSettings(old, TOY_LAYOUT, evolve(sw))).toThrow(
      /^--resume: GPU adapter was not recorded, now software; no GPU adapter recorded \(written before it was, or by a --redis queue: resume with --redis\), and /,
    );
    expect(() => checkEvolveSettings(old, TOY_LAYOUT, evolve(WORKERS_OWN_KERNELS))).not.toThrow();
  });
});
