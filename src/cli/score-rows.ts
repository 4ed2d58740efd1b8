/** Rows of `wgnas score`: read back from a resumed output, and with their population-level scores. */
import type { Row } from '../data/row-stream.js';
import { ResumeMismatchError } from '../util/run-settings.js';
import { addAggregates, type ScoredCell } from '../zeroshot/index.js';

/** A row read back from --out as a scored cell (CSV values are text; NaN was written as null in JSON). */
export function scoredOf(r: Row, proxies: readonly string[]): ScoredCell {
  const num = (x: unknown) => (x === null || x === undefined || x === '' ? NaN : Number(x));
  return { arch: String(r.arch), scores: Object.fromEntries(proxies.map((p) => [p, num(r[p])])), timeMs: num(r.time_ms) };
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
 * ones (by selection index) through toRow; the population-level scores recomputed over all.
 */
export function rowsInOrder(
  archs: readonly string[],
  kept: ReadonlyMap<string, Row>,
  fresh: ReadonlyMap<number, ScoredCell>,
  proxies: readonly string[],
  aggs: readonly string[],
  toRow: (c: ScoredCell) => Row,
): Row[] {
  const cells = archs.map((a, i) => (kept.has(a) ? scoredOf(kept.get(a)!, proxies) : fresh.get(i)!));
  if (aggs.length) addAggregates(cells, aggs);
  // Rows read back keep their text as written; only the population-level scores are recomputed.
  return archs.map((a, i) => withAggregates(kept.get(a) ?? toRow(fresh.get(i)!), aggs, cells[i].scores));
}
