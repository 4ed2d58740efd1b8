import { loadNaslibZc, loadNb201Accuracies, loadNb201ReferenceProxies, type NaslibDataset } from '../../data/nb201-bench.js';
import { findDataFile } from '../../data/paths.js';
import { cellNumber, emptyCell } from '../../data/row-stream.js';
import { canonicalKey, formatArch, fromIndexTuple, parseArch } from '../../spaces/nb201.js';
import { AGGREGATORS, PROXIES, requestedAggregators, RETIRED_PROXIES } from '../../proxies/registry.js';
import {
  type BootstrapOptions,
  type Interval,
  kendallDifference,
  kendallInterval,
  MIN_BOOTSTRAP_PAIRS,
  type PairedDifference,
  spearmanDifference,
  spearmanInterval,
} from '../../util/bootstrap.js';
import { fmtMs } from '../../util/format.js';
import { LOG_LINES, Progress } from '../../util/progress.js';
import { kendallTau, spearmanRho } from '../../util/ranks.js';
import {
  addAggregates,
  expandProxyNames,
  type ScoredCell,
  scoreAll,
  ZeroShotScorer,
  ZERO_SHOT_DEFAULTS,
} from '../../zeroshot/index.js';
import { readTable, readText, textTable, UsageError } from '../args.js';
import { openRunDataset, runProxyBatch } from '../dataset.js';
import { deviceOf, gpuKernelsOf, openDevice, precisionOf } from '../device.js';
import { cutValue, quote } from '../errors.js';
import { provenanceOf, streamProvenance, withBackend } from '../provenance.js';
import { batchData, cpuThreadsOf } from '../resume-settings.js';
import { runCommand, selfResolve, type RunContext } from '../run.js';
import { rowOf } from '../score-rows.js';
import { openScoreStream } from '../score-stream.js';
import {
  checkSameSettings,
  type CellOrigin,
  definitionsNotes,
  mergeCell,
  renameColumns,
  wrcorDefinitionOf,
  wrcorRenames,
} from '../score-files.js';
import { selectCells } from '../select-cells.js';
import type { ValuesOf } from '../spec.js';
import {
  CORRELATE,
  type CORRELATE_REFERENCE_OPTIONS,
  type CORRELATE_SAMPLE_OPTIONS,
  type CORRELATE_SCORES_OPTIONS,
} from '../specs/correlate.js';

export const summary = CORRELATE.summary;

// Our proxy names -> the reference table's column names.
const REFERENCE_NAME: Record<string, string> = {
  naswot: 'nwot',
  synflow: 'synflow',
  grad_norm: 'grad_norm',
  snip: 'snip',
  jacob_cov: 'jacov',
  zen: 'zen',
  params: 'params',
  flops: 'flops',
};

/** Columns of score files that are not proxies (wgnas's, a queued search's step, NAS-Bench-Suite-Zero's CSV, NASLib's JSON). */
const NOT_PROXIES = ['arch', 'net', 'net_str', 'val_acc', 'val_accs', 'val_accuracy', 'time_ms', 'step', 'idx'];

/** Below this many cells a rank correlation says little (n = 2 gives tau = ±1 by construction), and has no interval. */
const FEW_CELLS = MIN_BOOTSTRAP_PAIRS;

export interface CorrelationRow {
  proxy: string;
  n: number;
  kendallTau: number;
  spearmanRho: number;
  /** 95% percentile-bootstrap intervals (absent when not asked for; null below MIN_BOOTSTRAP_PAIRS cells). */
  tauCi?: Interval | null;
  rhoCi?: Interval | null;
  msPerArch?: number;
}

