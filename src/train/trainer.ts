/**
 * Training a found network from scratch (`wgnas train`): epochs of SGD with Nesterov momentum under
 * a warm-up + cosine schedule, weight decay (not on BN parameters and biases; recipe 'nb201': on all,
 * with NAS-Bench-201's per-epoch cosine), label smoothing,
 * random crop + flip, BN running statistics (PyTorch's momentum update; evaluation normalises with
 * them), the test split evaluated after every epoch, and a checkpoint after every epoch that a
 * resumed run continues from bit for bit (batches and augmentation are pure in (seed, step)).
 *
 * Images are decoded per step, one batch ahead of the device (Prefetcher): memory holds two
 * minibatches, never the dataset.
 */
import { type Backend, F16_KEY } from '../backend/index.js';
import { augment } from '../data/cifar10.js';
import { type ImageDataset, Prefetcher } from '../data/image-dataset.js';
import { checkLabels } from '../data/labels.js';
import { batchTensors, BnRunningStats } from '../nn/bn-running.js';
import { TrainingDivergedError, WeightSgd } from '../nn/optim.js';
import type { ScorableNet } from '../nn/scorable.js';
import { Tape } from '../nn/tape.js';
import {
  applyCheckpoint,
  checkCheckpointKind,
  CheckpointError,
  type CheckpointState,
  hasCheckpoint,
  matchCheckpoint,
  readCheckpointBinaries,
  readCheckpointState,
  saveCheckpoint,
} from '../nn/checkpoint.js';
import { killPoint } from '../util/durable.js';
import { Rng } from '../util/rng.js';
import { kernelsResume, provenanceDevices } from '../util/kernels-record.js';
import { checkRunSettings, type RunSettings } from '../util/run-settings.js';
import { mixSeed } from '../util/seed.js';
import { countCorrect, smoothedCrossEntropy } from '../nn/loss.js';
import { nb201CosineLr, warmupCosineLr } from './schedule.js';
import { evalBatchOf, type TrainSettings } from './settings.js';

export { TRAIN_DEFAULTS, type TrainSettings } from './settings.js';

export interface TrainData {
  train: ImageDataset;
  test: ImageDataset;
  /** Images held out of the training split (--val), evaluated after every epoch to pick the best one. */
  val?: ImageDataset;
  /** Image side the network takes. */
  size: number;
}

export interface EpochRecord {
  epoch: number;
  /** Learning rate of the epoch's first step. */
  lrFirst: number;
  /** Learning rate of the epoch's last step. */
  lrLast: number;
  trainLoss: number;
  trainAcc: number;
  /** On the held-out images (TrainData.val), when there are some. */
  valLoss?: number;
  valAcc?: number;
  testLoss: number;
  testAcc: number;
  seconds: number;
}

export interface TrainRunOptions {
  /** Save after every epoch into this directory (src/nn/checkpoint.ts: one rename switches a save in). */
  checkpointDir?: string;
  /** Continue from checkpointDir (settings must match `settings`, else ResumeMismatchError naming the flag). */
  resume?: boolean;
  /**
   * Continue from this state.json, already read and checked by the caller before any work
   * (readCheckpointState, checkTrainCheckpoint): it is resumed as read, its binaries verified against it.
   */
  resumeState?: CheckpointState;
  /** The run's settings by flag, recorded with each checkpoint and checked on resume. */
  settings?: RunSettings;
  onEpoch?(r: EpochRecord): void;
  /** Called once a checkpoint is restored, before the first epoch this process trains. */
  onResume?(epochsDone: number): void;
  onStep?(step: number, totalSteps: number, loss: number): void;
}

export interface TrainOutcome {
  history: EpochRecord[];
  /** Epochs this process ran (the rest came from the checkpoint). */
  epochsRun: number;
  resumedFrom: number;
  stepsPerEpoch: number;
}

const CHECKPOINT_KIND = 'wgnas-train';

/**
 * A checkpoint is a train run's, with these settings (one line naming a changed flag); `dir` for the
 * message. A setting the checkpoint does not record (written before it was) is not compared, except
 * the GPU's: the precision reads as f32 (WGNAS_F16 0, as result files read it) and the kernels as
 * src/util/kernels-record.ts says (refused where they cannot be told, e.g. the adapter kind of a run
 * whose provenance.json names no software adapter).
 */
