/**
 * `search --space-file ... --evaluated E --train-steps N`, killed while it trains the architecture
 * found: the same command with --resume replays E's search and continues the training from the
 * checkpoint in E.train-steps, ending with an uninterrupted run's result (its final train loss and
 * test accuracy, bit for bit); a run without --resume is refused as interrupted, a changed
 * --train-steps is refused in one line naming it, and so are other images (naming --dataset); killed again in the --train-epochs hand-over, it
 * resumes both without training the N steps again; a finished run leaves no checkpoint. Below it,
 * trainFixed stopped after a save continues with exactly the losses of an uninterrupted training,
 * a diverging one's NaN losses included.
 * CPU backend: trainFixed on the tiny layout, the command on the CIFAR layout over a folder of 56 images.
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { type TrainOptions, type TrainResult, trainFixed } from '../../src/mobilenet/train.js';
import { FIXED_TRAIN_KIND, restoreFixedTrain, saveFixedTrain } from '../../src/mobilenet/train-checkpoint.js';
import { readCheckpointState } from '../../src/nn/checkpoint.js';
import type { RunContext } from '../../src/cli/run.js';
import { openTrainSteps, trainStepsDir } from '../../src/cli/train-steps.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { gaussianImages } from '../helpers/images.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-train-steps-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('trainFixed with a checkpoint', () => {
  it('stopped after step 2 of 5 (saved every 2), continues with steps 3-5 and ends as an uninterrupted run', async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const train = gaussianImages(24, 1);
    const test = gaussianImages(8, 2);
    const choices = [1, 0, 2];
    const o: TrainOptions = { steps: 5, batchSize: 4, lr: 0.05, weightDecay: 4e-5, seed: 3, augment: true, evalImages: 8 };
    const run = async (more: Partial<TrainOptions>, stopAt?: number) => {
      const losses: Array<[number, number]> = [];
      const onStep = (s: number, l: number) => {
        if (s === stopAt) throw new Error('stop');
        losses.push([s, l]);
      };
      let r: TrainResult | null = null;
      try {
        r = await trainFixed(cpu, TINY_CIFAR_LAYOUT, choices, train, test, { ...o, ...more, onStep });
      } catch (e) {
        if ((e as Error).message !== 'stop') throw e;
      }
      return { r, losses };
    };
    const ref = await run({});
    expect(ref.losses.map(([s]) => s)).toEqual([1, 2, 3, 4, 5]);
    const dir = join(tmp, 'fixed-ck');
    const ck = { dir, every: 2, settings: { '--train-steps': 5 }, resume: null };
    // Saved after step 2, stopped in step 3 (before its save would be due at 4).
    const cut = await run({ checkpoint: ck }, 3);
    expect(cut.r).toBeNull();
    const state = readCheckpointState(dir);
    expect(state.meta).toMatchObject({ kind: FIXED_TRAIN_KIND, stepsDone: 2, settings: { '--train-steps': 5 } });
    expect(state.meta.losses).toEqual(ref.losses.slice(0, 2).map(([, l]) => l));

    const resumed = await run({ checkpoint: { ...ck, resume: state } });
    expect(resumed.losses).toEqual(ref.losses.slice(2));
    expect(resumed.r!.finalTrainLoss).toBe(ref.r!.finalTrainLoss);
    expect(resumed.r!.testAcc).toBe(ref.r!.testAcc);
    // The last step is saved too: a kill in the evaluation only evaluates again.
    expect(readCheckpointState(dir).meta.stepsDone).toBe(5);
  });

  it('a diverging training (losses NaN), stopped after step 3 of 5 (saved every step), resumes and ends as an uninterrupted run', async ({
    skip,
  }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const train = gaussianImages(24, 1);
    const test = gaussianImages(8, 2);
    // lr 1e30: step 2's loss is ~1e29, every later one NaN (the weights are).
    const o: TrainOptions = { steps: 5, batchSize: 4, lr: 1e30, weightDecay: 4e-5, seed: 3, augment: false, evalImages: 8 };
    const run = async (more: Partial<TrainOptions>, stopAt?: number) => {
      const losses: number[] = [];
      const onStep = (s: number, l: number) => {
        if (s === stopAt) throw new Error('stop');
        losses.push(l);
      };
      const r = await trainFixed(cpu, TINY_CIFAR_LAYOUT, [1, 0, 2], train, test, { ...o, ...more, onStep }).catch(
        (e: unknown) => {
          if ((e as Error).message !== 'stop') throw e;
          return null;
        },
      );
      return { r, losses };
    };
    const ref = await run({});
    expect(ref.losses.slice(2).every((l) => Number.isNaN(l))).toBe(true);
    expect(ref.r!.finalTrainLoss).toBeNaN();
    const dir = join(tmp, 'fixed-nan-ck');
    const ck = { dir, every: 1, settings: { '--train-steps': 5 }, resume: null };
    expect((await run({ checkpoint: ck }, 4)).r).toBeNull();
    const state = readCheckpointState(dir);
    // JSON has no NaN: kept as its text (JSON.stringify would write null, which no resume can read back).
    expect(state.meta).toMatchObject({ stepsDone: 3, losses: [ref.losses[0], ref.losses[1], 'NaN'] });
    const resumed = await run({ checkpoint: { ...ck, resume: state } });
    expect(resumed.losses).toEqual(ref.losses.slice(3));
    expect(resumed.r!.finalTrainLoss).toBeNaN();
    expect(resumed.r!.testAcc).toBe(ref.r!.testAcc);
  });

  it('keeps Infinity, -Infinity and NaN losses through a save, and refuses other non-numbers', async ({ skip }) => {
    const cpu = cpuTestBackend();
    if (!cpu) return skip();
    const dir = join(tmp, 'fixed-nonfinite-ck');
    const losses = [2.5, Infinity, -Infinity, NaN];
    await saveFixedTrain({ dir, every: 1, settings: {}, resume: null }, [], new Map(), losses);
    const state = readCheckpointState(dir);
    expect(state.meta.losses).toEqual([2.5, 'Infinity', '-Infinity', 'NaN']);
    expect(restoreFixedTrain(cpu, state, [], new Map(), 4)).toEqual(losses);
    for (const bad of [null, 'nan', 'inf', '1'])
      expect(() =>
        restoreFixedTrain(cpu, { ...state, meta: { ...state.meta, losses: [2.5, bad, 1, 1] } }, [], new Map(), 4),
      ).toThrow(/stepsDone or losses missing or inconsistent/);
  });
});

describe('E.train-steps once the run is done', () => {
  it("done() and then the finally's release() remove it once: a run that took it in between keeps it", async () => {
    const e = join(tmp, 'drop.csv');
    const v = { evaluated: e, 'train-steps': 4, budget: 10, force: false, resume: false, quiet: true };
    const open = () =>
      openTrainSteps(v as unknown as Parameters<typeof openTrainSteps>[0], null, {} as RunContext, {
        settings: {},
        devices: [],
      })!;
    const dir = trainStepsDir(e);
    const first = open();
    await saveFixedTrain(first.checkpoint([1, 0, 2]), [], new Map(), [2.5]);
    first.done();
    expect(existsSync(dir)).toBe(false);
    // The same command again, before the first one's finally ran.
    const next = open();
    first.release();
    expect(readdirSync(dir)).toEqual(['lock']);
    await saveFixedTrain(next.checkpoint([1, 0, 2]), [], new Map(), [2.5]);
    first.release();
    expect(readCheckpointState(dir).meta.stepsDone).toBe(1);
    expect(existsSync(join(dir, 'lock'))).toBe(true);
    next.done();
    next.release();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('search --space-file --evaluated E --train-steps N --train-epochs M, killed while training', () => {
  it(
    '--resume continues the --train-steps training from E.train-steps, then the hand-over, and ends with an uninterrupted run',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      // The CIFAR layout (wgnas train reads its networks) on a folder of 48 + 8 images: one step an epoch.
      const space = join(tmp, 'space.json');
      writeSpaceFile(space, { ...handDesignedSpace(CIFAR_LAYOUT), source: 'autospace' });
      await writeImageFolder(join(tmp, 'images', 'train'), [24, 24]);
      await writeImageFolder(join(tmp, 'images', 'test'), [4, 4]);
      const at = (name: string, ext = '') => join(tmp, `${name}${ext}`);
      const search = (name: string, steps = '4') => [
        'search',
        '--space-file',
        space,
        ...['--budget', '2', '--strategy', 'random', '--batch', '8', '--seed', '1'],
        ...['--dataset', `folder:${join(tmp, 'images')}`, '--device', 'cpu', '--cpu-threads', '1', '--quiet'],
        ...['--evaluated', at(name, '.csv'), '--out', at(name, '.json'), '--train-steps', steps],
        ...['--train-epochs', '2', '--train-out', at(name)],
      ];
      /** The result written to --out, less its wall time and provenance (each run's date and command line). */
      const result = (name: string) => {
        const {
          seconds: _s,
          provenance: _p,
          ...r
        } = JSON.parse(readFileSync(at(name, '.json'), 'utf8')) as Record<string, unknown>;
        return r;
      };
      const ckDir = (name: string) => at(name, '.csv.train-steps');
      const bytes = (name: string, f: string) => readFileSync(join(at(name), f));

      const ref = await wgnasInProcess(search('ref'));
      expect(ref.code, ref.err).toBe(0);
      const want = result('ref');
      expect(want).toMatchObject({ trainSteps: 4, trainLoss: expect.any(Number), testAcc: expect.any(Number) });
      expect(Number.isFinite(want.trainLoss)).toBe(true);
      // A finished run leaves no checkpoint.
      expect(existsSync(ckDir('ref'))).toBe(false);

      // 4 steps, a save after each: killed after step 3, before its save.
      const killed = await wgnasChild(search('cut'), { killAt: 'train-fixed.step:3' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      expect(readCheckpointState(ckDir('cut')).meta.stepsDone).toBe(2);
      // E's search was complete: the training left makes it an interrupted run.
      expect(JSON.parse(readFileSync(at('cut', '.csv.settings.json'), 'utf8')).complete).toBe(true);

      const fresh = await wgnasInProcess(search('cut'));
      expect(fresh.code).toBe(2);
      expect(fresh.err).toMatch(
        /^wgnas search: --evaluated .*cut\.csv holds an interrupted run \(its --train-steps training, saved in .*cut\.csv\.train-steps\): --resume continues it, --force starts over\n$/,
      );
      const steps = await wgnasInProcess([...search('cut', '5'), '--resume']);
      expect(steps.code).toBe(2);
      expect(steps.err).toMatch(
        /^wgnas search: --resume: --train-steps was 4, now 5 in .*cut\.csv\.train-steps; resume with its settings, or --force starts over\n$/,
      );
      expect(readCheckpointState(ckDir('cut')).meta.stepsDone).toBe(2);
      expect(readCheckpointState(ckDir('cut')).meta.settings).toMatchObject({
        '--dataset images': expect.stringMatching(/^[0-9a-f]{12} from \S*images\S* \(\d+ images\)$/),
      });
      // One test image changed (E's proxy minibatch, from the training images, is the same): the
      // training would end on other images, refused in one line naming --dataset before any work.
      const swapped = join(tmp, 'images', 'test', 'class0', 'img0.png');
      const original = readFileSync(swapped);
      copyFileSync(join(tmp, 'images', 'test', 'class1', 'img0.png'), swapped);
      const images = await wgnasInProcess([...search('cut'), '--resume']);
      writeFileSync(swapped, original);
      expect(images.code).toBe(2);
      expect(images.err).toMatch(
        /^wgnas search: --resume: --dataset images was [0-9a-f]{12} from \S*images\S* \(\d+ images\), now [0-9a-f]{12} from \S*images\S* \(\d+ images\) in .*cut\.csv\.train-steps; resume with its settings, or --force starts over\n$/,
      );
      expect(readCheckpointState(ckDir('cut')).meta.stepsDone).toBe(2);

      // Resumed, and killed again in the hand-over's second epoch, after its first checkpoint.
      const again = await wgnasChild([...search('cut'), '--resume'], { killAt: 'train.step:2' });
      expect(again.signal, again.stderr).toBe('SIGKILL');
      // The --train-steps result is out; its checkpoint stays until the whole command is done.
      expect(result('cut')).toEqual(want);
      expect(readCheckpointState(ckDir('cut')).meta.stepsDone).toBe(4);

      const resumed = await wgnasInProcess([...search('cut').filter((a) => a !== '--quiet'), '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.err).toContain(`resuming the --train-steps training after step 4 of 4 from ${ckDir('cut')}\n`);
      expect(resumed.err).toMatch(/wgnas train .* --resume\n/);
      expect(result('cut')).toEqual(want);
      for (const f of ['network.json', 'weights.json', 'weights.bin']) expect(bytes('cut', f), f).toEqual(bytes('ref', f));
      expect(existsSync(ckDir('cut'))).toBe(false);
    },
  );
});
