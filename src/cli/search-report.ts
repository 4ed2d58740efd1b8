/** The NAS-Bench-201 search's result: the best cell, its score and ground truth (JSON with --json); returns the best arch string. */
import { loadNb201Accuracies } from '../data/nb201-bench.js';
import { canonicalKey, formatArch, type Nb201Cell } from '../spaces/nb201.js';
import type { Io } from './run.js';
import { fmtSig } from '../util/format.js';

export interface Nb201SearchValues {
  strategy: string;
  proxy: string;
  budget: number;
  json: boolean;
}

export function printNb201Result(
  v: Nb201SearchValues,
  io: Io,
  result: { best: Nb201Cell; bestScore: number; evaluations: number },
  seconds: number,
  device: Record<string, unknown>,
): string {
  const { strategy, proxy, budget } = v;
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
    seconds,
    ...device,
  };
  if (v.json) io.out(JSON.stringify(out, null, 2) + '\n');
  else {
    io.out(
      `best cell:  ${best}\n` +
        `${proxy} score: ${fmtSig(result.bestScore)}\n` +
        (acc === undefined
          ? 'CIFAR-10 accuracy: unknown (cell not in the shared NAS-Bench-201 table)\n'
          : `CIFAR-10 val accuracy (NAS-Bench-201): ${acc.toFixed(2)} %  (percentile ${pctile!.toFixed(1)}: as good as or better than ${pctile!.toFixed(1)} % of the ${all.length} cells; best ${out.bestPossibleAcc} %)\n`) +
        `evaluated ${result.evaluations} cells in ${out.seconds.toFixed(1)} s\n`,
    );
  }
  return best;
}
