/**
 * The GPU adapter's kind and kernels that a result file and a training checkpoint record, through
 * the commands: score --out, train, and search --space-file --evaluated E --train-steps (its
 * checkpoint E.train-steps). Written on lavapipe (a software adapter: batch norm width 64, no core
 * or tiles), resumed with a changed condition each is refused in one line before any work, and an
 * unchanged resume continues. A hardware adapter is simulated (test/helpers/refusing-mocks.ts
 * simulatedHardwareGpu: probeAdapter reports MOCK_HARDWARE, acquireGpu stops with GPU_REACHED once
 * the checks passed); a file written on hardware is lavapipe's rewritten as the simulated adapter
 * records (resume-bn.gpu.test.ts does the same). WGNAS_BN_WG and WGNAS_BN_PLAN are read once per
 * process: resumes under another run as child processes, on the real adapter.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { bnSetting } from '../../src/cli/device.js';
import { trainStepsDir } from '../../src/cli/train-steps.js';
import { kernelsRecord } from '../../src/kernels/record.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { readCheckpointState } from '../../src/nn/checkpoint.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { atAdapterBnDefaults, wgnasChildWithBn } from '../helpers/bn-env.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { testGpu } from '../helpers/gpu.js';
import { GPU_REACHED, MOCK_HARDWARE, simulated } from '../helpers/refusing-mocks.js';

vi.mock('../../src/gpu/index.js', async (orig) =>
  (await import('../helpers/refusing-mocks.js')).simulatedHardwareGpu(await orig<typeof import('../../src/gpu/index.js')>()),
);

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-adapter-'));
let hasGpu = false;
// This file's runs at the adapter's defaults; the children get the variables they are given.
atAdapterBnDefaults();
beforeAll(async () => {
  hasGpu = (await testGpu()) !== null;
});
afterAll(() => {
  simulated.hardware = false;
  rmSync(tmp, { recursive: true, force: true });
});

/** `wgnas argv` in this process on the simulated hardware adapter. */
async function onHardware(argv: string[]) {
  simulated.hardware = true;
  try {
    return await wgnasInProcess(argv);
  } finally {
    simulated.hardware = false;
  }
}

/** `wgnas argv` in a child process (the real adapter) with these batch norm variables. */
const child = wgnasChildWithBn;

const oneLine = (stderr: string) => expect(stderr.trim().split('\n'), stderr).toHaveLength(1);
/** What the simulated hardware adapter records (its identity, width 256 by default, the core, the untuned tiles). */
const HARDWARE = () => bnSetting(kernelsRecord(MOCK_HARDWARE.kernels));
const KERNEL_KEYS = ['GPU adapter', 'WGNAS_BN_WG', 'WGNAS_BN_PLAN', 'WGNAS_CONV_CORE', 'GPU tiles'];
const LAVAPIPE = { 'GPU adapter': 'software', WGNAS_BN_WG: 64, WGNAS_BN_PLAN: 'auto' };
/** The simulated hardware adapter as its record names it (its autotune cache key). */
const MOCK_ADAPTER = 'hardware: mock | mock | mocked GPU | mocked GPU';

/** A folder of 48 + 8 images (the --train-steps training's default batch, 32, fits its search split). */
const IMAGES = join(tmp, 'images');
let written: Promise<unknown> | undefined;
const images = () =>
  (written ??= Promise.all([writeImageFolder(join(IMAGES, 'train'), [24, 24]), writeImageFolder(join(IMAGES, 'test'), [4, 4])]));

/** Rewrites a JSON file (a row stream's settings, a checkpoint's state.json). */
function editJson(path: string, edit: (j: Record<string, unknown>) => void): void {
  const j = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  edit(j);
  writeFileSync(path, JSON.stringify(j));
}
const dropKernels = (s: Record<string, unknown>) => {
  for (const k of [...KERNEL_KEYS, 'WGNAS_F16']) delete s[k];
};

