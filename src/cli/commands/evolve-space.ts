import {
  AutoSpace,
  checkEvolveConfig,
  DEFAULT_EVOLVE,
  type EvolveCheckpointing,
  type EvolveConfig,
  type IterationEvent,
} from '../../autospace/evolve.js';
import { referenceLeftOut } from '../../autospace/population.js';
import { checkEvolveSettings, evolveRunSettings } from '../../autospace/resume-state.js';
import { probeEvolveMemory, evolvePoolBytes } from '../../autospace/memory-probe.js';
import { openBackend } from '../../backend/select.js';
import { isStreamed, type SearchImages } from '../../data/batch-stream.js';
import { fixedMadds } from '../../mobilenet/madds.js';
import { archJson, handDesignedSpace, loadSpace, writeSpaceFile } from '../../mobilenet/space-file.js';
import { getLayout, layerShapes } from '../../mobilenet/layout.js';
import type { CheckpointState } from '../../nn/checkpoint.js';
import { writeFileAtomic } from '../../util/durable.js';
import { Progress } from '../../util/progress.js';
import { UsageError } from '../args.js';
import { discardForForce, openCheckpointDir } from '../checkpoint-dir.js';
import { checkPath } from '../paths.js';
import { checkTrainingMemory, imageBytes, trainingProcessBytes } from '../training-memory.js';
import { openRunDataset, runSearchImages, runSearchSplit, runSplitSizes } from '../dataset.js';
import { gpuKernelsOf, deviceOf, deviceRecord, openDevice, precisionOf, trainingDevice } from '../device.js';
import { checkpointProvenance, provenanceOf, withBackend, writeCheckpointProvenance } from '../provenance.js';
import { cpuThreadsOf, recordedSplitsData, savedSetting, splitsData } from '../resume-settings.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import type { ValuesOf } from '../spec.js';
import { checkTrainOut, trainFound } from '../train-found.js';
import { EVOLVE_SPACE, type EVOLVE_OPTIONS, type HAND_DESIGNED_OPTIONS, SEED_PLACEHOLDER } from '../specs/evolve-space.js';

export const summary = EVOLVE_SPACE.summary;

function fmtEvent(e: IterationEvent): string {
  const top = e.mixed.map((layer) => layer.reduce((best, c) => (c.p > best.p ? c : best)).p.toFixed(2));
  return (
    `iter ${String(e.iteration).padStart(3)}/${e.iterations}  loss ${e.trainLoss.toFixed(3)}  acc ${(100 * e.trainAcc).toFixed(1)}%  ` +
    `val ${e.valLoss.toFixed(3)}  E[MAdds] ${(e.expectedMadds / 1e6).toFixed(2)} M  max p/layer ${top.join(' ')}  ` +
    `replaced ${e.replaced}  ${(e.msPerStep / 1000).toFixed(2)} s/step`
  );
}

/**
 * A budget below the reference network's: one note that the reference cell sits out the layers it
 * would overrun (said once every refusal is behind, so a refusal stays one line).
 */
function noteReferenceLeftOut(cfg: EvolveConfig, io: RunContext['io']): void {
  const layers = layerShapes(cfg.layout).length;
  const over = referenceLeftOut(cfg, layerShapes(cfg.layout));
  if (!over.length) return;
  const where =
    over.length === layers ? `all ${layers} layers` : `layer${over.length > 1 ? 's' : ''} ${over.join(', ')} of ${layers}`;
  io.err(
    `note: the reference cell (MBConv k3 e6) exceeds its layer's share of --budget-madds ${(cfg.budgetMadds / 1e6).toFixed(2)}M in ${where}: left out there (it neither guides nor joins the space)\n`,
  );
}

async function handDesigned(v: ValuesOf<typeof HAND_DESIGNED_OPTIONS>, { io }: RunContext): Promise<void> {
  const f = handDesignedSpace(getLayout(v.layout));
  if (v.out) {
    writeSpaceFile(v.out, f);
    io.err(`wrote ${v.out}\n`);
  } else io.out(JSON.stringify(f, null, 2) + '\n');
}

