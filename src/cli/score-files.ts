/**
 * Several score files (correlate --scores a.csv b.csv, or a glob) read as one population: the files
 * must have been scored the same way (their OUT.settings.json, where present), and a cell that
 * appears twice is counted once, its scores merged: the same score twice (within the proxy's merge
 * tolerance) is a duplicate (dropped and counted), another score for the same cell and proxy is
 * refused naming both rows.
 */
import { DEFAULT_MERGE_RTOL } from '../proxies/define.js';
import { PROXIES } from '../proxies/registry.js';
import { DATA_KEY, sidecarSettings } from './resume-settings.js';
import { WRCOR_DEFINITION, WRCOR_KEY, ZERO_SHOT_UNRECORDED } from './search-report.js';
import { showSetting } from '../util/run-settings.js';
import { withoutGz } from '../util/gz-file.js';

/**
 * The recorded settings that change a cell's scores. The others (--proxies, a search's --strategy,
 * --budget...) choose which columns and cells a file has, not their values; --device,
 * --cpu-threads and --group-mode move scores only at float rounding (within each proxy's merge
 * tolerance, mergeRtolOf), so shards scored on other machines or in another mode read together.
 */
const SCORING_KEYS = ['--batch', '--seed', '--channels', '--cells-per-stage', '--dataset', DATA_KEY, '--init', '--inputs'];

/** A setting as compared: the images by their fingerprint alone (the same images found elsewhere agree). */
function comparable(key: string, v: unknown): string {
  return key === DATA_KEY && typeof v === 'string' ? v.split(' ')[0] : JSON.stringify(v);
}

/**
 * Refuses files scored with different settings, naming the two files and the first setting that
 * differs. A file without settings (hand-made, another tool's) is not compared; a setting one file
 * did not record is taken as an older wgnas's default where there is one.
 */
export function checkSameSettings(files: readonly string[]): void {
  const recorded = files.flatMap((file) => {
    // A stored copy gzipped after the run (scores.csv.gz) keeps the run's scores.csv.settings.json.
    const s = sidecarSettings(withoutGz(file))?.settings;
    return s ? [{ file, settings: { ...ZERO_SHOT_UNRECORDED, ...s } as Record<string, unknown> }] : [];
  });
  const [first, ...rest] = recorded;
  for (const other of rest)
    for (const k of SCORING_KEYS) {
      const a = first.settings[k];
      const b = other.settings[k];
      if (a === undefined || b === undefined || comparable(k, a) === comparable(k, b)) continue;
      throw new Error(
        `--scores: ${first.file} and ${other.file} were scored with different settings: ${k} ${showSetting(a)} in the first, ${showSetting(b)} in the second; correlate files of one setting`,
      );
    }
}

/**
 * Two scores of one cell and proxy that differ by at most the proxy's merge tolerance, relative to
 * the larger, are the same score: the device, CPU threads (`score --procs N` gives each process 1/N
 * of them) and group mode move each proxy's scores by its own amount (a gradient sum more than a
 * log-determinant: the registry's mergeRtol, measured), another seed, batch or network by more. A
 * column the registry does not know (another tool's, time_ms) takes DEFAULT_MERGE_RTOL.
 */
export function mergeRtolOf(proxy: string): number {
  return PROXIES.get(proxy)?.mergeRtol ?? DEFAULT_MERGE_RTOL;
}

/** The same score up to float rounding (`rtol` relative); NaN equals NaN, an infinity only itself. */
export function sameScore(a: number, b: number, rtol = DEFAULT_MERGE_RTOL): boolean {
  if (a === b || (Number.isNaN(a) && Number.isNaN(b))) return true;
  return Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b));
}

/** Where a cell's scores were read, for the message about a conflict. */
export interface CellOrigin {
  at: string;
  scores: Record<string, number | undefined>;
}

/**
 * Merges `scores` (read at `at`) into the cell's earlier row: 'duplicate' when every score it has
 * is already there with the same value (sameScore; the earlier value is kept), 'merged' when it
 * brings scores of other proxies (a file of other columns). Throws naming both rows when a proxy's
 * score differs by more than its merge tolerance (mergeRtolOf).
 */
export function mergeCell(
  arch: string,
  earlier: CellOrigin,
  scores: Record<string, number | undefined>,
  at: string,
  proxies: readonly string[],
): 'duplicate' | 'merged' {
  let added = false;
  for (const p of proxies) {
    const x = scores[p];
    if (x === undefined) continue;
    const was = earlier.scores[p];
    if (was === undefined) {
      earlier.scores[p] = x;
      added = true;
    } else if (!sameScore(was, x, mergeRtolOf(p)))
      throw new Error(
        `--scores: ${earlier.at} and ${at} give the cell ${arch} different ${p} scores (${was} and ${x}, more than ${p}'s merge tolerance ${mergeRtolOf(p).toExponential(0)} apart relative): scored twice another way; correlate one of them`,
      );
  }
  return added ? 'merged' : 'duplicate';
}

/**
 * A score file's WRCor definition (search-report.ts WRCOR_KEY), or null when it has no wrcor column:
 * as its settings record it, else the current one where it has the wrcor_module column (a file
 * without settings: hand-made from a current run), else 1 (written before 2026-12-06).
 */
export function wrcorDefinitionOf(file: string, columns: readonly string[]): number | null {
  if (!columns.includes('wrcor')) return null;
  const recorded = sidecarSettings(withoutGz(file))?.settings[WRCOR_KEY];
  if (typeof recorded === 'number') return recorded;
  return columns.includes('wrcor_module') ? WRCOR_DEFINITION : 1;
}

/**
 * The note on files of different WRCor definitions read as one population (null when there are
 * none): their wrcor differs on cells whose output receives nothing (finite before, -Infinity now),
 * and wrcor_module, which only the newer files have, is correlated over the `moduleCells` of the `cells` that have it.
 */
export function definitionsNote(
  files: ReadonlyArray<{ file: string; definition: number | null }>,
  moduleCells: number,
  cells: number,
): string | null {
  const withWrcor = files.filter((f) => f.definition !== null);
  const older = withWrcor.filter((f) => f.definition! < WRCOR_DEFINITION).map((f) => f.file);
  const newer = withWrcor.filter((f) => f.definition! >= WRCOR_DEFINITION).map((f) => f.file);
  if (!older.length || !newer.length) return null;
  return (
    `note: --scores: ${older.join(', ')} hold${older.length === 1 ? 's' : ''} the former wrcor (constant responses counted, before 2026-12-06), ` +
    `${newer.join(', ')} the current one: wrcor of cells whose output receives nothing differs between them` +
    (moduleCells > 0 && moduleCells < cells
      ? `; wrcor_module is correlated over the ${moduleCells} of ${cells} cells that have it`
      : '')
  );
}
