import { ReplayLog, type Row, rowNumber, type RowStream } from '../../data/row-stream.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import type { ProxyBatch } from '../../proxies/index.js';
import { formatArch, type Nb201Cell } from '../../spaces/nb201.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { ZeroShotScorer } from '../../zeroshot/index.js';
import type { Backend, DeviceKind } from '../../backend/index.js';
import { UsageError } from '../args.js';
import { openRunDataset, runProxyBatch } from '../dataset.js';
import { gpuKernelsOf, type GpuKernels, describeBackend, deviceOf, deviceRecord, openDevice, precisionOf } from '../device.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { runNb201Strategy } from '../nb201-strategy.js';
import { type Provenance, provenanceOf, streamProvenance, withBackend } from '../provenance.js';
import { checkEvaluatedOrigin, evaluatedLogOptions, openEvaluatedRows, printNb201Result } from '../search-report.js';
import { batchData, checkInterrupted, cpuThreadsOf } from '../resume-settings.js';
import { checkTrainOut, trainFound } from '../train-found.js';
import type { ValuesOf } from '../spec.js';
import { SEARCH, type SEARCH_NB201_OPTIONS } from '../specs/search.js';
import { cells } from '../search-cells.js';

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
  const f16 = await precisionOf(device);
  const bn = await gpuKernelsOf(device);
  const fingerprint = batchData(ds, data.batch);
  // Opened before any device work, so a resume with other settings is refused at once.
  const log = v.evaluated ? openEvaluatedLog(v.evaluated, v, device, fingerprint, threads, { f16, bn }, ctx) : null;
  try {
    let prov = provenanceOf(ctx, v, { device, threads, f16, data: fingerprint });
    if (log) prov = streamProvenance(log.rows, prov, ctx.io);
    await nb201Search(v, ctx, device, log, { ...data, trainImages: ds.count, threads, prov });
  } finally {
    log?.close();
  }
}

async function nb201Search(
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  ctx: RunContext,
  device: DeviceKind,
  log: EvaluatedLog | null,
  data: { batch: ProxyBatch; classes: number; trainImages: number; threads: number | null; prov: Provenance },
): Promise<void> {
  const { io } = ctx;
  if (log?.recorded) io.err(`resuming ${v.evaluated}: replaying ${log.recorded} evaluated cells\n`);
  const backend = await openDevice(device, { ...v, 'cpu-threads': data.threads ?? undefined }, ctx.io);
  let best: string;
  try {
    const prov = withBackend(data.prov, backend);
    log?.rows.recordProvenance(prov);
    best = await nb201Run(v, io, backend, log, { ...data, prov });
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
  data: { batch: ProxyBatch; classes: number; prov: Provenance },
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
  // With --evaluated, a cell's scores come from the file while it replays, then are computed and
  // appended with the time they took (but to a CSV from before time_ms was written).
  const rawScores = async (c: Nb201Cell): Promise<Record<string, number>> => {
    if (!log) return (await scorer.score(c)).scores;
    const arch = formatArch(c);
    const row = await log.row(arch, async () => {
      const s = await scorer.score(c);
      return { arch, ...s.scores, ...(log.timed ? { time_ms: Math.round(s.timeMs) } : {}) };
    });
    // Replayed rows were checked when the log was opened (evaluatedColumns); CSV values are text.
    return Object.fromEntries(scoreColumns(row).map((k) => [k, rowNumber(row[k])]));
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
  return printNb201Result(v, io, result, (performance.now() - t0) / 1000, deviceRecord(backend), data.prov);
}

/** The number columns of an --evaluated row: all but the cell (its scores and time_ms). */
const evaluatedColumns = (r: Row): string[] => Object.keys(r).filter((k) => k !== 'arch');
/** Its scores: the number columns but time_ms. */
const scoreColumns = (r: Row): string[] => evaluatedColumns(r).filter((k) => k !== 'time_ms');

/** `timed`: new rows carry time_ms (not in a resumed CSV written before it was). */
type EvaluatedLog = ReplayLog & { rows: RowStream; finish(): void; close(): void; readonly timed: boolean };

/** --evaluated: the search's evaluations streamed to a file, replayed on --resume. */
function openEvaluatedLog(
  path: string,
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  device: DeviceKind,
  data: string,
  threads: number | null,
  kernels: { f16: boolean; bn: GpuKernels },
  { io }: RunContext,
): EvaluatedLog {
  const options = evaluatedLogOptions(path, v, device, data, threads);
  const stream = openEvaluatedRows(path, options, v, io, evaluatedColumns, kernels.f16, kernels.bn, true);
  return Object.assign(new ReplayLog(stream, 'arch'), {
    rows: stream,
    finish: () => stream.finish(),
    close: () => stream.close(),
    timed: stream.takes('time_ms'),
  });
}

export const handlers = { nb201, cells };
/** In-process entry (tests); `--space proxyless` runs through the wgnas entry point, which knows 'proxyless'. */
export const run = (argv: string[]) => runCommand(SEARCH, argv, selfResolve('search', handlers));