async function evolve(v: ValuesOf<typeof EVOLVE_OPTIONS>, ctx: RunContext): Promise<void> {
  const layout = getLayout(v.layout);
  const cfg: EvolveConfig = {
    layout,
    budgetMadds: v['budget-madds']!,
    populationSize: v.population,
    k: v.k,
    tournamentSize: v.tournament,
    iterations: v.iterations,
    steps: v.steps,
    guideIterations: v.guide,
    warmupSteps: v.warmup,
    warmupMix: v['warmup-mix'],
    inheritWeights: !v['no-inherit'],
    scaleCellLr: !v['no-cell-lr-scale'],
    minEvaluations: v['min-evals'],
    replaceEvery: v['replace-every'],
    init: v.init,
    maxNodes: v['max-nodes'],
    batchSize: v.batch ?? DEFAULT_EVOLVE.batchSize, // a default follows the split (below)
    weightLr: v.lr,
    fitnessLr: v['fitness-lr'],
    budgetPenalty: v.penalty,
    layerSlack: v.slack,
    augment: !v['no-augment'],
    seed: v.seed,
    bnEps: v['bn-eps'],
    bnMomentum: v['bn-momentum'],
  };
  if (cfg.k > cfg.populationSize) throw new UsageError(`--k (${cfg.k}) cannot exceed --population (${cfg.populationSize})`);
  const fixed = fixedMadds(layout);
  if (cfg.budgetMadds <= fixed) {
    throw new UsageError(
      `--budget-madds ${(cfg.budgetMadds / 1e6).toFixed(2)}M leaves nothing for the searchable layers: the ${layout.name} skeleton alone takes ${(fixed / 1e6).toFixed(2)}M`,
    );
  }
  // The library's own checks, before the device starts.
  try {
    checkEvolveConfig(cfg);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  // --redis: the flags and the server checked before any work (the queue loads only for --redis).
  const queued = v.redis ? await import('../evolve-queued.js') : undefined;
  if (queued) {
    queued.queuedSeeds({ ...v, redis: v.redis! });
    await (await import('../redis.js')).checkRedis(v.redis!);
  } else {
    // A local run writes the name as given ('{seed}' is filled in by --redis only); the parse
    // left a name holding it to the command, so it is checked here.
    for (const [flag, path] of [
      ['out', v.out],
      ['history', v.history],
    ] as const)
      if (path?.includes(SEED_PLACEHOLDER)) checkPath(flag, path, 'out-file');
  }
  // The hand-over's directory before the evolution (a refusal at its end would lose it).
  checkTrainOut(v);
  // The checkpoint directory is locked and --resume's state read before any work.
  const opened = v.checkpoint ? openCheckpointDir(v.checkpoint, { resume: v.resume, force: v.force }, ctx) : null;
  try {
    await evolveWith(v, ctx, cfg, queued, opened?.ck ?? null);
  } finally {
    opened?.lock.release();
  }
}

/** The evolution, once the flags and the checkpoint directory are settled. */
async function evolveWith(
  v: ValuesOf<typeof EVOLVE_OPTIONS>,
  ctx: RunContext,
  cfg: EvolveConfig,
  queued: typeof import('../evolve-queued.js') | undefined,
  ck: CheckpointState | null,
): Promise<void> {
  const { io } = ctx;
  const layout = cfg.layout;
  const fixed = fixedMadds(layout);
  // The split's defaults follow the training images of --dataset.
  const size = layout.inputSize;
  const ds = await openRunDataset(v.dataset, 'train', ctx, size);
  const split = runSplitSizes(ds, { train: v.train, val: v.val });
  // Weights train on --train, fitness steps draw --batch images of --val; a default batch is at most either.
  const smaller = Math.min(split.train, split.val);
  if (v.batch === undefined) cfg.batchSize = Math.max(2, Math.min(cfg.batchSize, smaller));
  if (cfg.batchSize > smaller)
    throw new UsageError(
      `--batch ${cfg.batchSize}${v.batch === undefined ? ' (default)' : ''} is more than the --${split.train <= split.val ? 'train' : 'val'} split of ${smaller} images`,
    );
  cfg.layout = { ...layout, classes: ds.classes };
  const device = await deviceOf(v);
  const threads = cpuThreadsOf(device, v);
  // The images' fingerprint (hashes every image): the space's provenance records it, a checkpoint
  // compares it; computed once, when first needed (--redis: never, its workers' results record theirs).
  let fingerprint: ReturnType<typeof splitsData> | undefined;
  const imagesNow = () => (fingerprint ??= splitsData([runSearchImages(ds, split)], size));
  // The settings a checkpoint records, checked against the saved run's before the device starts.
  let checkpoint: EvolveCheckpointing | undefined;
  if (v.checkpoint) {
    // The same images found in another place resume: only their fingerprint is compared.
    const now = await imagesNow();
    const images = ck ? await recordedSplitsData(savedSetting(ck, '--dataset images'), now) : now.text;
    const settings = evolveRunSettings(
      cfg,
      split,
      { flag: v.dataset, images },
      device,
      threads,
      await precisionOf(device, Boolean(v.redis)),
      // A queue's workers run on their own adapters: recorded as each worker's own (a local resume is refused).
      await gpuKernelsOf(device, Boolean(v.redis)),
    );
    if (ck) checkEvolveSettings(ck, cfg.layout, settings);
    checkpoint = { dir: v.checkpoint, every: v['checkpoint-every'], settings };
  }
  // Decoded before the device starts (a bad image is named before any work); an image folder at
  // the ImageNet layout's 224 is streamed instead, a batch ahead of each step.
  const data = await runSearchSplit(ds, split, size, io);
  // One evolution per seed, on the workers of the queue (evolve-queued.ts).
  if (queued) {
    // Workers rebuild the split in memory at 32 px; a folder streamed at 224 stays a local run for now.
    if (isStreamed(data.train) || isStreamed(data.val))
      throw new UsageError(
        `--redis: --dataset ${v.dataset} at --layout ${layout.name} is streamed from the folder; run its seeds without --redis`,
      );
    noteReferenceLeftOut(cfg, io);
    return queued.evolveQueued(
      { ...v, ...split, redis: v.redis! },
      cfg,
      { train: data.train, val: data.val },
      device,
      await precisionOf(device, true),
      ctx,
    );
  }
  noteReferenceLeftOut(cfg, io);
  const f16 = await precisionOf(device);
  const started = provenanceOf(ctx, v, { device, threads, f16, data: (await imagesNow()).text });
  // A checkpointed run keeps its provenance beside the checkpoints (a resume adds itself), written
  // once the run goes ahead (below).
  const prov = checkpoint ? checkpointProvenance(checkpoint.dir, ck !== null, started, io) : started;
  // On the CPU a run too big for the memory would be killed by the OOM killer mid-run, with no word:
  // refused now (cli/training-memory.ts). A GPU's memory is not reported: not checked.
  if (device === 'cpu') await checkEvolveMemory(threads, cfg, data, io);
  const err = process.stderr;
  const backend = await openDevice(device, { ...v, 'cpu-threads': threads ?? undefined }, io);
  let evo: AutoSpace | null = null;
  let found: string;
  try {
    // --force: the old checkpoint goes only now, once the images decoded and the device opened.
    if (checkpoint) discardForForce(checkpoint.dir, v.force, ctx);
    evo = new AutoSpace(backend, cfg, data);
    // --quiet: no progress (header, resume status, iteration lines, bar); the learned space still prints.
    const quiet = v.quiet;
    if (!quiet)
      err.write(
        `evolve-space: ${layout.name} layout, ${evo.shapes.length} layers, population ${cfg.populationSize}, K ${cfg.k}, ` +
          `budget ${(cfg.budgetMadds / 1e6).toFixed(2)} M MAdds (skeleton ${(fixed / 1e6).toFixed(2)} M), ${cfg.iterations} iterations x ${cfg.steps} rounds, on ${trainingDevice(backend)}\n`,
      );
    if (ck && checkpoint) {
      evo.restore(ck, checkpoint.settings);
      const c = evo.progress;
      if (!quiet)
        err.write(
          `resumed from ${checkpoint.dir}: warm-up ${c.warmup}/${cfg.warmupSteps}, iteration ${c.iterations}/${cfg.iterations}\n`,
        );
    }
    // Discarded (--force) or restored: the run goes ahead, its provenance joins the directory's.
    if (checkpoint) writeCheckpointProvenance(checkpoint.dir, withBackend(prov, backend));
    // On a terminal: a bar with the ETA over warm-up steps and iterations, the lines above it; in pipes: the lines.
    const done0 = evo.progress.warmup + evo.progress.iterations * cfg.steps;
    const bar = new Progress(cfg.warmupSteps + cfg.iterations * cfg.steps, 'evolve-space', err, { initial: done0, quiet });
    const res = await evo.run(
      (e) => {
        if (quiet) return;
        bar.update(cfg.warmupSteps + e.iteration * cfg.steps);
        bar.log(fmtEvent(e));
      },
      (s, l) => {
        if (quiet) return;
        bar.update(s);
        if (s % 10 === 0) bar.log(`warm-up ${s}/${cfg.warmupSteps} loss ${l.toFixed(3)}`);
      },
      checkpoint,
    );
    if (!quiet) bar.done();
    err.write(`learned space (top ${cfg.k} per layer, ${res.seconds.toFixed(0)} s on ${trainingDevice(backend)}):\n`);
    res.space.layers.forEach((l, b) =>
      err.write(
        `  layer ${String(b).padStart(2)} (${l.shape.inC}->${l.shape.outC} s${l.shape.stride}): ${l.cells.map((c) => `${c.cell} [${c.fitness!.toFixed(2)}]`).join('  ')}\n`,
      ),
    );
    const provenance = withBackend(prov, backend);
    res.space.meta = { ...res.space.meta, ...deviceRecord(backend), provenance };
    if (v.history)
      writeFileAtomic(
        v.history,
        JSON.stringify({ history: res.history, populations: res.populations, provenance }, null, 2) + '\n',
      );
    if (v.out) {
      writeSpaceFile(v.out, res.space);
      err.write(`wrote ${v.out}\n`);
    } else io.out(JSON.stringify(res.space, null, 2) + '\n');
    // The network --train-epochs trains: the fittest cell of every layer, at the BN it evolved with.
    const learned = loadSpace(res.space);
    const bn = { momentum: cfg.bnMomentum, eps: cfg.bnEps };
    found = JSON.stringify(
      archJson(
        learned,
        learned.cells.map(() => 0),
        bn,
      ),
      null,
      2,
    );
  } finally {
    evo?.dispose();
    backend.dispose();
  }
  await trainFound({ json: found }, v, ds.count, ctx);
}

/**
 * The run's peak (a probe warm-up step and iteration of its evolution, on devices of its own) against
 * the machine's memory, as score's check: refused above it, a warning above what is available now.
 */
async function checkEvolveMemory(
  threads: number | null,
  cfg: EvolveConfig,
  data: SearchImages,
  io: RunContext['io'],
): Promise<void> {
  const residentBytes = process.memoryUsage().rss; // before the probe's devices
  const line = await probeEvolveMemory(() => openBackend('cpu', { threads: threads ?? undefined }), cfg, data);
  const size = cfg.layout.inputSize;
  // Minibatches on the JS heap: a train batch decoded ahead, its augmented copy and the one on its way; a validation one.
  const hostBytes = imageBytes(4 * cfg.batchSize, size);
  checkTrainingMemory(
    {
      flag: 'evolution',
      eachBytes: trainingProcessBytes(evolvePoolBytes(line, cfg), hostBytes, residentBytes),
      at: `at --batch ${cfg.batchSize}, --population ${cfg.populationSize} and --k ${cfg.k} on ${size}x${size} images`,
      fewer: 'give a smaller --batch, --population or --k',
    },
    io,
  );
}

export const handlers = { evolve, 'hand-designed': handDesigned };
export const run = (argv: string[]) => runCommand(EVOLVE_SPACE, argv, selfResolve('evolve-space', handlers));
