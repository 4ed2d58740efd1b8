/**
 * Latency lookup tables in the ProxylessNAS / Once-for-All YAML layout: one unindented `KEY:` line
 * per entry, then indented `field: number` lines (count, mean, var or std; wgnas adds median, iqr).
 * Comment lines `# name: value` before the first entry are the table's stamp (CPU, library, ...).
 * Read with the `yaml` package, so any YAML that means the same map reads the same (PyYAML's block
 * and flow styles); written in the block layout with floats rounded to 12 significant digits (no
 * binary noise such as 0.0066987999999999995), one entry per append so a killed run loses at most one.
 */
import { readFileSync } from 'node:fs';
import { isMap, isScalar, LineCounter, parseDocument, type Scalar, stringify, type YAMLMap } from 'yaml';
import { appendDurable, writeFileAtomic } from '../util/durable.js';
import { UserFacingError } from '../util/errors.js';

export class LatencyTableError extends UserFacingError {
  override readonly name = 'LatencyTableError';
}

export interface LatencyEntry {
  count: number;
  /** Mean latency, ms. */
  mean: number;
  var?: number;
  std?: number;
  median?: number;
  iqr?: number;
  [field: string]: number | undefined;
}

export interface LatencyTable {
  /** Stamp from the header comments (cpu, library, threads, date, ...). */
  meta: Record<string, string>;
  entries: Map<string, LatencyEntry>;
}

export interface ParseOptions {
  /** Name used in error messages. */
  file?: string;
  /** Drop an incomplete last entry (a profile run killed mid-write) instead of failing. */
  allowTruncatedTail?: boolean;
}

export function parseLatencyTable(
  text: string,
  { file = '<table>', allowTruncatedTail = false }: ParseOptions = {},
): LatencyTable {
  const fail = (line: number, msg: string): never => {
    throw new LatencyTableError(`${file}:${line}: ${msg}`);
  };
  const lines = text.split(/\r?\n/);
  lines.forEach((l, i) => /^[ ]*\t/.test(l) && fail(i + 1, 'tab character (use spaces)'));
  // The stamp: `# name: value` comments before the first entry (YAML drops comments, so read them here).
  const meta: Record<string, string> = {};
  for (const l of lines) {
    if (l.trim() === '') continue;
    const m = /^#\s*([A-Za-z][\w-]*):\s*(.*)$/.exec(l.trim());
    if (!l.trimStart().startsWith('#')) break;
    if (m) meta[m[1]] = m[2].trim();
  }
  try {
    return { meta, entries: parseEntries(text, fail) };
  } catch (e) {
    if (!allowTruncatedTail) throw e;
    // A run killed mid-append leaves at most its last entry partial: drop it (from its key line on).
    let lastKey = lines.length - 1;
    while (lastKey >= 0 && !/^[^\s#]/.test(lines[lastKey])) lastKey--;
    if (lastKey < 0) throw e;
    return { meta, entries: parseEntries(lines.slice(0, lastKey).join('\n'), fail) };
  }
}

/** The entries of a table's YAML (block or flow style); errors name the line. */
function parseEntries(text: string, fail: (line: number, msg: string) => never): Map<string, LatencyEntry> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: false, prettyErrors: false });
  const lineOf = (node: { range?: [number, number, number] | null } | null | undefined, fallback = 1) =>
    node?.range ? lc.linePos(node.range[0]).line : fallback;
  const err = doc.errors[0];
  if (err) fail(lc.linePos(err.pos[0]).line, `expected 'KEY:' entries of 'field: number' lines (${err.message.split('\n')[0]})`);
  const entries = new Map<string, LatencyEntry>();
  if (doc.contents === null) return entries;
  if (!isMap(doc.contents)) fail(lineOf(doc.contents), "expected 'KEY:' entries of 'field: number' lines");
  const pairs = (doc.contents as YAMLMap).items;
  for (const pair of pairs) {
    const keyNode = pair.key as Scalar | null;
    const line = lineOf(keyNode);
    const k = isScalar(keyNode) ? String(keyNode.value) : '';
    if (k === '' || /\s/.test(k)) fail(line, `bad key '${k}'`);
    if (entries.has(k)) fail(line, `duplicate key '${k}'`);
    const fields: Record<string, number> = {};
    const value = pair.value;
    if (value !== null && !(isScalar(value) && value.value === null)) {
      if (!isMap(value)) fail(line, `entry '${k}' is not a map of 'field: number' lines`);
      for (const f of (value as YAMLMap).items) {
        const name = isScalar(f.key) ? String(f.key.value) : '';
        const fline = lineOf(f.key as Scalar, line);
        const raw = isScalar(f.value) ? f.value.value : undefined;
        const v = typeof raw === 'number' ? raw : NaN;
        if (!Number.isFinite(v))
          fail(
            fline,
            `field '${name}' of '${k}' is not a finite number: '${String(raw ?? (f.value as Scalar | null)?.toString?.() ?? '')}'`,
          );
        if (name in fields) fail(fline, `field '${name}' repeated in '${k}'`);
        if ((name === 'mean' || name === 'median') && v < 0) fail(fline, `negative latency ${v} in '${k}'`);
        fields[name] = v;
      }
    }
    // (A truncated table's partial last entry is dropped by the caller's retry.)
    if (fields.mean === undefined) fail(line, `entry '${k}' has no 'mean' field`);
    entries.set(k, { count: fields.count ?? 1, ...fields } as LatencyEntry);
  }
  return entries;
}

