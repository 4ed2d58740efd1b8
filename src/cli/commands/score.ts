import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadNb201Accuracies } from '../../data/nb201-bench.js';
import { acquireGpu } from '../../gpu/index.js';
import { GROUPABLE_PROXIES } from '../../proxies/evaluate.js';
import { NB201_DEFAULT } from '../../nn/nb201-net.js';
import { allCells, canonicalKey, formatArch, isCanonical, parseArch, sampleCell, type Nb201Cell } from '../../spaces/nb201.js';
import { Rng } from '../../util/rng.js';
import { addVote, expandProxyNames, type ScoredCell, scoreAll, wantsVote, type ZeroShotOptions, ZeroShotScorer } from '../../zeroshot.js';
import { checkResumedKeys, type Row, RowStream } from '../../data/row-stream.js';
import { intOpt, listOpt, UsageError } from '../args.js';

export const summary = 'score NAS-Bench-201 architectures with zero-cost proxies on CIFAR-10';

const HELP = `usage: wgnas score [--arch STR]... [--archs FILE] [--sample K | --all] [options]

Scores NAS-Bench-201 cells on one CIFAR-10 minibatch (../shared/data/cifar10).
  --arch STR          an arch string |op~0|+|op~0|op~1|+|op~0|op~1|op~2| (repeatable)
  --archs FILE        a file with one arch string per line
  --sample K          K random unique cells (seeded)
  --all               every cell of the space (15625)
  --ground-truth      restrict --sample/--all to the 9445 distinct cells of the shared accuracy table
  --proxies LIST      comma list: ${'wrcor,naswot,synflow,...'}, 'vote' or 'all' (default wrcor)
  --batch N           minibatch size (default 64)
  --seed N            weight-init and batch seed (default 0)
  --group N           score N architectures together: their ReLU correlation matrices share batched
                      dispatches (wrcor*, naswot, params, flops only; memory grows with N; default 1)
  --cells-per-stage N network depth per stage (default 5, NAS-Bench-201)
  --channels N        stem width (default 16)
  --out FILE          write .csv, .jsonl or .json (rows: arch, proxies, val_acc, time_ms); CSV/JSONL
                      rows are appended as they finish, .json is written at the end
  --resume            keep the rows already in --out (same proxies, batch, seed, network) and score
                      only the remaining architectures
`;