export function correlateColumns(
  rows: Array<Record<string, number | undefined>>,
  proxies: string[],
  truthKey: string,
  boot?: BootstrapOptions,
): CorrelationRow[] {
  return proxies.map((p) => {
    const pairs = rows.filter((r) => Number.isFinite(r[p]) && Number.isFinite(r[truthKey]));
    const a = pairs.map((r) => r[p] as number);
    const b = pairs.map((r) => r[truthKey] as number);
    const row: CorrelationRow = {
      proxy: p,
      n: pairs.length,
      kendallTau: kendallTau(a, b).tau,
      spearmanRho: spearmanRho(a, b).rho,
    };
    if (boot) {
      row.tauCi = kendallInterval(a, b, boot);
      row.rhoCi = spearmanInterval(a, b, boot);
    }
    return row;
  });
}

/** Ground truth by arch: CIFAR-10 validation accuracy, or NASLib's accuracies of another dataset (725 cells). */
function accuracyOf(dataset: NaslibDataset = 'cifar10'): (arch: string) => number | undefined {
  const accs =
    dataset === 'cifar10' ? loadNb201Accuracies() : new Map(loadNaslibZc(dataset).map((r) => [canonicalKey(r.cell), r.valAcc]));
  return (arch: string) => accs.get(canonicalKey(parseArch(arch)));
}

const bootOf = (v: { bootstrap: number; 'bootstrap-seed': number }): BootstrapOptions | undefined =>
  v.bootstrap > 0 ? { resamples: v.bootstrap, seed: v['bootstrap-seed'] } : undefined;

interface PairedFlags {
  versus?: string[];
  paired: boolean;
  bootstrap: number;
}

/** A paired comparison is a bootstrap: refused (before any work) with --bootstrap 0. */
function checkPaired(v: PairedFlags): void {
  if ((v.versus || v.paired) && v.bootstrap < 1)
    throw new UsageError(`${v.versus ? '--versus' : '--paired'} is a bootstrap of the difference: it needs --bootstrap >= 1`);
}

/**
 * The (A, B) pairs to compare: each A vs each --versus name, or every pair of the As (--paired).
 * The As: the --proxies names as given (an aggregate without the members it brought), else every column.
 */
function pairsOf(columns: readonly string[], v: PairedFlags & { proxies?: string[] }): Array<[string, string]> {
  const named = v.proxies && !v.proxies.includes('all') ? v.proxies.filter((p) => columns.includes(p)) : undefined;
  const as = named?.length ? named : columns;
  if (v.versus) return v.versus.flatMap((b) => as.filter((a) => a !== b).map((a): [string, string] => [a, b]));
  if (v.paired) return as.flatMap((a, i) => as.slice(i + 1).map((b): [string, string] => [a, b]));
  return [];
}

export interface PairedRow {
  a: string;
  b: string;
  tau: PairedDifference;
  rho: PairedDifference;
  /** Kendall tau-b between A's and B's scores (how alike the two rankings are), over the cells both score finitely. */
  tauAB: number;
}

/**
 * Paired bootstrap of A - B (tau-b and rho) against the truth, on the cells where both have a score;
 * and A's tau with B itself.
 */
export function comparePaired(
  rows: Array<Record<string, number | undefined>>,
  pairs: ReadonlyArray<readonly [string, string]>,
  truthKey: string,
  boot: BootstrapOptions,
): PairedRow[] {
  const col = (k: string) => rows.map((r) => r[k] ?? NaN);
  const truth = col(truthKey);
  return pairs.map(([a, b]) => ({
    a,
    b,
    tau: kendallDifference(col(a), col(b), truth, boot),
    rho: spearmanDifference(col(a), col(b), truth, boot),
    tauAB: kendallTau(col(a), col(b)).tau,
  }));
}

