import { GpuOutOfMemoryError } from '../../backend/index.js';
import { loadNb201Accuracies } from '../../data/nb201-bench.js';
import { checkResumedKeys, jsonRow, type Row } from '../../data/row-stream.js';
import { GROUPABLE_PROXIES } from '../../proxies/registry.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import { formatArch } from '../../spaces/nb201.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { requestedAggregators } from '../../proxies/registry.js';
import {
  addAggregates,
  expandProxyNames,
  nb201NetFor,
  scoreAll,
  scoringProcessBytes,
  type ZeroShotOptions,
  ZeroShotScorer,
} from '../../zeroshot/index.js';
import { ResumeMismatchError } from '../../util/run-settings.js';
import { UsageError } from '../args.js';
import { openRunDataset, runProxyBatch } from '../dataset.js';
import { gpuKernelsOf, describeBackend, deviceOf, openDevice, precisionOf, warnCpuThreads } from '../device.js';
import { scoreOomAdvice } from '../gpu-failure.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { ScoreProfile } from '../score-profile.js';
import { ScoreRunStats } from '../score-summary.js';
import { checkMemory } from '../memory-check.js';
import { checkRowNumbers, finishRows, rowOf, scoreColumns, scoredLine, scoredOf, withAggregates } from '../score-rows.js';
import { batchData, checkInterrupted, cpuThreadsOf, queuedThreadsOf } from '../resume-settings.js';
import { provenanceOf, streamProvenance, withBackend } from '../provenance.js';
import { openScoreStream } from '../score-stream.js';
import { selectCells } from '../select-cells.js';
import type { ValuesOf } from '../spec.js';
import { SCORE, type SCORE_OPTIONS } from '../specs/score.js';
import { plural } from '../../util/format.js';
import { groupableProxiesText } from '../specs/common.js';

export const summary = SCORE.summary;