describe('score --out on a GPU adapter', () => {
  const SCORE = ['score', '--sample', '2', '--seed', '1', '--cells-per-stage', '1', '--batch', '8', '--channels', '4'];
  const args = (out: string) => [...SCORE, '--device', 'gpu', '--quiet', '--out', out];
  const sidecar = (out: string) => `${out}.settings.json`;
  const settingsOf = (out: string) =>
    (JSON.parse(readFileSync(sidecar(out), 'utf8')) as { settings: Record<string, unknown> }).settings;
  const editSettings = (out: string, edit: (s: Record<string, unknown>) => void) =>
    editJson(sidecar(out), (j) => edit(j.settings as Record<string, unknown>));

  it(
    'records the adapter kind: a resume on the other kind is refused naming it, also with WGNAS_BN_WG forced to agree; other tiles are refused; the same resumes',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const out = join(tmp, 'score.csv');
      const a = await wgnasInProcess(args(out));
      expect(a.code, a.err).toBe(0);
      const s = settingsOf(out);
      expect(s).toMatchObject(LAVAPIPE);
      expect(['WGNAS_CONV_CORE' in s, 'GPU tiles' in s]).toEqual([false, false]);
      const rows = readFileSync(out, 'utf8');

      // Lavapipe's file resumed on a hardware adapter: refused before any work.
      const hw = await onHardware([...args(out), '--resume']);
      expect(hw.code, hw.err).toBe(2);
      oneLine(hw.err);
      expect(hw.err.trim()).toMatch(
        /^wgnas score: --resume: GPU adapter was software, now hardware: mock \| mock \| mocked GPU \| mocked GPU in \S*score\.csv; computed on a software adapter, whose kernels differ from a hardware one's: resume on a software adapter; --force starts over, or write another --out$/,
      );

      // A file a hardware adapter wrote (at width 256, its core and tiles) ...
      editSettings(out, (st) => Object.assign(st, HARDWARE()));
      expect(settingsOf(out)).toMatchObject({ 'GPU adapter': MOCK_ADAPTER, WGNAS_BN_WG: 256, WGNAS_CONV_CORE: 'program' });
      // ... resumed on lavapipe with the width forced to agree: refused naming the adapter.
      const forced = await child([...args(out), '--resume'], { WGNAS_BN_WG: '256' });
      expect(forced.code, forced.stderr).toBe(2);
      oneLine(forced.stderr);
      expect(forced.stderr.trim()).toMatch(
        /^wgnas score: --resume: GPU adapter was hardware: mock \| mock \| mocked GPU \| mocked GPU, now software in \S*score\.csv; computed on hardware: mock \| mock \| mocked GPU \| mocked GPU, whose kernels differ from a software adapter's: resume on it; --force starts over, or write another --out$/,
      );
      // ... on hardware with other tuned tiles: refused naming them.
      editSettings(out, (st) => (st['GPU tiles'] = 'matmul 64x128x16, conv 64x128x16'));
      const tiles = await onHardware([...args(out), '--resume']);
      expect(tiles.code, tiles.err).toBe(2);
      oneLine(tiles.err);
      expect(tiles.err.trim()).toMatch(
        /^wgnas score: --resume: GPU tiles was matmul 64x128x16, conv 64x128x16, now matmul 128x128x8, conv 128x128x8 in \S*score\.csv; tiles of the autotune cache \(wgnas bench --autotune\) then: resume where it gives them \(WGNAS_CACHE_DIR picks the cache, and data\/; one without autotune\.json gives the untuned\); --force starts over, or write another --out$/,
      );
      // ... on the same hardware: the checks pass and the run goes on to open the device.
      editSettings(out, (st) => Object.assign(st, HARDWARE()));
      const same = await onHardware([...args(out), '--resume']);
      expect(same.err).not.toMatch(/--resume:/);
      expect(same.err).toContain(GPU_REACHED);
      expect(readFileSync(out, 'utf8')).toBe(rows);
    },
  );

  it(
    'a file from before the adapter was recorded resumes where its provenance names a software adapter; without one it is refused with what to do',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const out = join(tmp, 'old.csv');
      expect((await wgnasInProcess(args(out))).code).toBe(0);
      editSettings(out, dropKernels);
      const r = await wgnasInProcess([...args(out).filter((a) => a !== '--quiet'), '--resume']);
      expect(r.code, r.err).toBe(0);
      expect(r.err).toMatch(/2 of 2 cells already scored/);
      // The resume recorded the kernels again; a file from before with no provenance either:
      editJson(sidecar(out), (j) => {
        dropKernels(j.settings as Record<string, unknown>);
        delete j.provenance;
      });
      const old = await wgnasInProcess([...args(out), '--resume']);
      expect(old.code, old.err).toBe(2);
      oneLine(old.err);
      expect(old.err.trim()).toMatch(
        /^wgnas score: --resume: GPU adapter was not recorded, now software in \S*old\.csv; no GPU adapter recorded \(written before it was, or by a --redis queue: resume with --redis\), and neither a convolution core \(hardware\) nor its provenance \(a software adapter's name\) tells which; --force starts over, or write another --out$/,
      );
    },
  );
});

