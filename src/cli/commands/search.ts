import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { searchCellSpace, trainCellArch } from '../../autospace/search.js';
import { archLatencyMs, priceCellSpace } from '../../autospace/cell-latency.js';
import type { LatencyLimit } from '../../autospace/net.js';
import { type CellSpace, SpaceFileError, readSpaceFile } from '../../autospace/space-file.js';
import { loadCifar10 } from '../../data/cifar10.js';
import { cifarSearchSplit } from '../../proxyless/data.js';
import { parseMadds } from './evolve-space.js';
import { loadNb201Accuracies } from '../../data/nb201-bench.js';
import { acquireGpu } from '../../gpu/index.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import { VOTE_MEMBERS } from '../../proxies/registry.js';
import { randomSearch, regularizedEvolution, reinforce, type Scorer, type SearchResult } from '../../search/index.js';
import { canonicalKey, formatArch, nb201Space, type Nb201Cell } from '../../spaces/nb201.js';
import { Progress } from '../../util/progress.js';
import { Rng } from '../../util/rng.js';
import { ZeroShotScorer } from '../../zeroshot.js';
import { ReplayLog, RowStream } from '../../data/row-stream.js';
import { backendOpt, intOpt, numOpt, UsageError } from '../args.js';

export const summary = 'zero-shot search of NAS-Bench-201 (random, evolution, REINFORCE) driven by a proxy or the vote';

const HELP = `usage: wgnas search [--space nb201] [--proxy NAME] [--strategy S] [--budget N] [options]
       wgnas search --space-file SPACE.json [--budget-madds N] [--proxy NAME] [--train-steps N] [options]

Zero-shot architecture search: no training, each candidate is scored by a proxy on one CIFAR-10
minibatch. Prints the best cell and its NAS-Bench-201 CIFAR-10 accuracy where known.
  --space nb201|proxyless  search space; 'proxyless' runs the ProxylessNAS supernet search
                           (same as 'wgnas proxyless', see its --help)
  --space-file FILE        zero-shot search of a cell space instead (wgnas evolve-space output, or
                           its --hand-designed space): one cell per layer of the CIFAR layout
  --budget-madds N         with --space-file: only architectures within N multiply-adds (e.g. 3M)
  --min-madds N            with --space-file: and at least N (a band, to compare spaces at equal MAdds)
  --max-latency-ms X       with --space-file: and at most X ms on this CPU (the space's cells timed
                           through the native addon, 1 thread, caches flushed; --backend onednn|xnnpack)
  --train-steps N          with --space-file: train the best architecture N steps, report test accuracy
  --out FILE               with --space-file: write the best architecture (wgnas-arch JSON)
  --proxy NAME             any proxy of 'wgnas score', or 'vote' (WRCor+SynFlow+jacob_cov) (default wrcor)
  --strategy S             random | evolution | reinforce (default evolution)
  --budget N               architectures proposed (default 20)
  --population P           evolution population (default 10); --sample-size S (default 3)
  --batch N                minibatch size for the proxy (default 64)
  --cells-per-stage N      network depth per stage (default 5)
  --seed N                 seed for the search, the batch and the weights (default 0)
  --json                   print the result as JSON
  --evaluated FILE         nb201: append each evaluated cell and its scores to FILE (.jsonl or .csv) as
                           it finishes; with --resume, replay FILE and continue the search where it stopped
  --resume                 continue from --evaluated FILE (same proxy, strategy, seed, ...; --budget may grow)
`;

/** Turns raw proxy scores into search scores: raw for one proxy, a Borda vote over all seen so far for 'vote'. */
class PopulationScorer {
  readonly seen: Array<Record<string, number>> = [];
  constructor(private readonly proxy: string) {}

  value(scores: Record<string, number>): number {
    this.seen.push(scores);
    if (this.proxy !== 'vote') return scores[this.proxy];
    // Fraction of the architectures seen so far that each member proxy ranks below this one.
    let v = 0;
    for (const m of VOTE_MEMBERS) v += this.seen.filter((s) => s[m] < scores[m]).length / Math.max(1, this.seen.length - 1);
    return v / VOTE_MEMBERS.length;
  }
}

