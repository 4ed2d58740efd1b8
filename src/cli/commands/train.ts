/** wgnas train: a found network trained from scratch, with its learning curve, weights and report. */
import { join } from 'node:path';

import { openDataset, parseDatasetSpec } from '../../data/dataset-spec.js';
import { firstImages, type ImageDataset } from '../../data/image-dataset.js';
import { describeNetwork, type ExportNetwork, networkDigest } from '../../export/index.js';
import type { InputSpec } from '../../export/preprocessing.js';
import { writeWeights } from '../../export/weights.js';
import { NativeUnavailableError } from '../../native/binding.js';
import {
  checkCheckpointDirFree,
  discardCheckpoint,
  hasCheckpoint,
  lockCheckpointDir,
  readCheckpointState,
} from '../../nn/checkpoint.js';
import { bytesAt } from '../../backend/pool-probe.js';
import { openBackend } from '../../backend/select.js';
import { holdOut } from '../../train/holdout.js';
import { largestEvalBatch, probeTrainMemory, trainPoolBytes } from '../../train/memory-probe.js';
import { cappedWarmup, WARMUP_MAX_SHARE } from '../../train/settings.js';
import {
  buildNetwork,
  checkTrainCheckpoint,
  type EpochRecord,
  type LatencyResult,
  learningCurveSvg,
  measureLatencyMs,
  measureOpChainMs,
  NB201_RECIPE,
  networkInputSize,
  networkMadds,
  networkOpChain,
  type TrainData,
  Trainer,
  type TrainSettings,
  withClasses,
} from '../../train/index.js';
import { plural } from '../../util/format.js';
import { removeDurable, sweepTempFiles, writeFileAtomic } from '../../util/durable.js';
import type { RunSettings } from '../../util/run-settings.js';
import { gpuKernelsOf, bnSetting, deviceOf, f16Setting, openDevice, precisionOf, trainingDevice } from '../device.js';
import { UsageError } from '../errors.js';
import { checkTrainingMemory, imageBytes, trainingProcessBytes } from '../training-memory.js';
import { networkOf } from '../network.js';
import { checkFilesIn } from '../paths.js';
import {
  cpuThreadsOf,
  recordedSplitsData,
  sampledDataNote,
  savedSetting,
  splitsData,
  threadsSetting,
} from '../resume-settings.js';
import { checkpointProvenance, provenanceOf, withBackend, writeCheckpointProvenance } from '../provenance.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { TRAIN, TRAIN_FILES, type TRAIN_OPTIONS } from '../specs/train.js';

export const summary = TRAIN.summary;

type Values = ValuesOf<typeof TRAIN_OPTIONS>;

/**
 * A split of --dataset at the network's resolution, cut to --train-images / --test-images; `subset`:
 * the CIFAR-10 subset read instead of the release, named by where it came from (openDataset), and
 * `note` its fallback note, which the caller prints once the command line has passed its checks (a
 * refusal stays one line).
 */
async function openSplit(
  values: Values,
  split: 'train' | 'test',
  size: number,
): Promise<{ ds: ImageDataset; subset: string | undefined; note: string | undefined }> {
  const { ds, note, subset } = await openDataset(parseDatasetSpec(values.dataset), split, { size });
  const flag = split === 'train' ? 'train-images' : 'test-images';
  const want = values[flag];
  if (want === undefined) return { ds, subset, note };
  if (want > ds.count)
    throw new UsageError(`--${flag} ${want}: ${ds.name} has ${ds.count} ${split === 'train' ? 'training' : 'test'} images`);
  return { ds: firstImages(ds, want), subset, note };
}

/** The dataset as the outputs name it: a subset said as such (and whose), with the images used (a full cifar10 is another). */
function datasetLabel(train: ImageDataset, test: ImageDataset, subset: string | undefined): string {
  return subset ? `${train.name} (${subset}: ${train.count} train / ${test.count} test images)` : train.name;
}

/**
 * A given warm-up that fills the run is refused (the lr would never decay), as is a part of an
 * epoch under --recipe nb201 (its warm-up is in whole epochs: a fraction would overshoot the peak lr).
 */