async function reference(_v: ValuesOf<typeof CORRELATE_REFERENCE_OPTIONS>, { io }: RunContext): Promise<void> {
  const accOf = accuracyOf();
  const ref = loadNb201ReferenceProxies();
  const names = Object.keys(ref[0]?.scores ?? {});
  const rows = ref.map((r) => ({ ...r.scores, val_acc: r.valAcc ?? accOf(r.arch) }));
  // Best-ranking proxy first (by |tau|: a negatively correlated proxy ranks as well, reversed).
  const table = correlateColumns(rows, names, 'val_acc').sort((a, b) => Math.abs(b.kendallTau) - Math.abs(a.kendallTau));
  io.out(`PyTorch reference scores (nb201_zc_proxies.csv) vs CIFAR-10 val accuracy\n`);
  io.out(
    textTable(
      ['proxy', 'n', 'kendall_tau', 'spearman_rho'],
      table.map((r) => [r.proxy, r.n, r.kendallTau, r.spearmanRho]),
    ),
  );
}

interface Scored {
  /** Where the scores come from, for errors. */
  source: string;
  rows: Array<Record<string, number | undefined>>;
  proxies: string[];
  archs: string[];
  timeMs: number[];
  /** Rows of a cell read before with the same scores (score files): dropped, each cell counts once. */
  duplicates?: number;
  /** Score files: the files whose rows gave each population-level column (vote, ...) its values. */
  aggregateFiles?: Map<string, Set<string>>;
  /** Notes for stderr (an aggregate recomputed over the cells read). */
  notes?: string[];
}

/**
 * Score files: each cell a number (or empty), each arch a valid arch string; errors name file and line.
 * A score's value: empty (or absent) is not scored; a number, or 'Infinity' / '-Infinity' / 'NaN' (as
 * CSV and JSON rows write them; JSON's null, which older JSON rows held for any of them, is NaN).
 * `extra`: columns other than the proxies' (time_ms, idx) read as scores too, when named.
 * A population-level column (vote, vote_majority, az_nas, vkdnw_agg, ensemble) ranks its own file's cells: it is
 * never compared between rows of a cell (selectColumns recomputes it over the cells read); a cell
 * keeps the first value read, and aggregateFiles says which files gave them.
 */
