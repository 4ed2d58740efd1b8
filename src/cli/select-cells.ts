/** Which NAS-Bench-201 cells a `score` or `correlate` run covers: given, listed in a file, sampled or all. */
import { allCells, canonicalKey, isCanonical, NB201_NUM_CELLS, parseArch, sampleCell, type Nb201Cell } from '../spaces/nb201.js';
import { Rng } from '../util/rng.js';
import { cutValue, UsageError } from './errors.js';
import { readText } from './args.js';
import { NB201_DISTINCT_CELLS } from './specs/common.js';

export interface CellSelection {
  arch?: readonly string[];
  archs?: string;
  sample?: number;
  all?: boolean;
  groundTruth?: boolean;
  seed: number;
}

/** Reads an arch list: one arch string per line (the first comma field); blank and '#' lines skipped. */
export function readArchList(path: string): Nb201Cell[] {
  const cells: Nb201Cell[] = [];
  readText(path, 'arch list')
    .split(/\r?\n/)
    .forEach((raw, i) => {
      const l = raw.trim();
      if (!l || l.startsWith('#')) return;
      const first = l.split(',')[0];
      try {
        cells.push(parseArch(first));
      } catch (e) {
        throw new Error(`${path}:${i + 1}: ${cutValue((e as Error).message, first)}`);
      }
    });
  if (!cells.length) throw new Error(`${path}: no arch strings (only blank or '#' lines)`);
  return cells;
}

export function selectCells(v: CellSelection, accs: ReadonlyMap<string, number> | null): Nb201Cell[] {
  const cells: Nb201Cell[] = (v.arch ?? []).map((a) => parseArch(a));
  if (v.archs) cells.push(...readArchList(v.archs));
  const gtOnly = Boolean(v.groundTruth);
  // The shared table holds the 9445 live forms (no dead edges): exactly the canonical cells.
  const known = (c: Nb201Cell) => !gtOnly || (isCanonical(c) && (accs?.has(canonicalKey(c)) ?? true));
  if (v.all) cells.push(...allCells().filter(known));
  if (v.sample) {
    const k = v.sample;
    if (k > NB201_DISTINCT_CELLS) {
      throw new UsageError(
        `--sample ${k}: the space has ${NB201_NUM_CELLS} cells but only ${NB201_DISTINCT_CELLS} distinct networks (a cell with dead edges equals a smaller one), so at most ${NB201_DISTINCT_CELLS} unique cells; --all takes all ${NB201_NUM_CELLS}`,
      );
    }
    const rng = new Rng(v.seed + 1);
    const seen = new Set<string>();
    // Coupon collecting: even k = size needs only ~size·ln(size) draws, far below this bound.
    let tries = 0;
    while (seen.size < k && tries++ < k * 1000) {
      const c = sampleCell(rng);
      const key = canonicalKey(c);
      if (seen.has(key) || !known(c)) continue;
      seen.add(key);
      cells.push(c);
    }
    if (seen.size < k) throw new Error(`--sample ${k}: found only ${seen.size} distinct cells after ${tries} draws`);
  }
  if (!cells.length) throw new UsageError('nothing to score: give --arch, --archs, --sample K or --all');
  return cells;
}