function checkWarmup(warmupEpochs: number, epochs: number, given: boolean, recipe: string): void {
  if (given && warmupEpochs > 0 && warmupEpochs >= epochs)
    throw new UsageError(
      `--warmup-epochs ${warmupEpochs} is the whole run of --epochs ${epochs}: the learning rate would never decay; give fewer warm-up epochs than --epochs`,
    );
  if (recipe === 'nb201' && !Number.isInteger(warmupEpochs))
    throw new UsageError(`--warmup-epochs ${warmupEpochs}: --recipe nb201 warms up whole epochs; give an integer`);
}

/** The warm-up the run takes (settings.ts cappedWarmup) and the note when the default one was cut. */
function warmupOf(
  warmupEpochs: number,
  epochs: number,
  stepsPerEpoch: number,
  given: boolean,
): { warmupEpochs: number; note: string } {
  const w = cappedWarmup(warmupEpochs, epochs, given);
  if (!w.capped) return { warmupEpochs, note: '' };
  const steps = Math.round(w.warmupEpochs * stepsPerEpoch);
  return {
    warmupEpochs: w.warmupEpochs,
    note:
      `note: the default warm-up (${plural(warmupEpochs, 'epoch')}) is cut to ${WARMUP_MAX_SHARE * 100} % of the ${plural(epochs, 'epoch')}: ` +
      `${steps} of ${epochs * stepsPerEpoch} steps, so the learning rate decays to 0 (--warmup-epochs sets it)\n`,
  };
}

/**
 * The run's peak (a probe step of its network on devices of its own: cli/training-memory.ts) against
 * the machine's memory, as score's check: refused above it, a warning above what is available now.
 */
async function checkTrainMemory(
  threads: number | null,
  net: ExportNetwork,
  data: TrainData,
  s: TrainSettings,
  io: RunContext['io'],
): Promise<void> {
  const residentBytes = process.memoryUsage().rss; // before the probe's devices
  const probe = await probeTrainMemory(() => openBackend('cpu', { threads: threads ?? undefined }), net, data, s);
  const evalBatch = largestEvalBatch(data, s);
  // The steps' minibatches: the one on the device's way, the next decoded, the augmented copy; evaluation's two.
  const hostBytes = imageBytes(Math.max(3 * s.batchSize, 2 * evalBatch), data.size);
  checkTrainingMemory(
    {
      flag: 'training',
      eachBytes: trainingProcessBytes(trainPoolBytes(probe, data, s), hostBytes, residentBytes),
      at: `at --batch ${s.batchSize} on ${data.size}x${data.size} images`,
      // Evaluation's batch is at least 100 (Trainer.evaluate): where it holds the most, fewer test images lower it.
      fewer:
        bytesAt(probe.evaluate, evalBatch) > bytesAt(probe.step, s.batchSize)
          ? `give fewer --test-images (evaluated ${evalBatch} at a time) or a smaller --batch`
          : 'give a smaller --batch',
    },
    io,
  );
}

/** The network of --net / --nb201 with the dataset's classes. */
function trainNetwork(values: Values, classes: number): ExportNetwork {
  return withClasses(networkOf({ ...values, classes }), classes);
}