function readScoreFiles(
  files: readonly string[],
  accOf: (arch: string) => number | undefined,
  extra: readonly string[] = [],
): Scored {
  const out: Scored = { source: files.join(', '), rows: [], proxies: [], archs: [], timeMs: [] };
  checkSameSettings(files);
  // A cell read again (another file, or twice in one) merges into its first row; its time_ms then counts once.
  const seen = new Map<string, CellOrigin>();
  const aggregateFiles = new Map<string, Set<string>>();
  const fromFile = (agg: string, f: string) => aggregateFiles.set(agg, (aggregateFiles.get(agg) ?? new Set()).add(f));
  let duplicates = 0;
  const tables = files.map((f) => {
    const table = readTable(f, readText(f, 'scores file'));
    if (!table.length) throw new Error(`${f}: no rows`);
    const columns = Object.keys(table[0].record);
    return { f, table, columns, definition: wrcorDefinitionOf(f, columns) };
  });
  // Files of earlier WRCor definitions read under the current names (wrcorRenames).
  for (const { f, table: raw, definition } of tables) {
    const renames = wrcorRenames(definition);
    const table = raw.map(({ record, at }) => ({ record: renameColumns(record, renames), at }));
    // A bad value is named by the file's own column, as the file:line beside it points there.
    const asInFile = (p: string) => Object.keys(renames).find((k) => renames[k] === p) ?? p;
    const cols = Object.keys(table[0].record);
    // The cell: wgnas's `arch`, NAS-Bench-Suite-Zero's `net_str` (or its index tuple `net`).
    const archCol = ['arch', 'net_str', 'net'].find((c) => cols.includes(c));
    if (!archCol)
      throw new Error(`${f}: needs an 'arch' column (or NAS-Bench-Suite-Zero's 'net_str'; has ${cols.slice(0, 12).join(', ')})`);
    const proxies = cols.filter((k) => !NOT_PROXIES.includes(k) || extra.includes(k));
    const aggregates = proxies.filter((p) => AGGREGATORS.has(p));
    const perCell = proxies.filter((p) => !AGGREGATORS.has(p));
    // Files with different proxy columns concatenate: a cell lacks the scores its file lacks.
    for (const p of proxies) if (!out.proxies.includes(p)) out.proxies.push(p);
    table.forEach(({ record: r, at }) => {
      const o: Record<string, number | undefined> = {};
      for (const p of proxies) {
        // Empty: not scored; NaN or +-Infinity: the proxy gave no finite score on this cell. Both are
        // left out of its correlation; an aggregate ranks the second kind last.
        const x = r[p];
        if (emptyCell(x)) continue;
        const n = cellNumber(x);
        if (n === undefined) throw new Error(`${at}: ${asInFile(p)} score ${quote(String(x))} is not a number`);
        o[p] = n;
      }
      let arch = String(r[archCol] ?? '');
      try {
        if (archCol === 'net') arch = formatArch(fromIndexTuple(arch));
        o.val_acc = accOf(arch);
      } catch (e) {
        throw new Error(`${at}: ${cutValue((e as Error).message, arch)}`);
      }
      const t = r.time_ms;
      let ms: number | undefined;
      if (!emptyCell(t) && t !== null) {
        ms = cellNumber(t);
        if (ms === undefined || !Number.isFinite(ms)) throw new Error(`${at}: time_ms ${quote(String(t))} is not a number`);
      }
      const earlier = seen.get(arch);
      if (earlier) {
        if (mergeCell(arch, earlier, o, at, perCell) === 'duplicate') duplicates++;
        for (const a of aggregates)
          if (earlier.scores[a] === undefined && o[a] !== undefined) {
            earlier.scores[a] = o[a];
            fromFile(a, f);
          }
        return;
      }
      for (const a of aggregates) if (o[a] !== undefined) fromFile(a, f);
      seen.set(arch, { at, scores: o });
      if (ms !== undefined) out.timeMs.push(ms);
      out.archs.push(arch);
      out.rows.push(o);
    });
  }
  out.duplicates = duplicates;
  out.aggregateFiles = aggregateFiles;
  const withWrcor = out.rows.filter((r) => r.wrcor !== undefined).length;
  const notes = definitionsNotes(
    tables.map((t) => ({ file: t.f, definition: t.definition, columns: t.columns })),
    withWrcor,
    out.rows.length,
  );
  if (notes.length) out.notes = notes;
  return out;
}

/**
 * What retired names among `names` are now ('; wrcor_module is now ...'): a file of an earlier WRCor
 * definition reads under the current names, so its former column is not there.
 */
const retiredNote = (names: readonly string[]): string =>
  names
    .filter((p) => RETIRED_PROXIES.has(p.toLowerCase()))
    .map((p) => `; ${p} is ${RETIRED_PROXIES.get(p.toLowerCase())}`)
    .join('');

/**
 * The columns to correlate: `only` (default all), after adding each aggregate whose members every
 * cell has. An aggregate ranks a whole population, so a file's own column of one (its own cells'
 * ranking) is recomputed over all the cells read when every cell has every member's score; else
 * it is kept where one file gave all its values, and refused where several did (shards each ranked
 * apart do not make one ranking).
 */
