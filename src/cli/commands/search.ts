import { searchCellSpace, trainCellArch } from '../../autospace/search.js';
import { measuredCost } from '../../mobilenet/cost/measured.js';
import { archCost, type CostModel } from '../../mobilenet/cost/model.js';
import { tableCost } from '../../mobilenet/cost/table.js';
import { readLatencyTable, tableProvenance } from '../../latency/lut.js';
import { cellSearchSpace, type LatencyLimit, SpaceConstraintError } from '../../autospace/search-space.js';
import type { CellSpace } from '../../mobilenet/space.js';
import { archJson, spaceBn } from '../../mobilenet/space-file.js';
import { ReplayLog, type Row, rowNumber } from '../../data/row-stream.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import type { ProxyBatch } from '../../proxies/index.js';
import { formatArch, type Nb201Cell } from '../../spaces/nb201.js';
import { writeFileAtomic } from '../../util/durable.js';
import { fmtSig, listWithin } from '../../util/format.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { ZeroShotScorer } from '../../zeroshot/index.js';
import type { Backend, DeviceKind } from '../../backend/index.js';
import { UsageError } from '../args.js';
import { openRunDataset, runProxyBatch, runSearchSplit, runSplitSizes, runTestSet } from '../dataset.js';
import { describeBackend, deviceOf, deviceRecord, openDevice } from '../device.js';
import { MAX_ERROR_LINE, namingFile } from '../errors.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { runNb201Strategy } from '../nb201-strategy.js';
import {
  checkEvaluatedOrigin,
  evaluatedLine,
  evaluatedLogOptions,
  openEvaluatedRows,
  printNb201Result,
} from '../search-report.js';
import { batchData, checkInterrupted, cpuThreadsOf } from '../resume-settings.js';
import { readSpace } from '../space.js';
import { checkTrainOut, trainFound } from '../train-found.js';
import type { ValuesOf } from '../spec.js';
import { SEARCH, type SEARCH_CELLS_OPTIONS, type SEARCH_NB201_OPTIONS } from '../specs/search.js';

export const summary = SEARCH.summary;

async function nb201(v: ValuesOf<typeof SEARCH_NB201_OPTIONS>, ctx: RunContext): Promise<void> {
  // The outputs before the search: an interrupted --evaluated log, a --train-out in use.
  if (v.evaluated) checkInterrupted('--evaluated', v.evaluated, v.resume, v.force);
  checkTrainOut(v);
  const device = await deviceOf(v);
  if (v.redis) {
    if (v.strategy === 'reinforce')
      throw new UsageError(
        "--redis runs 'evolution' or 'random' (asynchronous); REINFORCE learns from each batch in turn: run it without --redis",
      );
    if (v.evaluated) checkEvaluatedOrigin(v.evaluated, v.resume, true);
    // The queue (bullmq, ioredis) loads only for --redis.
    await (await import('../redis.js')).checkRedis(v.redis);
    const { nb201Queued } = await import('../search-queued.js');
    return nb201Queued(v as typeof v & { redis: string }, ctx, device);
  }
  if (v.evaluated) checkEvaluatedOrigin(v.evaluated, v.resume, false);
  // The images are decoded before the device starts: a bad file is named before any work, and
  // the minibatch's fingerprint is recorded (the same --dataset may read other files on a resume).
  const ds = await openRunDataset(v.dataset, 'train', ctx);
  const data = { batch: await runProxyBatch(ds, v.batch, v.seed), classes: ds.classes };
  const threads = cpuThreadsOf(device, v);
  // Opened before any device work, so a resume with other settings is refused at once.
  const log = v.evaluated ? openEvaluatedLog(v.evaluated, v, device, batchData(ds, data.batch), threads, ctx) : null;
  try {
    await nb201Search(v, ctx, device, log, { ...data, trainImages: ds.count, threads });
  } finally {
    log?.close();
  }
}

async function nb201Search(
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  ctx: RunContext,
  device: DeviceKind,
  log: EvaluatedLog | null,
  data: { batch: ProxyBatch; classes: number; trainImages: number; threads: number | null },
): Promise<void> {
  const { io } = ctx;
  if (log?.recorded) io.err(`resuming ${v.evaluated}: replaying ${log.recorded} evaluated cells\n`);
  const backend = await openDevice(device, { ...v, 'cpu-threads': data.threads ?? undefined }, ctx.io);
  let best: string;
  try {
    best = await nb201Run(v, io, backend, log, data);
  } finally {
    backend.dispose();
  }
  await trainFound({ nb201: best, cellsPerStage: v['cells-per-stage'] }, v, data.trainImages, ctx);
}

