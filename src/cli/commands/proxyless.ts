/** wgnas proxyless: ProxylessNAS supernet search on --dataset with a latency lookup table (or MAdds, or measured cells). */
import { readLatencyTable, tableProvenance } from '../../latency/lut.js';
import { isStreamed, type SearchImages, type SplitImages } from '../../data/batch-stream.js';
import { type MissingPolicy, otherFamilyTable } from '../../latency/predictor.js';
import { maddsCost } from '../../mobilenet/cost/madds.js';
import { measuredCost } from '../../mobilenet/cost/measured.js';
import {
  type CostModel,
  type CostUnit,
  costRange,
  describeCost,
  formatCost,
  formatCostRange,
  latencyScope,
} from '../../mobilenet/cost/model.js';
import { spaceTableCost, tableCost } from '../../mobilenet/cost/table.js';
import { getLayout, type MobileNetLayout } from '../../mobilenet/layout.js';
import type { CellSpace } from '../../mobilenet/space.js';
import { trainFixed } from '../../mobilenet/train.js';
import { mergeProgress, plotDataFromSearch, searchPlotSvg } from '../../proxyless/plot.js';
import type { CheckpointState } from '../../nn/checkpoint.js';
import { probeProxylessMemory, proxylessPoolBytes } from '../../proxyless/memory-probe.js';
import { DEFAULT_LAMBDA } from '../../proxyless/objective.js';
import { checkResumable, savedMeasuredCost } from '../../proxyless/resume-state.js';
import { DEFAULT_SEARCH, type ProgressEvent, type ProxylessSearchConfig, ProxylessSearch } from '../../proxyless/search.js';
import { writeFileAtomic } from '../../util/durable.js';
import { listWithin } from '../../util/format.js';
import { Progress } from '../../util/progress.js';
import type { Backend, DeviceKind } from '../../backend/index.js';
import { openBackend } from '../../backend/select.js';
import { UsageError } from '../args.js';
import { discardForForce, openCheckpointDir } from '../checkpoint-dir.js';
import { checkTrainingMemory, imageBytes, trainingProcessBytes } from '../training-memory.js';
import type { ImageDataset } from '../../data/image-dataset.js';
import { openRunDataset, runDatasetClasses, runSearchImages, runSearchSplit, runSplitSizes, runTestSet } from '../dataset.js';
import { gpuKernelsOf, deviceOf, deviceRecord, openDevice, precisionOf, trainingDevice } from '../device.js';
import { MAX_ERROR_LINE, namingFile } from '../errors.js';
import { checkpointProvenance, type Provenance, provenanceOf, withBackend, writeCheckpointProvenance } from '../provenance.js';
import { cpuThreadsOf, recordedSplitsData, savedSetting, splitsData } from '../resume-settings.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { checkTrainOut, trainFound } from '../train-found.js';
import { bnOfSpace, readSpace } from '../space.js';
import { PROXYLESS, type PROXYLESS_OPTIONS } from '../specs/proxyless.js';

export const summary = PROXYLESS.summary;

function fmtEvent(e: ProgressEvent, unit: CostUnit): string {
  const parts = [
    `${e.phase} ${String(e.step).padStart(4)}/${e.total}`,
    `lr ${e.lr.toFixed(4)}`,
    `loss ${e.trainLoss.toFixed(3)}`,
    `acc ${(100 * e.trainAcc).toFixed(1)}%`,
  ];
  if (e.archCe !== null) parts.push(`val ce ${e.archCe.toFixed(3)}`, `arch obj ${e.archObjective!.toFixed(3)}`);
  if (e.expectedCost !== null)
    parts.push(`E[cost] ${formatCost(e.expectedCost, unit)}`, `argmax ${formatCost(e.argmaxCost!, unit)}`);
  parts.push(`H ${e.entropy.toFixed(3)}`, `${(e.msPerStep / 1000).toFixed(2)} s/step`);
  return parts.join('  ');
}

/**
 * The table's cost model of the layout's space, or of --space-file's (its cells' node keys, or the
 * hand-designed space's blocks); keys it lacks end the run with their list and the ways out.
 */