function selectColumns(out: Scored, only: readonly string[] | undefined): Scored {
  const aggNames = [...AGGREGATORS.keys()];
  if (only) {
    const missing = only.filter((p) => !aggNames.includes(p) && !out.proxies.includes(p));
    if (missing.length)
      throw new Error(
        `--proxies: ${missing.join(', ')} not in ${out.source} (columns: ${out.proxies.join(', ')})${retiredNote(missing)}`,
      );
  }
  out.notes ??= [];
  for (const a of AGGREGATORS.values()) {
    if (only && !only.includes(a.name)) continue;
    const lacking = a.members.map((m) => [m, out.rows.filter((r) => r[m] === undefined).length] as const).filter(([, n]) => n);
    const inFiles = out.proxies.includes(a.name);
    if (lacking.length) {
      const files = [...(out.aggregateFiles?.get(a.name) ?? [])];
      if (inFiles && files.length > 1) {
        const [m, n] = lacking[0];
        throw new Error(
          `--scores: ${a.name} ranks the cells scored together, so ${files.length} files' own ${a.name} columns do not make one ranking, and it cannot be recomputed over the ${out.rows.length} cells read: ${n} lack ${m} (${a.name}'s members: ${a.members.join(', ')}); score every file with them, or leave ${a.name} out (--proxies)`,
        );
      }
      continue;
    }
    const agg = a.aggregate(out.rows as Array<Record<string, number>>);
    const moved = out.rows.filter((r, i) => r[a.name] !== undefined && !Object.is(r[a.name], agg[i])).length;
    if (moved)
      out.notes.push(
        `note: --scores: ${a.name} recomputed from its members over the ${out.rows.length} cells read (the files' own column ranked each file's cells alone: ${moved} values differ)`,
      );
    out.rows.forEach((r, i) => (r[a.name] = agg[i]));
    if (!inFiles) out.proxies.push(a.name);
  }
  if (only) out.proxies = out.proxies.filter((p) => only.includes(p));
  return out;
}

/** A proxy, an aggregate or 'all'. */
const isRegistryName = (p: string): boolean => p === 'all' || PROXIES.has(p) || AGGREGATORS.has(p);

/** A column of the files as named; else a registry name in any case ('WRCor' -> 'wrcor'); else as given. */
function columnName(p: string, columns: readonly string[]): string {
  if (columns.includes(p)) return p;
  return isRegistryName(p.toLowerCase()) ? p.toLowerCase() : p;
}

/** Columns that name the cell or carry an accuracy: never correlated (the truth is NAS-Bench-201's, --dataset). */
const NOT_SCORES = ['arch', 'net', 'net_str', 'val_acc', 'val_accs', 'val_accuracy'];

async function scores(v: ValuesOf<typeof CORRELATE_SCORES_OPTIONS>, ctx: RunContext): Promise<void> {
  checkPaired(v);
  const given = [...(v.proxies ?? []), ...(v.versus ?? [])];
  const notScores = NOT_SCORES.filter((c) => given.includes(c));
  if (notScores.length)
    throw new UsageError(
      `--${v.proxies?.includes(notScores[0]) ? 'proxies' : 'versus'}: ${notScores.join(', ')} ${notScores.length === 1 ? 'is not a score column' : 'are not score columns'} (the cell, or an accuracy: the ground truth is NAS-Bench-201's, --dataset)`,
    );
  // Other non-proxy columns (time_ms, idx) are read as scores when named.
  const raw = readScoreFiles(
    v.scores,
    accuracyOf(v.dataset),
    NOT_PROXIES.filter((c) => given.includes(c)),
  );
  const named = (p: string) => columnName(p, raw.proxies);
  v = { ...v, proxies: v.proxies?.map(named), versus: v.versus?.map(named) };
  // --versus names are columns too (an aggregate by its own name, not its members').
  const asked = v.proxies ? [...v.proxies, ...(v.versus ?? [])] : undefined;
  const all = asked?.includes('all') ?? false;
  const aggs = [...AGGREGATORS.keys()].filter((a) => all || asked?.includes(a));
  // 'all': every proxy column the files have (and each aggregate whose members they have). Other
  // registry names expand to their members; other names are columns of the files (checked when read).
  const only = asked
    ? [
        ...(all ? raw.proxies : []),
        ...expandProxyNames(asked.filter((p) => p !== 'all' && isRegistryName(p))),
        ...asked.filter((p) => !isRegistryName(p)),
        ...aggs,
      ]
    : undefined;
  const scored = selectColumns(raw, only);
  const absent = (v.versus ?? []).filter((p) => !scored.proxies.includes(p));
  if (absent.length)
    throw new Error(
      `--versus: ${absent.join(', ')} has no column in ${scored.source} (an aggregate needs every member's score on every cell; columns: ${scored.proxies.join(', ')})${retiredNote(absent)}`,
    );
  printCorrelations(scored, ctx, bootOf(v), v.dataset, pairsOf(scored.proxies, v));
}

