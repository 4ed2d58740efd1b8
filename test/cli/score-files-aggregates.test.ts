/**
 * correlate --scores over shards of one population scored with a population-level score (vote,
 * vote_majority, az_nas): each shard's own column ranks only its own cells, so the merged population's aggregate
 * is recomputed from the members (the numbers of one file of all the cells), overlapping shards
 * merge (their aggregate columns are not compared), and shards lacking a member are refused naming
 * the column. Real shards: `wgnas score --archs` at a small network on the CPU backend.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { distinctAccuracyCells, proxyRow } from '../helpers/scores.js';

const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--channels', '4', '--device', 'cpu', '--cpu-threads', '1', '--quiet'];
const PROXIES = ['--proxies', 'vote,vote_majority,az_nas'];

const dir = mkdtempSync(join(tmpdir(), 'wgnas-agg-shards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cells = distinctAccuracyCells(12).map((c) => c.arch);
const file = (name: string) => join(dir, name);

/** `wgnas score` of cells [from, to) into name (with its settings sidecar). */
async function score(name: string, from: number, to: number): Promise<string> {
  writeFileSync(file(`${name}.txt`), cells.slice(from, to).join('\n') + '\n');
  const r = await wgnasInProcess(['score', '--archs', file(`${name}.txt`), ...PROXIES, ...SMALL, '--out', file(name)]);
  expect(r.code, r.err).toBe(0);
  return file(name);
}

const correlate = (files: string[], proxies = 'all') =>
  wgnasInProcess(['correlate', '--bootstrap', '0', '--proxies', proxies, ...files.flatMap((f) => ['--scores', f])]);

/** The CSV's column `col` by arch. */
function column(path: string, col: string): Map<string, string> {
  const [head, ...rows] = readFileSync(path, 'utf8').trim().split('\n');
  const i = head.split(',').indexOf(col);
  // The arch is quoted in the CSV ("|...|"): the last fields are plain numbers.
  return new Map(rows.map((r) => [r.split(',')[0].replace(/"/g, ''), r.split(',')[i]]));
}

let whole = '';
let a = '';
let b = '';
beforeAll(async () => {
  if (!cpuTestBackend()) return;
  whole = await score('whole.csv', 0, 12);
  // Overlapping shards: cells 5-7 in both.
  a = await score('a.csv', 0, 8);
  b = await score('b.csv', 5, 12);
}, 300_000);

describe('correlate --scores: shards scored with a population-level score', () => {
  it('recomputes vote, vote_majority and az_nas over the merged cells: the figures of one file of them all', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    // The shards' own columns rank their own cells: not the whole population's values.
    const own = column(a, 'vote');
    const all = column(whole, 'vote');
    expect(cells.slice(0, 8).filter((c) => own.get(c) !== all.get(c)).length).toBeGreaterThan(4);
    const one = await correlate([whole]);
    const two = await correlate([a, b]);
    expect(one.code, one.err).toBe(0);
    expect(two.code, two.err).toBe(0);
    for (const p of ['vote', 'vote_majority', 'az_nas', 'wrcor', 'synflow', 'az_nas_trainability']) {
      expect(proxyRow(two.out, p), p).toEqual(proxyRow(one.out, p));
      expect(proxyRow(two.out, p)?.[1], p).toBe('12');
    }
    expect(two.err).toMatch(
      /^note: --scores: vote recomputed from its members over the 12 cells read \(the files' own column ranked each file's cells alone: \d+ values differ\)$/m,
    );
    expect(two.err).toMatch(/^note: --scores: vote_majority recomputed from its members over the 12 cells read/m);
    expect(two.err).toMatch(/^note: --scores: az_nas recomputed from its members over the 12 cells read/m);
    expect(two.err).toMatch(/^note: --scores: 3 rows repeat cells read before with the same scores: dropped/m);
    // A file of all the cells: its own column is that population's, nothing recomputed differs.
    expect(one.err).not.toMatch(/recomputed/);
    // The order of the shards does not matter.
    const ba = await correlate([b, a], 'vote');
    expect(proxyRow(ba.out, 'vote')).toEqual(proxyRow(one.out, 'vote'));
  });

  it('refuses shards whose own column cannot be recomputed (a member missing), in one line naming it', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    // b without synflow: vote's members are not on every cell.
    const [head, ...rows] = readFileSync(b, 'utf8').trim().split('\n');
    const i = head.split(',').indexOf('synflow');
    const cut = (l: string) => {
      const f = l.split(',');
      // The quoted arch holds no comma: dropping field i removes the column.
      return [...f.slice(0, i), ...f.slice(i + 1)].join(',');
    };
    const noSynflow = file('b-no-synflow.csv');
    writeFileSync(noSynflow, [head, ...rows].map(cut).join('\n') + '\n');
    writeFileSync(`${noSynflow}.settings.json`, readFileSync(`${b}.settings.json`));
    const r = await correlate([a, noSynflow]);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      "wgnas correlate: --scores: vote ranks the cells scored together, so 2 files' own vote columns do not make one ranking, and it cannot be recomputed over the 12 cells read: 4 lack synflow (vote's members: wrcor, synflow, jacob_cov); score every file with them, or leave vote out (--proxies)\n",
    );
    // Without vote the same files correlate (the other columns merge).
    const ok = await correlate([a, noSynflow], 'wrcor');
    expect(ok.code, ok.err).toBe(0);
    expect(proxyRow(ok.out, 'wrcor')?.[1]).toBe('12');
    // One file's own column, members or not, is its population's ranking: kept as it is.
    const alone = await correlate([noSynflow]);
    expect(alone.code, alone.err).toBe(0);
    expect(proxyRow(alone.out, 'vote')?.[1]).toBe('7');
  });
});
