/** `wgnas correlate --versus / --paired`: the paired bootstrap table, and its bad input in one line. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNb201Table } from '../../src/data/nb201-bench.js';
import { Rng } from '../../src/util/rng.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeScoreFile } from '../helpers/scores.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-correlate-paired-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

// 60 real cells; wrcor = accuracy + noise, naswot = the same column, params = its negation.
const rng = new Rng(5);
const cells = loadNb201Table().slice(0, 60);
const wrcor = cells.map((c) => c.valAcc + 3 * rng.normal());
// Files of the current WRCor definition (their settings say so): their wrcor is read as wrcor.
const CURRENT = { 'wrcor definition': 3 };
const file = writeScoreFile(
  join(tmp, 'scores.csv'),
  'arch,wrcor,naswot,params\n' + cells.map((c, i) => `"${c.arch}",${wrcor[i]},${wrcor[i]},${-wrcor[i]}`).join('\n') + '\n',
  CURRENT,
);

/** The paired table's row for A vs B, split into its columns. */
function pairedRow(out: string, a: string, b: string): string[] {
  const table = out.slice(out.indexOf('\npaired:'));
  const line = table.split('\n').find((l) => l.startsWith(`${a} `) && l.split(/\s+/)[1] === b);
  expect(line, `${a} vs ${b} in\n${out}`).toBeDefined();
  return line!.replace(/\[(\S+), (\S+)\]/g, '[$1,$2]').split(/\s+/);
}

