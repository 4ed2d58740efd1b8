/**
 * `wgnas correlate --scores` on too few cells for an interval: below MIN_BOOTSTRAP_PAIRS (10) cells
 * the tau is printed without a bootstrap interval and one note line says why (3 cells gave a
 * zero-width [1.000, 1.000], 2 cells [NaN, NaN]); a constant score column has no correlation and
 * prints none; NaN is never printed, in the paired table either.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { kendallTau } from '../../src/util/ranks.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { distinctAccuracyCells, proxyRow, writeScoreFile } from '../helpers/scores.js';

const dir = mkdtempSync(join(tmpdir(), 'wgnas-correlate-few-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cells = distinctAccuracyCells(12);
/** synflow: the accuracy's order except every third cell's score lowered (tau below 1); flat: one value. */
const scoresOf = (n: number) => cells.slice(0, n).map((c, i) => ({ arch: c.arch, synflow: c.valAcc - (i % 3 ? 0 : 5), flat: 7 }));
const file = (n: number): string =>
  writeScoreFile(
    join(dir, `s${n}.csv`),
    'arch,synflow,flat\n' +
      scoresOf(n)
        .map((r) => `"${r.arch}",${r.synflow},${r.flat}`)
        .join('\n') +
      '\n',
  );

const correlate = async (...argv: string[]) => {
  const r = await wgnasInProcess(['correlate', ...argv]);
  expect(r.code, r.err).toBe(0);
  expect(r.out + r.err).not.toMatch(/NaN/);
  return r;
};

describe('correlate: intervals need 10 cells', () => {
  it('3 and 9 cells: the tau without an interval, and one note line saying why', async () => {
    for (const n of [2, 3, 9]) {
      const r = await correlate('--scores', file(n), '--proxies', 'synflow');
      const rows = scoresOf(n);
      const tau = kendallTau(
        rows.map((x) => x.synflow),
        rows.map((x) => cells[rows.indexOf(x)].valAcc),
      ).tau;
      const row = proxyRow(r.out, 'synflow')!;
      expect(row[1]).toBe(String(n));
      expect(Number(row[2])).toBeCloseTo(tau, 4);
      expect(r.out).not.toMatch(/\[/); // no interval at all
      const notes = r.err.trim().split('\n');
      expect(notes, r.err).toHaveLength(1);
      expect(notes[0]).toMatch(new RegExp(`^note: only ${n} cells; .*no bootstrap interval below 10`));
    }
  });

  it('10 cells: an interval of positive width around the tau, no note', async () => {
    const r = await correlate('--scores', file(10), '--proxies', 'synflow', '--bootstrap', '300');
    expect(r.err).toBe('');
    const row = proxyRow(r.out.replace(/\[(\S+), (\S+)\]/g, '[$1,$2]'), 'synflow')!;
    const [lo, hi] = row[4].slice(1, -1).split(',').map(Number);
    expect(lo).toBeLessThan(Number(row[2]));
    expect(hi).toBeGreaterThanOrEqual(Number(row[2]));
    expect(hi - lo).toBeGreaterThan(0.05);
  });

  it('a constant score: no tau, rho or interval, one note; --bootstrap 0 says nothing of intervals', async () => {
    const r = await correlate('--scores', file(12), '--proxies', 'flat');
    expect(proxyRow(r.out, 'flat')).toEqual(['flat', '12']);
    expect(r.err.trim().split('\n')).toEqual(['note: flat: one score (or one accuracy) on every cell; no rank correlation']);
    const none = await correlate('--scores', file(3), '--proxies', 'synflow', '--bootstrap', '0');
    expect(none.err.trim()).toBe('note: only 3 cells; a rank correlation of so few is not meaningful (n = 2 gives ±1)');
  });

  it('paired on 3 cells: the difference without an interval or a share, one note naming the pair', async () => {
    const r = await correlate('--scores', file(3), '--versus', 'flat', '--proxies', 'synflow', '--bootstrap', '50');
    const line = r.out.split('\n').find((l) => /^synflow\s+flat\s/.test(l));
    expect(line, r.out).toBeDefined();
    expect(line!.trim().split(/\s+/)).toEqual(['synflow', 'flat', '3', '1']); // tau_a; tau_b and the rest undefined
    expect(r.err).toMatch(/^note: paired: below 10 cells both have, no interval \(synflow - flat: 3 cells\)$/m);
  });
});
