/**
 * `wgnas correlate --scores` reads the same scores the same way in every format `score --out`
 * writes (CSV, JSON, JSON lines; the extension in any case; gzipped as NAME.gz, a NAME.gz that is
 * not gzip refused in one line; older JSON's null
 * for a non-finite score): identical reports, the vote included, and the PyTorch reference tau over
 * exactly the cells of the proxy's own tau. `--proxies all` means the files' proxy columns; other numeric columns
 * (time_ms) may be named; a file without time_ms gives no timing. Hand-made files: no scoring.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadNb201ReferenceProxies } from '../../src/data/nb201-bench.js';
import { findDataFile } from '../../src/data/paths.js';
import { formatRows, type Row, type RowFormat } from '../../src/data/row-stream.js';
import { canonicalKey, parseArch } from '../../src/spaces/nb201.js';
import { gzipBytes, readTextFile } from '../../src/util/gz-file.js';
import { kendallTau } from '../../src/util/ranks.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { distinctAccuracyCells, proxyRow as rowOf, writeScoreFile } from '../helpers/scores.js';

const dir = mkdtempSync(join(tmpdir(), 'wgnas-correlate-formats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 12 cells with distinct accuracies; scores from the accuracy, with noise so that the taus are not ±1.
// wrcor beside wrcor_stage, as a current score --out writes them (WRCor definition 3): read as they are.
const cells = distinctAccuracyCells(12);
const ROWS: Row[] = cells.map((c, i) => ({
  arch: c.arch,
  wrcor: c.valAcc + ((i * 7) % 5),
  wrcor_stage: c.valAcc - ((i * 2) % 3),
  synflow: i === 2 ? -Infinity : i === 7 ? Infinity : c.valAcc - ((i * 3) % 4),
  jacob_cov: i === 4 ? NaN : -c.valAcc + ((i * 5) % 6),
  naswot: c.valAcc * ((i % 3) + 1),
  val_acc: c.valAcc,
  time_ms: 100 + i,
}));

const write = (name: string, format: RowFormat, rows: readonly Row[] = ROWS) =>
  writeScoreFile(join(dir, name), formatRows(format, rows));

const correlate = async (...argv: string[]) => {
  const r = await wgnasInProcess(['correlate', '--bootstrap', '0', ...argv]);
  expect(r.code, r.err).toBe(0);
  return r.out;
};

describe('correlate --scores: one report whatever the format', () => {
  it('CSV, JSON, JSON lines, upper-case extensions and the older JSON with null agree exactly', async () => {
    const csv = await correlate('--scores', write('s.csv', 'csv'));
    // The older JSON rows: null for every non-finite score.
    const older = join(dir, 'older.json');
    writeFileSync(older, JSON.stringify(ROWS, null, 2));
    expect(JSON.stringify(ROWS)).toMatch(/null/);
    for (const [name, format] of [
      ['s.json', 'json'],
      ['s.jsonl', 'jsonl'],
      ['S.JSON', 'json'],
      ['s.JSONL', 'jsonl'],
      ['S.CSV', 'csv'],
    ] as const)
      expect(await correlate('--scores', write(name, format)), name).toBe(csv);
    expect(await correlate('--scores', older)).toBe(csv);
    // Stored gzipped (bench/results keeps large rows so): read as the format under the .gz.
    for (const [name, format] of [
      ['s.csv.gz', 'csv'],
      ['s.json.gz', 'json'],
      ['s.jsonl.GZ', 'jsonl'],
    ] as const) {
      writeFileSync(join(dir, name), gzipBytes(formatRows(format, ROWS)));
      expect(await correlate('--scores', join(dir, name)), name).toBe(csv);
    }
    // Non-finite scores are left out of their proxy's correlation; the vote ranks them last and is there.
    expect(rowOf(csv, 'synflow')?.[1]).toBe('10');
    expect(rowOf(csv, 'jacob_cov')?.[1]).toBe('11');
    expect(rowOf(csv, 'vote')?.[1]).toBe('12');
    // The mean time_ms (100..111) to 3 significant digits or the tenths, not 4 decimals.
    expect(csv).toMatch(/\(12 cells, 105\.5 ms\/arch for all proxies\)/);
  });

  it('the PyTorch reference tau is over exactly the cells of the proxy own tau', async ({ skip }) => {
    if (!findDataFile('nb201', 'nb201_zc_proxies.csv')) return skip();
    const out = await correlate('--scores', write('ref.csv', 'csv'), '--proxies', 'synflow,jacob_cov');
    const ref = new Map(loadNb201ReferenceProxies().map((r) => [r.arch, r.scores]));
    for (const [proxy, col] of [
      ['synflow', 'synflow'],
      ['jacob_cov', 'jacov'],
    ]) {
      const used = ROWS.filter((r) => Number.isFinite(r[proxy]));
      const want = kendallTau(
        used.map((r) => ref.get(canonicalKey(parseArch(String(r.arch))))![col]),
        used.map((r) => r.val_acc as number),
      ).tau;
      expect(rowOf(out, proxy)?.at(-1), proxy).toBe(want.toFixed(4));
    }
  });

  it('--proxies all: every proxy column the file has; time_ms may be named; no time_ms, no timing', async () => {
    const partial = write(
      'partial.csv',
      'csv',
      ROWS.map(({ arch, wrcor, wrcor_stage, naswot }) => ({ arch, wrcor, wrcor_stage, naswot })),
    );
    const all = await correlate('--scores', partial, '--proxies', 'all');
    expect(
      all
        .split('\n')
        .slice(3)
        .map((l) => l.split(/\s+/)[0])
        .filter(Boolean),
    ).toEqual(['wrcor', 'wrcor_stage', 'naswot']);
    expect(all).toMatch(/\(12 cells\)\n/);
    expect(all).not.toMatch(/NaN|ms\/arch/);
    const timed = await correlate('--scores', write('timed.jsonl', 'jsonl'), '--proxies', 'wrcor,time_ms');
    expect(rowOf(timed, 'time_ms')?.slice(0, 2)).toEqual(['time_ms', '12']);
    const arch = await wgnasInProcess(['correlate', '--scores', partial, '--proxies', 'arch']);
    expect(arch.code).toBe(2);
    expect(arch.err).toMatch(/^wgnas correlate: --proxies: arch is not a score column/);
    const absent = await wgnasInProcess(['correlate', '--scores', partial, '--proxies', 'time_ms']);
    expect(absent.code).toBe(1);
    expect(absent.err).toMatch(/--proxies: time_ms not in .*partial\.csv/);
  });

  it('a value that is not a number is named with its file and line, in JSON lines too', async () => {
    const bad = join(dir, 'bad.jsonl');
    writeFileSync(bad, formatRows('jsonl', ROWS.slice(0, 3)) + `{"arch":"${String(ROWS[3].arch)}","wrcor":"abc"}\n`);
    const r = await wgnasInProcess(['correlate', '--scores', bad]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^wgnas correlate: .*bad\.jsonl:4: wrcor score 'abc' is not a number$/);
  });

  it('a file named .gz that is not gzip (renamed, never gzipped) is named in one line, not as Z_DATA_ERROR', async () => {
    const plain = write('plain.csv.gz', 'csv');
    const r = await wgnasInProcess(['correlate', '--scores', plain]);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toBe(`wgnas correlate: ${plain}: not gzip data (named .gz)`);
    writeFileSync(join(dir, 'empty.csv.gz'), '');
    expect(() => readTextFile(join(dir, 'empty.csv.gz'))).toThrow(`${join(dir, 'empty.csv.gz')}: not gzip data (named .gz)`);
  });
});
