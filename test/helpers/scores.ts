/**
 * Score files for the correlate tests (score-files, correlate-formats, correlate-interop): NB201
 * cells whose true ranking has no ties, a score file written with the settings sidecar `wgnas
 * score` leaves, and a proxy's row of the printed report.
 */
import { writeFileSync } from 'node:fs';
import { loadNb201Table, type Nb201BenchRow } from '../../src/data/nb201-bench.js';

/** The first `n` cells of the NB201 table with distinct validation accuracies, in table order. */
export function distinctAccuracyCells(n: number): Nb201BenchRow[] {
  const seen = new Set<number>();
  return loadNb201Table()
    .filter((r) => !seen.has(r.valAcc) && seen.add(r.valAcc))
    .slice(0, n);
}

/** Writes `text` to `path` and, given settings, the OUT.settings.json of a finished `wgnas score --out`. */
export function writeScoreFile(path: string, text: string, settings: object | null = null): string {
  writeFileSync(path, text);
  if (settings) writeFileSync(`${path}.settings.json`, JSON.stringify({ format: 'wgnas-row-stream', settings, complete: true }));
  return path;
}

/** The printed row of `proxy` in a correlate report, split into fields: [proxy, n, tau, rho, ...]. */
export function proxyRow(out: string, proxy: string): string[] | undefined {
  return out
    .split('\n')
    .find((l) => l.split(/\s+/)[0] === proxy)
    ?.trim()
    .split(/\s+/);
}
