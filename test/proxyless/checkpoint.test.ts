/**
 * Proxyless checkpoints (in process, toy layout on the GPU): a resume with changed settings is
 * refused naming the flag (only --steps may grow), a corrupt or hand-edited checkpoint is refused
 * in one line, leftovers of a killed save are cleaned, and version-1 checkpoints still resume.
 */
import { methodBackend } from '../helpers/backend.js';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Backend } from '../../src/backend/index.js';
import { CheckpointError, readCheckpoint } from '../../src/nn/checkpoint.js';
import { cifarSearchSplit } from '../../src/data/search-split.js';
import type { CostModel } from '../../src/mobilenet/cost/model.js';
import { checkResumable, ResumeMismatchError, savedMeasuredCost } from '../../src/proxyless/resume-state.js';
import { DEFAULT_SEARCH, type ProxylessSearchConfig, ProxylessSearch } from '../../src/proxyless/search.js';
import { TOY_COST, TOY_LAYOUT } from '../helpers/cases.js';

let gpu: Backend | null;
beforeAll(async () => {
  gpu = await methodBackend();
});
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-ckpt-'));

const TOY = TOY_LAYOUT;
const data = () => cifarSearchSplit(200, 100);
const cfgOf = (over: Partial<ProxylessSearchConfig> = {}): ProxylessSearchConfig => ({
  ...DEFAULT_SEARCH,
  layout: TOY,
  costLoss: { kind: 'add', target: 5, lambda: 50 },
  warmupSteps: 2,
  searchSteps: 4,
  batchSize: 8,
  valBatchSize: 8,
  logEvery: 1000,
  checkpointEvery: 0,
  seed: 21,
  ...over,
});

/** Runs `stopAfter` steps with checkpoints in `dir`. */
async function cut(dir: string, stopAfter: number, over: Partial<ProxylessSearchConfig> = {}, cost = TOY_COST): Promise<void> {
  const s = new ProxylessSearch(gpu!, cfgOf({ checkpointDir: dir, ...over }), data(), cost);
  try {
    await s.run(undefined, stopAfter);
  } finally {
    s.dispose();
  }
}

/** Resumes a search from `dir` (no checkpoints written by it); returns the error or the search's result. */
async function resumeWith(dir: string, over: Partial<ProxylessSearchConfig> = {}, lat = TOY_COST): Promise<Error | number[][]> {
  const cfg = cfgOf(over);
  // The images as a dataset of the layout's class count (the command sizes the layout to --dataset's).
  const { train, val } = data();
  const classes = cfg.layout.classes;
  const s = new ProxylessSearch(gpu!, cfg, { train: { ...train, classes }, val: { ...val, classes } }, lat);
  try {
    s.resume(dir);
    return (await s.run()).alpha;
  } catch (e) {
    return e as Error;
  } finally {
    s.dispose();
  }
}

