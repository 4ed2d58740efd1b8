/** Small helpers for the subcommands' option parsing (node:util parseArgs underneath). */
import { writeFileSync } from 'node:fs';
import { readCsvObjects } from '../data/csv.js';
import type { BackendName } from '../native/binding.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function intOpt(name: string, v: string | undefined, dflt: number, min = 1): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer >= ${min}, got '${v}'`);
  return n;
}

export function numOpt(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${name} must be a number, got '${v}'`);
  return n;
}

/** A native profiler library name (--backend). */
export function backendOpt(v: string | undefined, dflt: BackendName = 'onednn'): BackendName {
  if (v === undefined) return dflt;
  if (v !== 'onednn' && v !== 'xnnpack') throw new UsageError(`--backend must be onednn or xnnpack, got '${v}'`);
  return v;
}

export function listOpt(v: string | undefined, dflt: string[]): string[] {
  if (!v) return dflt;
  return v
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Writes rows as CSV or JSON by the file extension. */
export function writeTable(path: string, rows: Array<Record<string, string | number | undefined>>): void {
  if (path.endsWith('.json')) {
    writeFileSync(path, JSON.stringify(rows, null, 2) + '\n');
    return;
  }
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const esc = (v: unknown) => {
    const s = v === undefined ? '' : String(v);
    return /[",\n|]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  writeFileSync(path, [cols.join(','), ...rows.map((r) => cols.map((c) => esc(r[c])).join(','))].join('\n') + '\n');
}

/** Renders a fixed-width text table. */
export function textTable(header: string[], rows: Array<Array<string | number>>): string {
  const cells = [header, ...rows.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? '').length)));
  const line = (r: Array<string | number>) => r.map((c, i) => String(c ?? '').padEnd(widths[i])).join('  ').trimEnd();
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n') + '\n';
}

export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return a >= 1000 || a < 0.001 ? v.toExponential(3) : v.toFixed(4);
}

/** Reads a CSV with a header row (quoted fields allowed) or a JSON array of objects. */
export function readTable(path: string, text: string): Array<Record<string, string>> {
  if (path.endsWith('.json')) {
    const rows = JSON.parse(text) as unknown;
    if (!Array.isArray(rows)) throw new UsageError(`${path}: expected a JSON array of rows`);
    return rows.map((r) => Object.fromEntries(Object.entries(r as object).map(([k, val]) => [k, String(val)])));
  }
  try {
    return readCsvObjects(text, path);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}