async function sample(v: ValuesOf<typeof CORRELATE_SAMPLE_OPTIONS>, ctx: RunContext): Promise<void> {
  checkPaired(v);
  const accs = loadNb201Accuracies();
  // --versus names are scored too.
  const names = [...v.proxies, ...(v.versus ?? []).filter((p) => !v.proxies.includes(p))];
  const cells = selectCells({ sample: v.sample, groundTruth: true, seed: v.seed }, accs);
  const ds = await openRunDataset(v.dataset, 'train', ctx);
  const batch = await runProxyBatch(ds, v.batch, v.seed);
  const device = await deviceOf(v);
  const threads = cpuThreadsOf(device, v);
  const opts = {
    ...ZERO_SHOT_DEFAULTS,
    batchSize: v.batch,
    seed: v.seed,
    net: { ...ZERO_SHOT_DEFAULTS.net, cellsPerStage: v['cells-per-stage'], numClasses: ds.classes },
    batch,
    init: v.init,
    inputs: v.inputs,
  };
  // --out is a score file: the same rows and settings sidecar as score --out, so a later correlate
  // of it beside files of other settings is refused (score-files.ts). Opened before any device work.
  const recorded = {
    data: batchData(ds, batch),
    threads,
    f16: await precisionOf(device),
    bn: await gpuKernelsOf(device),
    origin: { given: v['cpu-threads'] !== undefined, flag: '--out' },
  };
  const aggs = requestedAggregators(names).map((a) => a.name);
  const stream = v.out
    ? openScoreStream(v.out, expandProxyNames(names), opts, aggs, device, false, ctx.io, v.dataset, recorded)
    : null;
  let scored: ScoredCell[];
  try {
    const prov =
      stream &&
      streamProvenance(stream, provenanceOf(ctx, v, { device, threads, f16: recorded.f16, data: recorded.data }), ctx.io);
    const backend = await openDevice(device, { ...v, 'cpu-threads': threads ?? undefined }, ctx.io);
    if (prov) stream!.recordProvenance(withBackend(prov, backend));
    try {
      const scorer = new ZeroShotScorer(backend, names, opts);
      const bar = new Progress(cells.length, 'correlate', process.stderr, { ...LOG_LINES, quiet: v.quiet });
      scored = await scoreAll(scorer, cells, (done, _n, ms) => bar.update(done, `${(ms / 1000).toFixed(2)} s/arch`));
      bar.done('');
    } finally {
      backend.dispose();
    }
    addAggregates(scored, names);
    stream?.finish(scored.map((s) => rowOf(s, accs)));
  } finally {
    stream?.close();
  }
  const accOf = (arch: string) => accs.get(canonicalKey(parseArch(arch)));
  const rows = scored.map((s) => ({ ...s.scores, val_acc: accOf(s.arch) }));
  const proxies = Object.keys(scored[0].scores);
  printCorrelations(
    {
      source: `${cells.length} sampled cells`,
      rows,
      proxies,
      archs: scored.map((s) => s.arch),
      timeMs: scored.map((s) => s.timeMs),
    },
    ctx,
    bootOf(v),
    'cifar10',
    pairsOf(proxies, v),
  );
}

const TRUTH: Record<NaslibDataset, string> = {
  cifar10: 'CIFAR-10 validation accuracy',
  cifar100: 'CIFAR-100 accuracy (NASLib zc_nasbench201.json)',
  'ImageNet16-120': 'ImageNet16-120 accuracy (NASLib zc_nasbench201.json)',
};

