/** What the local and the queued NAS-Bench-201 search share: the --evaluated log's settings and the printed result. */
import { existsSync, readFileSync } from 'node:fs';
import { nb201NetworkText } from '../export/index.js';
import { writeFileAtomic } from '../util/durable.js';
import { NB201_CHANNELS } from './train-found.js';
import { loadNb201Accuracies } from '../data/nb201-bench.js';
import { type Row, RowStream, rowStreamFiles } from '../data/row-stream.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { canonicalKey, formatArch, type Nb201Cell } from '../spaces/nb201.js';
import type { Io } from './run.js';
import { fmtSig } from '../util/format.js';
import type { DeviceKind } from '../backend/index.js';
import type { ValuesOf } from './spec.js';
import type { SEARCH_NB201_OPTIONS } from './specs/search.js';
import { type QueuedThreads, streamRecord } from './resume-settings.js';
import { checkRowNumbers } from './score-rows.js';
import { PROXIES, RETIRED_PROXIES, resolveProxies } from '../proxies/registry.js';
import { f16Setting, type GpuKernels, kernelsStreamRecord } from './device.js';
import { UsageError } from './args.js';
import type { RunSettings } from '../util/run-settings.js';
import type { Provenance } from './provenance.js';

/**
 * A --resume of an --evaluated log written the other way (by a queued search, whose settings record
 * --in-flight, or by one on this machine) would replay into a search that proposes other children
 * and stop at the first with "run diverged": say what to add or drop instead, before any work.
 */
export function checkEvaluatedOrigin(path: string, resume: boolean, queued: boolean): void {
  const side = rowStreamFiles(path).sidecar;
  if (!resume || !existsSync(side)) return;
  let settings: unknown;
  try {
    settings = (JSON.parse(readFileSync(side, 'utf8')) as { settings?: unknown }).settings;
  } catch {
    return; // the row stream names an unreadable settings file itself
  }
  if (typeof settings !== 'object' || settings === null) return;
  const inFlight = (settings as Record<string, unknown>)['--in-flight'];
  if (inFlight !== undefined && !queued)
    throw new ResumeMismatchError(
      `--resume: ${path} was written by a queued search (search --redis, --in-flight ${String(inFlight)}): resume it with --redis URL and the same --in-flight`,
    );
  if (inFlight === undefined && queued)
    throw new ResumeMismatchError(`--resume: ${path} was written by a search on this machine: resume it without --redis`);
}

/**
 * The settings an --evaluated log records (a resume with others is refused naming the flag), and
 * what a log written before some were recorded is taken to have used. `data`: the minibatch's
 * fingerprint; `threads`: the CPU backend's (null on the GPU and for a queue's workers).
 */
export function evaluatedLogOptions(
  path: string,
  v: ValuesOf<typeof SEARCH_NB201_OPTIONS>,
  device: DeviceKind,
  data: string,
  threads: QueuedThreads,
): { settings: RunSettings; unrecorded: RunSettings } {
  const rec = streamRecord(path, v.resume, data, threads, { given: v['cpu-threads'] !== undefined, flag: '--evaluated' });
  return {
    settings: { ...evaluatedLogSettings(v, device), ...rec.settings },
    unrecorded: { ...ZERO_SHOT_UNRECORDED, ...rec.unrecorded },
  };
}

/**
 * The --evaluated rows of a search (a resume keeps those already there), checked before any work:
 * at most --budget of them, and every score a number. `scoreColumns`: the score columns of a row.
 */
export function openEvaluatedRows(
  path: string,
  record: { settings: RunSettings; unrecorded: RunSettings },
  v: { resume: boolean; budget: number; proxy: string },
  io: Io,
  scoreColumns: (r: Row) => string[],
  /** The scores are computed with f16 operands (device.ts precisionOf); files from before read as f32. */
  f16: boolean,
  /** The GPU's kernels (device.ts gpuKernelsOf; a queue's: each worker's own); files from before: device.ts kernelsStreamRecord. */
  bn: GpuKernels,
  /** The search has a --redis queue (NB201's; not --space-file's): a refusal's advice may name it. */
  queueable: boolean,
): RowStream {
  const defs = definitionsRecord([v.proxy], path, '--evaluated');
  const kernels = kernelsStreamRecord(bn, '--evaluated', queueable);
  const stream = new RowStream(path, {
    settings: { ...record.settings, ...f16Setting(f16), ...kernels.settings, ...defs.settings },
    unrecorded: { ...record.unrecorded, ...f16Setting(false), ...defs.unrecorded },
    unrecordedOf: kernels.unrecordedOf,
    unrecordedAdvice: kernels.unrecordedAdvice,
    settingAdvice: (k, was, now) => defs.settingAdvice(k, was, now) ?? kernels.settingAdvice(k, was, now),
    resume: v.resume,
    killTag: 'search.rows',
    flag: '--evaluated',
    onStaleLock: (w) => io.err(`note: ${path} was locked by process ${w.pid}, which is gone: taking it over\n`),
  });
  try {
    if (stream.done.length > v.budget)
      throw new UsageError(`--resume: ${path} holds ${stream.done.length} evaluations, more than --budget ${v.budget}`);
    // A corrupt score would steer the replayed search elsewhere: refused before any work.
    checkRowNumbers(path, stream.done, scoreColumns);
  } catch (e) {
    stream.close();
    throw e;
  }
  return stream;
}