/** `--space proxyless` hands the whole command line to the ProxylessNAS search. */
function proxylessArgs(argv: string[]): string[] | null {
  const i = argv.findIndex((a, k) => (a === '--space' && argv[k + 1] === 'proxyless') || a === '--space=proxyless');
  if (i < 0) return null;
  return argv.filter((_, k) => k !== i && !(argv[i] === '--space' && k === i + 1));
}

export async function run(argv: string[]): Promise<void> {
  const forward = proxylessArgs(argv);
  if (forward) {
    const { run: proxyless } = await import('./proxyless.js');
    return proxyless(forward);
  }
  const { values: v } = parseArgs({
    args: argv,
    options: {
      space: { type: 'string' },
      'space-file': { type: 'string' },
      'budget-madds': { type: 'string' },
      'min-madds': { type: 'string' },
      'max-latency-ms': { type: 'string' },
      backend: { type: 'string' },
      'train-steps': { type: 'string' },
      out: { type: 'string' },
      proxy: { type: 'string' },
      strategy: { type: 'string' },
      budget: { type: 'string' },
      population: { type: 'string' },
      'sample-size': { type: 'string' },
      batch: { type: 'string' },
      'cells-per-stage': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
      evaluated: { type: 'string' },
      resume: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  if (v['space-file'] && (v.evaluated || v.resume)) throw new UsageError('--evaluated/--resume work with --space nb201');
  if (v['space-file']) return cellSpaceSearch(v);
  if (v.resume && !v.evaluated) throw new UsageError('--resume needs --evaluated FILE');
  for (const k of ['budget-madds', 'min-madds', 'max-latency-ms', 'backend', 'train-steps', 'out'] as const) if (v[k] !== undefined) throw new UsageError(`--${k} needs --space-file`);
  const space = v.space ?? 'nb201';
  if (space !== 'nb201') throw new UsageError(`unknown --space '${space}' (nb201)`);
  const strategy = v.strategy ?? 'evolution';
  if (!['random', 'evolution', 'reinforce'].includes(strategy)) {
    throw new UsageError(`unknown --strategy '${strategy}' (random, evolution, reinforce)`);
  }
  const proxy = (v.proxy ?? 'wrcor').toLowerCase();
  const seed = intOpt('seed', v.seed, 0, 0);
  const budget = intOpt('budget', v.budget, 20);
  // Opened before any GPU work, so a resume with other settings is refused at once.
  const log = v.evaluated ? openEvaluatedLog(v.evaluated, v, { proxy, strategy, seed }, Boolean(v.resume), budget) : null;
  if (log?.recorded) process.stderr.write(`resuming ${v.evaluated}: replaying ${log.recorded} evaluated cells\n`);
  const gpu = await acquireGpu();
  const scorer = new ZeroShotScorer(gpu, [proxy], {
    batchSize: intOpt('batch', v.batch, 64, 2),
    seed,
    net: { ...NB201_DEFAULT, cellsPerStage: intOpt('cells-per-stage', v['cells-per-stage'], NB201_DEFAULT.cellsPerStage) },
  });
  const pop = new PopulationScorer(proxy);
  const bar = new Progress(budget, `search ${strategy}/${proxy}`);
  const rawScores = async (c: Nb201Cell): Promise<Record<string, number>> => {
    if (!log) return (await scorer.score(c)).scores;
    const arch = formatArch(c);
    const row = await log.row(arch, async () => ({ arch, ...(await scorer.score(c)).scores }));
    return Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'arch').map(([k, x]) => [k, x === null || x === '' ? NaN : Number(x)]));
  };
  const score: Scorer<Nb201Cell> = async (cells) => {
    const out: number[] = [];
    for (const c of cells) out.push(pop.value(await rawScores(c)));
    return out;
  };
  const rng = new Rng(seed);
  const onBatch = (s: { batch: unknown[] }) => bar.tick(s.batch.length);
  const t0 = performance.now();
  let result: SearchResult<Nb201Cell>;
  if (strategy === 'random') result = await randomSearch(nb201Space, score, { budget, rng, onBatch });
  else if (strategy === 'evolution') {
    result = await regularizedEvolution(nb201Space, score, {
      budget,
      rng,
      onBatch,
      populationSize: intOpt('population', v.population, 10),
      sampleSize: intOpt('sample-size', v['sample-size'], 3),
    });
  } else {
    // REINFORCE needs rewards on a stable scale: use the score's percentile among those seen so far.
    const seenScores: number[] = [];
    const pct: Scorer<Nb201Cell> = async (cells) => {
      const raw = await score(cells);
      return raw.map((r) => {
        seenScores.push(r);
        return seenScores.filter((s) => s < r).length / Math.max(1, seenScores.length - 1);
      });
    };
    result = await reinforce(nb201Space, pct, { budget, rng, onBatch, learningRate: 0.1 });
  }
  bar.done();
  gpu.destroy();
  if (log && log.replayed < log.recorded) throw new UsageError(`--resume: ${v.evaluated} holds ${log.recorded} evaluations, this run made ${log.replayed} (smaller --budget?)`);
  log?.finish();
  const accs = loadNb201Accuracies();
  const acc = accs.get(canonicalKey(result.best));
  const all = [...accs.values()].sort((a, b) => a - b);
  const pctile = acc === undefined ? undefined : (100 * all.filter((a) => a <= acc).length) / all.length;
  const best = formatArch(result.best);
  const out = {
    strategy,
    proxy,
    budget,
    evaluations: result.evaluations,
    best,
    bestScore: result.bestScore,
    cifar10ValAcc: acc,
    accPercentile: pctile,
    bestPossibleAcc: all[all.length - 1],
    seconds: (performance.now() - t0) / 1000,
  };
  if (v.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
  else {
    process.stdout.write(
      `best cell:  ${best}\n` +
        `${proxy} score: ${result.bestScore}\n` +
        (acc === undefined
          ? 'CIFAR-10 accuracy: unknown (cell not in the shared NAS-Bench-201 table)\n'
          : `CIFAR-10 val accuracy (NAS-Bench-201): ${acc.toFixed(2)} %  (top ${(100 - pctile!).toFixed(1)} % of 9445 cells; best ${out.bestPossibleAcc} %)\n`) +
        `evaluated ${result.evaluations} cells in ${out.seconds.toFixed(1)} s\n`,
    );
  }
}

/** --evaluated: the search's evaluations streamed to a file, replayed on --resume. */
function openEvaluatedLog(
  path: string,
  v: Record<string, string | boolean | undefined>,
  o: { proxy: string; strategy: string; seed: number },
  resume: boolean,
  budget: number,
): ReplayLog & { finish(): void } {
  const stream = new RowStream(path, {
    settings: {
      '--proxy': o.proxy,
      '--strategy': o.strategy,
      '--seed': o.seed,
      '--population': intOpt('population', v.population as string | undefined, 10),
      '--sample-size': intOpt('sample-size', v['sample-size'] as string | undefined, 3),
      '--batch': intOpt('batch', v.batch as string | undefined, 64, 2),
      '--cells-per-stage': intOpt('cells-per-stage', v['cells-per-stage'] as string | undefined, NB201_DEFAULT.cellsPerStage),
    },
    resume,
    killTag: 'search.rows',
    onStaleLock: (w) => process.stderr.write(`note: ${path} was locked by process ${w.pid}, which is gone: taking it over\n`),
  });
  if (stream.done.length > budget) {
    stream.close();
    throw new UsageError(`--resume: ${path} holds ${stream.done.length} evaluations, more than --budget ${budget}`);
  }
  return Object.assign(new ReplayLog(stream, 'arch'), { finish: () => stream.finish() });
}

/** `--space-file`: zero-shot search of a cell space under a MAdds budget, optionally training the result. */
async function cellSpaceSearch(v: Record<string, string | boolean | undefined>): Promise<void> {
  let space: CellSpace;
  try {
    space = readSpaceFile(v['space-file'] as string);
  } catch (e) {
    if (e instanceof SpaceFileError) throw new UsageError(e.message);
    throw e;
  }
  const strategy = (v.strategy as string | undefined) ?? 'evolution';
  if (strategy !== 'random' && strategy !== 'evolution') throw new UsageError(`--strategy for a cell space: random or evolution, got '${strategy}'`);
  const proxy = ((v.proxy as string | undefined) ?? 'wrcor').toLowerCase();
  if (proxy === 'vote') throw new UsageError("--proxy vote ranks a population; over a cell space use one proxy (e.g. wrcor)");
  const budgetMadds = v['budget-madds'] === undefined ? Infinity : parseMadds(v['budget-madds'] as string);
  const minMadds = v['min-madds'] === undefined ? 0 : parseMadds(v['min-madds'] as string);
  const seed = intOpt('seed', v.seed as string | undefined, 0, 0);
  const budget = intOpt('budget', v.budget as string | undefined, 20);
  const backend = backendOpt(v.backend as string | undefined);
  if (v.backend !== undefined && v['max-latency-ms'] === undefined) throw new UsageError('--backend prices cells for --max-latency-ms; give --max-latency-ms X');
  let latencyLimit: LatencyLimit | undefined;
  if (v['max-latency-ms'] !== undefined) {
    const maxLatencyMs = numOpt('max-latency-ms', v['max-latency-ms'] as string, 0);
    if (!(maxLatencyMs > 0)) throw new UsageError(`--max-latency-ms must be > 0, got ${v['max-latency-ms']}`);
    const latency = await priceCellSpace(space, { backend });
    process.stderr.write(`priced the space's cells on this CPU (${latency.meta.library}, ${latency.meta.ops} ops): skeleton ${latency.fixedMs.toFixed(3)} ms\n`);
    latencyLimit = { latency, maxLatencyMs };
  }
  const gpu = await acquireGpu();
  try {
    const bar = new Progress(budget, `search ${strategy}/${proxy}`);
    const t0 = performance.now();
    const r = await searchCellSpace(gpu, space, {
      proxy,
      strategy,
      budget,
      budgetMadds,
      minMadds,
      latencyLimit,
      batchSize: intOpt('batch', v.batch as string | undefined, 64, 2),
      seed,
      populationSize: intOpt('population', v.population as string | undefined, 10),
      sampleSize: intOpt('sample-size', v['sample-size'] as string | undefined, 3),
      onScored: (_d, _n, ms) => bar.tick(1, `${(ms / 1000).toFixed(2)} s/arch`),
    });
    bar.done();
    const out: Record<string, unknown> = { space: v['space-file'], source: space.file.source, strategy, proxy, budget, budgetMadds, ...r.arch, score: r.score, evaluations: r.evaluations, seconds: (performance.now() - t0) / 1000 };
    if (latencyLimit) Object.assign(out, { maxLatencyMs: latencyLimit.maxLatencyMs, latencyMs: archLatencyMs(latencyLimit.latency, r.choices) });
    if (v['train-steps'] !== undefined) {
      const steps = intOpt('train-steps', v['train-steps'] as string, 200);
      const tr = await trainCellArch(gpu, space, r.choices, cifarSearchSplit(4000, 1000).train, loadCifar10('test'), { steps, batchSize: 32, lr: 0.05, seed, evalImages: 1000 });
      out.trainSteps = steps;
      out.testAcc = tr.testAcc;
    }
    if (v.out) writeFileSync(v.out as string, JSON.stringify(out, null, 2) + '\n');
    if (v.json) process.stdout.write(JSON.stringify(out, null, 2) + '\n');
    else {
      process.stdout.write(
        `best architecture (${space.file.source} space, ${(r.madds / 1e6).toFixed(2)} M MAdds${Number.isFinite(budgetMadds) ? ` of ${(budgetMadds / 1e6).toFixed(2)} M` : ''}` +
          `${latencyLimit ? `, ${(out.latencyMs as number).toFixed(3)} ms of ${latencyLimit.maxLatencyMs} ms on this CPU` : ''}):\n` +
          (r.arch.cells as string[]).map((c, b) => `  layer ${String(b).padStart(2)}: ${c}\n`).join('') +
          `${proxy} score: ${r.score}\n` +
          (out.testAcc !== undefined ? `trained ${out.trainSteps} steps from scratch: test accuracy ${(100 * (out.testAcc as number)).toFixed(1)} % (1000 CIFAR-10 test images)\n` : '') +
          `evaluated ${r.evaluations} architectures in ${(out.seconds as number).toFixed(1)} s\n`,
      );
    }
  } finally {
    gpu.destroy();
  }
}