async function nb201Run(
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  io: RunContext['io'],
  backend: Backend,
  log: EvaluatedLog | null,
  data: { batch: ProxyBatch; classes: number },
): Promise<string> {
  const { strategy, proxy, seed, budget } = v;
  if (!v.quiet) io.err(`search ${strategy}/${proxy} on ${describeBackend(backend)}\n`);
  const scorer = new ZeroShotScorer(backend, [proxy], {
    batchSize: v.batch,
    seed,
    net: { ...NB201_DEFAULT, cellsPerStage: v['cells-per-stage'], numClasses: data.classes },
    batch: data.batch,
    init: v.init,
    inputs: v.inputs,
  });
  const bar = new Progress(budget, `search ${strategy}/${proxy}`, process.stderr, { ...LOG_LINES, quiet: v.quiet });
  // With --evaluated, a cell's scores come from the file while it replays, then are computed and appended.
  const rawScores = async (c: Nb201Cell): Promise<Record<string, number>> => {
    if (!log) return (await scorer.score(c)).scores;
    const arch = formatArch(c);
    const row = await log.row(arch, async () => ({ arch, ...(await scorer.score(c)).scores }));
    // Replayed rows were checked when the log was opened (evaluatedColumns); CSV values are text.
    return Object.fromEntries(evaluatedColumns(row).map((k) => [k, rowNumber(row[k])]));
  };
  const t0 = performance.now();
  let replaying = (log?.recorded ?? 0) > 0;
  let proposed = 0;
  const result = await runNb201Strategy(rawScores, {
    strategy,
    proxy,
    budget,
    rng: new Rng(seed),
    population: v.population,
    sampleSize: v['sample-size'],
    onBatch: (s) => {
      proposed += s.batch.length;
      // Replayed evaluations take no time: the bar starts after them, which its rate and ETA leave out.
      if (!replaying) bar.update(proposed);
      else if (log!.replayed >= log!.recorded) {
        replaying = false;
        bar.rebase(proposed);
      }
    },
  });
  bar.done();
  if (log && log.replayed < log.recorded)
    throw new UsageError(
      `--resume: ${v.evaluated} holds ${log.recorded} evaluations, this run made ${log.replayed} (smaller --budget?)`,
    );
  log?.finish();
  return printNb201Result(v, io, result, (performance.now() - t0) / 1000, deviceRecord(backend));
}

/** The score columns of an --evaluated row: all but the cell. */
const evaluatedColumns = (r: Row): string[] => Object.keys(r).filter((k) => k !== 'arch');

type EvaluatedLog = ReplayLog & { finish(): void; close(): void };

/** --evaluated: the search's evaluations streamed to a file, replayed on --resume. */
function openEvaluatedLog(
  path: string,
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  device: DeviceKind,
  data: string,
  threads: number | null,
  { io }: RunContext,
): EvaluatedLog {
  const stream = openEvaluatedRows(path, evaluatedLogOptions(path, v, device, data, threads), v, io, evaluatedColumns);
  return Object.assign(new ReplayLog(stream, 'arch'), { finish: () => stream.finish(), close: () => stream.close() });
}

/**
 * The latency of a hand-designed space's architectures from a lookup table: its cells are the
 * layout's MBConv candidates in the table's order (expand, kernel, then 'zero').
 */
