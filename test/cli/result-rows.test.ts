/**
 * Result rows with scores JSON cannot hold (Infinity, -Infinity, NaN): written as strings in JSON and
 * JSON-lines rows, read back exactly by every reader (score / search resume, the queue's result
 * store); the null older JSON rows held still reads as NaN; a value that is not a number is refused
 * on resume naming the file, row and column. Pure: no scoring.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cellNumber,
  formatRows,
  jsonRow,
  readStreamedRows,
  ReplayLog,
  type Row,
  type RowFormat,
  RowStream,
} from '../../src/data/row-stream.js';
import { decodeResult, encodeResult } from '../../src/queue/result-store.js';
import { checkRowNumbers, scoreColumns, scoredOf } from '../../src/cli/score-rows.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-result-rows-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const B = '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|';
const C = '|skip_connect~0|+|none~0|none~1|+|none~0|none~1|nor_conv_3x3~2|';
const ROWS: Row[] = [
  { arch: A, synflow: 12.5, naswot: -Infinity, time_ms: 3 },
  { arch: B, synflow: Infinity, naswot: NaN, time_ms: 4 },
  { arch: C, synflow: -0.25, naswot: 1e-300, time_ms: 5 },
];
const PROXIES = ['synflow', 'naswot'];

/** Scores exactly (Object.is: NaN equals NaN, -0 differs from 0). */
function expectSameScores(got: Array<Record<string, number>>, want: readonly Row[]): void {
  expect(got.length).toBe(want.length);
  got.forEach((g, i) => PROXIES.forEach((p) => expect(Object.is(g[p], want[i][p]), `row ${i + 1} ${p}: ${g[p]}`).toBe(true)));
}

describe('non-finite scores in result rows', () => {
  it('JSON and JSON lines hold them as the strings CSV writes; cellNumber reads every spelling back', () => {
    expect(jsonRow({ a: Infinity, b: -Infinity, c: NaN, d: 1.5 })).toBe('{"a":"Infinity","b":"-Infinity","c":"NaN","d":1.5}');
    expect(formatRows('json', ROWS)).not.toMatch(/null/);
    expect(formatRows('jsonl', ROWS).split('\n')[1]).toContain('"synflow":"Infinity","naswot":"NaN"');
    expect(formatRows('csv', ROWS).split('\n')[1]).toMatch(/,12\.5,-Infinity,3$/);
    for (const [text, n] of [
      ['Infinity', Infinity],
      ['-Infinity', -Infinity],
      ['NaN', NaN],
      ['-inf', -Infinity],
      [' INF ', Infinity],
      ['nan', NaN],
      ['1e999', Infinity],
      ['-2.5', -2.5],
    ] as const)
      expect(Object.is(cellNumber(text), n), text).toBe(true);
    expect(cellNumber(null)).toBeNaN(); // older JSON rows' non-finite score
    expect(cellNumber(-Infinity)).toBe(-Infinity);
    for (const bad of ['abc', '', '  ', undefined, true, {}]) expect(cellNumber(bad), String(bad)).toBeUndefined();
  });

  for (const format of ['json', 'jsonl', 'csv'] as RowFormat[]) {
    it(`a resumed .${format} gives back the scores exactly, and keeps their text as written`, () => {
      const path = join(tmp, `scores.${format === 'json' ? 'JSON' : format}`);
      const w = new RowStream(path, { settings: { '--seed': 1 } });
      w.append(ROWS.slice(0, 2));
      w.append(ROWS.slice(2));
      w.finish();
      const written = readFileSync(path, 'utf8');
      if (format !== 'csv') expect(written).toMatch(/"-Infinity"/);
      const r = new RowStream(path, { settings: { '--seed': 1 }, resume: true });
      expectSameScores(
        r.done.map((row) => scoredOf(row, PROXIES).scores),
        ROWS,
      );
      // A finish with the rows as read back writes the same file.
      r.finish(r.done);
      expect(readFileSync(path, 'utf8')).toBe(written);
    });
  }

  it('a search replay hands the non-finite scores back as the search first saw them', async () => {
    const path = join(tmp, 'evaluated.jsonl');
    const first = new RowStream(path, { settings: {} });
    const log1 = new ReplayLog(first, 'arch');
    for (const r of ROWS) await log1.row(String(r.arch), async () => r);
    first.close();
    const again = new RowStream(path, { settings: {}, resume: true });
    const log2 = new ReplayLog(again, 'arch');
    const back: Array<Record<string, number>> = [];
    for (const r of ROWS)
      back.push(
        scoredOf(await log2.row(String(r.arch), () => Promise.reject(new Error('replayed rows are not computed'))), PROXIES)
          .scores,
      );
    again.close();
    expectSameScores(back, ROWS);
  });

  it('rows written before (null for every non-finite score) still read, as NaN', () => {
    const path = join(tmp, 'old.jsonl');
    writeFileSync(path, `{"arch":"${A}","synflow":null,"naswot":2,"time_ms":3}\n`);
    const [row] = readStreamedRows(path, 'jsonl').rows;
    expect(() => checkRowNumbers(path, [row], scoreColumns(PROXIES))).not.toThrow();
    expect(scoredOf(row, PROXIES).scores).toEqual({ synflow: NaN, naswot: 2 });
  });

  it('a score that is not a number is refused naming the file, row and column', () => {
    const rows: Row[] = [
      { arch: A, synflow: '1.5', naswot: '-Infinity', time_ms: '3' },
      { arch: B, synflow: 'abc', naswot: '', time_ms: '4' },
    ];
    expect(() => checkRowNumbers('k.csv', rows, scoreColumns(PROXIES))).toThrow(
      /^--resume: k\.csv row 2: synflow score 'abc' is not a number$/,
    );
    expect(() => checkRowNumbers('k.csv', [{ arch: A, synflow: 1, naswot: 2, time_ms: 'x' }], scoreColumns(PROXIES))).toThrow(
      /^--resume: k\.csv row 1: time_ms 'x' is not a number$/,
    );
  });

  it("the queue's result store keeps them too (and reads its older null as NaN)", () => {
    const r = { arch: A, scores: { synflow: -Infinity, naswot: NaN, zen: Infinity, wrcor: 0.5 }, timeMs: 7, worker: 'w1' };
    const back = decodeResult(encodeResult(r));
    expect(back).toEqual(r);
    expect(back.scores.synflow).toBe(-Infinity);
    expect(decodeResult(JSON.stringify({ ...r, scores: { synflow: null, wrcor: 0.5 } })).scores).toEqual({
      synflow: NaN,
      wrcor: 0.5,
    });
  });
});