const ci = (c: Interval | null | undefined): string => (c ? `[${c.lo.toFixed(3)}, ${c.hi.toFixed(3)}]` : '');
/** A correlation that is not defined (fewer than 2 cells, or one side constant) prints empty, with a note. */
const defined = (x: number): number | string => (Number.isNaN(x) ? '' : x);

function printCorrelations(
  { source, rows, proxies, archs, timeMs, duplicates, notes }: Scored,
  { io }: RunContext,
  boot?: BootstrapOptions,
  dataset: NaslibDataset = 'cifar10',
  pairs: ReadonlyArray<readonly [string, string]> = [],
): void {
  const table = correlateColumns(rows, proxies, 'val_acc', boot);
  const thin = table.filter((r) => r.n < 2);
  const thinText = `${thin.map((r) => r.proxy).join(', ')}: fewer than 2 cells with both a score and a known accuracy`;
  if (thin.length === table.length) throw new Error(`${source}: ${thinText}; nothing to correlate`);
  for (const n of notes ?? []) io.err(`${n}\n`);
  if (duplicates)
    io.err(
      `note: --scores: ${duplicates} ${duplicates === 1 ? 'row repeats a cell' : 'rows repeat cells'} read before with the same scores: dropped, each cell counts once\n`,
    );
  if (thin.length) io.err(`note: ${thinText}; no correlation for ${thin.length === 1 ? 'it' : 'them'}\n`);
  const fewest = Math.min(...table.filter((r) => r.n >= 2).map((r) => r.n));
  if (fewest < FEW_CELLS)
    io.err(
      `note: only ${fewest} cells; a rank correlation of so few is not meaningful (n = 2 gives ±1)` +
        (boot
          ? `, and no bootstrap interval below ${MIN_BOOTSTRAP_PAIRS} (so few cells resample to a handful of distinct samples)`
          : '') +
        '\n',
    );
  const paired = boot && pairs.length ? comparePaired(rows, pairs, 'val_acc', boot) : [];
  const flat = table.filter((r) => r.n >= 2 && Number.isNaN(r.kendallTau)).map((r) => r.proxy);
  const flatAB = paired.filter((r) => Number.isNaN(r.tauAB)).map((r) => `${r.a} - ${r.b}`);
  const flatNotes = [
    ...(flat.length ? [`${flat.join(', ')}: one score (or one accuracy) on every cell; no rank correlation`] : []),
    ...(flatAB.length
      ? [`${flatAB.join(', ')}: one side scores alike every cell both score (or fewer than 2 such cells); no tau_ab`]
      : []),
  ];
  if (flatNotes.length) io.err(`note: ${flatNotes.join('; ')}\n`);
  const drawn = boot?.resamples ?? 0;
  for (const r of table)
    for (const [name, c] of [
      ['tau', r.tauCi],
      ['rho', r.rhoCi],
    ] as const)
      if (c && c.resamples < drawn)
        io.err(
          `note: ${r.proxy}'s ${name}_ci95 comes from ${c.resamples} of ${drawn} resamples (the others drew one score or one accuracy throughout: no correlation)\n`,
        );
  // The PyTorch reference scores of the same cells, for the proxies both have: a like-for-like check.
  // (Not shipped with the package: without it the column stays empty, said in a note.)
  const refFile = findDataFile('nb201', 'nb201_zc_proxies.csv');
  const refByArch = new Map(refFile ? loadNb201ReferenceProxies().map((r) => [r.arch, r]) : []);
  if (!refFile && dataset === 'cifar10' && table.some((r) => REFERENCE_NAME[r.proxy]))
    io.err(
      'note: pytorch_ref_tau_same_cells stays empty: the PyTorch reference scores (nb201/nb201_zc_proxies.csv, ' +
        "in a development checkout's ../shared/data, not the package) are in no data root (wgnas data list)\n",
    );
  const refTau = (proxy: string): string => {
    const col = REFERENCE_NAME[proxy];
    if (!col) return '';
    // Exactly the cells of the proxy's own tau (correlateColumns): a finite score and a known accuracy.
    const pairs = archs.flatMap((a, i) =>
      Number.isFinite(rows[i][proxy]) && Number.isFinite(rows[i].val_acc)
        ? [[refByArch.get(canonicalKey(parseArch(a)))?.scores[col], rows[i].val_acc] as const]
        : [],
    );
    const ok = pairs.filter(([s, acc]) => Number.isFinite(s) && Number.isFinite(acc));
    return ok.length > 2
      ? kendallTau(
          ok.map((p) => p[0]!),
          ok.map((p) => p[1]!),
        ).tau.toFixed(4)
      : '';
  };
  // Score files without time_ms: no timing to give.
  const timing = timeMs.length ? `, ${fmtMs(timeMs.reduce((a, b) => a + b, 0) / timeMs.length)} ms/arch for all proxies` : '';
  io.out(`proxy vs NAS-Bench-201 ${TRUTH[dataset]} (${rows.length} cells${timing})\n`);
  if (boot) io.out(`95% intervals: percentile bootstrap over cells, ${boot.resamples} resamples, seed ${boot.seed}\n`);
  const ciCols = boot ? ['tau_ci95', 'rho_ci95'] : [];
  io.out(
    textTable(
      ['proxy', 'n', 'kendall_tau', 'spearman_rho', ...ciCols, 'pytorch_ref_tau_same_cells'],
      table.map((r) => [
        r.proxy,
        r.n,
        defined(r.kendallTau),
        defined(r.spearmanRho),
        ...(boot ? [ci(r.tauCi), ci(r.rhoCi)] : []),
        dataset === 'cifar10' ? refTau(r.proxy) : '',
      ]),
    ),
  );
  if (boot && paired.length) printPaired(paired, io, boot);
}