export function checkTrainCheckpoint(ck: CheckpointState, settings: RunSettings, dir: string): void {
  checkCheckpointKind(ck, CHECKPOINT_KIND, 'train');
  const meta = ck.meta as Record<string, unknown>;
  const saved = (meta.settings ?? {}) as Record<string, unknown>;
  const restart = '--force starts over';
  const kernels = kernelsResume(saved, settings, { devices: provenanceDevices(ck.provenance), restart, queueable: false });
  const f16 = `no ${F16_KEY} recorded (written before it was): read as 0, f32 operands (resume without ${F16_KEY}=1); ${restart}`;
  checkRunSettings({ [F16_KEY]: 0, ...kernels.saved }, settings, {
    skipUnrecorded: true,
    where: ` in ${dir}`,
    advice: 'give the saved settings, or --force to start over',
    adviceFor: (k, was, now) =>
      kernels.adviceFor(k, was, now) ??
      (k === F16_KEY && !(k in saved) ? f16 : undefined) ??
      (k === 'network digest'
        ? `--net names another network than the one this checkpoint trains; give its file, or ${restart}`
        : undefined),
  });
}

export class Trainer {
  readonly bn: BnRunningStats;
  readonly sgd: WeightSgd;
  readonly history: EpochRecord[] = [];
  readonly stepsPerEpoch: number;
  readonly classes: number;

  constructor(
    readonly backend: Backend,
    readonly net: ScorableNet,
    readonly data: TrainData,
    readonly s: TrainSettings,
  ) {
    if (!Number.isInteger(s.batchSize) || s.batchSize < 2)
      throw new RangeError(`batch size must be an integer >= 2 (batch norm needs two images), got ${s.batchSize}`);
    if (s.batchSize > data.train.count)
      throw new RangeError(
        `batch size ${s.batchSize} is more than the ${data.train.count} training images of ${data.train.name}`,
      );
    if (data.test.classes !== data.train.classes)
      throw new RangeError(
        `${data.test.name}: the test split has ${data.test.classes} classes, the training split ${data.train.classes}`,
      );
    this.classes = data.train.classes;
    // The network's head is sized to this count (withClasses): a label past it would train on garbage.
    checkLabels(data.train.labels, this.classes, `Trainer (${data.train.name} train split)`);
    checkLabels(data.test.labels, this.classes, `Trainer (${data.test.name} test split)`);
    if (data.val) checkLabels(data.val.labels, this.classes, `Trainer (${data.val.name} held-out images)`);
    this.stepsPerEpoch = Math.floor(data.train.count / s.batchSize);
    this.bn = new BnRunningStats(backend, { momentum: s.bnMomentum });
    // NAS-Bench-201 decays every parameter (its SGD takes net.parameters()); the default recipe spares BN and biases.
    this.sgd = new WeightSgd(backend, net.params, {
      momentum: s.momentum,
      nesterov: true,
      weightDecay: s.weightDecay,
      ...(s.recipe === 'nb201' ? { noDecay: [] } : {}),
    });
  }

  get totalSteps(): number {
    return this.s.epochs * this.stepsPerEpoch;
  }

  /** Steps of the linear warm-up (NB201's recipe warms up whole epochs). */
  get warmupSteps(): number {
    return Math.round(this.s.warmupEpochs * this.stepsPerEpoch);
  }

  lrAt(step: number): number {
    if (this.s.recipe === 'nb201') return nb201CosineLr(this.s.lr, step, this.stepsPerEpoch, this.s.epochs, this.s.warmupEpochs);
    return warmupCosineLr(this.s.lr, step, this.totalSteps, this.warmupSteps);
  }

  /** Image indices of step k of `epoch`: a seeded permutation per epoch, the last partial batch dropped. */
  indicesAt(epoch: number, perm: readonly number[], k: number): number[] {
    return perm.slice(k * this.s.batchSize, (k + 1) * this.s.batchSize);
  }

  /** The epoch's order of the training images (pure in (seed, epoch)). */
  permutation(epoch: number): number[] {
    return new Rng(mixSeed(this.s.seed, 11, epoch)).shuffle([...Array(this.data.train.count).keys()]);
  }

