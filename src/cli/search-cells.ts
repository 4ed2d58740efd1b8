/**
 * `wgnas search --space-file`: zero-shot search of a cell space (learned or hand-designed) under a
 * MAdds band and optionally a latency ceiling, optionally training the result. With --evaluated FILE
 * its evaluations stream to FILE and --resume continues them (cells-log.ts).
 */
import { type CellSearchResult, searchCellSpace, trainCellArch } from '../autospace/search.js';
import { cellSearchSpace, type LatencyLimit, SpaceConstraintError } from '../autospace/search-space.js';
import type { Backend } from '../backend/index.js';
import type { ImageDataset } from '../data/image-dataset.js';
import { readLatencyTable, tableProvenance } from '../latency/lut.js';
import { otherFamilyTable } from '../latency/predictor.js';
import { measuredCost } from '../mobilenet/cost/measured.js';
import { archCost, type CostModel } from '../mobilenet/cost/model.js';
import { spaceTableCost } from '../mobilenet/cost/table.js';
import type { CellSpace } from '../mobilenet/space.js';
import { archJson, spaceBn } from '../mobilenet/space-file.js';
import { writeFileAtomic } from '../util/durable.js';
import { fmtSig, listWithin } from '../util/format.js';
import { LOG_LINES, Progress } from '../util/progress.js';
import { UsageError } from './args.js';
import { type CellsLog, isSettingsFile, openCellsLog, type RecordedPrices, recordedPricesIn } from './cells-log.js';
import { openRunDataset, runProxyBatch, runSearchImages, runSearchSplit, runSplitSizes, runTestSet } from './dataset.js';
import {
  gpuKernelsOf,
  bnSetting,
  describeBackend,
  deviceOf,
  deviceRecord,
  f16Setting,
  openDevice,
  precisionOf,
  trainingDevice,
} from './device.js';
import { provenanceDevices } from '../util/kernels-record.js';
import { MAX_ERROR_LINE, namingFile } from './errors.js';
import { batchData, checkInterrupted, cpuThreadsOf } from './resume-settings.js';
import type { RunContext } from './run.js';
import { evaluatedLine, printSearchResult } from './search-report.js';
import { type Provenance, provenanceOf, streamProvenance, withBackend } from './provenance.js';
import { readSpace } from './space.js';
import type { ValuesOf } from './spec.js';
import type { SEARCH_CELLS_OPTIONS } from './specs/search.js';
import { checkTrainOut, trainFound } from './train-found.js';
import { checkTrainSteps, openTrainSteps, type TrainStepsState, trainStepsImages } from './train-steps.js';

type CellsValues = ValuesOf<typeof SEARCH_CELLS_OPTIONS>;

/**
 * The latency of a space's architectures from a lookup table: its cells' node keys (a table of
 * `wgnas profile --space-file`), or for the hand-designed space its MBConv blocks' keys.
 */
function tableSpaceCost(path: string, space: CellSpace): { cost: CostModel; meta: Record<string, string>; by: string } {
  const table = readLatencyTable(path);
  const family = otherFamilyTable(table);
  if (family) throw new Error(`latency table ${path} is ${family}`);
  const r = spaceTableCost(table, space);
  if (!r.cost) {
    // As many keys as keep the error one uncut line, and how many more (a key is ~90 characters).
    throw new Error(
      listWithin(
        `latency table ${path} has no entry for ${r.missing.length} key(s) of this ${space.layout.name}-layout space: `,
        r.missing,
        MAX_ERROR_LINE - 'wgnas search: '.length,
        `; profile them (wgnas profile --space-file SPACE.json) or drop --latency-table to time the cells on this CPU`,
      ),
    );
  }
  return { cost: r.cost, meta: table.meta, by: r.by };
}

const BOUND_FLAGS = { budgetMadds: 'budget-madds', minMadds: 'min-madds', maxLatencyMs: 'max-latency-ms' } as const;

/**
 * A MAdds band or latency ceiling that no architecture of the space meets is a usage error naming
 * its flag (exit 2), found before any work: cellSearchSpace checks them without sampling.
 */
function checkBounds(read: CellSpace, budgetMadds: number, minMadds: number, limit?: LatencyLimit): void {
  try {
    cellSearchSpace(read, budgetMadds, minMadds, limit);
  } catch (e) {
    if (!(e instanceof SpaceConstraintError) || !e.bound) throw e;
    throw new UsageError(`--${BOUND_FLAGS[e.bound]}: ${e.message}`);
  }
}

