/**
 * Several score files (correlate --scores a.csv b.csv, or a glob) read as one population: the files
 * must have been scored the same way (their OUT.settings.json, where present), and a cell that
 * appears twice is counted once, its scores merged: the same score twice (within the proxy's merge
 * tolerance) is a duplicate (dropped and counted), another score for the same cell and proxy is
 * refused naming both rows.
 */
import { DEFAULT_MERGE_RTOL } from '../proxies/define.js';
import { AGGREGATORS, PROXIES } from '../proxies/registry.js';
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
 * as its settings record it, else by its columns (a file without settings: hand-made from a run):
 * 3 with a wrcor_stage column, 2 with a wrcor_module one, else 1 (written before 2026-12-06).
 */
export function wrcorDefinitionOf(file: string, columns: readonly string[]): number | null {
  if (!columns.includes('wrcor')) return null;
  const recorded = sidecarSettings(withoutGz(file))?.settings[WRCOR_KEY];
  if (typeof recorded === 'number') return recorded;
  return columns.includes('wrcor_stage') ? WRCOR_DEFINITION : columns.includes('wrcor_module') ? 2 : 1;
}

/** How a file's columns read under the current names: a column renamed, or null (left out). */
export type ColumnRenames = Readonly<Record<string, string | null>>;

/** The population-level columns a file ranked by its own wrcor (the vote, the ensemble). */
const wrcorAggregates = (): string[] => [...AGGREGATORS.values()].filter((a) => a.members.includes('wrcor')).map((a) => a.name);

/**
 * The renames that read a file of WRCor definition `definition` under the current names, so that
 * one name never holds two weightings, whether the file is read alone or beside others. Its wrcor
 * (2^stage in definitions 1 and 2) is wrcor_stage, its wrcor_act and wrcor_grad (2^stage there)
 * wrcor_stage_act and wrcor_stage_grad; definition 2's wrcor_module is wrcor: on NAS-Bench-201 the
 * same numbers (2^module, the modules unchanged), not on MobileNet, whose modules definition 3
 * renumbered by stage, but correlate reads NB201 cells only. A renamed file's own vote and ensemble
 * columns ranked its cells by the former wrcor: left out (selectColumns recomputes them from the
 * members where every cell has them).
 */
export function wrcorRenames(definition: number | null): ColumnRenames {
  if (definition === null || definition >= WRCOR_DEFINITION) return {};
  const aggregates = Object.fromEntries(wrcorAggregates().map((a) => [a, null]));
  const stage = { wrcor: 'wrcor_stage', wrcor_act: 'wrcor_stage_act', wrcor_grad: 'wrcor_stage_grad', ...aggregates };
  return definition === 2 ? { ...stage, wrcor_module: 'wrcor' } : stage;
}

/** `record` with its keys renamed (a key renamed to null dropped), in its order. */
export function renameColumns<T>(record: Readonly<Record<string, T>>, renames: ColumnRenames): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(record)) {
    const to = k in renames ? renames[k] : k;
    if (to !== null) out[to] = v;
  }
  return out;
}

/** "a, b" of file names (each once: a file may be given twice), with "holds" or "hold". */
const holds = (files: readonly string[]) => {
  const once = [...new Set(files)];
  return `${once.join(', ')} hold${once.length === 1 ? 's' : ''}`;
};

/**
 * The notes on score files of earlier WRCor definitions (wrcorRenames), each file with the columns
 * it had: what was read under which name, what was left out, and, where only some cells have the
 * current wrcor (`wrcorCells` of `cells`), over which cells it is correlated.
 */
export function definitionsNotes(
  files: ReadonlyArray<{ file: string; definition: number | null; columns: readonly string[] }>,
  wrcorCells: number,
  cells: number,
): string[] {
  const withNewer = files.some((f) => (f.definition ?? 0) >= 2);
  const renamed = files.filter((f) => Object.keys(wrcorRenames(f.definition)).length);
  if (!renamed.length) return [];
  const ablations = (fs: typeof files) =>
    fs.some((f) => f.columns.includes('wrcor_act') || f.columns.includes('wrcor_grad'))
      ? ' (wrcor_act and wrcor_grad, 2^stage there, as wrcor_stage_act and wrcor_stage_grad)'
      : '';
  const dropped = (fs: typeof files) => {
    const aggs = wrcorAggregates().filter((a) => fs.some((f) => f.columns.includes(a)));
    return aggs.length
      ? `; their ${aggs.join(' and ')} columns, which ranked by that wrcor, are left out (recomputed from the members where every cell has them)`
      : '';
  };
  const notes: string[] = [];
  const v2 = renamed.filter((f) => f.definition === 2);
  if (v2.length)
    notes.push(
      `note: --scores: ${holds(v2.map((f) => f.file))} WRCor definition 2 (wrcor weighted 2^stage, wrcor_module 2^module), read as wrcor_stage and wrcor, the current names${ablations(v2)}${dropped(v2)}`,
    );
  const v1 = renamed.filter((f) => f.definition === 1);
  // Beside newer files its scores join theirs; alone, the note says why it has no wrcor.
  const beside = withNewer
    ? " beside the newer files', which differs from it"
    : ", as wrcor now weighs 2^module; today's wrcor_stage differs from it";
  if (v1.length)
    notes.push(
      `note: --scores: ${holds(v1.map((f) => f.file))} WRCor definition 1 (before 2026-12-06: weighted 2^stage, constant responses counted): its wrcor is read as wrcor_stage${ablations(v1)}${beside} ` +
        `on cells whose output receives nothing${dropped(v1)}`,
    );
  if (wrcorCells > 0 && wrcorCells < cells)
    notes.push(`note: --scores: wrcor is correlated over the ${wrcorCells} of ${cells} cells that have it`);
  return notes;
}