async function trainCmd(values: Values, ctx: RunContext): Promise<void> {
  const { io } = ctx;
  const out = values.out!;
  const ckDir = join(out, 'checkpoint');
  checkFilesIn('out', out, TRAIN_FILES, ['checkpoint']);
  // A run training into DIR now is named as running, not as an earlier run to --resume.
  checkCheckpointDirFree(ckDir);
  if (values.resume && !hasCheckpoint(ckDir)) throw new UsageError(`--resume: no checkpoint in ${ckDir}`);
  if (!values.resume && !values.force && hasCheckpoint(ckDir)) {
    throw new UsageError(`${ckDir} holds a checkpoint of an earlier run: --resume continues it, --force starts over`);
  }
  // --recipe nb201 sets NAS-Bench-201's values for the flags not given.
  const recipe = values.recipe;
  const pick = <K extends keyof typeof NB201_RECIPE>(flag: string, key: K, value: number): number =>
    recipe === 'nb201' && !ctx.given.has(flag) ? NB201_RECIPE[key] : value;
  const epochs = pick('epochs', 'epochs', values.epochs);
  const warmupEpochs = pick('warmup-epochs', 'warmupEpochs', values['warmup-epochs']);
  checkWarmup(warmupEpochs, epochs, ctx.given.has('warmup-epochs'), recipe);
  // Network and data are checked before the device opens.
  const probe = trainNetwork(values, 1);
  const size = networkInputSize(probe);
  const { ds: trainSplit, subset, note: dataNote } = await openSplit(values, 'train', size);
  const { ds: test } = await openSplit(values, 'test', size);
  const dataset = datasetLabel(trainSplit, test, subset);
  // --val N: held out of the training images (class-balanced, seeded), the best epoch chosen on them.
  const valN = values.val;
  if (valN !== undefined && valN > trainSplit.count - 2)
    throw new UsageError(
      `--val ${valN} leaves ${trainSplit.count - valN} of the ${trainSplit.count} training images of ${trainSplit.name} to train on (at least 2)`,
    );
  const { train, val } = valN === undefined ? { train: trainSplit, val: undefined } : holdOut(trainSplit, valN, values.seed);
  // The network carries its BN eps (a net.config's bn.eps); its bn.momentum is --bn-momentum's default.
  const net = trainNetwork(values, train.classes);
  // The default batch is at most the training images (a small folder trains in batches of all of them).
  const batch = pick('batch', 'batchSize', values.batch);
  const batchSize = ctx.given.has('batch') ? batch : Math.max(2, Math.min(batch, train.count));
  if (batchSize > train.count)
    throw new UsageError(
      `--batch ${batchSize} is more than the ${train.count} training images of ${train.name}${val ? ` (--val ${val.count} held out)` : ''}`,
    );
  const warmup = warmupOf(warmupEpochs, epochs, Math.floor(train.count / batchSize), ctx.given.has('warmup-epochs'));
  const s: TrainSettings = {
    epochs,
    batchSize,
    lr: pick('lr', 'lr', values.lr),
    momentum: pick('momentum', 'momentum', values.momentum),
    weightDecay: pick('weight-decay', 'weightDecay', values['weight-decay']),
    labelSmoothing: pick('label-smoothing', 'labelSmoothing', values['label-smoothing']),
    warmupEpochs: warmup.warmupEpochs,
    augment: !values['no-augment'],
    seed: values.seed,
    bnMomentum:
      !ctx.given.has('bn-momentum') && net.kind === 'mobilenet' && net.bnMomentum !== undefined
        ? net.bnMomentum
        : values['bn-momentum'],
    recipe,
  };
  // A given --bn-momentum wins over the network file's; said, since the file's is what its search recorded.
  const fileMomentum = net.kind === 'mobilenet' ? net.bnMomentum : undefined;
  const bnNote =
    fileMomentum !== undefined && fileMomentum !== s.bnMomentum
      ? `note: --bn-momentum ${s.bnMomentum} overrides bn.momentum ${fileMomentum} of the network in --net ${values.net}\n`
      : '';
  const device = await deviceOf(values);
  const threads = cpuThreadsOf(device, values);
  // On the GPU the weights depend on the precision and the kernels too (their sums' order): recorded, known before any work.
  const f16 = await precisionOf(device);
  const kernels = bnSetting(await gpuKernelsOf(device));
  // The same --dataset may read other files on a resume (another data root, a release fetched
  // since): a fingerprint of both splits is recorded; the same images found elsewhere resume.
  const imagesNow = await splitsData([trainSplit, test], size);
  // On the CPU a run too big for the memory would be killed by the OOM killer mid-run, with no word:
  // refused now, before the checkpoint directory is made. A GPU's memory is not reported: not checked.
  if (device === 'cpu') await checkTrainMemory(threads, net, { train, test, size, ...(val ? { val } : {}) }, s, io);
  // The stale-lock note waits for the checks below: a refused resume says one line, its refusal.
  let staleNote = '';
  const lock = lockCheckpointDir(
    ckDir,
    (o) => (staleNote = `note: ${ckDir} was locked by process ${o.pid}, which is gone: taking it over\n`),
  );
  try {
    sweepTempFiles(out, true); // the weights' and report's temporaries a killed run left beside them
    // --resume reads the checkpoint's state.json once, under the lock: its settings are checked
    // before the device opens, and the run continues this same state.
    const ck = values.resume ? readCheckpointState(ckDir) : null;
    const images = await recordedSplitsData(ck ? savedSetting(ck, 'dataset images') : undefined, imagesNow);
    const digest = networkDigest(net);
    const settings: RunSettings = {
      network: describeNetwork(net),
      // Checkpoints from before it record none: skipped (a weight's shape still tells most networks apart).
      ...(digest ? { 'network digest': digest } : {}),
      dataset: train.name,
      // The counts before the images' fingerprint: another --val or --train-images is named as such.
      'val-images': val?.count ?? 0,
      'train-images': trainSplit.count,
      'test-images': test.count,
      'dataset images': images,
      recipe,
      epochs: s.epochs,
      batch: s.batchSize,
      lr: s.lr,
      'warmup-epochs': s.warmupEpochs,
      momentum: s.momentum,
      'weight-decay': s.weightDecay,
      'label-smoothing': s.labelSmoothing,
      'bn-momentum': s.bnMomentum,
      augment: s.augment,
      seed: s.seed,
      device,
      // oneDNN splits its reductions by thread: on the CPU the weights depend on the count (slightly).
      ...threadsSetting(threads, 'cpu-threads'),
      ...f16Setting(f16),
      ...kernels,
    };
    // A checkpoint from before --val recorded none: it trained on every image.
    if (ck && val && savedSetting(ck, 'val-images') === undefined)
      throw new UsageError(
        `--resume: the run in ${ckDir} trained without --val; give the saved settings, or --force to start over`,
      );
    if (ck) checkTrainCheckpoint(ck, settings, ckDir);
    if (dataNote) io.err(`${dataNote}\n`);
    if (staleNote) io.err(staleNote);
    if (ck) io.err(await sampledDataNote(images, imagesNow, ckDir));
    // The report's provenance, kept beside the checkpoints meanwhile (a resume adds itself; written below).
    // This run's own fingerprint of every image (`images` may be the matched record of an earlier run).
    const started = provenanceOf(ctx, values, { device, threads, f16, data: imagesNow.text });
    const prov = checkpointProvenance(ckDir, ck !== null, started, io);
    if (bnNote) io.err(bnNote);
    if (warmup.note) io.err(warmup.note);
    const backend = await openDevice(device, { ...values, 'cpu-threads': threads ?? undefined }, ctx.io);
    const model = buildNetwork(backend, net, s.seed);
    const trainer = new Trainer(backend, model, { train, test, size, ...(val ? { val } : {}) }, s);
    try {
      // --force: the old checkpoint goes only now, once the device opened (a run refused earlier keeps it).
      if (values.force && hasCheckpoint(ckDir)) discardCheckpoint(ckDir);
      // The provenance joins ckDir's once the run goes ahead: a fresh run now, a resume once restored.
      let recorded = false;
      const recordProvenance = () => {
        if (!recorded) writeCheckpointProvenance(ckDir, withBackend(prov, backend));
        recorded = true;
      };
      if (!ck) recordProvenance();
      const log = (line: string) => values.quiet || io.err(`${line}\n`);
      const held = val ? ` (${val.count} of them held out: --val)` : '';
      log(
        `training ${describeNetwork(net)} on ${subset ? `${train.name} (${subset})` : train.name}: ${train.classes} classes, ${trainSplit.count} train${held} / ${test.count} test images at ${size}x${size}, ` +
          `${plural(s.epochs, 'epoch')} of ${plural(trainer.stepsPerEpoch, 'step')} (batch ${s.batchSize}), on ${trainingDevice(backend)}`,
      );
      const pct = (x: number) => `${(100 * x).toFixed(2)} %`;
      const res = await trainer.run({
        checkpointDir: ckDir,
        resumeState: ck ?? undefined,
        settings,
        onResume: (done) => {
          recordProvenance();
          log(`resuming after epoch ${done} of ${s.epochs} from ${ckDir}`);
        },
        onEpoch: (r) => {
          recordProvenance(); // a checkpoint with no epoch done resumes without onResume
          log(
            `epoch ${r.epoch}/${s.epochs}: lr ${r.lrFirst.toPrecision(3)} to ${r.lrLast.toPrecision(3)}, train loss ${r.trainLoss.toFixed(4)} acc ${pct(r.trainAcc)}, ` +
              (r.valAcc !== undefined ? `val loss ${r.valLoss!.toFixed(4)} acc ${pct(r.valAcc)}, ` : '') +
              `test loss ${r.testLoss.toFixed(4)} acc ${pct(r.testAcc)} (${r.seconds.toFixed(1)} s)`,
          );
        },
      });
      const weights = await trainer.weights();
      const input = inputSpecOf(train, size, dataset);
      // report.json is the record of a whole set: the old one goes before the weights and the curve
      // are replaced and the new one comes last, so a kill in between leaves no report beside another
      // run's weights (a --force or --resume run rewrites all of them).
      removeDurable(join(out, 'report.json'));
      writeWeights(join(out, 'weights.json'), weights, describeNetwork(net), input);
      const last = res.history[res.history.length - 1];
      const best = bestEpoch(res.history);
      const params = model.paramCount();
      const madds = networkMadds(net);
      const title = `wgnas train: ${describeNetwork(net)}`;
      writeFileAtomic(
        join(out, 'curve.svg'),
        learningCurveSvg(
          res.history,
          title,
          `${dataset}, ${plural(s.epochs, 'epoch')}, batch ${s.batchSize}, lr ${s.lr}${recipe === 'nb201' ? ', NB201 recipe' : ''}; final test accuracy ${pct(last.testAcc)}` +
            (best.selectedOn === 'val' ? `; best epoch by val: ${best.epoch} (test ${pct(best.testAccuracy)})` : ''),
        ),
      );
      const { opChain, forward } = await trainLatency(net, weights, values['latency-runs'], io);
      const report = {
        format: 'wgnas-train-report',
        // 2: history[] has lrFirst / lrLast (1: lr, the last step's), best, schedule, dataset.
        version: 2,
        network: describeNetwork(net),
        dataset,
        settings,
        deviceName: backend.deviceName,
        provenance: withBackend(prov, backend),
        testAccuracy: last.testAcc,
        ...(val ? { valAccuracy: last.valAcc } : {}),
        // The highest test accuracy of any epoch: chosen on the test images themselves (optimistic).
        bestTestAccuracy: Math.max(...res.history.map((h) => h.testAcc)),
        best,
        schedule: {
          stepsPerEpoch: trainer.stepsPerEpoch,
          totalSteps: trainer.totalSteps,
          warmupSteps: trainer.warmupSteps,
          peakLr: s.lr,
        },
        params,
        madds,
        // The deployable network's latency (the addon's op chain, as predict --measure); null where the network is no chain.
        latencyMs: opChain?.latencyMs ?? null,
        latency: opChain ? { batch: 1, runs: opChain.runs, device: opChain.deviceName, statistic: 'median' } : null,
        // wgnas' own eval forward on its CPU backend (the training framework's cost, not a deployment figure).
        forwardLatencyMs: forward?.latencyMs ?? null,
        forwardLatency: forward ? { batch: 1, runs: forward.runs, device: forward.deviceName, statistic: 'median' } : null,
        input,
        weights: 'weights.json',
        history: res.history,
      };
      writeFileAtomic(join(out, 'report.json'), JSON.stringify(report, null, 1) + '\n');
      const bestText =
        best.selectedOn === 'val'
          ? `val accuracy ${pct(last.valAcc!)}; best epoch by val ${best.epoch} (val ${pct(best.valAccuracy!)}, test ${pct(best.testAccuracy)})`
          : `best of any epoch on the test images ${pct(report.bestTestAccuracy)} (epoch ${best.epoch})`;
      io.out(
        `${describeNetwork(net)}: test accuracy ${pct(last.testAcc)} after ${plural(s.epochs, 'epoch')} on ${dataset}; ` +
          `${bestText}; ${params} parameters, ${(madds / 1e6).toFixed(2)} M multiply-adds` +
          `${latencyText(opChain, forward)}; trained on ${trainingDevice(backend)}\n` +
          `wrote ${join(out, 'weights.json')} (+ .bin), ${join(out, 'curve.svg')}, ${join(out, 'report.json')}\n`,
      );
    } finally {
      trainer.dispose();
      model.dispose();
      backend.dispose();
    }
  } finally {
    lock.release();
  }
}