/** The line that says which timing priced the cells. */
const pricedWhat = (latency: CostModel): string =>
  `(${latency.meta?.library ?? latency.meta?.backend ?? '?'}, ${latency.meta?.ops ?? '?'} ops): skeleton ${latency.fixed.toFixed(3)} ms`;

/** --latency-table: the space's cells priced from the table (or an earlier search's recorded prices), and the line saying so. */
function tableLimit(read: CellSpace, table: string, maxLatencyMs: number): { limit: LatencyLimit; note: string } {
  if (isSettingsFile(table)) {
    const p = recordedPricesIn(table, read);
    return {
      limit: { latency: p.cost, maxLatencyMs },
      note: `using the cells' prices recorded in ${table} (timed on ${p.at} on host ${p.host}), not timing them ${pricedWhat(p.cost)}\n`,
    };
  }
  const { cost: latency, meta, by } = namingFile(table, () => tableSpaceCost(table, read));
  // A table without this layout's keys prices each block as its ImageNet (stage, block) position.
  const how =
    latency.source === 'imagenet-proxy'
      ? ` as the same positions of the ImageNet space (the table has no ${read.layout.name} keys: ImageNet-resolution latencies)`
      : '';
  return {
    limit: { latency, maxLatencyMs },
    note: `priced the space's ${by === 'nodes' ? "cells (their nodes' keys)" : 'blocks'} from ${table} (${tableProvenance(table, meta)})${how}: skeleton ${latency.fixed.toFixed(3)} ms\n`,
  };
}

/**
 * The cells timed on this CPU: the prices a resumed --evaluated FILE recorded, else measured now
 * (and recorded there); and the line saying which.
 */
async function measuredLimit(
  read: CellSpace,
  v: CellsValues,
  maxLatencyMs: number,
  log: CellsLog | null,
): Promise<{ limit: LatencyLimit; note: string }> {
  const saved: RecordedPrices | null = log?.prices() ?? null;
  const latency = saved?.cost ?? (await measuredCost(read, { backend: v.backend }));
  if (log && !saved) log.recordPrices(latency);
  const what = pricedWhat(latency);
  // Timed anew, the prices move by some percent: said, with the way to keep them for another run.
  const again = v.evaluated
    ? `; another run prices them so with --latency-table ${v.evaluated}.settings.json`
    : '; timed anew by each run (some percent apart): --evaluated FILE records them for --latency-table FILE.settings.json';
  const note = saved
    ? `using the cells' prices recorded on ${saved.at} on host ${saved.host}, not timing them again ${what}\n`
    : `priced the space's cells on this CPU ${what}${again}\n`;
  return { limit: { latency, maxLatencyMs }, note };
}