function tableCostOrError(
  path: string,
  layout: MobileNetLayout,
  space: CellSpace | null,
  missing: MissingPolicy,
): { cost: CostModel; meta: Record<string, string> } {
  const table = readLatencyTable(path);
  const family = otherFamilyTable(table);
  if (family) throw new Error(`latency table ${path} is ${family}`);
  const r = space ? spaceTableCost(table, space, { missing }) : tableCost(table, layout, { missing });
  if (r.cost) return { cost: r.cost, meta: table.meta };
  // As many keys as keep the error one uncut line, and how many more (a key is ~90 characters).
  throw new Error(
    listWithin(
      `latency table ${path} has no entry for ${r.missing.length} key(s) of the ${space ? `${layout.name}-layout space` : `${layout.name} layout`}: `,
      r.missing,
      MAX_ERROR_LINE - 'wgnas proxyless: '.length,
      `. Profile them (wgnas profile${space ? ' --space-file SPACE.json' : ''})${
        missing === 'error'
          ? ', or approximate from the closest entries with --missing nearest or scale'
          : ` (--missing ${missing} found no entry of the same op, sizes, expand, kernel, stride and skip to approximate them from)`
      }.`,
    ),
  );
}

async function proxyless(values: ValuesOf<typeof PROXYLESS_OPTIONS>, ctx: RunContext): Promise<void> {
  const { given, io } = ctx;
  const D = DEFAULT_SEARCH;
  const space = values['space-file'] ? readSpace(values['space-file']) : null;
  // A space's networks are built at the BN it records unless --bn-eps says otherwise (then a note).
  const bnFlag = { name: 'bn-eps', value: values['bn-eps'], given: given.has('bn-eps') };
  const bn = space ? bnOfSpace(space, values['space-file']!, 'eps', bnFlag) : { value: bnFlag.value, note: null };
  const priced = values['price-cells'];
  const library = values.backend;
  const threads = values.threads;
  const byMadds = space !== null && !values['latency-table'] && !priced;
  if (byMadds) {
    if (values['target-madds'] === undefined)
      throw new UsageError(
        '--space-file without --latency-table prices cells by multiply-adds: give --target-madds M (millions)',
      );
    if (given.has('target-ms'))
      throw new UsageError(
        '--target-ms needs a latency source (--latency-table or --price-cells); with multiply-adds give --target-madds',
      );
  } else {
    if (!values['latency-table'] && !priced)
      throw new UsageError(
        '--latency-table is required (or --space-file with --target-madds or --price-cells); see wgnas proxyless --help',
      );
    if (values['target-ms'] === undefined) throw new UsageError('--target-ms is required');
    if (given.has('target-madds'))
      throw new UsageError(
        '--target-madds is the target when the cost is multiply-adds (--space-file without a latency source); here give --target-ms',
      );
  }
  // The target as given (ms, or millions of MAdds), and in the cost model's unit.
  const targetGiven = byMadds ? values['target-madds']! : values['target-ms']!;
  const unit: CostUnit = byMadds ? 'madds' : 'ms';
  const target = byMadds ? targetGiven * 1e6 : targetGiven;
  const layout = space ? space.layout : getLayout(values.layout);
  const { mode, paths, loss: lossKind, missing } = values;
  const gateGrads = values['gate-grads'];
  if (mode === 'gradient' && gateGrads === 'all' && paths !== 1)
    throw new UsageError('--gate-grads all evaluates every candidate: use it with --paths 1');
  // Each loss reads only its own weight: the authors' mul#log has an exponent β, no λ.
  if (mode === 'gradient' && lossKind === 'mul' && given.has('lambda'))
    throw new UsageError('--lambda weighs --loss add and hinge; --loss mul is CE·(ln E/ln T)^β: set its strength with --beta');
  if (mode === 'gradient' && lossKind !== 'mul' && given.has('beta'))
    throw new UsageError(`--beta is the exponent of --loss mul; --loss ${lossKind} is weighed by --lambda`);
  if (lossKind === 'mul' && !(targetGiven > 1))
    throw new UsageError('--loss mul needs --target-ms > 1 (it takes ln T); use --loss add');

  // The hand-over's directory before the search (a refusal at its end would lose the search).
  checkTrainOut(values);
  // The split's defaults follow the training images of --dataset (opened here, decoded later).
  const ds = await openRunDataset(values.dataset, 'train', ctx, layout.inputSize);
  const { train: trainN, val: valN } = runSplitSizes(ds, { train: values.train, val: values.val });
  // 224×224 steps are heavy on a software GPU: small default batches for the ImageNet layout; a
  // default batch is at most its split.
  const big = layout.inputSize > 64;
  const batchSize = values.batch ?? Math.min(big ? 2 : D.batchSize, trainN);
  if (batchSize > trainN) throw new UsageError(`--batch ${batchSize} is more than the --train split of ${trainN} images`);
  const valBatch = values['val-batch'] ?? Math.min(big ? 2 : D.valBatchSize, valN);
  if (valBatch > valN) throw new UsageError(`--val-batch ${valBatch} is more than the --val split of ${valN} images`);
  let searchSteps = values.steps;
  if (values.epochs !== undefined) searchSteps = Math.ceil(values.epochs * (trainN / batchSize));
  if (!(searchSteps >= 1)) throw new UsageError('--epochs must give at least one step');
  // The checkpoint directory is locked and --resume's state read before any work.
  const opened = values.checkpoint
    ? openCheckpointDir(values.checkpoint, { resume: values.resume, force: values.force }, ctx)
    : null;
  try {
    // The search resumes this same state (only the binaries are read later, verified against its manifest).
    const ck = opened?.ck ?? null;
    // A resumed --price-cells run continues with the prices the interrupted run measured.
    const reused = priced && ck ? savedMeasuredCost(ck) : null;
    if (reused && !values.quiet)
      io.err(
        `reusing the cells' prices measured by the checkpointed run (${reused.meta?.library ?? reused.meta?.backend}, ${reused.meta?.threads} thread(s))\n`,
      );
    let fromTable: { meta: Record<string, string> } | undefined;
    const cost: CostModel = byMadds
      ? maddsCost(space!)
      : priced
        ? (reused ??
          (await measuredCost(space!, {
            backend: library,
            threads,
            onProgress: (d, n) =>
              d === n &&
              !values.quiet &&
              io.err(`priced ${n} distinct ops of the space on this CPU (${library}, ${threads} thread(s))\n`),
          })))
        : (fromTable = namingFile(values['latency-table']!, () =>
            tableCostOrError(values['latency-table']!, layout, space, missing),
          )).cost;
    const device = await deviceOf(values);
    await searchWith(values, ctx, {
      layout,
      space,
      cost,
      unit,
      target,
      targetGiven,
      byMadds,
      batchSize,
      valBatch,
      searchSteps,
      ds,
      trainN,
      valN,
      device,
      ck,
      bnEps: bn.value,
      bnNote: bn.note,
      tableFrom: fromTable ? `${values['latency-table']}: ${tableProvenance(values['latency-table']!, fromTable.meta)}` : null,
    });
  } finally {
    opened?.lock.release();
  }
}