describe('wgnas train on a GPU adapter', () => {
  const ARCH = '|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|';
  const TRAIN = [
    ...['--channels', '4', '--cells-per-stage', '1', '--epochs', '1', '--batch', '8'],
    ...['--latency-runs', '0', '--device', 'gpu', '--quiet'],
  ];
  const out = join(tmp, 'train');
  const args = [...['train', '--nb201', ARCH, '--dataset', `folder:${IMAGES}`], ...TRAIN, '--out', out];
  const state = () => join(readCheckpointState(join(out, 'checkpoint')).path, 'state.json');
  const editState = (edit: (s: Record<string, unknown>) => void) =>
    editJson(state(), (j) => edit(j.settings as Record<string, unknown>));

  it(
    'its checkpoint records the precision and the kernels: another adapter kind or width is refused in one line; the same resumes; one from before reads by its provenance',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      await images();
      const a = await wgnasInProcess(args);
      expect(a.code, a.err).toBe(0);
      expect(readCheckpointState(join(out, 'checkpoint')).meta.settings).toMatchObject({ ...LAVAPIPE, WGNAS_F16: 0 });
      const dir = join(out, 'checkpoint');
      const where = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

      const hw = await onHardware([...args, '--resume']);
      expect(hw.code, hw.err).toBe(2);
      oneLine(hw.err);
      expect(hw.err.trim()).toMatch(
        new RegExp(
          `^wgnas train: --resume: GPU adapter was software, now hardware: mock \\| mock \\| mocked GPU \\| mocked GPU in ${where}; computed on a software adapter, whose kernels differ from a hardware one's: resume on a software adapter; --force starts over$`,
        ),
      );
      const wide = await child([...args, '--resume'], { WGNAS_BN_WG: '128' });
      expect(wide.code, wide.stderr).toBe(2);
      oneLine(wide.stderr);
      expect(wide.stderr.trim()).toMatch(
        new RegExp(
          `^wgnas train: --resume: WGNAS_BN_WG was 64, now 128 in ${where}; give the saved settings, or --force to start over$`,
        ),
      );

      const same = await wgnasInProcess([...args.filter((x) => x !== '--quiet'), '--resume']);
      expect(same.code, same.err).toBe(0);
      expect(same.err).toMatch(/resuming after epoch 1 of 1/);

      // A checkpoint from before the kernels were recorded: its provenance.json names lavapipe.
      editState(dropKernels);
      const old = await wgnasInProcess([...args, '--resume']);
      expect(old.code, old.err).toBe(0);
      // Without a provenance naming the adapter: refused in one line, with what to do.
      editState(dropKernels);
      rmSync(join(dir, 'provenance.json'));
      const unknown = await wgnasInProcess([...args, '--resume']);
      expect(unknown.code, unknown.err).toBe(2);
      oneLine(unknown.err);
      expect(unknown.err.trim()).toMatch(
        new RegExp(
          `^wgnas train: --resume: GPU adapter was not recorded, now software in ${where}; no GPU adapter recorded \\(written before it was\\), and .*; --force starts over$`,
        ),
      );
    },
  );
});

describe('search --space-file --evaluated E --train-steps on a GPU adapter', () => {
  it(
    "E.train-steps records the kernels: another width is refused naming it in one line; one from before reads by E's provenance; the same resumes",
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!hasGpu) return skip();
      const space = join(tmp, 'space.json');
      writeSpaceFile(space, { ...handDesignedSpace(TINY_CIFAR_LAYOUT), source: 'autospace' });
      await images();
      const e = join(tmp, 'e.csv');
      const search = [
        ...['search', '--space-file', space, '--budget', '2', '--strategy', 'random', '--batch', '8', '--seed', '1'],
        ...['--dataset', `folder:${IMAGES}`, '--device', 'gpu', '--quiet'],
        ...['--evaluated', e, '--out', join(tmp, 'e.json'), '--train-steps', '4'],
      ];
      const dir = trainStepsDir(e);
      const where = dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      // Saved after each step; killed in step 3, before its save.
      const killed = await wgnasChild(search, { killAt: 'train-fixed.step:3' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      const ck = readCheckpointState(dir);
      expect(ck.meta).toMatchObject({ stepsDone: 2, settings: { ...LAVAPIPE, WGNAS_F16: 0 } });
      const state = join(ck.path, 'state.json');
      const editState = (edit: (s: Record<string, unknown>) => void) =>
        editJson(state, (j) => edit(j.settings as Record<string, unknown>));

      // The training at another width (E's search the same): refused before any work, naming it.
      editState((s) => (s.WGNAS_BN_WG = 128));
      const wide = await wgnasInProcess([...search, '--resume']);
      expect(wide.code, wide.err).toBe(2);
      oneLine(wide.err);
      expect(wide.err.trim()).toMatch(
        new RegExp(
          `^wgnas search: --resume: WGNAS_BN_WG was 128, now 64 in ${where}; resume with its settings, or --force starts over$`,
        ),
      );
      // From before the kernels were recorded, and E's provenance names no software adapter: refused.
      editState(dropKernels);
      const side = `${e}.settings.json`;
      const provenance = readFileSync(side, 'utf8');
      editJson(side, (j) => ((j.provenance as Record<string, unknown>).deviceName = 'NVIDIA H100 80GB HBM3'));
      const unknown = await wgnasInProcess([...search, '--resume']);
      writeFileSync(side, provenance);
      expect(unknown.code, unknown.err).toBe(2);
      oneLine(unknown.err);
      expect(unknown.err.trim()).toMatch(
        new RegExp(
          `^wgnas search: --resume: GPU adapter was not recorded, now software in ${where}; no GPU adapter recorded \\(written before it was\\), and .*; --force starts over$`,
        ),
      );
      expect(readCheckpointState(dir).meta.stepsDone).toBe(2);
      // E's provenance names lavapipe: it reads as this run's, and the training continues.
      const resumed = await wgnasInProcess([...search.filter((a) => a !== '--quiet'), '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.err).toContain(`resuming the --train-steps training after step 2 of 4 from ${dir}\n`);
      expect(existsSync(dir)).toBe(false);
    },
  );
});