describe('resume refuses changed settings', () => {
  it('names the flag that differs; more --steps is allowed', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'settings');
    await cut(dir, 3);
    const msg = async (over: Partial<ProxylessSearchConfig>, lat?: CostModel) => {
      const r = await resumeWith(dir, over, lat);
      expect(r).toBeInstanceOf(ResumeMismatchError);
      return (r as Error).message;
    };
    expect(await msg({ seed: 22 })).toMatch(/^--resume: --seed was 21, now 22; /);
    expect(await msg({ costLoss: { kind: 'add', target: 5, lambda: 7 } })).toMatch(/^--resume: --lambda was 50, now 7/);
    expect(await msg({ costLoss: { kind: 'add', target: 6, lambda: 50 } })).toMatch(/--target-ms was 5, now 6/);
    expect(await msg({ searchSteps: 3 })).toMatch(/--steps was 4, now 3 \(--steps may only grow/);
    expect(await msg({ batchSize: 4 })).toMatch(/--batch was 8, now 4/);
    expect(await msg({ mode: 'reinforce' })).toMatch(/--mode was gradient, now reinforce/);
    // The authors' schedule settings.
    expect(await msg({ archEvery: 1 })).toMatch(/--arch-every was 5, now 1/);
    expect(await msg({ archWarmupSteps: 2 })).toMatch(/--arch-warmup-steps was 0, now 2/);
    expect(await msg({ labelSmoothing: 0 })).toMatch(/--label-smoothing was 0.1, now 0/);
    expect(await msg({ alphaInitStd: 0 })).toMatch(/--arch-init-std was 0.001, now 0/);
    expect(await msg({ bnEps: 1e-5 })).toMatch(/--bn-eps was 0\.001, now 0\.00001/);
    expect(await msg({}, { ...TOY_COST, fixed: 3 })).toMatch(
      /^--resume: --latency-table was table prices [0-9a-f]+, now table prices [0-9a-f]+/,
    );
    // The same numbers in MAdds: the target's flag changes with the unit.
    expect(
      await msg({ costLoss: { kind: 'add', target: 5e6, lambda: 50 } }, { ...TOY_COST, unit: 'madds', source: 'madds' }),
    ).toMatch(/--latency-table was table prices [0-9a-f]+, now unset/);
    // The same check before any GPU work (what the CLI runs first).
    expect(() => checkResumable(dir, cfgOf({ seed: 22 }), TOY_COST, { train: 200, val: 100 })).toThrow(
      /^--resume: --seed was 21, now 22; /,
    );
    expect(() => checkResumable(dir, cfgOf({ searchSteps: 9 }), TOY_COST, { train: 200, val: 100 })).not.toThrow();
    expect(() => checkResumable(dir, cfgOf(), TOY_COST, { train: 150, val: 100 })).toThrow(/--train was 200, now 150/);
    // Same settings, more steps: fine.
    const longer = await resumeWith(dir, { searchSteps: 6 });
    expect(Array.isArray(longer)).toBe(true);
  });

  it('names --dataset (before the layout its classes change) and, on the CPU, --cpu-threads', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'dataset');
    const dataset = { flag: 'cifar10', images: '0123456789ab from /a/train_5000.bin (5000 images)' };
    await cut(dir, 1, { dataset });
    const split = { train: 200, val: 100 };
    const other = { ...dataset, images: 'ba9876543210 from /b/train_5000.bin (1000 images)' };
    expect(() => checkResumable(dir, cfgOf({ dataset: other }), TOY_COST, split)).toThrow(
      /^--resume: --dataset images was 0123456789ab from \/a\/train_5000\.bin \(5000 images\), now ba9876543210 from \/b\/train_5000\.bin \(1000 images\); /,
    );
    const r = await resumeWith(dir, { dataset: { ...dataset, flag: 'cifar100' }, layout: { ...TOY, classes: 100 } });
    expect((r as Error).message).toMatch(/^--resume: --dataset was cifar10, now cifar100; /);
    expect(Array.isArray(await resumeWith(dir, { dataset }))).toBe(true);
    // A checkpoint written before the dataset was recorded resumes.
    const old = join(tmp, 'no-dataset');
    await cut(old, 1);
    expect(() => checkResumable(old, cfgOf({ dataset }), TOY_COST, split)).not.toThrow();
    if (gpu.device !== 'cpu') return;
    const threads = gpu.threads!;
    expect(() => checkResumable(dir, cfgOf({ dataset }), TOY_COST, split, 'cpu', threads)).not.toThrow();
    expect(() => checkResumable(dir, cfgOf({ dataset }), TOY_COST, split, 'cpu', threads + 1)).toThrow(
      new RegExp(`^--resume: --cpu-threads was ${threads}, now ${threads + 1}; `),
    );
  });
});

describe('--bn-eps of a checkpoint from before the flag', () => {
  it('reads as 1e-5 (what its supernet used): a resume at the default 1e-3 is refused, --bn-eps 1e-5 resumes', async ({
    skip,
  }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'no-bn-eps');
    await cut(dir, 2, { bnEps: 1e-5 });
    const state = join(dir, readFileSync(join(dir, 'current'), 'utf8').trim(), 'state.json');
    const j = JSON.parse(readFileSync(state, 'utf8'));
    expect(j.settings['--bn-eps']).toBe(1e-5);
    delete j.settings['--bn-eps'];
    writeFileSync(state, JSON.stringify(j));
    const split = { train: 200, val: 100 };
    expect(() => checkResumable(dir, cfgOf(), TOY_COST, split)).toThrow(/^--resume: --bn-eps was 0\.00001, now 0\.001; /);
    expect(() => checkResumable(dir, cfgOf({ bnEps: 1e-5 }), TOY_COST, split)).not.toThrow();
  });
});