const diffCi = (d: PairedDifference): string => (Number.isNaN(d.lo) ? '' : `[${d.lo.toFixed(4)}, ${d.hi.toFixed(4)}]`);
const share = (d: PairedDifference): string => (Number.isNaN(d.aheadFraction) ? '' : d.aheadFraction.toFixed(3));

function printPaired(table: PairedRow[], io: RunContext['io'], boot: BootstrapOptions): void {
  const few = table.filter((r) => r.tau.n < MIN_BOOTSTRAP_PAIRS).map((r) => `${r.a} - ${r.b}: ${r.tau.n}`);
  if (few.length) io.err(`note: paired: below ${MIN_BOOTSTRAP_PAIRS} cells both have, no interval (${few.join('; ')} cells)\n`);
  io.out(
    `\npaired: A - B over the same ${boot.resamples} resamples of the cells both have (seed ${boot.seed}); ` +
      `ci95 excluding 0 tells A and B apart; a_ahead: fraction of resamples with A's correlation above B's; ` +
      `tau_ab: Kendall tau-b between A's and B's scores (how alike the rankings are; the cells both score finitely)\n`,
  );
  io.out(
    textTable(
      [
        'a',
        'b',
        'n',
        'tau_a',
        'tau_b',
        'tau_diff',
        'tau_diff_ci95',
        'tau_a_ahead',
        'rho_diff',
        'rho_diff_ci95',
        'rho_a_ahead',
        'tau_ab',
      ],
      table.map(({ a, b, tau, rho, tauAB }) => [
        a,
        b,
        tau.n,
        defined(tau.a),
        defined(tau.b),
        defined(tau.diff),
        diffCi(tau),
        share(tau),
        defined(rho.diff),
        diffCi(rho),
        share(rho),
        defined(tauAB),
      ]),
    ),
  );
}

export const handlers = { sample, scores, reference };
export const run = (argv: string[]) => runCommand(CORRELATE, argv, selfResolve('correlate', handlers));