interface Prepared {
  layout: ProxylessSearchConfig['layout'];
  space: ReturnType<typeof readSpace> | null;
  cost: CostModel;
  unit: CostUnit;
  target: number;
  targetGiven: number;
  byMadds: boolean;
  batchSize: number;
  valBatch: number;
  searchSteps: number;
  /** The training split of --dataset, opened while the flags were checked. */
  ds: ImageDataset;
  trainN: number;
  valN: number;
  device: DeviceKind;
  /** --resume: the checkpoint's state.json, read once before any work. */
  ck: CheckpointState | null;
  /** --latency-table: where its figures came from (device, threads, library, date). */
  tableFrom: string | null;
  /** Every BN's eps: --bn-eps, else the --space-file's bn.eps, else --bn-eps's default. */
  bnEps: number;
  /** The line saying a given --bn-eps overrides the space file's, printed once the settings pass. */
  bnNote: string | null;
  /** Set by searchWith: the class count the table priced the classifier at, where not the network's. */
  pricedClasses?: number;
}

/** The search itself, once the flags, the cost model and the checkpoint directory are settled. */
async function searchWith(values: ValuesOf<typeof PROXYLESS_OPTIONS>, ctx: RunContext, p: Prepared): Promise<void> {
  const { io } = ctx;
  const D = DEFAULT_SEARCH;
  // The network's classifier follows the dataset (a checkpoint of another class count is refused as another layout).
  const layout = { ...p.layout, classes: runDatasetClasses(values.dataset) };
  // A table of the layout's own keys priced its classifier at the layout's class count (the
  // ImageNet table's 1000), not the dataset's: said with the latency (predict --missing nearest matches it).
  const pricedClasses =
    p.cost.source === 'table' && !p.space && p.layout.classes !== layout.classes ? p.layout.classes : undefined;
  const { space, cost, target, batchSize, searchSteps, ds, trainN, valN, device } = p;
  const { mode, paths, loss: lossKind } = values;
  const gateGrads = values['gate-grads'];
  const logEvery = values['log-every'];
  const imagesNow = await splitsData([runSearchImages(ds, { train: trainN, val: valN })], layout.inputSize);

  const cfg: ProxylessSearchConfig = {
    ...D,
    layout,
    mode,
    paths: paths === 2 ? 2 : 1,
    gateGrads,
    costLoss: {
      kind: lossKind,
      target,
      lambda: lossKind === 'mul' ? undefined : (values.lambda ?? DEFAULT_LAMBDA[lossKind]),
      beta: values.beta,
    },
    reinforceW: values['reward-w'],
    reinforceSamples: values['rl-samples'],
    warmupSteps: values.warmup,
    searchSteps,
    archEvery: values['arch-every'],
    archWarmupSteps: values['arch-warmup-steps'],
    labelSmoothing: values['label-smoothing'],
    alphaInitStd: values['arch-init-std'],
    bnEps: p.bnEps,
    // The derived network trains at the BN momentum the space records (the supernet never uses one).
    ...(space?.file.bn ? { bnMomentum: space.file.bn.momentum } : {}),
    batchSize,
    valBatchSize: p.valBatch,
    weightLr: values.lr,
    warmupLr: values['warmup-lr'],
    arch: { ...D.arch, lr: values['arch-lr'] },
    augment: !values['no-augment'],
    seed: values.seed,
    // A plot records every step; printing still follows --log-every (see onEvent below).
    logEvery: values.plot ? 1 : logEvery,
    checkpointDir: values.checkpoint ?? null,
    checkpointEvery: values['checkpoint-every'],
    space,
    dataset: {
      flag: values.dataset,
      images: imagesNow.text,
    },
  };
  const threads = cpuThreadsOf(device, values);

  // Settings checked against the checkpoint before the device starts: a changed flag is named at once.
  if (p.ck) {
    // The same images found in another place resume: only their fingerprint is compared.
    cfg.dataset!.images = await recordedSplitsData(savedSetting(p.ck, '--dataset images'), imagesNow);
    const split = { train: trainN, val: valN };
    checkResumable(p.ck, cfg, cost, split, device, threads, await precisionOf(device), await gpuKernelsOf(device));
  }
  if (p.bnNote) io.err(p.bnNote);
  // Where the net.config came from; a checkpointed run keeps it beside the checkpoints (a resume adds
  // itself), written once the run goes ahead (searchOn).
  // This run's own fingerprint of every image (cfg's may be the matched record of an earlier run).
  const now = provenanceOf(ctx, values, { device, threads, f16: await precisionOf(device), data: imagesNow.text });
  const prov = values.checkpoint ? checkpointProvenance(values.checkpoint, p.ck !== null, now, io) : now;
  // Decoded before the device starts (a bad image is named before any work); an image folder at
  // the ImageNet layout's 224 is streamed instead, a batch ahead of each step.
  const size = layout.inputSize;
  const data = await runSearchSplit(ds, { train: trainN, val: valN }, size, io);
  const test = values['train-derived']
    ? await runTestSet(await openRunDataset(values.dataset, 'test', ctx, size), 1000, size)
    : null;
  // On the CPU a search too big for the memory would be killed by the OOM killer mid-run, with no
  // word: refused now (cli/training-memory.ts). A GPU's memory is not reported: not checked.
  if (device === 'cpu') await checkProxylessMemory(threads, cfg, io);
  const backend = await openDevice(device, { ...values, 'cpu-threads': threads ?? undefined }, ctx.io);
  let found: string;
  try {
    // --force: the old checkpoint goes only now, once the images decoded and the device opened.
    if (values.checkpoint) discardForForce(values.checkpoint, values.force, ctx);
    found = await searchOn(backend, values, io, { ...p, layout, pricedClasses }, cfg, data, test, withBackend(prov, backend));
  } finally {
    backend.dispose();
  }
  await trainFound({ json: found }, values, ds.count, ctx);
}