  /** One epoch of training; returns its mean loss and accuracy and its first and last steps' lr. */
  async trainEpoch(
    epoch: number,
    onStep?: TrainRunOptions['onStep'],
  ): Promise<{ loss: number; acc: number; lrFirst: number; lrLast: number }> {
    const { train, size } = this.data;
    const perm = this.permutation(epoch);
    const pre = new Prefetcher((k) => train.images(this.indicesAt(epoch, perm, k), size), this.stepsPerEpoch);
    let lossSum = 0;
    let correct = 0;
    let lr = 0;
    for (let k = 0; k < this.stepsPerEpoch; k++) {
      const step = epoch * this.stepsPerEpoch + k;
      const idx = this.indicesAt(epoch, perm, k);
      const n = idx.length;
      const raw = await pre.get(k);
      const xs = this.s.augment
        ? augment(raw, n, new Rng(mixSeed(this.s.seed, 12, step)), { size, mean: train.mean, std: train.std })
        : raw;
      const labels = Float32Array.from(idx, (i) => train.labels[i]);
      lr = this.lrAt(step);
      const r = await this.step(xs, labels, lr, `epoch ${epoch + 1} step ${k + 1}`);
      lossSum += r.loss;
      correct += r.correct;
      onStep?.(step + 1, this.totalSteps, r.loss);
      killPoint('train.step');
    }
    return {
      loss: lossSum / this.stepsPerEpoch,
      acc: correct / (this.stepsPerEpoch * this.s.batchSize),
      lrFirst: this.lrAt(epoch * this.stepsPerEpoch),
      lrLast: lr,
    };
  }

  /**
   * One SGD step on a batch (xs: n normalised images, labels: their classes). The label-smoothed loss
   * and its gradient are computed on the device, so forward, loss, backward and update are recorded
   * without a wait; one read at the end brings back the loss, the logits (for the accuracy) and every
   * BN's batch statistics. A non-finite loss throws TrainingDivergedError naming --lr (`where`: the
   * step, for the message), before the running statistics take the batch's. The weights and momentum
   * then hold the failed step's update (the update is recorded before that one read; checking first
   * would cost a second read every step): nothing is saved after the error, as run() saves only
   * after a whole epoch, so the last checkpoint is the previous epoch's.
   */
  async step(xs: Float32Array, labels: Float32Array, lr: number, where: string): Promise<{ loss: number; correct: number }> {
    const n = labels.length;
    const { size } = this.data;
    const t = new Tape(this.backend, { bnBatchStats: true });
    const x = this.backend.upload(xs, [n, 3, size, size]);
    const y = this.backend.upload(labels, [n]);
    try {
      const { logits } = this.net.forward(t, t.input(x));
      const loss = t.crossEntropy(logits, y, 1, this.s.labelSmoothing);
      t.backward(loss);
      this.sgd.step(lr);
      const [l, lg, ...bn] = await this.backend.readMany([loss.value, logits.value, ...batchTensors(t.bnBatches)]);
      if (!Number.isFinite(l[0]))
        throw new TrainingDivergedError(where, `the loss is ${l[0]}`, { value: this.s.lr, flag: '--lr' });
      this.bn.fold(t.bnBatches, bn);
      return { loss: l[0], correct: countCorrect(lg, labels, this.classes) };
    } finally {
      this.net.zeroGrad();
      t.dispose();
      x.dispose();
      y.dispose();
    }
  }

  /** Loss (without smoothing) and accuracy on `ds`, BN from the running statistics. */
  async evaluate(ds: ImageDataset = this.data.test): Promise<{ loss: number; acc: number }> {
    const B = Math.min(evalBatchOf(this.s), ds.count);
    const batches = Math.ceil(ds.count / B);
    const range = (k: number) => Array.from({ length: Math.min(B, ds.count - k * B) }, (_, i) => k * B + i);
    const pre = new Prefetcher((k) => ds.images(range(k), this.data.size), batches);
    let lossSum = 0;
    let correct = 0;
    for (let k = 0; k < batches; k++) {
      const idx = range(k);
      const x = this.backend.upload(await pre.get(k), [idx.length, 3, this.data.size, this.data.size]);
      const t = new Tape(this.backend, { noGrad: true, bnEval: this.bn });
      try {
        const { logits } = this.net.forward(t, t.input(x));
        const r = smoothedCrossEntropy(
          await logits.value.read(),
          Float32Array.from(idx, (i) => ds.labels[i]),
          this.classes,
          0,
        );
        lossSum += r.loss * idx.length;
        correct += r.correct;
      } finally {
        t.dispose();
        x.dispose();
      }
    }
    return { loss: lossSum / ds.count, acc: correct / ds.count };
  }