describe('correlate --versus / --paired', () => {
  it('--versus: a copy differs by 0 [0, 0]; the negation by twice tau; seeded output repeats', async () => {
    const argv = ['correlate', '--scores', file, '--versus', 'wrcor', '--bootstrap', '200', '--bootstrap-seed', '3'];
    const r = await wgnasInProcess(argv);
    expect(r.code, r.err).toBe(0);
    const same = pairedRow(r.out, 'naswot', 'wrcor');
    // a b n tau_a tau_b tau_diff tau_diff_ci95 tau_a_ahead rho_diff rho_diff_ci95 rho_a_ahead tau_ab
    expect(same.slice(2)).toEqual([
      '60',
      same[3],
      same[3],
      '0',
      '[0.0000,0.0000]',
      '0.000',
      '0',
      '[0.0000,0.0000]',
      '0.000',
      '1',
    ]);
    const neg = pairedRow(r.out, 'params', 'wrcor');
    const tau = Number(same[3]);
    expect(tau).toBeGreaterThan(0.3);
    expect(Number(neg[5])).toBeCloseTo(-2 * tau, 3);
    expect(neg[7]).toBe('0.000');
    // The two rankings' tau with each other: a copy 1, the negation -1.
    expect(neg[11]).toBe('-1');
    expect(r.out).not.toMatch(/^wrcor\s+wrcor/m);
    expect((await wgnasInProcess(argv)).out).toBe(r.out);
  });

  it('--paired: every pair once, in column order', async () => {
    const r = await wgnasInProcess(['correlate', '--scores', file, '--paired', '--bootstrap', '50']);
    expect(r.code, r.err).toBe(0);
    const pairs = r.out
      .slice(r.out.indexOf('\npaired:'))
      .split('\n')
      .filter((l) => /^\w+\s+\w+\s+\d+\s/.test(l))
      .map((l) => l.split(/\s+/).slice(0, 2).join(' '));
    expect(pairs).toEqual(['wrcor naswot', 'wrcor params', 'naswot params']);
  });

  it('--proxies names the As: only those are compared', async () => {
    const r = await wgnasInProcess([
      'correlate',
      '--scores',
      file,
      '--proxies',
      'params',
      '--versus',
      'wrcor,naswot',
      '--bootstrap',
      '50',
    ]);
    expect(r.code, r.err).toBe(0);
    const rows = r.out
      .slice(r.out.indexOf('\npaired:'))
      .split('\n')
      .filter((l) => /^\w+\s+\w+\s+\d+\s/.test(l));
    expect(rows.map((l) => l.split(/\s+/).slice(0, 2).join(' '))).toEqual(['params wrcor', 'params naswot']);
  });

  it("compares columns that are not proxy names (another tool's scores, an ensemble under study)", async () => {
    const own = join(tmp, 'own.csv');
    writeFileSync(own, 'arch,mine,theirs\n' + cells.map((c, i) => `"${c.arch}",${wrcor[i]},${-wrcor[i]}`).join('\n') + '\n');
    const r = await wgnasInProcess([
      'correlate',
      '--scores',
      own,
      '--proxies',
      'mine',
      '--versus',
      'theirs',
      '--bootstrap',
      '50',
    ]);
    expect(r.code, r.err).toBe(0);
    const row = pairedRow(r.out, 'mine', 'theirs');
    expect(Number(row[5])).toBeCloseTo(2 * Number(row[3]), 3);
    // Registry names keep matching in any case.
    const upper = await wgnasInProcess([
      'correlate',
      '--scores',
      file,
      '--proxies',
      'PARAMS',
      '--versus',
      'WRCor',
      '--bootstrap',
      '50',
    ]);
    expect(upper.code, upper.err).toBe(0);
    pairedRow(upper.out, 'params', 'wrcor');
    // A file's own column wins over a registry name in another case ('FLOPs' here is not 'flops').
    const flops = join(tmp, 'flops.csv');
    writeFileSync(flops, 'arch,FLOPs\n' + cells.map((c, i) => `"${c.arch}",${wrcor[i]}`).join('\n') + '\n');
    const own2 = await wgnasInProcess(['correlate', '--scores', flops, '--proxies', 'FLOPs', '--bootstrap', '0']);
    expect(own2.code, own2.err).toBe(0);
    expect(own2.out).toMatch(/^FLOPs\s+60\s/m);
    const missing = await wgnasInProcess(['correlate', '--scores', own, '--proxies', 'yours']);
    expect(missing.code).toBe(1);
    expect(missing.err.trim()).toMatch(/^wgnas correlate: --proxies: yours not in .*own\.csv \(columns: mine, theirs\)$/);
  });

  it('a constant column: tau_ab prints empty (never NaN), named in the constant-score note', async () => {
    const flat = join(tmp, 'flat.csv');
    writeScoreFile(flat, 'arch,wrcor,same\n' + cells.map((c, i) => `"${c.arch}",${wrcor[i]},1`).join('\n') + '\n', CURRENT);
    const r = await wgnasInProcess(['correlate', '--scores', flat, '--versus', 'wrcor', '--bootstrap', '50']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).not.toContain('NaN');
    const table = r.out.slice(r.out.indexOf('\npaired:'));
    const line = table.split('\n').find((l) => /^same\s+wrcor\s/.test(l));
    expect(line, table).toBeDefined();
    // a b n tau_a tau_b tau_diff ...: same's tau and the differences are undefined, wrcor's is not; tau_ab empty.
    const header = table.split('\n').find((l) => l.startsWith('a '))!;
    expect(line!.slice(header.indexOf('tau_ab')).trim()).toBe('');
    expect(line!.split(/\s+/).slice(0, 3)).toEqual(['same', 'wrcor', '60']);
    expect(r.err).toContain(
      'note: same: one score (or one accuracy) on every cell; no rank correlation; ' +
        'same - wrcor: one side scores alike every cell both score (or fewer than 2 such cells); no tau_ab\n',
    );
  });

  it('bad input: one line, before any work', async () => {
    const zero = await wgnasInProcess(['correlate', '--scores', file, '--versus', 'wrcor', '--bootstrap', '0']);
    expect(zero.code).toBe(2);
    expect(zero.err).toMatch(/--versus .*--bootstrap >= 1/);
    const both = await wgnasInProcess(['correlate', '--scores', file, '--versus', 'wrcor', '--paired']);
    expect(both.code).toBe(2);
    expect(both.err).toContain('--paired');
    const absent = await wgnasInProcess(['correlate', '--scores', file, '--versus', 'vkdnw_agg']);
    expect(absent.code).toBe(1);
    expect(absent.err).toContain('vkdnw_agg');
    // Any column may be named; one the files lack is named back with the columns they have.
    const unknown = await wgnasInProcess(['correlate', '--scores', file, '--versus', 'wrcorr']);
    expect(unknown.code).toBe(1);
    expect(unknown.err).toMatch(/--versus: wrcorr has no column in .*columns: wrcor, naswot, params/);
    // --sample scores first: the check comes before it.
    const sampled = await wgnasInProcess(['correlate', '--sample', '5', '--paired', '--bootstrap', '0']);
    expect(sampled.code).toBe(2);
    expect(sampled.err).toMatch(/--paired .*--bootstrap >= 1/);
    for (const r of [zero, both, absent, unknown, sampled]) expect(r.err.trim().split('\n')).toHaveLength(1);
  });
});