/** What every search's --evaluated log records of its strategy and proxy (either space). */
export function strategySettings(v: {
  proxy: string;
  strategy: string;
  seed: number;
  population: number;
  'sample-size': number;
  batch: number;
}): RunSettings {
  return {
    '--proxy': v.proxy,
    '--strategy': v.strategy,
    '--seed': v.seed,
    '--population': v.population,
    '--sample-size': v['sample-size'],
    '--batch': v.batch,
  };
}

function evaluatedLogSettings(v: ValuesOf<typeof SEARCH_NB201_OPTIONS>, device: DeviceKind) {
  return {
    ...strategySettings(v),
    '--cells-per-stage': v['cells-per-stage'],
    '--device': device,
    '--dataset': v.dataset,
    '--init': v.init,
    '--inputs': v.inputs,
  };
}

/**
 * Settings a zero-shot output (score --out, search --evaluated) written before they were recorded
 * was written with: a resume takes a missing one as this value.
 */
export const ZERO_SHOT_UNRECORDED = { '--device': 'gpu', '--dataset': 'cifar10', '--init': 'pytorch', '--inputs': 'data' };

/**
 * The WRCor family's definition a file of scores holds, recorded where a run computes the family.
 * 1 (recorded as none): wrcor weighted 2^stage, a constant response counted. 2 (2026-12-06): a
 * constant response adds nothing (a cell whose output receives nothing scores -Infinity), and a
 * wrcor_module column, 2^module. 3: wrcor is 2^module (the authors' weights; wrcor_act and
 * wrcor_grad too), the former wrcor is wrcor_stage, and there is no wrcor_module column.
 */
export const WRCOR_KEY = 'wrcor definition';
export const WRCOR_DEFINITION = 3;

/** What a file of an earlier WRCor definition holds, for the advice of a refused resume. */
const WRCOR_FORMER: Record<number, string> = {
  1: 'its wrcor weighted 2^stage and counted constant responses',
  2: 'its wrcor weighted 2^stage, and a wrcor_module column',
};

/** The advice where a resumed file's WRCor definition is not this one's (was: the recorded one, 1 where none is). */
function wrcorAdvice(path: string, flag: string, was: unknown): string {
  const former = WRCOR_FORMER[Number(was)];
  const what = former
    ? `${path} was scored by an older wgnas (${former}; the current wrcor weighs 2^module, the authors' weights, and the former one is wrcor_stage)`
    : `${path} holds WRCor definition ${String(was)}, which this wgnas does not compute`;
  return `${what}: --force starts over, or write another ${flag}`;
}

/** The keys under which score --out (--proxies) and search --evaluated (--proxy) record the proxies. */
const PROXY_KEYS = ['--proxies', '--proxy'];

/**
 * The advice where a resumed file recorded a proxy name since retired (RETIRED_PROXIES): the
 * options refuse that name, so no run has the file's settings; undefined where it names none.
 */
function retiredAdvice(flag: string, key: string, was: unknown): string | undefined {
  const names = typeof was === 'string' ? was.split(',').map((n) => n.trim().toLowerCase()) : [];
  const retired = names.find((n) => RETIRED_PROXIES.has(n));
  if (retired === undefined) return undefined;
  // What it is now, without the registry's explanation: the line must keep its remedy (oneLine's cut).
  const now = RETIRED_PROXIES.get(retired)!.split(' (')[0];
  return `its ${key} named ${retired} (${now}), a retired name the options refuse, so no run has its settings: --force starts over, or write another ${flag}`;
}

/** Whether the proxies named (aggregates and 'all' expanded) compute the WRCor family. */
export const computesWrcor = (names: readonly string[]): boolean =>
  resolveProxies(names).some((p) => p.unit === PROXIES.get('wrcor')!.unit);

/**
 * What a score file (score --out, search --evaluated: `flag`) records of the proxies' definitions,
 * what one written before records, and the advice of a refused resume (before any work: its rows
 * would mix two definitions, and a CSV's header lacks the new column).
 */