describe('measured prices', () => {
  it('a checkpoint keeps the measured cost model it searched with, for a --price-cells resume to reuse', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'measured');
    const measured: CostModel = {
      ...TOY_COST,
      source: 'measured',
      meta: { library: 'oneDNN 3', threads: '1', 'cache-flush': 'no (warm caches)' },
    };
    await cut(dir, 2, {}, measured);
    expect(savedMeasuredCost(dir)).toEqual(measured);
    expect(savedMeasuredCost(join(tmp, 'settings'))).toBeNull(); // a table's prices are read again
    // Prices measured again (other numbers) are refused naming --price-cells.
    const r = await resumeWith(dir, {}, { ...measured, fixed: 2.1 });
    expect(r).toBeInstanceOf(ResumeMismatchError);
    expect((r as Error).message).toMatch(
      /^--resume: --price-cells was oneDNN 3, 1 thread\(s\), flush no \(warm caches\), prices [0-9a-f]+, now /,
    );
    expect(Array.isArray(await resumeWith(dir, {}, measured))).toBe(true);
  });
});

describe('corrupt checkpoints are refused in one line', () => {
  it('a binary that does not match the manifest, a hand-edited alpha, a bad pointer', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'corrupt');
    await cut(dir, 3);
    const cur = readFileSync(join(dir, 'current'), 'utf8').trim();
    const good = join(tmp, 'corrupt-good');
    cpSync(dir, good, { recursive: true });
    const restore = () => {
      rmSync(dir, { recursive: true });
      cpSync(good, dir, { recursive: true });
    };

    const w = join(dir, cur, 'weights.bin');
    const bytes = readFileSync(w);
    bytes[10] ^= 0xff;
    writeFileSync(w, bytes);
    let r = await resumeWith(dir);
    expect(r).toBeInstanceOf(CheckpointError);
    expect((r as Error).message).toMatch(/weights\.bin: content does not match the manifest's SHA-256/);
    truncateSync(w, 100);
    expect(((await resumeWith(dir)) as Error).message).toMatch(
      /weights\.bin: 100 bytes, the manifest says \d+ \(corrupt or half-written/,
    );
    restore();

    const statePath = join(dir, cur, 'state.json');
    const state = JSON.parse(readFileSync(statePath, 'utf8'));
    writeFileSync(statePath, JSON.stringify({ ...state, alpha: null }));
    r = await resumeWith(dir);
    expect(r).toBeInstanceOf(CheckpointError);
    expect((r as Error).message).toMatch(
      /state\.json: 'alpha' must be rows of finite numbers, got null \(corrupt or hand-edited checkpoint\)$/,
    );
    writeFileSync(statePath, JSON.stringify({ ...state, alpha: [[1, 2]] }));
    expect(((await resumeWith(dir)) as Error).message).toMatch(/'alpha' has rows of 2 choices, the supernet 5\/5\/4/);
    writeFileSync(statePath, JSON.stringify({ ...state, adam: { ...state.adam, steps: [1, 2] } }));
    expect(((await resumeWith(dir)) as Error).message).toMatch(
      /'adam' must be \{steps, m, v\} with 3 step counts and 14 moments/,
    );
    // Written before per-block step counts (one count for all blocks): refused in one line, before any work.
    const { steps: _steps, ...rest } = state.adam;
    writeFileSync(statePath, JSON.stringify({ ...state, adam: { ...rest, step: 2 } }));
    const old = (await resumeWith(dir)) as Error;
    expect(old).toBeInstanceOf(CheckpointError);
    expect(old.message).toMatch(
      /state\.json: written by an older wgnas \(one Adam step count for all α blocks.*start a new --checkpoint directory$/,
    );
    expect(() => checkResumable(dir, cfgOf(), TOY_COST, { train: 200, val: 100 })).toThrow(/written by an older wgnas/);
    writeFileSync(statePath, JSON.stringify({ ...state, counters: { warmup: -1 } }));
    expect(((await resumeWith(dir)) as Error).message).toMatch(/'counters' must be/);
    writeFileSync(statePath, '{"version": 2, "weig');
    expect(((await resumeWith(dir)) as Error).message).toMatch(/state\.json: not valid JSON/);
    restore();

    writeFileSync(join(dir, 'current'), '../../etc\n');
    expect(((await resumeWith(dir)) as Error).message).toMatch(/current: names '\.\.\/\.\.\/etc', not a checkpoint directory/);
    restore();
    expect(Array.isArray(await resumeWith(dir))).toBe(true);
  });
});

describe('checkpoint directory housekeeping', () => {
  it('a run cleans leftovers of a killed save and keeps only the current checkpoint', async ({ skip }) => {
    if (!gpu) return skip();
    const dir = join(tmp, 'clean');
    await cut(dir, 3);
    const cur = readFileSync(join(dir, 'current'), 'utf8').trim();
    mkdirSync(join(dir, 'ckpt-000099.tmp'));
    writeFileSync(join(dir, 'ckpt-000099.tmp', 'weights.bin'), 'x');
    cpSync(join(dir, cur), join(dir, 'ckpt-000098'), { recursive: true }); // renamed, never switched to
    writeFileSync(join(dir, '.current.999999.tmp'), 'ckpt-000098\n');
    writeFileSync(join(dir, 'lock.999999999.tmp'), '{}'); // a run killed while taking the lock
    const s = new ProxylessSearch(gpu, cfgOf({ checkpointDir: dir }), data(), TOY_COST);
    try {
      expect(readdirSync(dir).sort()).toEqual([cur, 'current', 'lock']);
      s.resume(dir);
      await s.run(undefined, 4);
    } finally {
      s.dispose();
    }
    const after = readdirSync(dir).sort();
    expect(after).toHaveLength(2); // one ckpt-N and current; the lock is released
    expect(after[1]).toBe('current');
    // Numbered after the current one (the leftovers were gone before the save).
    expect(after[0]).toBe(`ckpt-${String(Number(cur.slice(5)) + 1).padStart(6, '0')}`);
    expect(readCheckpoint(dir).meta.counters).toMatchObject({ warmup: 2, search: 2 });
  });

  it('a version-1 checkpoint (files in DIR) resumes to the same result and is replaced by the new format', async ({ skip }) => {
    if (!gpu) return skip();
    const ref = new ProxylessSearch(gpu, cfgOf(), data(), TOY_COST);
    const want = (await ref.run()).alpha;
    ref.dispose();

    const v2 = join(tmp, 'v2');
    await cut(v2, 3);
    const ck = readCheckpoint(v2);
    const v1 = join(tmp, 'v1');
    mkdirSync(v1);
    for (const f of ['weights.bin', 'momentum.bin']) cpSync(join(ck.path, f), join(v1, f));
    const { settings: _s, files: _f, ...meta } = ck.meta;
    writeFileSync(join(v1, 'state.json'), JSON.stringify({ ...meta, version: 1 }));
    // Version 1 recorded its config: a changed seed is still caught.
    expect(((await resumeWith(v1, { seed: 5 })) as Error).message).toMatch(/--seed was 21, now 5/);
    // A version-1 checkpoint from before parameters were named as cells is refused in one line.
    const old = join(tmp, 'v1-old');
    cpSync(v1, old, { recursive: true });
    const { costLoss: _c, ...oldConfig } = meta.config as Record<string, unknown>;
    writeFileSync(
      join(old, 'state.json'),
      JSON.stringify({ ...meta, version: 1, config: { ...oldConfig, latencyLoss: { kind: 'add', targetMs: 5 } } }),
    );
    const r = await resumeWith(old);
    expect(r).toBeInstanceOf(CheckpointError);
    expect((r as Error).message).toMatch(/state\.json: written by an older wgnas .*start a new --checkpoint directory$/);
    const s = new ProxylessSearch(gpu, cfgOf({ checkpointDir: v1 }), data(), TOY_COST);
    try {
      s.resume(v1);
      expect((await s.run()).alpha).toEqual(want);
    } finally {
      s.dispose();
    }
    expect(existsSync(join(v1, 'state.json'))).toBe(false);
    expect(readCheckpoint(v1).meta.version).toBe(2);
  });
});