/**
 * The search's peak (probe steps of its supernet along the heaviest path, on devices of its own)
 * against the machine's memory, as score's check: refused above it, a warning above what is available now.
 */
async function checkProxylessMemory(threads: number | null, cfg: ProxylessSearchConfig, io: RunContext['io']): Promise<void> {
  const residentBytes = process.memoryUsage().rss; // before the probe's devices
  const probe = await probeProxylessMemory(() => openBackend('cpu', { threads: threads ?? undefined }), cfg);
  const size = cfg.layout.inputSize;
  // Minibatches on the JS heap: a train batch decoded ahead, its augmented copy and the one on its way; two of --val-batch.
  const hostBytes = imageBytes(3 * cfg.batchSize + 2 * cfg.valBatchSize, size);
  checkTrainingMemory(
    {
      flag: 'search',
      eachBytes: trainingProcessBytes(proxylessPoolBytes(probe, cfg), hostBytes, residentBytes),
      at: `at --batch ${cfg.batchSize} and --val-batch ${cfg.valBatchSize} on ${size}x${size} images`,
      fewer: 'give a smaller --batch or --val-batch',
    },
    io,
  );
}

async function searchOn(
  backend: Backend,
  values: ValuesOf<typeof PROXYLESS_OPTIONS>,
  io: RunContext['io'],
  p: Prepared,
  cfg: ProxylessSearchConfig,
  data: SearchImages,
  test: SplitImages | null,
  prov: Provenance,
): Promise<string> {
  const { layout, space, cost, unit, target, targetGiven, byMadds, batchSize } = p;
  const { mode, paths, loss: lossKind } = values;
  const gateGrads = values['gate-grads'];
  const priced = values['price-cells'];
  const logEvery = values['log-every'];
  const big = layout.inputSize > 64;
  const range = costRange(cost);
  const fmt = (v: number) => formatCost(v, unit);
  // --quiet: no progress (header, step lines, bar, status); notes, the result and errors still print.
  const quiet = values.quiet;
  if (!quiet)
    io.err(
      `proxyless: ${layout.name} layout, ${cost.perPosition.length} searchable blocks, on ${trainingDevice(backend)}\n` +
        (space
          ? `space ${values['space-file']} (${space.file.source}, ${space.cells.map((c) => c.length).join('/')} cells per layer), BN eps ${cfg.bnEps}${space.file.bn && cfg.bnEps === space.file.bn.eps ? ' as the file records' : ''}\n`
          : '') +
        `cost (${describeCost(cost)}): fixed ${fmt(cost.fixed)}, space ${formatCostRange(range.min, range.max, unit)}, target ${targetGiven} ${byMadds ? 'M MAdds' : 'ms'}\n` +
        `${mode}${mode === 'gradient' ? `, ${paths} path(s), gate grads ${gateGrads}, loss ${lossKind}` : `, reward acc·(T/lat)^${cfg.reinforceW}`}; ` +
        `warm-up ${cfg.warmupSteps} + search ${cfg.searchSteps} steps, batch ${batchSize}\n`,
    );
  if (isStreamed(data.train)) {
    if (!quiet)
      io.err(`images: ${data.train.ds.name} decoded at ${data.train.size}x${data.train.size} a batch ahead of each step\n`);
  } else if (big)
    io.err(
      `note: the ${layout.name} layout runs on 32x32 images upscaled to ${layout.inputSize} (an image folder is decoded at ${layout.inputSize})\n`,
    );
  if (target < range.min || target > range.max) {
    io.err(`note: the target lies outside the space's range ${formatCostRange(range.min, range.max, unit)}\n`);
  }
  const search = new ProxylessSearch(backend, cfg, data, cost);
  try {
    if (p.ck) {
      search.resume(p.ck);
      const c = search.progress;
      if (!quiet)
        io.err(
          `resumed from ${values.checkpoint}: warm-up ${c.warmup}/${cfg.warmupSteps}, search ${c.search}/${cfg.searchSteps}, ${c.arch} α steps\n`,
        );
    }
    // Discarded (--force) or restored: the run goes ahead, its provenance joins the directory's.
    if (values.checkpoint) writeCheckpointProvenance(values.checkpoint, prov);
    let pending: ProgressEvent[] = [];
    // On a terminal: a bar with the ETA over all weight steps, the step lines above it; in pipes: the lines.
    const stepsDone = (e: ProgressEvent) => (e.phase === 'warmup' ? e.step : cfg.warmupSteps + e.step);
    const done0 = search.progress.warmup + search.progress.search;
    const bar = new Progress(cfg.warmupSteps + cfg.searchSteps, 'proxyless', process.stderr, { initial: done0, quiet });
    const onEvent = (e: ProgressEvent) => {
      pending.push(e);
      bar.update(stepsDone(e));
      if (e.step % logEvery === 0 || e.step === e.total) {
        if (!quiet) bar.log(fmtEvent(pending.length > 1 ? mergeProgress(pending) : e, unit));
        pending = [];
      }
    };
    const res = await search.run(onEvent);
    bar.done();
    const valAcc = await search.evaluate(res.choices);
    // A CIFAR network priced by an ImageNet table: the ms are its ImageNet-layout twin's, said where they print.
    const scope = latencyScope(cost);
    const scopeNote = scope
      ? `; ${scope}, as wgnas predict --imagenet-twin prices it`
      : p.pricedClasses !== undefined
        ? `; the classifier priced as the table's ${p.pricedClasses}-class Logits, the network's has ${layout.classes} classes: wgnas predict --missing nearest prices it so`
        : '';
    const lines = [
      `derived network (${res.weightSteps} weight steps, ${res.archSteps} α steps, ${res.seconds.toFixed(0)} s on ${trainingDevice(backend)}):`,
      ...res.names.map(
        (n, b) => `  block ${String(b + 1).padStart(2)}: ${n.padEnd(12)} p=${Math.max(...res.probs[b]).toFixed(3)}`,
      ),
      byMadds
        ? `multiply-adds ${(res.cost! / 1e6).toFixed(2)} M, E[MAdds] ${(res.expectedCost! / 1e6).toFixed(2)} M, target ${targetGiven} M`
        : `latency ${res.cost!.toFixed(2)} ms (${priced ? 'cells timed on this CPU' : `table ${p.tableFrom}${scopeNote}`}), E[lat] ${res.expectedCost!.toFixed(2)} ms, target ${targetGiven} ms`,
      `supernet val accuracy of the derived path: ${(100 * valAcc).toFixed(1)}% (${search.evaluatedImages()} images)`,
    ];
    if (values.plot) {
      // α as each step recorded it: the checkpoint keeps the steps before a resume.
      const data = plotDataFromSearch(res, { target, warmupSteps: cfg.warmupSteps });
      const how = mode === 'gradient' ? `gradient, ${paths} path(s), ${lossKind} loss` : `REINFORCE, w ${cfg.reinforceW}`;
      const subtitle =
        `${layout.name} layout, ${how}, batch ${batchSize}, seed ${cfg.seed}: derived ${fmt(res.cost!)} ` +
        `(E[cost] ${fmt(res.expectedCost!)}), supernet val acc ${(100 * valAcc).toFixed(1)}%`;
      writeFileAtomic(
        values.plot,
        searchPlotSvg(data, {
          title: `ProxylessNAS search, target ${targetGiven} ${byMadds ? 'M MAdds' : 'ms'}${scope ? ` (${scope})` : ''}`,
          subtitle,
        }),
      );
      lines.push(`wrote ${values.plot}`);
    }
    if (values['train-derived'] && test) {
      const steps = values['train-derived'];
      const r = await trainFixed(backend, layout, res.choices, data.train, test, {
        steps,
        batchSize,
        lr: cfg.weightLr,
        weightDecay: cfg.weightDecay,
        seed: cfg.seed,
        augment: cfg.augment,
        evalImages: 1000,
        cells: space?.cells,
        // The eps the supernet searched at (and the derived network records).
        bnEps: cfg.bnEps,
        onStep: (s, l) => {
          if (s % logEvery === 0 && !quiet) io.err(`train-derived ${s}/${steps} loss ${l.toFixed(3)}\n`);
        },
      });
      lines.push(
        `trained from scratch ${steps} steps: test accuracy ${(100 * r.testAcc).toFixed(1)}% (${r.testImages} test images), final loss ${r.finalTrainLoss.toFixed(3)}`,
      );
    }
    // The device it was searched on travels with the result, and the rest of what reruns it: the
    // trajectory depends on the device and on the CPU threads.
    const json = JSON.stringify({ ...res.netConfig, wgnas: { ...deviceRecord(backend), provenance: prov } }, null, 2) + '\n';
    if (values.out) {
      writeFileAtomic(values.out, json);
      lines.push(`wrote ${values.out}`);
      io.out(lines.join('\n') + '\n');
    } else {
      io.err(lines.join('\n') + '\n');
      io.out(json);
    }
    // The hand-over's network.json without the provenance: a resumed search writes the same file (train-found.ts compares it).
    return JSON.stringify({ ...res.netConfig, wgnas: deviceRecord(backend) }, null, 2) + '\n';
  } finally {
    search.dispose();
  }
}

export const handlers = { proxyless };
export const run = (argv: string[]) => runCommand(PROXYLESS, argv, selfResolve('proxyless', handlers));
