import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { AutoSpace, DEFAULT_EVOLVE, type EvolveConfig, type IterationEvent } from '../../autospace/evolve.js';
import { cifarSearchSplit } from '../../data/search-split.js';
import { acquireGpu } from '../../gpu/index.js';
import { MAX_NODES } from '../../mobilenet/cell.js';
import { getLayout } from '../../mobilenet/layout.js';
import { fixedMadds } from '../../mobilenet/madds.js';
import { handDesignedSpace, writeSpaceFile } from '../../mobilenet/space-file.js';
import { intOpt, numOpt, UsageError } from '../args.js';

export const summary = 'AutoSpace: evolve a search space of cells under a MAdds budget on CIFAR-10';

const D = DEFAULT_EVOLVE;
const HELP = `usage: wgnas evolve-space --budget-madds N [options]
       wgnas evolve-space --hand-designed [--layout NAME] --out FILE

AutoSpace on CIFAR-10 (../shared/data/cifar10/train_5000.bin split into train and validation).
Every searchable layer of the layout keeps a population of cells (small DAGs of 1x1 / depthwise /
3x3 / linear-1x1 primitives). Each iteration tournament-selects K cells per layer, trains the network
whose layers mix their K cells by softmax fitness weights (learned by back-propagation, WGSL fitness
kernels), folds the learned weights into each cell's fitness and replaces the worst cell of each
layer by a mutation of a tournament winner. The MobileNetV2 block (MBConv k3 e6) is the reference:
populations start from it, the hand-designed cells and their mutations (--init), and it is mixed
in every layer during the guide iterations. Writes the top-K cells per layer as a wgnas-space JSON
that 'wgnas search --space-file' (zero-shot) and 'wgnas proxyless --space-file' (ProxylessNAS) take.

  --budget-madds N      whole-network multiply-adds budget per image; accepts 12e6 or 12M
  --layout NAME         cifar (the ProxylessNAS CIFAR layout's skeleton and layer shapes)   [cifar]
  --population P        cells per layer                                                    [${D.populationSize}]
  --k K                 cells mixed per layer and cells per layer in the output            [${D.k}]
  --tournament T        tournament size                                                    [${D.tournamentSize}]
  --iterations N                                                                           [${D.iterations}]
  --steps S             weight + fitness step rounds per iteration                         [${D.steps}]
  --warmup N            weight-only steps before the first iteration, uniform mixing       [${D.warmupSteps}]
  --warmup-mix M        population: the warm-up mixes every cell of each layer (one fixed
                        network, trains like one); random-k: K random cells per step       [${D.warmupMix}]
  --no-inherit          mutated cells start from fresh weights (default: from the parent's
                        weights on the nodes they share)
  --no-cell-lr-scale    cells train at the plain learning rate (default: times the number of
                        cells mixed in their layer, which offsets the mixture's 1/n gradient)
  --min-evals N         iterations a cell takes part in before it can be replaced          [${D.minEvaluations}]
  --replace-every N     replacement rounds every N iterations (cells train between them)   [${D.replaceEvery}]
  --guide N             iterations in which the reference cell is always mixed and kept    [${D.guideIterations}]
  --init I              starting populations: reference (MBConv k3 e6 and its mutations) or
                        hand-designed (the reference, the hand-designed MBConv k3/5/7 x e3/6
                        and zero cells that fit the budget, then mutations)               [${D.init}]
  --max-nodes N         largest cell a mutation may produce (MBConv has 3 nodes)           [${D.maxNodes}]
  --batch N                                                                                [${D.batchSize}]
  --lr X                weight SGD learning rate (cosine, Nesterov 0.9)                    [${D.weightLr}]
  --fitness-lr X        Adam learning rate of the fitness logits                           [${D.fitnessLr}]
  --penalty L           weight of the budget hinge λ·max(0, E[MAdds]/budget − 1)           [${D.budgetPenalty}]
  --slack X             a mutated cell may use X times its layer's share of the budget     [${D.layerSlack}]
  --train N --val N     split sizes from the 5000-image file                               [4000, 1000]
  --no-augment
  --seed N                                                                                 [${D.seed}]
  --out FILE            write the learned space here (default: stdout)
  --history FILE        write the per-iteration history (mixed cells, learned weights) as JSON
  --hand-designed       write the ProxylessNAS hand-designed space (MBConv k3/5/7 x e3/6 + zero) in
                        the same format and exit (no GPU needed)
`;

