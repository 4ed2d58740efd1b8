/** wgnas proxyless: ProxylessNAS supernet search on CIFAR-10 with a latency lookup table. */
import { writeFileAtomic } from '../../util/durable.js';
import { type CellSpace, SpaceFileError, readSpaceFile } from '../../autospace/space-file.js';
import { maddsCost } from '../../autospace/net.js';
import { priceCellSpace } from '../../autospace/cell-latency.js';
import { parseArgs } from 'node:util';
import { loadCifar10 } from '../../data/cifar10.js';
import { acquireGpu } from '../../gpu/index.js';
import { readLatencyTable } from '../../latency/lut.js';
import type { MissingPolicy } from '../../latency/predictor.js';
import { cifarSearchSplit } from '../../proxyless/data.js';
import { type LatencyLossKind, type SearchLatency, latencyRange, layoutLatency } from '../../proxyless/latency-loss.js';
import { getLayout } from '../../proxyless/layout.js';
import { mergeProgress, plotDataFromSearch, searchPlotSvg } from '../../proxyless/plot.js';
import { DEFAULT_SEARCH, type ProgressEvent, type ProxylessSearchConfig, ProxylessSearch } from '../../proxyless/search.js';
import { trainFixed } from '../../proxyless/train.js';
import { backendOpt, intOpt, numOpt, UsageError } from '../args.js';

export const summary = 'ProxylessNAS supernet search (binarized paths, latency loss from a lookup table)';

const D = DEFAULT_SEARCH;
const HELP = `usage: wgnas proxyless --latency-table FILE --target-ms X [options]
       wgnas proxyless --space-file SPACE.json --target-madds M [options]
       wgnas proxyless --space-file SPACE.json --price-cells --target-ms X [options]

Trains a ProxylessNAS supernet on CIFAR-10 (../shared/data/cifar10/train_5000.bin split into train and
validation) and searches one MBConv candidate per block (kernel 3/5/7 x expand 3/6, 'zero' where an
identity skip is possible) under a latency lookup table. Writes the argmax network as a ProxylessNAS
net.config.

search:
  --latency-table FILE  latency table (ProxylessNAS YAML). The CIFAR layout is priced as the same
                        (stage, block) positions of the ImageNet space unless the table has its own keys
  --target-ms X         latency target T (ms)
  --space-file FILE     search a cell space (wgnas evolve-space output, or --hand-designed) instead of
                        the layout's MBConv candidates; writes a wgnas-arch JSON instead of a net.config
  --target-madds M      with --space-file and no table: cost = multiply-adds, target M (millions)
  --price-cells         with --space-file and --target-ms: cost = latency of the space's cells timed
                        on this CPU through the native addon (each node one op, caches flushed)
  --backend NAME        --price-cells library: onednn | xnnpack                                    [onednn]
  --threads N           --price-cells library threads                                             [1]
  --layout NAME         cifar | imagenet (224 input; no ImageNet here, so CIFAR-10 images upscaled to
                        224 with 1000-way logits: a smoke run of the full-size supernet; batch 2) [cifar]
  --mode NAME           gradient | reinforce                                                       [${D.mode}]
  --paths N             binarized paths per block in gradient mode: 1 | 2 (2 moves only the sampled
                        pair's α per step, so it needs more steps than these short defaults)       [1]
  --gate-grads NAME     sampled | all (all = every candidate re-run for its gate gradient; --paths 1) [${D.gateGrads}]
  --loss NAME           add:   CE + λ·(E[lat]−T)/T            (the paper's form; λ default 0.1)
                        mul:   CE·(ln E[lat]/ln T)^β          (ProxylessNAS code's mul#log)
                        hinge: CE + λ·max(0, E[lat]−T)/T     (T as a budget; λ default 2)       [hinge]
                        add and mul always reward lower latency, T only sets the strength
  --beta B --lambda L   latency loss exponent / weight                                             [0.3, see --loss]
  --reward-w W          REINFORCE reward acc·(T/lat)^W                                             [${D.reinforceW}]
  --rl-samples K        REINFORCE architectures per α update                                       [${D.reinforceSamples}]
  --missing POLICY      table key missing: error | nearest | scale                                  [error]
schedule:
  --warmup N            weight warm-up steps (uniform path sampling)                               [${D.warmupSteps}]
  --steps N             search steps (weight steps; one α step every --arch-every)                 [${D.searchSteps}]
  --epochs E            search length in epochs of the train split (overrides --steps)
  --arch-every K        weight steps per α step                                                    [${D.archEvery}]
  --batch N --val-batch N                                                                          [${D.batchSize}, ${D.valBatchSize}]
  --lr X --warmup-lr X  weight SGD learning rates (cosine, Nesterov 0.9, wd 4e-5)                  [${D.weightLr}, ${D.warmupLr}]
  --arch-lr X           Adam on α (β1 0, β2 0.999; the paper uses 6e-3 over far longer runs)      [0.1]
  --train N --val N     split sizes from the 5000-image file                                        [4000, 1000]
  --no-augment          no crop/flip
  --seed N                                                                                         [${D.seed}]
output:
  --out FILE            write the derived net.config here (default: print it on stdout)
  --plot FILE.svg       write loss, latency and α-evolution curves (SVG; records every step)
  --checkpoint DIR      save state (α, weights .bin, JSON meta) every --checkpoint-every steps and at the end
  --checkpoint-every N                                                                             [${D.checkpointEvery}]
  --resume              continue from --checkpoint DIR
  --log-every N                                                                                    [${D.logEvery}]
  --train-derived N     afterwards train the derived net from scratch N steps, report test accuracy
  -h, --help
`;