async function score(v: ValuesOf<typeof SCORE_OPTIONS>, ctx: RunContext): Promise<void> {
  const { io } = ctx;
  const proxyNames = v.proxies;
  if (v['ground-truth'] && v.sample === undefined && !v.all)
    throw new UsageError('--ground-truth restricts --sample K or --all; give one of them');
  const proxies = expandProxyNames(proxyNames);
  const ungroupable = proxies.filter((p) => !GROUPABLE_PROXIES.has(p));
  const group = v.group === 'auto' ? 'auto' : Number(v.group);
  if (group !== 'auto' && group > 1 && ungroupable.length)
    throw new UsageError(`--group works with ${groupableProxiesText()} only, not ${ungroupable.join(', ')}`);
  // Stacked mode only changes how a group runs: with no groups it would silently do nothing.
  if (v['group-mode'] === 'stacked' && group === 1)
    throw new UsageError('--group-mode stacked needs groups: --group 1 runs each architecture alone (give --group N or auto)');
  if (v['group-mode'] === 'stacked' && ungroupable.length)
    throw new UsageError(`--group-mode stacked works with ${groupableProxiesText()} only, not ${ungroupable.join(', ')}`);
  const accs = loadNb201Accuracies();
  const cells = selectCells(
    { arch: v.arch, archs: v.archs, sample: v.sample, all: v.all, groundTruth: v['ground-truth'], seed: v.seed },
    accs,
  );
  if (v.procs > 1 || v.redis) {
    // Their rows are matched to the selection by architecture: each must be there once.
    const seen = new Set<string>();
    for (const a of cells.map(formatArch)) {
      if (seen.has(a))
        throw new UsageError(`${v.redis ? '--redis' : '--procs'} scores each architecture once: the selection names ${a} twice`);
      seen.add(a);
    }
  }
  const opts: ZeroShotOptions = {
    batchSize: v.batch,
    seed: v.seed,
    group,
    groupMode: v['group-mode'],
    net: { ...NB201_DEFAULT, cellsPerStage: v['cells-per-stage'], channels: v.channels },
    init: v.init,
    inputs: v.inputs,
  };
  // Population-level scores (vote, az_nas, ensemble): recomputed over every row at the end.
  const aggs = requestedAggregators(proxyNames).map((a) => a.name);
  // Scores from another device differ (within tolerance): the file records it, a resume keeps it.
  const device = await deviceOf(v);
  // The queue (bullmq, ioredis) loads only for --redis: a local run starts as fast as before.
  if (v.redis) await (await import('../redis.js')).checkRedis(v.redis);
  if (v.out) checkInterrupted('--out', v.out, v.resume, v.force, [['--archs', v.archs]]);
  // Decoded before the device starts: a bad image is named before any work, and the minibatch's
  // fingerprint is recorded (the same --dataset may read other files on a resume).
  const ds = await openRunDataset(v.dataset, 'train', ctx);
  opts.batch = await runProxyBatch(ds, v.batch, v.seed);
  opts.net = { ...opts.net, numClasses: ds.classes };
  // The CPU backend's threads change the scores (slightly): recorded, and --procs children get
  // their share of the cores. A queue's workers compute with --cpu-threads, else each with its own.
  const threads = v.redis ? queuedThreadsOf(device, v) : cpuThreadsOf(device, v, v.procs);
  // Each process's pool grows to the largest selected cell's working set (1.5 GiB at --batch 64 for
  // the all-3x3 cell), times the cells of a fixed --group (auto is 1 on the CPU): N of them must fit;
  // one too (that cell at --channels 256 --cells-per-stage 32, --batch 64: about 116 GiB).
  if (device === 'cpu' && !v.redis) {
    const g = group === 'auto' ? 1 : group;
    const smaller = g > 1 ? 'a smaller --batch or --group' : 'a smaller --batch';
    const net = nb201NetFor(opts.batch, opts.net);
    const eachBytes = scoringProcessBytes(net, v.batch, proxies, g, cells);
    checkMemory(
      v.procs > 1
        ? {
            flag: `--procs ${v.procs}`,
            n: v.procs,
            noun: 'scoring processes',
            eachBytes,
            at: g > 1 ? `at --batch ${v.batch} and --group ${g}` : `at --batch ${v.batch}`,
            fewer: (fits) => (fits > 1 ? `give --procs ${fits} or fewer, or ${smaller}` : `give ${smaller}, in one process`),
          }
        : {
            flag: 'scoring',
            n: 1,
            noun: 'scoring process',
            eachBytes,
            at: `at --batch ${v.batch}${g > 1 ? `, --group ${g}` : ''}, --channels ${net.channels} and --cells-per-stage ${net.cellsPerStage}`,
            fewer: () => `give ${g > 1 ? 'a smaller --batch, --group' : 'a smaller --batch'}, --channels or --cells-per-stage`,
          },
      io,
    );
  }
  const recorded = {
    data: batchData(ds, opts.batch),
    threads,
    f16: await precisionOf(device, Boolean(v.redis)),
    // A queue's workers run on their own adapters: recorded as each worker's own (a local resume of it is refused).
    bn: await gpuKernelsOf(device, Boolean(v.redis)),
    origin: { given: v['cpu-threads'] !== undefined, procs: v.procs, flag: '--out' },
  };
  // Opened before any device work, so a resume with other settings (or another selection) is refused at once.
  const stream = v.out ? openScoreStream(v.out, proxies, opts, aggs, device, v.resume, io, v.dataset, recorded) : null;
  try {
    // --procs children and a queue's workers open their own devices: the record names the kind and threads.
    const prov =
      stream && streamProvenance(stream, provenanceOf(ctx, v, { device, threads, f16: recorded.f16, data: recorded.data }), io);
    const keep = stream?.done ?? [];
    // A corrupt score would change every row's population-level scores: refused before any work.
    if (stream) checkRowNumbers(v.out!, keep, scoreColumns(proxies));
    // Rows from a queue or from --procs come in as they finish: a resumed file holds any of the cells, in any order.
    if (stream && !v.redis && v.procs === 1) checkInOrder(v.out!, keep, cells.map(formatArch));
    if (v.redis) {
      const { scoreQueued } = await import('../score-queued.js');
      await scoreQueued(v as ValuesOf<typeof SCORE_OPTIONS> & { redis: string }, ctx, {
        cells,
        stream,
        opts,
        proxies,
        aggs,
        device,
        threads,
        f16: recorded.f16,
        accs,
      });
      return;
    }
    if (v.procs > 1) {
      // Each process runs --cpu-threads: said here once, the processes' stderr is not shown.
      if (device === 'cpu') warnCpuThreads(v['cpu-threads'], io);
      const { scoreInProcs } = await import('../score-procs.js');
      const stats = new ScoreRunStats(v.procs);
      const out = await scoreInProcs(ctx, {
        procs: v.procs,
        cells,
        stream,
        out: v.out,
        quiet: v.quiet,
        proxyNames,
        proxies,
        aggs,
        opts,
        device,
        cpuThreads: typeof threads === 'number' ? threads : undefined,
        accs,
        stats,
      });
      finishRows(stream, out, true, v.out, io, stats.text());
      return;
    }
    const backend = await openDevice(device, { ...v, 'cpu-threads': typeof threads === 'number' ? threads : undefined }, io);
    if (prov) stream!.recordProvenance(withBackend(prov, backend));
    try {
      const scorer = new ZeroShotScorer(backend, proxyNames, opts);
      if (keep.length) io.err(`resuming ${v.out}: ${keep.length} of ${cells.length} cells already scored\n`);
      // --group auto says when it runs cells one at a time, so --group-mode stacked is not a silent no-op.
      const alone = scorer.autoRunsAlone
        ? ', one per pass (--group auto: groups gain nothing on this device; --group N to group anyway)'
        : '';
      io.err(
        `scoring ${plural(cells.length - keep.length, 'cell')} with ${scorer.proxies.join(', ')} on ${describeBackend(backend)}${alone}\n`,
      );
      const bar = new Progress(cells.length, 'score', process.stderr, { ...LOG_LINES, quiet: v.quiet, initial: keep.length });
      const profile = v['kernel-profile'] ? new ScoreProfile(v['kernel-profile'], backend, scorer, cells, keep.length) : null;
      // Without --out or population-level scores a row is final once scored: printed as it finishes
      // (`wgnas score --all > all.jsonl` killed keeps the rows done), not all at the end.
      const live = !stream && aggs.length === 0;
      const stats = new ScoreRunStats();
      let passes = 0;
      // The whole selection and where to resume: stacked auto groups keep their boundaries.
      const fresh = await scoreAll(
        scorer,
        cells,
        (done, _n, ms) => bar.update(keep.length + done, `${(ms / 1000).toFixed(2)} s/arch`),
        (rs) => {
          stats.pass(
            rs.map((r) => r.timeMs),
            passes++ === 0,
          );
          const rows = rs.map((r) => rowOf(r, accs));
          stream?.append(rows);
          if (live) for (const r of rows) io.out(jsonRow(r) + '\n');
          profile?.passed(rs.length);
        },
        keep.length,
        (note) => bar.log(note),
      ).catch((e: unknown) => {
        if (e instanceof GpuOutOfMemoryError) e.advice = scoreOomAdvice(group, scorer.lastGroupCells, v.batch);
        throw e;
      });
      bar.done('');
      stats.pool(scorer.poolPeak);
      await profile?.finish(
        {
          batch: v.batch,
          // Packed stacked groups vary in size: 'auto'; the mode shapes the kernels as much as the size.
          group: scorer.packsStacked ? 'auto' : scorer.grouped ? scorer.groupSize : 1,
          ...(scorer.grouped || scorer.packsStacked ? { groupMode: opts.groupMode ?? 'separate' } : {}),
          proxies: scorer.proxies,
          net: opts.net,
        },
        io,
        scorer.poolPeak,
      );
      const rows = [...keep.map((r) => scoredOf(r, scorer.proxies)), ...fresh];
      if (aggs.length) addAggregates(rows, aggs);
      // Rows read back keep their text as written; only the population-level scores are recomputed.
      const out = [
        ...keep.map((r, i) => withAggregates(r, aggs, rows[i].scores)),
        ...fresh.map((r) => withAggregates(rowOf(r, accs), aggs, r.scores)),
      ];
      // Without population-level scores the streamed rows are the output as they stand.
      if (!live) finishRows(stream, out, aggs.length > 0, v.out, io, stats.text());
      else scoredLine(fresh.length, stats.text(), io);
    } finally {
      backend.dispose();
    }
  } finally {
    stream?.close();
  }
}

/** A resumed file of one process's run holds the selection's first rows, in order. */
function checkInOrder(out: string, keep: readonly Row[], archs: readonly string[]): void {
  const selected = new Set(archs);
  const mine = keep.every((r) => selected.has(String(r.arch)));
  if (mine && keep.length <= archs.length && keep.some((r, i) => String(r.arch) !== archs[i])) {
    throw new ResumeMismatchError(
      `--resume: ${out} holds this selection's rows in another order (a killed --procs or --redis run's): resume it with --procs 2 or more`,
    );
  }
  checkResumedKeys(out, keep, archs, 'arch', 'architecture');
}

export const handlers = { score };
export const run = (argv: string[]) => runCommand(SCORE, argv, selfResolve('score', handlers));