/** `--space-file`: zero-shot search of a cell space under a MAdds budget, optionally training the result. */
export async function cells(v: CellsValues, ctx: RunContext): Promise<void> {
  const { io } = ctx;
  const budgetMadds = v['budget-madds'] ?? Infinity;
  const minMadds = v['min-madds'] ?? 0;
  if (minMadds > budgetMadds) throw new UsageError(`--min-madds (${minMadds}) is above --budget-madds (${budgetMadds})`);
  // The outputs before the search: an --evaluated log in use or interrupted, a --train-out in use.
  if (v.evaluated)
    checkInterrupted('--evaluated', v.evaluated, v.resume, v.force, [
      ['--space-file', v['space-file']],
      ['--latency-table', v['latency-table']],
    ]);
  // A training killed after the search (--train-steps) makes E an interrupted run too.
  const trainResume = checkTrainSteps(v);
  checkTrainOut(v);
  const read: CellSpace = readSpace(v['space-file']!);
  // The MAdds band against the space, before the cells are priced or the device starts.
  checkBounds(read, budgetMadds, minMadds);
  const maxLatencyMs = v['max-latency-ms'];
  const table = v['latency-table'];
  // A table's prices are checked before the data is read; measured ones once --evaluated is open.
  let priced = maxLatencyMs !== undefined && table ? tableLimit(read, table, maxLatencyMs) : null;
  if (priced) checkBounds(read, budgetMadds, minMadds, priced.limit);
  // The proxies score at the space's resolution: 224 for an ImageNet-layout space (a folder decoded at 224).
  const size = read.layout.inputSize;
  const ds = await openRunDataset(v.dataset, 'train', ctx, size);
  const batch = await runProxyBatch(ds, v.batch, v.seed, size);
  const device = await deviceOf(v);
  const threads = cpuThreadsOf(device, v);
  const f16 = await precisionOf(device);
  const bn = await gpuKernelsOf(device);
  const data = batchData(ds, batch);
  // Opened before the cells are timed and the device starts: a resume with other settings is refused at once.
  const log = v.evaluated ? openCellsLog({ ...v, evaluated: v.evaluated }, read, { device, data, threads, f16, bn }, io) : null;
  // With --evaluated and --train-steps: the training's checkpoint, locked until the hand-over is done too.
  let kept: TrainStepsState | null = null;
  try {
    let found: string;
    try {
      let prov = provenanceOf(ctx, v, { device, threads, f16, data });
      if (log) prov = streamProvenance(log.rows, prov, io);
      // The training computes with the search's precision and kernels; a checkpoint from before they were recorded reads by E's provenance.
      const kernels = {
        settings: { ...f16Setting(f16), ...bnSetting(bn) },
        devices: provenanceDevices(log?.rows.savedProvenance),
      };
      kept = openTrainSteps(v, trainResume, ctx, kernels);
      // The training's images, checked against a resumed checkpoint's before the cells are timed or searched.
      const trainData = v['train-steps'] === undefined ? null : await openTrainData(v, ds, size, kept, ctx);
      if (maxLatencyMs !== undefined && !priced) {
        priced = await measuredLimit(read, v, maxLatencyMs, log);
        // The ceiling against the priced space, like the MAdds band (before the note: a refusal is one line).
        checkBounds(read, budgetMadds, minMadds, priced.limit);
      }
      if (priced) io.err(priced.note);
      if (log?.recorded) io.err(`resuming ${v.evaluated}: replaying ${log.recorded} evaluated architectures\n`);
      // The network's classifier follows the dataset.
      const space: CellSpace = { ...read, layout: { ...read.layout, classes: ds.classes } };
      const backend = await openDevice(device, { ...v, 'cpu-threads': threads ?? undefined }, io);
      try {
        prov = withBackend(prov, backend);
        log?.rows.recordProvenance(prov);
        const trainedOn = trainingDevice(backend);
        const run = { space, batch, latencyLimit: priced?.limit, log, trainData, kept, dsName: ds.name, prov, trainedOn };
        found = await runCells(v, ctx, backend, run);
      } finally {
        backend.dispose();
      }
    } finally {
      log?.close();
    }
    await trainFound({ json: found }, v, ds.count, ctx);
    kept?.done();
  } finally {
    kept?.release();
  }
}

/** Images --train-steps evaluates the architecture found on. */
const TEST_IMAGES = 1000;

/**
 * The --train-steps training's data (the default split's training part, the first test images),
 * its fingerprint given to `kept` first (a resume reading other images is refused before decoding).
 */
async function openTrainData(
  v: CellsValues,
  ds: ImageDataset,
  size: number,
  kept: TrainStepsState | null,
  ctx: RunContext,
): Promise<NonNullable<CellsRun['trainData']>> {
  const sizes = runSplitSizes(ds);
  const testDs = await openRunDataset(v.dataset, 'test', ctx, size);
  await kept?.images(await trainStepsImages(runSearchImages(ds, sizes), sizes.train, testDs, TEST_IMAGES, size));
  return { split: await runSearchSplit(ds, sizes, size, ctx.io), test: await runTestSet(testDs, TEST_IMAGES, size) };
}

interface CellsRun {
  space: CellSpace;
  batch: Awaited<ReturnType<typeof runProxyBatch>>;
  latencyLimit: LatencyLimit | undefined;
  log: CellsLog | null;
  trainData: { split: Awaited<ReturnType<typeof runSearchSplit>>; test: Awaited<ReturnType<typeof runTestSet>> } | null;
  /** With --evaluated: where the --train-steps training saves its state (openTrainSteps). */
  kept: TrainStepsState | null;
  dsName: string;
  prov: Provenance;
  /** The device as the --train-steps line says it (trainingDevice). */
  trainedOn: string;
}