let costUnit = 'ms';

function fmtEvent(e: ProgressEvent): string {
  const parts = [
    `${e.phase} ${String(e.step).padStart(4)}/${e.total}`,
    `lr ${e.lr.toFixed(4)}`,
    `loss ${e.trainLoss.toFixed(3)}`,
    `acc ${(100 * e.trainAcc).toFixed(1)}%`,
  ];
  if (e.archCe !== null) parts.push(`val ce ${e.archCe.toFixed(3)}`, `arch obj ${e.archObjective!.toFixed(3)}`);
  if (e.expectedMs !== null) parts.push(`E[cost] ${e.expectedMs.toFixed(2)} ${costUnit}`, `argmax ${e.argmaxMs!.toFixed(2)} ${costUnit}`);
  parts.push(`H ${e.entropy.toFixed(3)}`, `${(e.msPerStep / 1000).toFixed(2)} s/step`);
  return parts.join('  ');
}

function readSpaceOrUsage(path: string): CellSpace {
  try {
    return readSpaceFile(path);
  } catch (e) {
    if (e instanceof SpaceFileError) throw new UsageError(e.message);
    throw e;
  }
}

export async function run(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'latency-table': { type: 'string' },
      'target-ms': { type: 'string' },
      'space-file': { type: 'string' },
      'target-madds': { type: 'string' },
      'price-cells': { type: 'boolean', default: false },
      backend: { type: 'string' },
      threads: { type: 'string' },
      layout: { type: 'string', default: 'cifar' },
      mode: { type: 'string', default: D.mode },
      paths: { type: 'string', default: '1' },
      'gate-grads': { type: 'string', default: D.gateGrads },
      loss: { type: 'string', default: 'hinge' },
      beta: { type: 'string' },
      lambda: { type: 'string' },
      'reward-w': { type: 'string' },
      'rl-samples': { type: 'string' },
      missing: { type: 'string', default: 'error' },
      warmup: { type: 'string' },
      steps: { type: 'string' },
      epochs: { type: 'string' },
      'arch-every': { type: 'string' },
      batch: { type: 'string' },
      'val-batch': { type: 'string' },
      lr: { type: 'string' },
      'warmup-lr': { type: 'string' },
      'arch-lr': { type: 'string' },
      train: { type: 'string' },
      val: { type: 'string' },
      'no-augment': { type: 'boolean', default: false },
      seed: { type: 'string' },
      out: { type: 'string' },
      plot: { type: 'string' },
      checkpoint: { type: 'string' },
      'checkpoint-every': { type: 'string' },
      resume: { type: 'boolean', default: false },
      'log-every': { type: 'string' },
      'train-derived': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const space = values['space-file'] ? readSpaceOrUsage(values['space-file']) : null;
  const priced = values['price-cells'];
  if (priced && !space) throw new UsageError('--price-cells prices the cells of a --space-file; give --space-file SPACE.json');
  if (priced && values['latency-table']) throw new UsageError('--price-cells and --latency-table are two sources of latency: give one');
  const backend = backendOpt(values.backend);
  const threads = intOpt('threads', values.threads, 1);
  const byMadds = space !== null && !values['latency-table'] && !priced;
  if (byMadds) {
    if (values['target-madds'] === undefined) throw new UsageError(`--space-file without --latency-table prices cells by multiply-adds: give --target-madds M (millions)\n\n${HELP}`);
  } else {
    if (!values['latency-table'] && !priced) throw new UsageError(`--latency-table is required (or --space-file with --target-madds or --price-cells)\n\n${HELP}`);
    if (values['target-ms'] === undefined) throw new UsageError(`--target-ms is required\n\n${HELP}`);
  }
  const targetMs = byMadds ? numOpt('target-madds', values['target-madds'], 0) : numOpt('target-ms', values['target-ms'], 0);
  if (!(targetMs > 0)) throw new UsageError(`--${byMadds ? 'target-madds' : 'target-ms'} must be > 0, got ${byMadds ? values['target-madds'] : values['target-ms']}`);
  costUnit = byMadds ? 'M MAdds' : 'ms';
  const layout = (() => {
    if (space) return space.layout;
    try {
      return getLayout(values.layout!);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  const mode = values.mode as ProxylessSearchConfig['mode'];
  if (mode !== 'gradient' && mode !== 'reinforce') throw new UsageError(`--mode must be gradient or reinforce, got '${values.mode}'`);
  const paths = intOpt('paths', values.paths, 1);
  if (paths !== 1 && paths !== 2) throw new UsageError(`--paths must be 1 or 2, got ${paths}`);
  const gateGrads = values['gate-grads'] as ProxylessSearchConfig['gateGrads'];
  if (gateGrads !== 'sampled' && gateGrads !== 'all') throw new UsageError(`--gate-grads must be sampled or all, got '${gateGrads}'`);
  const lossKind = values.loss as LatencyLossKind;
  if (lossKind !== 'add' && lossKind !== 'mul' && lossKind !== 'hinge') throw new UsageError(`--loss must be add, mul or hinge, got '${values.loss}'`);
  const missing = values.missing as MissingPolicy;
  if (!['error', 'nearest', 'scale'].includes(missing)) throw new UsageError(`--missing must be error, nearest or scale, got '${missing}'`);
  if (values.resume && !values.checkpoint) throw new UsageError('--resume needs --checkpoint DIR');

  const trainN = intOpt('train', values.train, 4000);
  const valN = intOpt('val', values.val, 1000);
  // 224×224 steps are heavy on a software GPU: small default batches for the ImageNet layout.
  const big = layout.inputSize > 64;
  const batchSize = intOpt('batch', values.batch, big ? 2 : D.batchSize);
  let searchSteps = intOpt('steps', values.steps, D.searchSteps);
  if (values.epochs !== undefined) searchSteps = Math.ceil(numOpt('epochs', values.epochs, 1) * (trainN / batchSize));
  if (!(searchSteps >= 1)) throw new UsageError('--epochs must give at least one step');

  const logEvery = intOpt('log-every', values['log-every'], D.logEvery);
  if (space && values['latency-table'] && space.file.source !== 'hand-designed') {
    throw new UsageError(`the cells of a ${space.file.source} space are not in latency tables: drop --latency-table and give --target-madds, or --price-cells --target-ms`);
  }
  const latency: SearchLatency = byMadds
    ? maddsCost(space!)
    : priced
      ? await priceCellSpace(space!, { backend, threads, onProgress: (d, n) => d === n && process.stderr.write(`priced ${n} distinct ops of the space on this CPU (${backend}, ${threads} thread(s))\n`) })
      : layoutLatency(readLatencyTable(values['latency-table']!), layout, { missing });
  const range = latencyRange(latency);

  const cfg: ProxylessSearchConfig = {
    ...D,
    layout,
    mode,
    paths,
    gateGrads,
    latencyLoss: {
      kind: lossKind,
      targetMs,
      lambda: numOpt('lambda', values.lambda, lossKind === 'hinge' ? 2 : 0.1),
      beta: numOpt('beta', values.beta, 0.3),
    },
    reinforceW: numOpt('reward-w', values['reward-w'], D.reinforceW),
    reinforceSamples: intOpt('rl-samples', values['rl-samples'], D.reinforceSamples),
    warmupSteps: intOpt('warmup', values.warmup, D.warmupSteps, 0),
    searchSteps,
    archEvery: intOpt('arch-every', values['arch-every'], D.archEvery),
    batchSize,
    valBatchSize: intOpt('val-batch', values['val-batch'], big ? 2 : D.valBatchSize),
    weightLr: numOpt('lr', values.lr, D.weightLr),
    warmupLr: numOpt('warmup-lr', values['warmup-lr'], D.warmupLr),
    arch: { ...D.arch, lr: numOpt('arch-lr', values['arch-lr'], 0.1) },
    augment: !values['no-augment'],
    seed: intOpt('seed', values.seed, D.seed, 0),
    // A plot records every step; printing still follows --log-every (see onEvent below).
    logEvery: values.plot ? 1 : logEvery,
    checkpointDir: values.checkpoint ?? null,
    checkpointEvery: intOpt('checkpoint-every', values['checkpoint-every'], D.checkpointEvery, 0),
    space,
    onStaleLock: (o) => process.stderr.write(`note: ${values.checkpoint} was locked by process ${o.pid}, which is gone: taking it over\n`),
  };
  if (lossKind === 'mul' && !(targetMs > 1)) throw new UsageError('--loss mul needs --target-ms > 1 (it takes ln T); use --loss add');

  const err = process.stderr;
  const gpu = await acquireGpu();
  err.write(
    `proxyless: ${layout.name} layout, ${latency.perPosition.length} searchable blocks, adapter ${gpu.name}\n` +
      (space ? `space ${values['space-file']} (${space.file.source}, ${space.cells.map((c) => c.length).join('/')} cells per layer)\n` : '') +
      `cost (${latency.source === 'direct' ? 'latency table keys of this layout' : latency.source === 'madds' ? 'multiply-adds of the cells' : latency.source === 'profiled' ? `cells timed on this CPU, ${backend}` : 'latency priced as the ImageNet positions, Pixel-1 table'}): ` +
      `fixed ${latency.fixedMs.toFixed(2)} ${costUnit}, space ${range.minMs.toFixed(2)}..${range.maxMs.toFixed(2)} ${costUnit}, target ${targetMs} ${costUnit}\n` +
      `${mode}${mode === 'gradient' ? `, ${paths} path(s), gate grads ${gateGrads}, loss ${lossKind}` : `, reward acc·(T/lat)^${cfg.reinforceW}`}; ` +
      `warm-up ${cfg.warmupSteps} + search ${cfg.searchSteps} steps, batch ${batchSize}\n`,
  );
  if (big) err.write('note: the ImageNet layout runs on CIFAR-10 images upscaled to 224 (no ImageNet data here)\n');
  if (targetMs < range.minMs || targetMs > range.maxMs) {
    err.write(`note: the target lies outside the space's range ${range.minMs.toFixed(2)}..${range.maxMs.toFixed(2)} ${costUnit}\n`);
  }
  const data = cifarSearchSplit(trainN, valN);
  const search = new ProxylessSearch(gpu, cfg, data, latency);
  try {
    if (values.resume) {
      search.resume(values.checkpoint!);
      const c = search.progress;
      err.write(`resumed from ${values.checkpoint}: warm-up ${c.warmup}/${cfg.warmupSteps}, search ${c.search}/${cfg.searchSteps}, ${c.arch} α steps\n`);
    }
    const probsAt = new WeakMap<ProgressEvent, number[][]>();
    let pending: ProgressEvent[] = [];
    const onEvent = (e: ProgressEvent) => {
      if (values.plot) probsAt.set(e, search.probs);
      pending.push(e);
      if (e.step % logEvery === 0 || e.step === e.total) {
        err.write(`${fmtEvent(pending.length > 1 ? mergeProgress(pending) : e)}\n`);
        pending = [];
      }
    };
    const res = await search.run(onEvent);
    const valAcc = await search.evaluate(res.choices);
    const lines = [
      `derived network (${res.weightSteps} weight steps, ${res.archSteps} α steps, ${res.seconds.toFixed(0)} s):`,
      ...res.names.map((n, b) => `  block ${String(b + 1).padStart(2)}: ${n.padEnd(12)} p=${Math.max(...res.probs[b]).toFixed(3)}`),
      byMadds
        ? `multiply-adds ${res.latencyMs!.toFixed(2)} M, E[MAdds] ${res.expectedMs!.toFixed(2)} M, target ${targetMs} M`
        : `latency ${res.latencyMs!.toFixed(2)} ms (${priced ? 'cells timed on this CPU' : 'table'}), E[lat] ${res.expectedMs!.toFixed(2)} ms, target ${targetMs} ms`,
      `supernet val accuracy of the derived path: ${(100 * valAcc).toFixed(1)}% (${4 * cfg.valBatchSize} images)`,
    ];
    if (values.plot) {
      const data = plotDataFromSearch(res, { targetMs, warmupSteps: cfg.warmupSteps, probsOf: (e) => probsAt.get(e) });
      const how = mode === 'gradient' ? `gradient, ${paths} path(s), ${lossKind} loss` : `REINFORCE, w ${cfg.reinforceW}`;
      const subtitle =
        `${layout.name} layout, ${how}, batch ${batchSize}, seed ${cfg.seed}: derived ${res.latencyMs!.toFixed(2)} ms ` +
        `(E[lat] ${res.expectedMs!.toFixed(2)} ms), supernet val acc ${(100 * valAcc).toFixed(1)}%`;
      writeFileAtomic(values.plot, searchPlotSvg(data, { title: `ProxylessNAS search, target ${targetMs} ms`, subtitle }));
      lines.push(`wrote ${values.plot}`);
    }
    if (values['train-derived']) {
      const steps = intOpt('train-derived', values['train-derived'], 100);
      const test = loadCifar10('test');
      const r = await trainFixed(gpu, layout, res.choices, data.train, test, {
        steps,
        batchSize,
        lr: cfg.weightLr,
        weightDecay: cfg.weightDecay,
        seed: cfg.seed,
        augment: cfg.augment,
        evalImages: 1000,
        cells: space?.cells,
        onStep: (s, l) => {
          if (s % logEvery === 0) err.write(`train-derived ${s}/${steps} loss ${l.toFixed(3)}\n`);
        },
      });
      lines.push(`trained from scratch ${steps} steps: test accuracy ${(100 * r.testAcc).toFixed(1)}% (1000 test images), final loss ${r.finalTrainLoss.toFixed(3)}`);
    }
    const json = JSON.stringify(res.netConfig, null, 2) + '\n';
    if (values.out) {
      writeFileAtomic(values.out, json);
      lines.push(`wrote ${values.out}`);
      process.stdout.write(lines.join('\n') + '\n');
    } else {
      err.write(lines.join('\n') + '\n');
      process.stdout.write(json);
    }
  } finally {
    search.dispose();
  }
}