export function selectCells(
  v: { arch?: string[]; archs?: string; sample?: string; all?: boolean; 'ground-truth'?: boolean; seed?: string },
  accs: Map<string, number> | null,
): Nb201Cell[] {
  const cells: Nb201Cell[] = [];
  for (const a of v.arch ?? []) cells.push(parseArch(a));
  if (v.archs) {
    const lines = readFileSync(v.archs, 'utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
    lines.forEach((l, i) => {
      try {
        cells.push(parseArch(l.split(',')[0]));
      } catch (e) {
        throw new UsageError(`${v.archs}:${i + 1}: ${(e as Error).message}`);
      }
    });
  }
  const gtOnly = Boolean(v['ground-truth']);
  // The shared table holds the 9445 live forms (no dead edges): exactly the canonical cells.
  const known = (c: Nb201Cell) => !gtOnly || (isCanonical(c) && (accs?.has(canonicalKey(c)) ?? true));
  if (v.all) cells.push(...allCells().filter(known));
  if (v.sample) {
    const k = intOpt('sample', v.sample, 0);
    const rng = new Rng(intOpt('seed', v.seed, 0, 0) + 1);
    const seen = new Set<string>();
    let tries = 0;
    while (seen.size < k && tries++ < k * 1000) {
      const c = sampleCell(rng);
      const key = canonicalKey(c);
      if (seen.has(key) || !known(c)) continue;
      seen.add(key);
      cells.push(c);
    }
  }
  if (!cells.length) throw new UsageError('nothing to score: give --arch, --archs, --sample K or --all');
  return cells;
}

export async function run(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      arch: { type: 'string', multiple: true },
      archs: { type: 'string' },
      sample: { type: 'string' },
      all: { type: 'boolean' },
      'ground-truth': { type: 'boolean' },
      proxies: { type: 'string' },
      batch: { type: 'string' },
      group: { type: 'string' },
      seed: { type: 'string' },
      'cells-per-stage': { type: 'string' },
      channels: { type: 'string' },
      out: { type: 'string' },
      resume: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return;
  }
  const proxyNames = listOpt(v.proxies, ['wrcor']);
  const accs = loadNb201Accuracies();
  const cells = selectCells(v, accs);
  const opts: ZeroShotOptions = {
    batchSize: intOpt('batch', v.batch, 64, 2),
    seed: intOpt('seed', v.seed, 0, 0),
    group: intOpt('group', v.group, 1),
    net: {
      ...NB201_DEFAULT,
      cellsPerStage: intOpt('cells-per-stage', v['cells-per-stage'], NB201_DEFAULT.cellsPerStage),
      channels: intOpt('channels', v.channels, NB201_DEFAULT.channels),
    },
  };
  if (v.resume && !v.out) throw new UsageError('--resume needs --out FILE');
  // Opened before any GPU work, so a resume with other settings is refused at once.
  const stream = v.out ? openScoreStream(v.out, expandProxyNames(proxyNames), opts, wantsVote(proxyNames), Boolean(v.resume)) : null;
  const keep = stream?.done ?? [];
  if (stream) checkResumedKeys(v.out!, keep, cells.map(formatArch), 'arch', 'architecture');
  const gpu = await acquireGpu();
  const scorer = new ZeroShotScorer(gpu, proxyNames, opts);
  if ((scorer.opts.group ?? 1) > 1 && !scorer.grouped) {
    gpu.destroy();
    stream?.close();
    throw new UsageError(`--group works with wrcor*, naswot, params and flops only, not ${scorer.proxies.filter((p) => !GROUPABLE_PROXIES.has(p)).join(', ')}`);
  }
  if (keep.length) process.stderr.write(`resuming ${v.out}: ${keep.length} of ${cells.length} cells already scored\n`);
  process.stderr.write(`scoring ${cells.length - keep.length} cells with ${scorer.proxies.join(', ')} on ${gpu.name}\n`);
  const toRow = (r: ScoredCell): Row => ({ arch: r.arch, ...r.scores, val_acc: accs.get(canonicalKey(parseArch(r.arch))), time_ms: Math.round(r.timeMs) });
  const fresh = await scoreAll(scorer, cells.slice(keep.length), 'score', (rs) => stream?.append(rs.map(toRow)));
  const rows = [...keep.map((r) => scoredOf(r, scorer.proxies)), ...fresh];
  const vote = wantsVote(proxyNames);
  if (vote) addVote(rows);
  // Rows read back keep their text as written; only the population-level vote is recomputed.
  const out = [...keep.map((r, i) => withVote(r, vote ? rows[i].scores.vote : undefined)), ...fresh.map(toRow)];
  if (stream) {
    stream.finish(vote ? out : undefined);
    process.stderr.write(`wrote ${out.length} rows to ${v.out}\n`);
  } else {
    for (const r of out) process.stdout.write(JSON.stringify(r) + '\n');
  }
  gpu.destroy();
}

function openScoreStream(path: string, proxies: readonly string[], o: ZeroShotOptions, vote: boolean, resume: boolean): RowStream {
  return new RowStream(path, {
    settings: {
      '--proxies': [...proxies].sort().join(',') + (vote ? ',vote' : ''),
      '--batch': o.batchSize,
      '--seed': o.seed,
      '--channels': o.net.channels,
      '--cells-per-stage': o.net.cellsPerStage,
    },
    resume,
    killTag: 'score.rows',
    onStaleLock: (w) => process.stderr.write(`note: ${path} was locked by process ${w.pid}, which is gone: taking it over\n`),
  });
}

/** A row read back from --out as a scored cell (CSV values are text; NaN was written as null in JSON). */
function scoredOf(r: Row, proxies: readonly string[]): ScoredCell {
  const num = (x: unknown) => (x === null || x === undefined || x === '' ? NaN : Number(x));
  return { arch: String(r.arch), scores: Object.fromEntries(proxies.map((p) => [p, num(r[p])])), timeMs: num(r.time_ms) };
}

/** The row with its vote replaced, in the column order a fresh row has (vote before val_acc). */
function withVote(r: Row, vote: number | undefined): Row {
  if (vote === undefined) return r;
  const { vote: _old, val_acc, time_ms, ...rest } = r;
  return { ...rest, vote, val_acc, time_ms };
}
