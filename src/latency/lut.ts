/**
 * Latency lookup tables in the ProxylessNAS / Once-for-All YAML layout: one unindented `KEY:` line
 * per entry, then indented `field: number` lines (count, mean, var or std; wgnas adds median, iqr).
 * Comment lines `# name: value` before the first entry are the table's stamp (CPU, library, ...).
 * Read with the `yaml` package, so any YAML that means the same map reads the same (PyYAML's block
 * and flow styles); written in the block layout with floats rounded to 12 significant digits (no
 * binary noise such as 0.0066987999999999995), one entry per append so a killed run loses at most one.
 */
import { createHash } from 'node:crypto';
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
  /**
   * Drop an incomplete last entry (a profile run killed mid-write) instead of failing. The last entry
   * is kept only when the file ends as the writer ends an entry (a newline after its last field): a
   * cut inside a number (`0.6457636`) still parses as one.
   */
  allowTruncatedTail?: boolean;
  /**
   * Fields every entry must have to be kept (PROFILE_ENTRY_FIELDS on --resume): an entry without
   * one is dropped (measured again), not read as a measurement. Omitted: only `mean` is required.
   */
  completeFields?: readonly string[];
}

/** The fields of every entry `wgnas profile` writes (CPU, target, GPU and queued tables alike). */
export const PROFILE_ENTRY_FIELDS = ['count', 'mean', 'var', 'median', 'iqr'] as const;

export function parseLatencyTable(
  text: string,
  { file = '<table>', allowTruncatedTail = false, completeFields }: ParseOptions = {},
): LatencyTable {
  const table = parseTable(text, file, allowTruncatedTail);
  if (completeFields) {
    for (const [k, e] of table.entries) if (completeFields.some((f) => e[f] === undefined)) table.entries.delete(k);
  }
  return table;
}

function parseTable(text: string, file: string, allowTruncatedTail: boolean): LatencyTable {
  const fail = (line: number, msg: string): never => {
    throw new LatencyTableError(`${file}:${line}: ${msg}`);
  };
  let lines = text.split(/\r?\n/);
  lines.forEach((l, i) => /^[ ]*\t/.test(l) && fail(i + 1, 'tab character (use spaces)'));
  // The stamp: `# name: value` comments before the first entry (YAML drops comments, so read them here).
  const meta: Record<string, string> = {};
  for (const l of lines) {
    if (l.trim() === '') continue;
    const m = /^#\s*([A-Za-z][\w-]*):\s*(.*)$/.exec(l.trim());
    if (!l.trimStart().startsWith('#')) break;
    if (m) meta[m[1]] = m[2].trim();
  }
  /** The line of the last entry's key (-1: none). */
  const lastKeyLine = () => {
    let i = lines.length - 1;
    while (i >= 0 && !/^[^\s#]/.test(lines[i])) i--;
    return i;
  };
  if (allowTruncatedTail && text !== '' && !/\n$/.test(text)) {
    // The writer ends every entry with a newline: without one the last entry was cut (perhaps inside
    // a number, which still parses) and is not a measurement.
    const last = lastKeyLine();
    if (last >= 0) {
      lines = lines.slice(0, last);
      text = lines.join('\n');
    }
  }
  try {
    return { meta, entries: parseEntries(text, fail) };
  } catch (e) {
    if (!allowTruncatedTail) throw e;
    // A run killed mid-append leaves at most its last entry partial: drop it (from its key line on).
    const lastKey = lastKeyLine();
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
    // Node's message already starts with the code ('ENOENT: no such file ...'): said once.
    const why = err.code && !err.message.startsWith(err.code) ? `${err.code} ${err.message}` : err.message;
    throw new LatencyTableError(`cannot read latency table ${path}: ${why}`);
  }
  const table = parseLatencyTable(text, { ...options, file: path });
  if (table.entries.size === 0 && !options.allowTruncatedTail) {
    throw new LatencyTableError(`${path}: no entries (is this a latency table?)`);
  }
  return table;
}

/**
 * A profile table as --resume keeps it: a torn last entry and any entry without every field a
 * profile writes are dropped (to be measured again), never kept as measurements.
 */
export function readResumedTable(path: string): LatencyTable {
  return readLatencyTable(path, { allowTruncatedTail: true, completeFields: PROFILE_ENTRY_FIELDS });
}

/**
 * The tables shipped in data/latency, by the sha256 of their bytes (a user's own unstamped file of
 * the same name is not one of them; a copy under another name is): no stamp, their source is the
 * data README's. test/latency/provenance.test.ts hashes the shipped files against these.
 */
export const PUBLISHED_TABLES: Readonly<Record<string, { file: string; source: string }>> = {
  '087e855ea77f9b257e72f3637333a3e0938f6df77f579520f16d057ac45380aa': {
    file: 'proxylessnas_mobile_trim.yaml',
    source: 'Pixel 1, TFLite, 1 thread; published by ProxylessNAS',
  },
  c13a9bcb3f4becae844bce4897129c4e42975984c1029cbd5acb48c970136530: {
    file: 'ofa_note10_224_lookup_table.yaml',
    source: 'Samsung Note10; published by Once-for-All',
  },
};

/** A shipped published table's source, by the file's content; null for any other file (or none). */
function publishedSource(path: string): string | null {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch {
    return null;
  }
  return PUBLISHED_TABLES[createHash('sha256').update(bytes).digest('hex')]?.source ?? null;
}

/**
 * Where a table's figures came from, for a text output's one line: device (target, GPU or CPU
 * model), threads, library and date from its stamp, e.g. 'AMD EPYC 7B13, 1 thread, oneDNN 2.6,
 * 2026-12-05'. An unstamped table is a shipped published one (by content) or says it has no stamp.
 */
export function tableProvenance(path: string, meta: Record<string, string>): string {
  const cpu = meta.gpu ?? meta.cpu;
  const device = meta.target ? `${meta.target}${cpu ? ` (${cpu})` : ''}` : cpu;
  const threads = meta.threads && `${meta.threads} thread${meta.threads === '1' ? '' : 's'}`;
  // A versioned library without its build details ('oneDNN 2.6 (OpenMP, avx2)'): one short line.
  const library = meta.library?.replace(/^(\S+ \d\S*) \(.*\)$/, '$1');
  const parts = [device, threads, library, meta.date?.slice(0, 10)].filter(Boolean);
  if (parts.length > 0) return parts.join(', ');
  return publishedSource(path) ?? 'no stamp: device unknown';
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

/** The latency (ms) an entry stands for: its `mean`, or its `median` (an entry without one throws). */
export function entryMs(e: LatencyEntry, field: 'mean' | 'median' = 'mean', key = 'an entry'): number {
  if (field === 'median' && e.median === undefined)
    throw new LatencyTableError(`${key} has no 'median' field (sum means instead)`);
  return field === 'median' ? e.median! : e.mean;
}

/** The first entry of `table` without a `field` value (undefined: every entry has one). */
export function entryWithout(table: LatencyTable, field: string): string | undefined {
  for (const [k, e] of table.entries) if (e[field] === undefined) return k;
  return undefined;
}
