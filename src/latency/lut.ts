/**
 * Latency lookup tables in the ProxylessNAS / Once-for-All YAML layout: one unindented `KEY:` line
 * per entry, then indented `field: number` lines (count, mean, var or std; wgnas adds median, iqr).
 * Comment lines `# name: value` before the first entry are the table's stamp (CPU, library, ...).
 * A tiny hand-written reader/writer: this subset of YAML is all these tables use.
 */
import { readFileSync } from 'node:fs';
import { appendDurable, writeFileAtomic } from '../util/durable.js';

export class LatencyTableError extends Error {
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

export function parseLatencyTable(text: string, { file = '<table>', allowTruncatedTail = false }: ParseOptions = {}): LatencyTable {
  const meta: Record<string, string> = {};
  const entries = new Map<string, LatencyEntry>();
  const lines = text.split(/\r?\n/);
  let key: string | null = null;
  let keyLine = 0;
  let fields: Record<string, number> = {};
  const fail = (line: number, msg: string): never => {
    throw new LatencyTableError(`${file}:${line}: ${msg}`);
  };
  const finish = (atEnd: boolean): void => {
    if (key === null) return;
    if (fields.mean === undefined) {
      if (atEnd && allowTruncatedTail) return;
      fail(keyLine, `entry '${key}' has no 'mean' field`);
    }
    entries.set(key, { count: fields.count ?? 1, ...fields } as LatencyEntry);
    key = null;
  };
  for (let i = 0; i < lines.length; i++) {
    const n = i + 1;
    const raw = lines[i].trimEnd();
    if (raw.trim() === '') continue;
    if (raw.includes('\t')) fail(n, 'tab character (use spaces)');
    if (raw.trimStart().startsWith('#')) {
      const m = /^#\s*([A-Za-z][\w-]*):\s*(.*)$/.exec(raw.trim());
      if (m && entries.size === 0 && key === null) meta[m[1]] = m[2].trim();
      continue;
    }
    if (!raw.startsWith(' ')) {
      finish(false);
      if (!raw.endsWith(':')) {
        const truncatedTail = allowTruncatedTail && lines.slice(i + 1).every((l) => l.trim() === '');
        if (truncatedTail) break;
        fail(n, `expected 'KEY:' (an unindented key ending in ':'), got '${raw.slice(0, 80)}'`);
      }
      const k = raw.slice(0, -1).trim();
      if (k === '' || /\s/.test(k)) fail(n, `bad key '${k}'`);
      if (entries.has(k)) fail(n, `duplicate key '${k}'`);
      key = k;
      keyLine = n;
      fields = {};
      continue;
    }
    const m = /^\s+([A-Za-z_]\w*):\s*(\S+)\s*$/.exec(raw);
    if (!m) {
      if (allowTruncatedTail && lines.slice(i + 1).every((l) => l.trim() === '')) {
        key = null; // the entry being written when the run stopped
        break;
      }
      fail(n, `expected '  field: number', got '${raw.trim().slice(0, 80)}'`);
    }
    if (key === null) fail(n, `field '${m![1]}' before any key`);
    const v = Number(m![2]);
    if (!Number.isFinite(v)) fail(n, `field '${m![1]}' of '${key}' is not a finite number: '${m![2]}'`);
    if (m![1] in fields) fail(n, `field '${m![1]}' repeated in '${key}'`);
    if ((m![1] === 'mean' || m![1] === 'median') && v < 0) fail(n, `negative latency ${v} in '${key}'`);
    fields[m![1]] = v;
  }
  finish(true);
  return { meta, entries };
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

export function formatEntry(key: string, e: LatencyEntry): string {
  const names = [...FIELD_ORDER.filter((f) => e[f] !== undefined), ...Object.keys(e).filter((f) => !FIELD_ORDER.includes(f) && e[f] !== undefined)];
  return `${key}:\n${names.map((f) => `  ${f}: ${String(e[f])}\n`).join('')}`;
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
  appendDurable(path, formatEntry(key, entry));
}

/** The latency (ms) an entry stands for: `mean`, or `median` when asked for and present. */
export function entryMs(e: LatencyEntry, field: 'mean' | 'median' = 'mean'): number {
  return field === 'median' && e.median !== undefined ? e.median : e.mean;
}