  /** Trains the remaining epochs (all of them, or those after the checkpoint with resume). */
  async run(o: TrainRunOptions = {}): Promise<TrainOutcome> {
    let start = 0;
    if (o.resumeState) start = this.restore(o.resumeState, o.settings ?? {}, o.checkpointDir ?? o.resumeState.path);
    else if (o.resume) {
      if (!o.checkpointDir || !hasCheckpoint(o.checkpointDir))
        throw new CheckpointError(`--resume: no checkpoint in ${o.checkpointDir ?? '(no directory)'}`);
      start = this.restore(readCheckpointState(o.checkpointDir), o.settings ?? {}, o.checkpointDir);
    }
    if (start > 0) o.onResume?.(start);
    for (let epoch = start; epoch < this.s.epochs; epoch++) {
      const t0 = performance.now();
      const tr = await this.trainEpoch(epoch, o.onStep);
      const va = this.data.val && (await this.evaluate(this.data.val));
      const te = await this.evaluate();
      const rec: EpochRecord = {
        epoch: epoch + 1,
        lrFirst: tr.lrFirst,
        lrLast: tr.lrLast,
        trainLoss: tr.loss,
        trainAcc: tr.acc,
        ...(va ? { valLoss: va.loss, valAcc: va.acc } : {}),
        testLoss: te.loss,
        testAcc: te.acc,
        seconds: (performance.now() - t0) / 1000,
      };
      this.history.push(rec);
      if (o.checkpointDir) await this.save(o.checkpointDir, o.settings ?? {});
      o.onEpoch?.(rec);
    }
    return { history: this.history, epochsRun: this.s.epochs - start, resumedFrom: start, stepsPerEpoch: this.stepsPerEpoch };
  }

  private async save(dir: string, settings: RunSettings): Promise<void> {
    const bn: Record<string, { mean: number[]; var: number[] }> = {};
    for (const [name, s] of this.bn.entries()) bn[name] = { mean: Array.from(s.mean), var: Array.from(s.var) };
    await saveCheckpoint(dir, this.net.params, this.sgd.buffers, {
      kind: CHECKPOINT_KIND,
      settings,
      epochsDone: this.history.length,
      history: this.history,
      bn,
    });
  }

  /** Loads a checkpoint's state and its binaries (after every check passed); returns the epochs it had done. */
  private restore(state: CheckpointState, settings: RunSettings, dir: string): number {
    checkTrainCheckpoint(state, settings, dir);
    const meta = state.meta as Record<string, unknown>;
    const done = meta.epochsDone;
    const history = meta.history;
    const bn = meta.bn as Record<string, { mean: number[]; var: number[] }> | undefined;
    if (!Number.isInteger(done) || !Array.isArray(history) || history.length !== done || !bn || typeof bn !== 'object') {
      throw new CheckpointError(`${state.path}/state.json: epochsDone, history or bn statistics missing or inconsistent`);
    }
    const ck = readCheckpointBinaries(state);
    const match = matchCheckpoint(ck, this.net.params);
    const tensors = new Map<string, { data: number[] }>();
    for (const [name, s] of Object.entries(bn)) {
      if (!Array.isArray(s.mean) || !Array.isArray(s.var) || s.mean.length !== s.var.length)
        throw new CheckpointError(`${ck.path}/state.json: BN '${name}' statistics are malformed`);
      tensors.set(`${name}.running_mean`, { data: s.mean });
      tensors.set(`${name}.running_var`, { data: s.var });
    }
    applyCheckpoint(this.backend, ck, this.net.params, this.sgd.buffers, match);
    this.bn.load(tensors);
    this.history.push(...(history as Array<EpochRecord & { lr?: number }>).map((h) => this.withLrs(h)));
    return done as number;
  }

  /**
   * An epoch's record with its first and last lr: a checkpoint written before they were recorded
   * has `lr` (the last); both follow from the schedule, which the settings check made this run's.
   */
  private withLrs(h: EpochRecord & { lr?: number }): EpochRecord {
    if (h.lrFirst !== undefined && h.lrLast !== undefined) return h;
    const { lr: _old, ...rest } = h;
    const first = (h.epoch - 1) * this.stepsPerEpoch;
    return { ...rest, lrFirst: this.lrAt(first), lrLast: this.lrAt(first + this.stepsPerEpoch - 1) };
  }

  /** Parameters and BN running statistics by name (the weights-file names, src/export/weights.ts). */
  async weights(): Promise<Map<string, { shape: number[]; data: Float32Array }>> {
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const p of this.net.params) out.set(p.name, { shape: [...p.value.shape], data: await p.value.read() });
    for (const [k, v] of this.bn.toTensors()) out.set(k, v);
    return out;
  }

  dispose(): void {
    this.bn.dispose();
    this.sgd.dispose();
  }
}