function spaceTableCost(path: string, space: CellSpace): { cost: CostModel; meta: Record<string, string> } {
  const table = readLatencyTable(path);
  const r = tableCost(table, space.layout);
  if (!r.cost) {
    // As many keys as keep the error one uncut line, and how many more (a key is ~90 characters).
    throw new Error(
      listWithin(
        `latency table ${path} has no entry for ${r.missing.length} key(s) of the ${space.layout.name} layout: `,
        r.missing,
        MAX_ERROR_LINE - 'wgnas search: '.length,
        '; profile them (wgnas profile) or drop --latency-table to time the cells on this CPU',
      ),
    );
  }
  if (r.cost.perPosition.some((row, b) => row.length !== space.cells[b]?.length))
    throw new Error(
      `latency table ${path} prices ${r.cost.perPosition.map((x) => x.length).join('/')} blocks per layer, the space has ${space.cells.map((c) => c.length).join('/')} cells`,
    );
  return { cost: r.cost, meta: table.meta };
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

/** `--space-file`: zero-shot search of a cell space under a MAdds budget, optionally training the result. */
async function cells(v: ValuesOf<typeof SEARCH_CELLS_OPTIONS>, ctx: RunContext): Promise<void> {
  const { io } = ctx;
  const { strategy, proxy, seed, budget, backend: library } = v;
  const budgetMadds = v['budget-madds'] ?? Infinity;
  const minMadds = v['min-madds'] ?? 0;
  if (minMadds > budgetMadds) throw new UsageError(`--min-madds (${minMadds}) is above --budget-madds (${budgetMadds})`);
  checkTrainOut(v);
  const read: CellSpace = readSpace(v['space-file']!);
  // The MAdds band against the space, before the cells are priced or the GPU starts.
  checkBounds(read, budgetMadds, minMadds);
  let latencyLimit: LatencyLimit | undefined;
  let priced = '';
  const table = v['latency-table'];
  if (v['max-latency-ms'] !== undefined) {
    const maxLatencyMs = v['max-latency-ms'];
    if (table) {
      if (read.file.source !== 'hand-designed')
        throw new UsageError(
          `--latency-table: the cells of the ${read.file.source} space are not in latency tables (only MBConv blocks are); drop it to time them on this CPU`,
        );
      const { cost: latency, meta } = namingFile(table, () => spaceTableCost(table, read));
      latencyLimit = { latency, maxLatencyMs };
      // A table without this layout's keys prices each block as its ImageNet (stage, block) position.
      const how =
        latency.source === 'imagenet-proxy'
          ? ` as the same positions of the ImageNet space (the table has no ${read.layout.name} keys: ImageNet-resolution latencies)`
          : '';
      priced = `priced the space's blocks from ${table} (${tableProvenance(table, meta)})${how}: skeleton ${latency.fixed.toFixed(3)} ms\n`;
    } else {
      const latency = await measuredCost(read, { backend: library });
      latencyLimit = { latency, maxLatencyMs };
      priced = `priced the space's cells on this CPU (${latency.meta!.library}, ${latency.meta!.ops} ops): skeleton ${latency.fixed.toFixed(3)} ms\n`;
    }
    // The ceiling against the priced space, like the MAdds band: before the data or the GPU (and
    // before the note, so a refusal is one line).
    checkBounds(read, budgetMadds, minMadds, latencyLimit);
    io.err(priced);
  }
  // The proxies score at the space's resolution: 224 for an ImageNet-layout space (a folder decoded at 224).
  const size = read.layout.inputSize;
  const ds = await openRunDataset(v.dataset, 'train', ctx, size);
  const batch = await runProxyBatch(ds, v.batch, seed, size);
  // The network's classifier follows the dataset.
  const space: CellSpace = { ...read, layout: { ...read.layout, classes: ds.classes } };
  const trainData =
    v['train-steps'] === undefined
      ? null
      : {
          split: await runSearchSplit(ds, runSplitSizes(ds), size),
          test: await runTestSet(await openRunDataset(v.dataset, 'test', ctx, size), 1000, size),
        };
  const backend = await openDevice(await deviceOf(v), v, io);
  let found: string;
  try {
    // The space's networks are scored, trained and written at the BN its file records.
    const bn = spaceBn(space);
    if (!v.quiet)
      io.err(
        `search ${strategy}/${proxy} on ${describeBackend(backend)}, BN eps ${bn.eps}${space.file.bn ? ' as the space file records' : ''}\n`,
      );
    const bar = new Progress(budget, `search ${strategy}/${proxy}`, process.stderr, { ...LOG_LINES, quiet: v.quiet });
    const t0 = performance.now();
    const r = await searchCellSpace(backend, space, {
      proxy,
      strategy,
      budget,
      budgetMadds,
      minMadds,
      latencyLimit,
      batchSize: v.batch,
      batch,
      seed,
      populationSize: v.population,
      sampleSize: v['sample-size'],
      onScored: (_d, _n, ms) => bar.tick(1, `${(ms / 1000).toFixed(2)} s/arch`),
    });
    bar.done('');
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
        evalImages: 1000,
      });
      out.trainSteps = steps;
      out.testAcc = tr.testAcc;
    }
    if (v.out) writeFileAtomic(v.out, JSON.stringify(out, null, 2) + '\n');
    // As proxyless search says it: with the summary, or on stderr beside --json's stdout.
    const wrote = v.out ? `wrote ${v.out}\n` : '';
    if (v.json) {
      io.out(JSON.stringify(out, null, 2) + '\n');
      if (wrote) io.err(wrote);
    } else {
      io.out(
        `best architecture (${space.file.source} space, ${(r.madds / 1e6).toFixed(2)} M MAdds${Number.isFinite(budgetMadds) ? ` of ${(budgetMadds / 1e6).toFixed(2)} M` : ''}` +
          `${latencyLimit ? `, ${(out.latencyMs as number).toFixed(3)} ms of ${latencyLimit.maxLatencyMs} ms ${table ? `from ${table}` : 'on this CPU'}` : ''}):\n` +
          (r.arch.cells as string[]).map((c, b) => `  layer ${String(b).padStart(2)}: ${c}\n`).join('') +
          `${proxy} score: ${fmtSig(r.score)}\n` +
          (out.testAcc !== undefined
            ? `trained ${out.trainSteps} steps from scratch: test accuracy ${(100 * (out.testAcc as number)).toFixed(1)} % (${trainData!.test.count} ${ds.name} test images)\n`
            : '') +
          `${evaluatedLine(r.evaluations, budget, 'architectures')} in ${(out.seconds as number).toFixed(1)} s\n` +
          wrote,
      );
    }
    found = JSON.stringify(archJson(space, r.choices, bn), null, 2);
  } finally {
    backend.dispose();
  }
  await trainFound({ json: found }, v, ds.count, ctx);
}

export const handlers = { nb201, cells };
/** In-process entry (tests); `--space proxyless` runs through the wgnas entry point, which knows 'proxyless'. */
export const run = (argv: string[]) => runCommand(SEARCH, argv, selfResolve('search', handlers));