/**
 * The epoch a run would pick: by the held-out images' accuracy with --val (the first of equals),
 * else by the test accuracy, which is then no held-out figure (report.json says which).
 */
function bestEpoch(history: readonly EpochRecord[]): {
  selectedOn: 'val' | 'test';
  epoch: number;
  valAccuracy: number | null;
  testAccuracy: number;
} {
  const onVal = history.every((h) => h.valAcc !== undefined);
  const score = (h: EpochRecord) => (onVal ? h.valAcc! : h.testAcc);
  const b = history.reduce((a, h) => (score(h) > score(a) ? h : a));
  return { selectedOn: onVal ? 'val' : 'test', epoch: b.epoch, valAccuracy: b.valAcc ?? null, testAccuracy: b.testAcc };
}

/** What the trained network expects of an image and what its logits are: the training data's (weights.json, report.json, the ONNX metadata). */
function inputSpecOf(ds: ImageDataset, size: number, dataset: string): InputSpec {
  const resize =
    ds.nativeSize === null
      ? `turned upright by its EXIF orientation, resized so the shorter side is ${size} px, centre-cropped to ${size}x${size}`
      : ds.nativeSize === size
        ? `${size}x${size} as is`
        : `${ds.nativeSize}x${ds.nativeSize} resized to ${size}x${size} (nearest)`;
  return {
    layout: 'NCHW',
    channels: 'RGB',
    size,
    resize,
    mean: [...ds.mean],
    std: [...ds.std],
    classNames: [...ds.classNames],
    dataset,
  };
}