export function readLatencyTable(path: string, options: Omit<ParseOptions, 'file'> = {}): LatencyTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new LatencyTableError(`cannot read latency table ${path}: ${err.code ?? ''} ${err.message}`.trim());
  }
  const table = parseLatencyTable(text, { ...options, file: path });
  if (table.entries.size === 0 && !options.allowTruncatedTail) {
    throw new LatencyTableError(`${path}: no entries (is this a latency table?)`);
  }
  return table;
}

export function formatHeader(meta: Record<string, string>): string {
  return Object.entries(meta)
    .map(([k, v]) => `# ${k}: ${v.replace(/\n/g, ' ')}\n`)
    .join('');
}

const FIELD_ORDER = ['count', 'mean', 'var', 'std', 'median', 'iqr'];

/** A float without binary noise: 12 significant digits are far below any timer's resolution. */
export const roundFloat = (v: number): number => (Number.isInteger(v) ? v : Number(v.toPrecision(12)));

export function formatEntry(key: string, e: LatencyEntry): string {
  const names = [
    ...FIELD_ORDER.filter((f) => e[f] !== undefined),
    ...Object.keys(e).filter((f) => !FIELD_ORDER.includes(f) && e[f] !== undefined),
  ];
  // The key through the YAML library (quoted if it ever needs it); numbers in a form YAML 1.1
  // (PyYAML) reads as floats too: an exponent needs a dot there (1.0e-9, not 1e-9).
  return `${stringify(key, { lineWidth: 0 }).trimEnd()}:\n${names.map((f) => `  ${f}: ${yamlNumber(roundFloat(e[f]!))}\n`).join('')}`;
}

function yamlNumber(v: number): string {
  const s = String(v);
  return /e/.test(s) && !s.includes('.') ? s.replace('e', '.0e') : s;
}

export function formatLatencyTable(table: LatencyTable, { sort = true } = {}): string {
  const keys = [...table.entries.keys()];
  if (sort) keys.sort();
  return formatHeader(table.meta) + keys.map((k) => formatEntry(k, table.entries.get(k)!)).join('');
}

/** Writes a whole table atomically (temp + fsync + rename): a kill leaves the old file or the new. */
export function writeLatencyTable(path: string, table: LatencyTable, { sort = true } = {}): void {
  writeFileAtomic(path, formatLatencyTable(table, { sort }), { killTag: 'table.rewrite' });
}

/**
 * Appends one entry in a single write and fsyncs it, so a measured entry survives a crash and a
 * killed run leaves at most one partial entry (dropped on --resume).
 */
export function appendLatencyEntry(path: string, key: string, entry: LatencyEntry): void {
  appendDurable(path, formatEntry(key, entry), 'the entries measured before are kept (--resume continues after them)');
}

/** The latency (ms) an entry stands for: `mean`, or `median` when asked for and present. */
export function entryMs(e: LatencyEntry, field: 'mean' | 'median' = 'mean'): number {
  return field === 'median' && e.median !== undefined ? e.median : e.mean;
}
