/** Rows of `wgnas score`: read back from a resumed output, and with their population-level scores. */
import { cellNumber, emptyCell, jsonRow, type Row, rowNumber, type RowStream } from '../data/row-stream.js';
import { canonicalKey, parseArch } from '../spaces/nb201.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { addAggregates, type ScoredCell } from '../zeroshot/index.js';
import { quote } from './errors.js';
import { plural } from '../util/format.js';
import type { RunContext } from './run.js';

/** A freshly scored cell as an output row, with its NAS-Bench-201 accuracy where `accs` has it. */
export function rowOf(c: ScoredCell, accs: ReadonlyMap<string, number>): Row {
  return { arch: c.arch, ...c.scores, val_acc: accs.get(canonicalKey(parseArch(c.arch))), time_ms: Math.round(c.timeMs) };
}

/**
 * The finished rows: --out rewritten with them (`rewrite`; else the streamed file stays as it is) and
 * one line saying so, or JSON lines on stdout without --out; `summary` (ScoreRunStats) ends the line.
 */
export function finishRows(
  stream: RowStream | null,
  rows: readonly Row[],
  rewrite: boolean,
  out: string | undefined,
  io: RunContext['io'],
  summary = '',
): void {
  if (stream) {
    stream.finish(rewrite ? rows : undefined);
    io.err(`wrote ${rows.length} rows to ${out}${summary ? `; ${summary}` : ''}\n`);
  } else {
    for (const r of rows) io.out(jsonRow(r) + '\n');
    scoredLine(rows.length, summary, io);
  }
}

/** Without --out, the summary on stderr (the rows went to stdout); nothing without one. */
export function scoredLine(n: number, summary: string, io: RunContext['io']): void {
  if (summary) io.err(`scored ${plural(n, 'cell')}; ${summary}\n`);
}

/**
 * Refuses (one line naming the file, row and column) a resumed row whose `columns` hold something
 * other than a number: an empty cell, a number, or 'Infinity' / '-Infinity' / 'NaN' (or the null
 * older JSON rows hold for them) are kept; 'abc' would silently become NaN and change every row's
 * population-level scores. `columns` of a row: the names to check in it.
 */
export function checkRowNumbers(path: string, rows: readonly Row[], columns: (row: Row) => readonly string[]): void {
  rows.forEach((r, i) => {
    for (const c of columns(r)) {
      const x = r[c];
      if (emptyCell(x) || cellNumber(x) !== undefined) continue;
      throw new Error(
        `--resume: ${path} row ${i + 1}: ${c} ${c === 'time_ms' ? '' : 'score '}${quote(String(x))} is not a number`,
      );
    }
  });
}

/** The columns of a resumed `score --out` row that hold numbers: the proxies' and time_ms. */
export const scoreColumns =
  (proxies: readonly string[]) =>
  (r: Row): string[] =>
    [...proxies, 'time_ms'].filter((c) => c in r);

/** A row read back from --out as a scored cell (CSV values are text; see cellNumber). */
export function scoredOf(r: Row, proxies: readonly string[]): ScoredCell {
  return {
    arch: String(r.arch),
    scores: Object.fromEntries(proxies.map((p) => [p, rowNumber(r[p])])),
    timeMs: rowNumber(r.time_ms),
  };
}

/** The row with its population-level scores replaced, in the column order a fresh row has (before val_acc). */
export function withAggregates(r: Row, aggs: readonly string[], scores: Record<string, number>): Row {
  if (!aggs.length) return r;
  const { val_acc, time_ms, ...rest } = r;
  for (const a of aggs) delete rest[a];
  return { ...rest, ...Object.fromEntries(aggs.map((a) => [a, scores[a]])), val_acc, time_ms };
}

/**
 * The rows a resumed --out holds, by architecture, for runs whose rows arrive in any order (--redis,
 * --procs): refuses an architecture written twice or one this run does not score.
 */
export function keptByArch(keep: readonly Row[], archs: readonly string[], out: string | undefined): Map<string, Row> {
  const kept = new Map<string, Row>();
  for (const row of keep) {
    const a = String(row.arch);
    if (kept.has(a)) throw new ResumeMismatchError(`--resume: ${out} holds ${a} twice (not written by this command?)`);
    kept.set(a, row);
  }
  const selected = new Set(archs);
  const stray = [...kept.keys()].find((a) => !selected.has(a));
  if (stray !== undefined) {
    throw new ResumeMismatchError(`--resume: ${out} has a row for ${stray}, which this run does not score (another selection?)`);
  }
  return kept;
}

/**
 * Every row in selection order, as a run in one process writes them: kept rows as read back, fresh
 * ones (by selection index) as rowOf makes them; the population-level scores recomputed over all.
 */
export function rowsInOrder(
  archs: readonly string[],
  kept: ReadonlyMap<string, Row>,
  fresh: ReadonlyMap<number, ScoredCell>,
  proxies: readonly string[],
  aggs: readonly string[],
  accs: ReadonlyMap<string, number>,
): Row[] {
  const cells = archs.map((a, i) => (kept.has(a) ? scoredOf(kept.get(a)!, proxies) : fresh.get(i)!));
  if (aggs.length) addAggregates(cells, aggs);
  // Rows read back keep their text as written; only the population-level scores are recomputed.
  return archs.map((a, i) => withAggregates(kept.get(a) ?? rowOf(fresh.get(i)!, accs), aggs, cells[i].scores));
}