export function definitionsRecord(
  names: readonly string[],
  path: string,
  flag: string,
): {
  settings: RunSettings;
  unrecorded: RunSettings;
  /** The advice of a resume refused for its WRCor definition, recorded or not (RowStreamOptions.settingAdvice). */
  settingAdvice: (key: string, was: unknown, now: unknown) => string | undefined;
} {
  const settingAdvice = (key: string, was: unknown) =>
    key === WRCOR_KEY ? wrcorAdvice(path, flag, was) : PROXY_KEYS.includes(key) ? retiredAdvice(flag, key, was) : undefined;
  if (!computesWrcor(names)) return { settings: {}, unrecorded: {}, settingAdvice };
  return { settings: { [WRCOR_KEY]: WRCOR_DEFINITION }, unrecorded: { [WRCOR_KEY]: 1 }, settingAdvice };
}

/**
 * "evaluated N cells", saying so when fewer were scored than proposed: a proposal that repeats an
 * architecture already scored takes its score from the cache and costs no evaluation.
 */
export function evaluatedLine(evaluations: number, proposals: number, what: string): string {
  const repeats = proposals - evaluations;
  return repeats > 0
    ? `evaluated ${evaluations} ${what} for ${proposals} proposals (${repeats} repeated one already scored)`
    : `evaluated ${evaluations} ${what}`;
}

/**
 * A search's result on the terminal: with --json the result object on stdout and the `wrote OUT`
 * line (--out) on stderr beside it; else the summary (built only then), then that line.
 */
export function printSearchResult(
  io: Io,
  v: { json?: boolean; out?: string },
  out: Readonly<Record<string, unknown>>,
  summary: () => string,
): void {
  const wrote = v.out ? `wrote ${v.out}\n` : '';
  if (v.json) {
    io.out(JSON.stringify(out, null, 2) + '\n');
    if (wrote) io.err(wrote);
  } else io.out(summary() + wrote);
}

export interface Nb201SearchValues {
  strategy: string;
  proxy: string;
  budget: number;
  json: boolean;
  /** The images the cells were scored on: another dataset than CIFAR-10 gets a note on the accuracy. */
  dataset: string;
  /** --out FILE: the best cell as a wgnas-nb201 network file, at the depth searched. */
  out?: string;
  'cells-per-stage': number;
  /** The cell found is trained next (on --dataset's images): the note on the accuracy says so instead of suggesting it. */
  'train-epochs'?: number;
  seed: number;
  population: number;
  'sample-size': number;
  batch: number;
}

/** The search's result: the best cell, its score and ground truth (JSON with --json); returns the best arch string. */
export function printNb201Result(
  v: Nb201SearchValues,
  io: Io,
  result: { best: Nb201Cell; bestScore: number; evaluations: number },
  seconds: number,
  device: Record<string, unknown>,
  provenance: Provenance,
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
    // What reruns it (the provenance has every flag): the search's own settings, at a glance.
    seed: v.seed,
    population: v.population,
    sampleSize: v['sample-size'],
    batch: v.batch,
    dataset: v.dataset,
    cellsPerStage: v['cells-per-stage'],
    ...device,
    provenance,
  };
  // The network file train --net and export --net read (the width wgnas train gives a cell), as a --train-out's network.json.
  if (v.out)
    writeFileAtomic(
      v.out,
      nb201NetworkText(best, { channels: NB201_CHANNELS, cellsPerStage: v['cells-per-stage'] }, { provenance }),
    );
  printSearchResult(
    io,
    v,
    out,
    () =>
      `best cell:  ${best}\n` +
      `${proxy} score: ${fmtSig(result.bestScore)}\n` +
      (acc === undefined
        ? "NAS-Bench-201's CIFAR-10 val accuracy of this cell: unknown (cell not in the shared NAS-Bench-201 table)\n"
        : `NAS-Bench-201's CIFAR-10 val accuracy of this cell: ${acc.toFixed(2)} %  (percentile ${pctile!.toFixed(1)}: as good as or better than ${pctile!.toFixed(1)} % of the ${all.length} cells; best ${out.bestPossibleAcc} %)\n`) +
      `${evaluatedLine(result.evaluations, budget, 'cells')} in ${out.seconds.toFixed(1)} s\n`,
  );
  // The table's figure is CIFAR-10's after NAS-Bench-201's training: never a result on other images.
  if (v.dataset !== 'cifar10')
    io.err(
      `note: the accuracy is NAS-Bench-201's table figure for this cell trained on CIFAR-10, not a result on --dataset ${v.dataset}: the search scored cells on its images and trained nothing${v['train-epochs'] === undefined ? ' (--train-epochs N --train-out DIR trains the cell on them)' : '; the training that follows (--train-epochs) gives its accuracy on them'}\n`,
    );
  return best;
}
