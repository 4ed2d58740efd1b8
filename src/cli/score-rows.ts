/** Rows of `wgnas score`: read back from a resumed output, and with their population-level scores. */
import type { Row } from '../data/row-stream.js';
import type { ScoredCell } from '../zeroshot/index.js';

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
