/**
 * `search --space-file ... --evaluated E --train-steps N`: the short training of the architecture
 * found saves its state in the checkpoint directory E.train-steps every tenth of N steps, so the
 * same command with --resume (which replays E's search) continues the training where a kill left it
 * and ends as an uninterrupted run. The directory goes once the result is out: E complete and no
 * checkpoint is a finished run. Without --evaluated nothing is kept (nor is the search's work).
 * A resume reading other images (another data root, a release fetched since) is refused naming
 * --dataset, as the other resumable runs are (resume-settings.ts).
 */
import { firstImages, type ImageDataset } from '../data/image-dataset.js';
import { rowStreamFiles } from '../data/row-stream.js';
import { formerSplitReason, SEARCH_SPLIT_VERSION, SPLIT_KEY } from '../data/search-split.js';
import { FIXED_TRAIN_KIND, type FixedTrainCheckpoint, saveEvery } from '../mobilenet/train-checkpoint.js';
import {
  checkCheckpointDirFree,
  checkCheckpointKind,
  type CheckpointState,
  hasCheckpoint,
  lockCheckpointDir,
  readCheckpointState,
  removeCheckpointDir,
} from '../nn/checkpoint.js';
import { F16_KEY } from '../backend/index.js';
import { kernelsResume } from '../util/kernels-record.js';
import { checkRunSettings, type RunSettings } from '../util/run-settings.js';
import { discardForForce } from './checkpoint-dir.js';
import { UsageError } from './errors.js';
import { DATA_KEY, recordedSplitsData, savedSetting, type SplitsFingerprint, splitsData } from './resume-settings.js';
import type { RunContext } from './run.js';
import type { ValuesOf } from './spec.js';
import type { SEARCH_CELLS_OPTIONS } from './specs/search.js';

type CellsValues = ValuesOf<typeof SEARCH_CELLS_OPTIONS>;

/** The checkpoint directory of --evaluated E's training (links to E followed, as E's own files are). */
export const trainStepsDir = (evaluated: string): string => `${rowStreamFiles(evaluated).target}.train-steps`;

/**
 * What the training's state depends on beyond E's settings, known before the search: the steps (the
 * learning-rate schedule spans them) and --budget (which may grow on a resume of E, and with it
 * the architecture found).
 */
/** The search split the training's images were cut by (recorded since 2026-12-06). */
const SPLIT: RunSettings = { [SPLIT_KEY]: SEARCH_SPLIT_VERSION };

const knownBefore = (v: CellsValues): RunSettings => ({ '--train-steps': v['train-steps'] ?? null, '--budget': v.budget });

const check = (ck: CheckpointState, now: RunSettings, dir: string) =>
  checkRunSettings((ck.meta.settings ?? {}) as Record<string, unknown>, now, {
    where: ` in ${dir}`,
    advice: 'resume with its settings, or --force starts over',
  });

/**
 * Before the search (with --evaluated): a training checkpoint left by a killed run makes E an
 * interrupted run (refused without --resume or --force), and on --resume it is read once and its
 * settings checked, in one line naming the flag. Returns the state to continue, or null.
 */
export function checkTrainSteps(v: CellsValues): CheckpointState | null {
  if (!v.evaluated) return null;
  const dir = trainStepsDir(v.evaluated);
  checkCheckpointDirFree(dir);
  if (!hasCheckpoint(dir) || v.force) return null;
  if (!v.resume)
    throw new UsageError(
      `--evaluated ${v.evaluated} holds an interrupted run (its --train-steps training, saved in ${dir}): --resume continues it, --force starts over`,
    );
  const ck = readCheckpointState(dir);
  checkCheckpointKind(ck, FIXED_TRAIN_KIND, 'search --train-steps');
  check(ck, knownBefore(v), dir);
  return ck;
}

/**
 * The fingerprint of the images the training reads (resume-settings.ts splitsData): the first `train`
 * of `train` (the search split's images, runSearchImages) and the test images it is evaluated on (at
 * most `testImages`), at `size`.
 */
export function trainStepsImages(
  train: ImageDataset,
  trainCount: number,
  test: ImageDataset,
  testImages: number,
  size: number,
): Promise<SplitsFingerprint> {
  return splitsData([firstImages(train, trainCount), firstImages(test, Math.min(testImages, test.count))], size);
}