/** The search on the open device, its --train-steps check and its report; returns the architecture found (JSON). */
async function runCells(v: CellsValues, { io }: RunContext, backend: Backend, run: CellsRun): Promise<string> {
  const { strategy, proxy, seed, budget } = v;
  const { space, latencyLimit, log, trainData } = run;
  const budgetMadds = v['budget-madds'] ?? Infinity;
  const minMadds = v['min-madds'] ?? 0;
  // The space's networks are scored, trained and written at the BN its file records.
  const bn = spaceBn(space);
  if (!v.quiet)
    io.err(
      `search ${strategy}/${proxy} on ${describeBackend(backend)}, BN eps ${bn.eps}${space.file.bn ? ' as the space file records' : ''}\n`,
    );
  const bar = new Progress(budget, `search ${strategy}/${proxy}`, process.stderr, { ...LOG_LINES, quiet: v.quiet });
  // Replayed evaluations take no time: the bar starts after them, which its rate and ETA leave out.
  let rebased = false;
  const logged = log?.evaluator(latencyLimit?.latency);
  const evaluate =
    logged &&
    ((a: number[], compute: () => Promise<number>) =>
      logged(a, () => {
        if (!rebased) bar.rebase(log!.replayed);
        rebased = true;
        return compute();
      }));
  const t0 = performance.now();
  const r = await searchCellSpace(backend, space, {
    proxy,
    strategy,
    budget,
    budgetMadds,
    minMadds,
    latencyLimit,
    batchSize: v.batch,
    batch: run.batch,
    seed,
    populationSize: v.population,
    sampleSize: v['sample-size'],
    onScored: (_d, _n, ms) => bar.tick(1, `${(ms / 1000).toFixed(2)} s/arch`),
    evaluate,
  });
  bar.done('');
  log?.finish(budget);
  const out: Record<string, unknown> = {
    space: v['space-file'],
    source: space.file.source,
    strategy,
    proxy,
    budget,
    budgetMadds,
    minMadds,
    ...r.arch,
    score: r.score,
    evaluations: r.evaluations,
    seconds: (performance.now() - t0) / 1000,
    seed,
    population: v.population,
    sampleSize: v['sample-size'],
    batch: v.batch,
    dataset: v.dataset,
    ...deviceRecord(backend),
  };
  if (latencyLimit)
    Object.assign(out, { maxLatencyMs: latencyLimit.maxLatencyMs, latencyMs: archCost(latencyLimit.latency, r.choices) });
  if (v['train-steps'] !== undefined && trainData) {
    const steps = v['train-steps'];
    const tr = await trainCellArch(backend, space, r.choices, trainData.split.train, trainData.test, {
      steps,
      batchSize: 32,
      lr: 0.05,
      seed,
      evalImages: TEST_IMAGES,
      // With --evaluated the training saves its state every tenth of the steps.
      checkpoint: run.kept?.checkpoint(r.choices),
    });
    Object.assign(out, { trainSteps: steps, trainLoss: tr.finalTrainLoss, testAcc: tr.testAcc, testImages: tr.testImages });
  }
  out.provenance = run.prov;
  report(v, io, { out, found: r, run });
  return JSON.stringify(archJson(space, r.choices, bn), null, 2);
}

/** The result: --out FILE, and stdout (JSON with --json). */
function report(
  v: CellsValues,
  io: RunContext['io'],
  { out, found: r, run }: { out: Record<string, unknown>; found: CellSearchResult; run: CellsRun },
): void {
  const { proxy, budget } = v;
  const { space, latencyLimit } = run;
  const budgetMadds = v['budget-madds'] ?? Infinity;
  const table = v['latency-table'];
  if (v.out) writeFileAtomic(v.out, JSON.stringify(out, null, 2) + '\n');
  // As proxyless search says it: with the summary, or on stderr beside --json's stdout.
  printSearchResult(
    io,
    v,
    out,
    () =>
      `best architecture (${space.file.source} space, ${(r.madds / 1e6).toFixed(2)} M MAdds${Number.isFinite(budgetMadds) ? ` of ${(budgetMadds / 1e6).toFixed(2)} M` : ''}` +
      `${latencyLimit ? `, ${(out.latencyMs as number).toFixed(3)} ms of ${latencyLimit.maxLatencyMs} ms ${table ? `from ${table}` : 'on this CPU'}` : ''}):\n` +
      (r.arch.cells as string[]).map((c, b) => `  layer ${String(b).padStart(2)}: ${c}\n`).join('') +
      `${proxy} score: ${fmtSig(r.score)}\n` +
      (out.testAcc !== undefined
        ? `trained ${out.trainSteps} steps from scratch: test accuracy ${(100 * (out.testAcc as number)).toFixed(1)} % (${out.testImages as number} ${run.dsName} test images) on ${run.trainedOn}\n`
        : '') +
      `${evaluatedLine(r.evaluations, budget, 'architectures')} in ${(out.seconds as number).toFixed(1)} s\n`,
  );
}
