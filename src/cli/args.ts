/** Small helpers the commands share: reading and writing score tables, text tables, number formatting. */
import { readCsvRecords } from '../data/csv.js';
import { parsePythonJson } from '../data/nb201-bench.js';
import { formatArch, fromIndexTuple, parseArch } from '../spaces/nb201.js';
import { formatRows, rowFormatOf, type RowValue } from '../data/row-stream.js';
import { writeFileAtomic } from '../util/durable.js';
import { NotGzipError, readTextFile, withoutGz } from '../util/gz-file.js';
import { quote } from './errors.js';

export { UsageError } from './errors.js';
export { parseMadds } from './parse.js';

/**
 * Writes rows as `score --out` does, by the file extension in any case (.json, .jsonl / .ndjson,
 * else CSV), atomically (a kill leaves the old file or the new).
 */
export function writeTable(path: string, rows: Array<Record<string, string | number | undefined>>): void {
  writeFileAtomic(path, formatRows(rowFormatOf(path), rows));
}

/** Renders a fixed-width text table. */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>) =>
    r
      .map((c, i) => String(c ?? '').padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(3) : v.toFixed(4);
}

/** Reads a file's text (gunzipped when it ends in .gz), naming it in the error. */
export function readText(path: string, what = 'file'): string {
  try {
    return readTextFile(path);
  } catch (e) {
    if (e instanceof NotGzipError) throw e; // names the file already
    throw new Error(`cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/** A row of a table file and where it is (file:line, or file: row N for JSON), for errors about its values. */
export interface TableRow {
  /** Values as written: CSV text, or JSON's plain values (a number, a string, null, a boolean). */
  record: Record<string, RowValue | boolean>;
  at: string;
}

/** The dataset a NASLib zero-cost JSON is read for: NAS-Bench-201's ground truth here is CIFAR-10's. */
export const NASLIB_DATASET = 'cifar10';

/**
 * NASLib's zero-cost JSON (NAS-Bench-Suite-Zero, e.g. zc_nasbench201.json): per dataset, per cell
 * (an index tuple "(0, 2, ...)" or an arch string), `{proxy: {score, time}, val_accuracy, idx}`; or
 * one dataset's map alone. Rows of `arch` and one column per proxy (NaN / -Infinity kept as written).
 */
export function naslibRows(path: string, json: Record<string, unknown>): TableRow[] {
  const isCellMap = (o: unknown) =>
    !!o && typeof o === 'object' && Object.values(o).some((e) => !!e && typeof e === 'object' && 'val_accuracy' in e);
  let cells = json;
  if (!isCellMap(json)) {
    const section = json[NASLIB_DATASET];
    if (!isCellMap(section)) {
      const has = Object.keys(json).slice(0, 6).join(', ') || 'nothing';
      throw new Error(
        `${path}: expected a JSON array of rows, got object (and not NASLib's zero-cost JSON: no '${NASLIB_DATASET}' section of cells; has ${has})`,
      );
    }
    cells = section as Record<string, unknown>;
  }
  return Object.entries(cells).map(([key, entry]) => {
    const at = `${path}: ${key.slice(0, 60)}`;
    let arch: string;
    try {
      arch = formatArch(key.trim().startsWith('(') || key.trim().startsWith('[') ? fromIndexTuple(key) : parseArch(key));
    } catch (e) {
      throw new Error(`${at}: ${(e as Error).message}`);
    }
    const record: TableRow['record'] = { arch };
    for (const [k, v] of Object.entries((entry ?? {}) as Record<string, unknown>)) {
      if (!v || typeof v !== 'object' || !('score' in v)) continue;
      const score = (v as { score: unknown }).score;
      record[k] = score !== null && typeof score === 'object' ? String(score) : (score as RowValue | boolean);
    }
    return { record, at };
  });
}

/** A JSON row's fields as they are: refused naming `at` when one is not a plain value. */
function plainRecord(r: unknown, at: string): Record<string, RowValue | boolean> {
  if (r === null || typeof r !== 'object' || Array.isArray(r)) throw new Error(`${at} is not an object`);
  for (const [k, val] of Object.entries(r as object))
    if (val !== null && typeof val === 'object') throw new Error(`${at}: field ${quote(k)} is not a plain value`);
  return r as Record<string, RowValue | boolean>;
}

/**
 * Reads, by the file extension in any case (as `score --out` writes them): a JSON array of flat
 * objects or NASLib's zero-cost JSON (naslibRows) for .json; one flat object a line for .jsonl /
 * .ndjson; else a CSV with a header row (quoted fields allowed). JSON may hold Python's bare NaN /
 * Infinity. Errors name the file (and the line or row); they are content errors (exit 1), not usage
 * errors.
 */
export function readTable(path: string, text: string): TableRow[] {
  const format = rowFormatOf(withoutGz(path)); // text as readText gave it: scores.csv.gz is a CSV
  if (format === 'jsonl') {
    return text.split('\n').flatMap((l, i) => {
      if (l.trim() === '') return [];
      const at = `${path}:${i + 1}`;
      let r: unknown;
      try {
        r = parsePythonJson(l);
      } catch (e) {
        throw new Error(`${at}: not a JSON row (${(e as Error).message})`);
      }
      return [{ record: plainRecord(r, at), at }];
    });
  }
  if (format === 'json') {
    let rows: unknown;
    try {
      rows = parsePythonJson(text);
    } catch (e) {
      throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
    }
    if (rows !== null && typeof rows === 'object' && !Array.isArray(rows))
      return naslibRows(path, rows as Record<string, unknown>);
    if (!Array.isArray(rows))
      throw new Error(`${path}: expected a JSON array of rows, got ${rows === null ? 'null' : typeof rows}`);
    return rows.map((r, i) => {
      const at = `${path}: row ${i + 1}`;
      return { record: plainRecord(r, at), at };
    });
  }
  return readCsvRecords(text, path).map(({ record, line }) => ({ record, at: `${path}:${line}` }));
}
