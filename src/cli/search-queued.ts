/**
 * `wgnas search --redis`: asynchronous regularized evolution (or random search) over the workers.
 * --evaluated records each child as it completes (step, arch, scores) in completion order; a resume
 * replays that order, so the search proposes the same children and continues where it stopped.
 */
import type { DeviceKind } from '../backend/index.js';
import { type Row, rowNumber, type RowStream } from '../data/row-stream.js';
import { NB201_DEFAULT } from '../nn/nb201-net.js';
import { QueueClient } from '../queue/client.js';
import { type Completion, queueEvolution } from '../queue/search.js';
import { nb201Space, type Nb201Cell } from '../spaces/nb201.js';
import { LOG_LINES, Progress } from '../util/progress.js';
import { Rng } from '../util/rng.js';
import { WORKERS_OWN_KERNELS } from '../util/ab-env.js';
import { expandProxyNames } from '../zeroshot/index.js';
import { openRunDataset, runProxyBatch } from './dataset.js';
import { populationScorer } from '../proxies/registry.js';
import { provenanceOf, streamProvenance } from './provenance.js';
import { noWorkerNote } from './redis.js';
import { precisionOf } from './device.js';
import type { RunContext } from './run.js';
import { evaluatedLogOptions, openEvaluatedRows, printNb201Result } from './search-report.js';
import { batchData, queuedThreadsOf } from './resume-settings.js';
import { trainFound } from './train-found.js';
import type { ValuesOf } from './spec.js';
import type { SEARCH_NB201_OPTIONS } from './specs/search.js';
import { scoreSettingsOf } from './score-queued.js';

type Values = ValuesOf<typeof SEARCH_NB201_OPTIONS> & { redis: string };

function openLog(path: string, v: Values, device: DeviceKind, data: string, f16: boolean, { io }: RunContext): RowStream {
  const o = evaluatedLogOptions(path, v, device, data, queuedThreadsOf(device, v));
  const record = { settings: { ...o.settings, '--in-flight': v['in-flight'] }, unrecorded: o.unrecorded };
  const scores = (r: Row) => Object.keys(r).filter((k) => k !== 'arch' && k !== 'step');
  // The workers' GPU kernels are theirs: recorded as such, so a local resume of the log is refused.
  return openEvaluatedRows(path, record, v, io, scores, f16, device === 'gpu' ? WORKERS_OWN_KERNELS : null, true);
}

/** A recorded row back as a completion (CSV values are text; see cellNumber). */
function completionOf(r: Row, proxies: readonly string[]): Completion {
  return { step: Number(r.step), arch: String(r.arch), scores: Object.fromEntries(proxies.map((p) => [p, rowNumber(r[p])])) };
}

export async function nb201Queued(v: Values, ctx: RunContext, device: DeviceKind): Promise<void> {
  const { io } = ctx;
  // The minibatch is drawn first: the log records its fingerprint.
  const ds = await openRunDataset(v.dataset, 'train', ctx);
  const proxies = expandProxyNames([v.proxy]);
  const opts = {
    batchSize: v.batch,
    seed: v.seed,
    net: { ...NB201_DEFAULT, cellsPerStage: v['cells-per-stage'], numClasses: ds.classes },
    batch: await runProxyBatch(ds, v.batch, v.seed),
    init: v.init,
    inputs: v.inputs,
  };
  // The workers' precision: WGNAS_F16=1 here asks for f16 operands (workers computing otherwise refuse the jobs).
  const f16 = await precisionOf(device, true);
  const data = batchData(ds, opts.batch);
  const log = v.evaluated ? openLog(v.evaluated, v, device, data, f16, ctx) : null;
  try {
    // The workers' devices are theirs: the record names the kind and the threads asked of them.
    let prov = provenanceOf(ctx, v, { device, threads: queuedThreadsOf(device, v), f16, data });
    if (log) prov = streamProvenance(log, prov, io);
    const settings = scoreSettingsOf(opts, proxies, v.dataset, device, queuedThreadsOf(device, v), f16);
    const replay = (log?.done ?? []).map((r) => completionOf(r, proxies));
    if (replay.length) io.err(`resuming ${v.evaluated}: replaying ${replay.length} evaluated cells\n`);
    if (!v.quiet)
      io.err(
        `search ${v.strategy}/${v.proxy} (asynchronous, ${v['in-flight']} in flight) on the ${device} workers of ${v.queue}\n`,
      );
    const bar = new Progress(v.budget, `search ${v.strategy}/${v.proxy}`, process.stderr, { ...LOG_LINES, quiet: v.quiet });
    const client = new QueueClient({
      url: v.redis,
      namespace: v.queue,
      device,
      attempts: v.attempts,
      onNote: (l) => io.err(`${l}\n`),
    });
    const pop = populationScorer<Nb201Cell>(v.proxy);
    const t0 = performance.now();
    try {
      // Said once, as score says it: children that no worker takes would otherwise wait in silence.
      if (replay.length < v.budget && (await client.workersAlive()) === 0) io.err(noWorkerNote(v.queue, device));
      const result = await queueEvolution({
        client,
        settings,
        space: nb201Space,
        budget: v.budget,
        rng: new Rng(v.seed),
        populationSize: v.population,
        sampleSize: v['sample-size'],
        strategy: v.strategy === 'random' ? 'random' : 'evolution',
        inFlight: v['in-flight'],
        value: (s, arch) => pop.value(s, arch),
        replay,
        // With the worker's time, but in a resumed CSV from before time_ms was written.
        onCompletion: (c) =>
          log?.append([
            {
              step: c.step,
              arch: c.arch,
              ...c.scores,
              ...(c.timeMs !== undefined && log.takes('time_ms') ? { time_ms: Math.round(c.timeMs) } : {}),
            },
          ]),
        onProgress: (done) => bar.update(done),
      });
      bar.done();
      log?.finish();
      // The answer by the final ranking of every evaluated cell, not by the online values (finalBest).
      const final = pop.best();
      const best = printNb201Result(
        v,
        io,
        { ...result, best: final.arch, bestScore: final.score },
        (performance.now() - t0) / 1000,
        {
          device,
          deviceName: `workers of ${v.queue}`,
        },
        prov,
      );
      // --train-epochs: the cell found trains here, as after a search on this machine.
      await trainFound({ nb201: best, cellsPerStage: v['cells-per-stage'] }, v, ds.count, ctx);
    } finally {
      await client.close();
    }
  } finally {
    log?.close();
  }
}
