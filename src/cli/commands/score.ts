import { loadNb201Accuracies } from '../../data/nb201-bench.js';
import { acquireGpu } from '../../gpu/index.js';
import { GROUPABLE_PROXIES } from '../../proxies/registry.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import { canonicalKey, parseArch } from '../../spaces/nb201.js';
import { Progress } from '../../util/progress.js';
import { addVote, expandProxyNames, scoreAll, wantsVote, ZeroShotScorer } from '../../zeroshot/index.js';
import { UsageError, writeTable } from '../args.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { selectCells } from '../select-cells.js';
import type { ValuesOf } from '../spec.js';
import { SCORE, type SCORE_OPTIONS } from '../specs/score.js';

export const summary = SCORE.summary;

async function score(v: ValuesOf<typeof SCORE_OPTIONS>, { io }: RunContext): Promise<void> {
  const proxyNames = v.proxies;
  if (v['ground-truth'] && v.sample === undefined && !v.all) throw new UsageError('--ground-truth restricts --sample K or --all; give one of them');
  const ungroupable = expandProxyNames(proxyNames).filter((p) => !GROUPABLE_PROXIES.has(p));
  const group = v.group === 'auto' ? 'auto' : Number(v.group);
  if (group !== 'auto' && group > 1 && ungroupable.length) throw new UsageError(`--group works with wrcor*, naswot, params and flops only, not ${ungroupable.join(', ')}`);
  const accs = loadNb201Accuracies();
  const cells = selectCells({ arch: v.arch, archs: v.archs, sample: v.sample, all: v.all, groundTruth: v['ground-truth'], seed: v.seed }, accs);
  const gpu = await acquireGpu();
  const scorer = new ZeroShotScorer(gpu, proxyNames, {
    batchSize: v.batch,
    seed: v.seed,
    group,
    net: { ...NB201_DEFAULT, cellsPerStage: v['cells-per-stage'], channels: v.channels },
  });

  io.err(`scoring ${cells.length} cells with ${scorer.proxies.join(', ')} on ${gpu.name}\n`);
  const bar = new Progress(cells.length, 'score', process.stderr, { quiet: v.quiet });
  const rows = await scoreAll(scorer, cells, (done, _n, ms) => bar.update(done, `${(ms / 1000).toFixed(2)} s/arch`));
  bar.done();
  if (wantsVote(proxyNames)) addVote(rows);
  const out = rows.map((r) => ({
    arch: r.arch,
    ...r.scores,
    val_acc: accs.get(canonicalKey(parseArch(r.arch))),
    time_ms: Math.round(r.timeMs),
  }));
  if (v.out) {
    writeTable(v.out, out);
    io.err(`wrote ${out.length} rows to ${v.out}\n`);
  } else {
    for (const r of out) io.out(JSON.stringify(r) + '\n');
  }
  gpu.destroy();
}

export const handlers = { score };
export const run = (argv: string[]) => runCommand(SCORE, argv, selfResolve('score', handlers));