function initOpt(v: string | undefined): EvolveConfig['init'] {
  if (v === undefined) return D.init;
  if (v !== 'reference' && v !== 'hand-designed') throw new UsageError(`--init must be reference or hand-designed, got '${v}'`);
  return v;
}

function warmupMixOpt(v: string | undefined): EvolveConfig['warmupMix'] {
  if (v === undefined) return D.warmupMix;
  if (v !== 'population' && v !== 'random-k') throw new UsageError(`--warmup-mix must be population or random-k, got '${v}'`);
  return v;
}

/** "12e6", "12000000", "12M", "1.5G" → multiply-adds. */
export function parseMadds(v: string): number {
  const m = /^\s*([0-9.]+(?:e[0-9]+)?)\s*([kKmMgG]?)\s*$/.exec(v);
  const scale = { '': 1, k: 1e3, m: 1e6, g: 1e9 }[(m?.[2] ?? '').toLowerCase()];
  const n = m ? Number(m[1]) * scale! : NaN;
  if (!(n > 0) || !Number.isFinite(n)) throw new UsageError(`--budget-madds must be a positive number like 12e6 or 12M, got '${v}'`);
  return n;
}

function fmtEvent(e: IterationEvent): string {
  const top = e.mixed.map((layer) => layer.reduce((best, c) => (c.p > best.p ? c : best)).p.toFixed(2));
  return (
    `iter ${String(e.iteration).padStart(3)}/${e.iterations}  loss ${e.trainLoss.toFixed(3)}  acc ${(100 * e.trainAcc).toFixed(1)}%  ` +
    `val ${e.valLoss.toFixed(3)}  E[MAdds] ${(e.expectedMadds / 1e6).toFixed(2)} M  max p/layer ${top.join(' ')}  ` +
    `replaced ${e.replaced}  ${(e.msPerStep / 1000).toFixed(2)} s/step`
  );
}