const LATENCY_THREADS = 1;

/**
 * Batch-1 latencies at 1 thread (predict --measure's and the tables' default): the network's op chain
 * in the addon (the deployable figure) and wgnas' own forward; none without the addon.
 */
async function trainLatency(
  net: ExportNetwork,
  weights: ReadonlyMap<string, { data: Float32Array }>,
  runs: number,
  io: RunContext['io'],
): Promise<{ opChain: LatencyResult | null; forward: LatencyResult | null }> {
  if (runs === 0) return { opChain: null, forward: null };
  try {
    const ops = networkOpChain(net);
    const opChain = ops && (await measureOpChainMs(ops, { runs, threads: LATENCY_THREADS }));
    const forward = await measureLatencyMs(net, weights, { runs, threads: LATENCY_THREADS });
    return { opChain, forward };
  } catch (e) {
    if (!(e instanceof NativeUnavailableError)) throw e;
    io.err(`note: no latency (the native addon is not available: ${e.message.split('\n')[0]})\n`);
    return { opChain: null, forward: null };
  }
}

/** The summary's latency words: the deployable op chain first, wgnas' forward labelled as such. */
function latencyText(opChain: LatencyResult | null, forward: LatencyResult | null): string {
  if (!forward) return '';
  const fwd = `wgnas CPU-backend forward ${forward.latencyMs.toFixed(3)} ms`;
  if (!opChain)
    return `; batch 1: ${fwd} (${forward.deviceName}; not an MBConv chain, so no op-chain figure: time its ONNX export)`;
  return `; batch 1: ${opChain.latencyMs.toFixed(3)} ms as deployed (${opChain.deviceName}, as predict --measure), ${fwd}`;
}

export const handlers = { train: trainCmd };
export const run = (argv: string[]) => runCommand(TRAIN, argv, selfResolve('train', handlers));