export interface TrainStepsState {
  /**
   * The images the training reads (trainStepsImages), known once the data is open and before the
   * search: on --resume refused in one line naming --dataset when they differ from the checkpoint's
   * (the same images found elsewhere resume), then recorded with each save.
   */
  images(fingerprint: SplitsFingerprint): Promise<void>;
  /** The checkpoint of the training of `choices`; the state to continue must be of this architecture. */
  checkpoint(choices: readonly number[]): FixedTrainCheckpoint;
  /** The whole command is done (its --train-epochs hand-over too): the checkpoint goes, pointer first. */
  done(): void;
  release(): void;
}

/**
 * What the training computes with on the GPU beyond E's flags, as E records it too: the precision
 * and the kernels (device.ts f16Setting, bnSetting; nothing of the kernels off the GPU), and the
 * devices E's provenance names (what a checkpoint from before the kernels were recorded is read by).
 */
export interface TrainStepsKernels {
  settings: RunSettings;
  devices: readonly string[];
}

/**
 * A checkpoint's precision and kernels against this run's, before any work: a key it does not
 * record reads as E's do (f32; util/kernels-record.ts for the kernels, by E's provenance), and a
 * resume where that differs or cannot be told is refused in one line.
 */
function checkKernels(ck: CheckpointState, now: TrainStepsKernels, dir: string): void {
  const saved = (ck.meta.settings ?? {}) as Record<string, unknown>;
  const restart = '--force starts over';
  const kernels = kernelsResume(saved, now.settings, { devices: now.devices, restart, queueable: false });
  const f16 = `no ${F16_KEY} recorded (written before it was): read as 0, f32 operands (resume without ${F16_KEY}=1); ${restart}`;
  checkRunSettings({ [F16_KEY]: 0, ...kernels.saved }, now.settings, {
    where: ` in ${dir}`,
    advice: 'resume with its settings, or --force starts over',
    adviceFor: (k, was, v) => kernels.adviceFor(k, was, v) ?? (k === F16_KEY && !(k in saved) ? f16 : undefined),
  });
}

/**
 * E.train-steps locked for the run (with --evaluated and --train-steps), once E is open and every
 * check passed: --force discards an earlier run's checkpoint here. `resume`: checkTrainSteps',
 * whose precision and kernels are checked against `kernels` here, before any work. The checkpoint
 * stays until the command is done, so a kill in the --train-epochs hand-over resumes without
 * training these steps again.
 */
export function openTrainSteps(
  v: CellsValues,
  resume: CheckpointState | null,
  ctx: RunContext,
  kernels: TrainStepsKernels,
): TrainStepsState | null {
  const steps = v['train-steps'];
  if (!v.evaluated) return null;
  const dir = trainStepsDir(v.evaluated);
  if (steps === undefined && !(v.force && hasCheckpoint(dir))) return null;
  if (resume) checkKernels(resume, kernels, dir);
  const lock = lockCheckpointDir(dir);
  // Once only: done() is followed by release() (a finally), and DIR may be another run's by then.
  let dropped = false;
  const drop = () => {
    if (dropped) return;
    dropped = true;
    removeCheckpointDir(dir, lock);
  };
  discardForForce(dir, v.force, ctx);
  if (steps === undefined) {
    drop();
    return null;
  }
  let images: RunSettings = {};
  return {
    images: async (now) => {
      const saved = resume ? savedSetting(resume, DATA_KEY) : undefined;
      images = { [DATA_KEY]: await recordedSplitsData(saved, now) };
      // A checkpoint saved before the images were recorded resumes, taken to be of these.
      if (resume && saved !== undefined) {
        const former = formerSplitReason((resume.meta.settings ?? {}) as Record<string, unknown>, { ...images, ...SPLIT });
        if (former) throw new UsageError(`--resume: ${dir}: ${former}; --force starts over`);
        check(resume, images, dir);
      }
      images = { ...images, ...SPLIT };
    },
    checkpoint: (choices) => {
      const settings = { ...knownBefore(v), architecture: choices.join(',') };
      if (resume) {
        check(resume, settings, dir);
        if (!v.quiet)
          ctx.io.err(`resuming the --train-steps training after step ${String(resume.meta.stepsDone)} of ${steps} from ${dir}\n`);
      }
      return { dir, every: saveEvery(steps), settings: { ...settings, ...images, ...kernels.settings }, resume };
    },
    done: drop,
    // A run stopped before its first save leaves no directory.
    release: () => {
      if (dropped) return; // the lock went with DIR
      if (hasCheckpoint(dir)) lock.release();
      else drop();
    },
  };
}