export async function run(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      'budget-madds': { type: 'string' },
      layout: { type: 'string', default: 'cifar' },
      population: { type: 'string' },
      k: { type: 'string' },
      tournament: { type: 'string' },
      iterations: { type: 'string' },
      steps: { type: 'string' },
      guide: { type: 'string' },
      warmup: { type: 'string' },
      'warmup-mix': { type: 'string' },
      'no-inherit': { type: 'boolean', default: false },
      'no-cell-lr-scale': { type: 'boolean', default: false },
      'min-evals': { type: 'string' },
      'replace-every': { type: 'string' },
      init: { type: 'string' },
      'max-nodes': { type: 'string' },
      batch: { type: 'string' },
      lr: { type: 'string' },
      'fitness-lr': { type: 'string' },
      penalty: { type: 'string' },
      slack: { type: 'string' },
      train: { type: 'string' },
      val: { type: 'string' },
      'no-augment': { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      history: { type: 'string' },
      'hand-designed': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  let layout;
  try {
    layout = getLayout(v.layout!);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  if (v['hand-designed']) {
    const f = handDesignedSpace(layout);
    if (v.out) writeSpaceFile(v.out, f);
    else process.stdout.write(JSON.stringify(f, null, 2) + '\n');
    return;
  }
  if (v['budget-madds'] === undefined) throw new UsageError(`--budget-madds is required\n\n${HELP}`);
  const cfg: EvolveConfig = {
    layout,
    budgetMadds: parseMadds(v['budget-madds']),
    populationSize: intOpt('population', v.population, D.populationSize),
    k: intOpt('k', v.k, D.k),
    tournamentSize: intOpt('tournament', v.tournament, D.tournamentSize),
    iterations: intOpt('iterations', v.iterations, D.iterations),
    steps: intOpt('steps', v.steps, D.steps),
    guideIterations: intOpt('guide', v.guide, D.guideIterations, 0),
    warmupSteps: intOpt('warmup', v.warmup, D.warmupSteps, 0),
    warmupMix: warmupMixOpt(v['warmup-mix']),
    inheritWeights: !v['no-inherit'],
    scaleCellLr: !v['no-cell-lr-scale'],
    minEvaluations: intOpt('min-evals', v['min-evals'], D.minEvaluations),
    replaceEvery: intOpt('replace-every', v['replace-every'], D.replaceEvery),
    init: initOpt(v.init),
    maxNodes: intOpt('max-nodes', v['max-nodes'], D.maxNodes),
    batchSize: intOpt('batch', v.batch, D.batchSize, 2),
    weightLr: numOpt('lr', v.lr, D.weightLr),
    fitnessLr: numOpt('fitness-lr', v['fitness-lr'], D.fitnessLr),
    budgetPenalty: numOpt('penalty', v.penalty, D.budgetPenalty),
    layerSlack: numOpt('slack', v.slack, D.layerSlack),
    augment: !v['no-augment'],
    seed: intOpt('seed', v.seed, D.seed, 0),
  };
  if (cfg.maxNodes > MAX_NODES) throw new UsageError(`--max-nodes must be at most ${MAX_NODES} (the largest cell), got ${cfg.maxNodes}`);
  if (cfg.k > cfg.populationSize) throw new UsageError(`--k (${cfg.k}) cannot exceed --population (${cfg.populationSize})`);
  const fixed = fixedMadds(layout);
  if (cfg.budgetMadds <= fixed) {
    throw new UsageError(`--budget-madds ${(cfg.budgetMadds / 1e6).toFixed(2)}M leaves nothing for the searchable layers: the ${layout.name} skeleton alone takes ${(fixed / 1e6).toFixed(2)}M`);
  }
  const data = cifarSearchSplit(intOpt('train', v.train, 4000), intOpt('val', v.val, 1000));
  const err = process.stderr;
  const gpu = await acquireGpu();
  const evo = new AutoSpace(gpu, cfg, data);
  try {
    err.write(
      `evolve-space: ${layout.name} layout, ${evo.shapes.length} layers, population ${cfg.populationSize}, K ${cfg.k}, ` +
        `budget ${(cfg.budgetMadds / 1e6).toFixed(2)} M MAdds (skeleton ${(fixed / 1e6).toFixed(2)} M), ${cfg.iterations} iterations x ${cfg.steps} rounds, adapter ${gpu.name}\n`,
    );
    const res = await evo.run(
      (e) => err.write(fmtEvent(e) + '\n'),
      (s, l) => s % 10 === 0 && err.write(`warm-up ${s}/${cfg.warmupSteps} loss ${l.toFixed(3)}\n`),
    );
    err.write(`learned space (top ${cfg.k} per layer, ${res.seconds.toFixed(0)} s):\n`);
    res.space.layers.forEach((l, b) =>
      err.write(`  layer ${String(b).padStart(2)} (${l.shape.inC}->${l.shape.outC} s${l.shape.stride}): ${l.cells.map((c) => `${c.cell} [${c.fitness!.toFixed(2)}]`).join('  ')}\n`),
    );
    if (v.history) writeFileSync(v.history, JSON.stringify({ history: res.history, populations: res.populations }, null, 2) + '\n');
    if (v.out) {
      writeSpaceFile(v.out, res.space);
      err.write(`wrote ${v.out}\n`);
    } else process.stdout.write(JSON.stringify(res.space, null, 2) + '\n');
  } finally {
    evo.dispose();
    gpu.destroy();
  }
}
