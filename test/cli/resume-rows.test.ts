/**
 * Result files end to end on the CPU backend (in process, tiny settings): a search resumed from its
 * --evaluated JSON lines or JSON, whose cells include ones SynFlow scores -Infinity (a cell whose
 * output receives nothing), retraces the uninterrupted run exactly (each row with its time_ms; a CSV
 * written before that column resumes and goes on without it); a score that is not a number in
 * a resumed file is refused naming the file, row and column, before any work; the refusal of a search
 * resume names --evaluated; `score --out` and `correlate --out` write every format by its extension in
 * any case, and `correlate --scores` reads what they wrote.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { jsonRow } from '../../src/data/row-stream.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-rows-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const available = () => cpuTestBackend() !== null;
const CPU = ['--device', 'cpu', '--cpu-threads', '2', '--quiet'];
// Seed 1 meets cells SynFlow scores -Infinity (and, at this depth, one whose score overflows to
// Infinity) among its first 12; read back as NaN (as null rows were), the resumed search goes elsewhere.
const search = (seed: number) => [
  'search',
  ...CPU,
  '--batch',
  '8',
  '--proxy',
  'synflow',
  '--population',
  '6',
  '--sample-size',
  '3',
  '--seed',
  String(seed),
  '--budget',
  '40',
];
const SEARCH = search(1);
const A = '|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|';
const C = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_1x1~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_1x1~2|';
const DEAD = '|none~0|+|nor_conv_1x1~0|skip_connect~1|+|none~0|nor_conv_1x1~1|none~2|';
const SCORE = ['score', ...CPU, '--batch', '8', '--cells-per-stage', '1', '--arch', A, '--arch', DEAD, '--arch', C];

/** What a search prints, without its wall time. */
const result = (out: string) => out.replace(/ in [\d.]+ s\n/, '\n');
const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');
/** A row without its time_ms (which a recomputed row has anew). */
const untimed = (r: Record<string, unknown>) => Object.fromEntries(Object.entries(r).filter(([k]) => k !== 'time_ms'));
const jsonRows = (path: string) =>
  (path.endsWith('.json') ? JSON.parse(readFileSync(path, 'utf8')) : lines(path).map((l) => JSON.parse(l))) as Array<
    Record<string, unknown>
  >;

describe('result files resume exactly, and refuse what is not a number', () => {
  it('search --evaluated (.jsonl, .json): a resume replays -Infinity as -Infinity', { timeout: 300_000 }, async ({ skip }) => {
    if (!available()) return skip();
    for (const name of ['ev.jsonl', 'ev.json']) {
      const path = join(tmp, name);
      const full = await wgnasInProcess([...SEARCH, '--evaluated', path]);
      expect(full.code, full.err).toBe(0);
      const rows = jsonRows(path);
      // Each row says how long its cell took, as score --out's do.
      expect(rows.every((r) => Number.isInteger(r.time_ms) && (r.time_ms as number) >= 0)).toBe(true);
      expect(jsonRow(rows.slice(0, 12))).toContain('"synflow":"-Infinity"');
      // Interrupted after 12 evaluations.
      writeFileSync(
        path,
        name.endsWith('.json')
          ? jsonRow(rows.slice(0, 12), 2) + '\n'
          : rows
              .slice(0, 12)
              .map((r) => jsonRow(r) + '\n')
              .join(''),
      );
      const resumed = await wgnasInProcess([...SEARCH, '--evaluated', path, '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.err).toMatch(/replaying 12 evaluated cells/);
      expect(result(resumed.out), name).toBe(result(full.out));
      // The same rows; those computed again took their own time.
      expect(jsonRows(path).map(untimed)).toEqual(rows.map(untimed));
    }
  });

  it('search --evaluated CSV from before time_ms: a resume replays it and goes on without the column', async ({ skip }) => {
    if (!available()) return skip();
    const short = [...SEARCH.slice(0, -1), '12'];
    const path = join(tmp, 'old.csv');
    const full = await wgnasInProcess([...short, '--evaluated', path]);
    expect(full.code, full.err).toBe(0);
    const [head, ...body] = lines(path);
    expect(head).toBe('arch,synflow,time_ms');
    // The file an earlier wgnas wrote: no time_ms column; interrupted after 6 evaluations.
    const old = [head, ...body.slice(0, 6)].map((l) => l.replace(/,[^,]*$/, ''));
    writeFileSync(path, old.join('\n') + '\n');
    const side = JSON.parse(readFileSync(`${path}.settings.json`, 'utf8'));
    writeFileSync(`${path}.settings.json`, JSON.stringify({ ...side, complete: false }));
    const resumed = await wgnasInProcess([...short, '--evaluated', path, '--resume']);
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.err).toMatch(/replaying 6 evaluated cells/);
    expect(result(resumed.out)).toBe(result(full.out));
    expect(lines(path)).toEqual([head, ...body].map((l) => l.replace(/,[^,]*$/, '')));
  });

  it('search --resume: other settings are refused naming --evaluated; a corrupt score naming its row', async ({ skip }) => {
    if (!available()) return skip();
    const path = join(tmp, 'ev.jsonl');
    const other = await wgnasInProcess([...search(2), '--evaluated', path, '--resume']);
    expect(other.code).toBe(2);
    expect(other.err.trim()).toMatch(
      /--seed was 1, now 2 in .*ev\.jsonl; resume with its settings or write another --evaluated$/,
    );
    const bad = join(tmp, 'bad.jsonl');
    copyFileSync(`${path}.settings.json`, `${bad}.settings.json`);
    const rows = lines(path).slice(0, 4);
    rows[2] = rows[2].replace(/"synflow":[^,}]+/, '"synflow":"abc"');
    writeFileSync(bad, rows.join('\n') + '\n');
    const r = await wgnasInProcess([...SEARCH, '--evaluated', bad, '--resume']);
    expect(r.code).toBe(1);
    expect(r.err.trim()).toMatch(/^wgnas search: --resume: .*bad\.jsonl row 3: synflow score 'abc' is not a number$/);
  });

  it(
    'score --resume refuses a corrupt score before any work; JSON rows keep -Infinity and resume exactly',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!available()) return skip();
      const csv = join(tmp, 'k.csv');
      const first = await wgnasInProcess([...SCORE, '--proxies', 'wrcor,naswot,vote', '--out', csv]);
      expect(first.code, first.err).toBe(0);
      const [head, ...body] = lines(csv);
      expect(body[1]).toMatch(/,-Infinity,/);
      const col = head.split(',').indexOf('wrcor');
      const fields = body[2].split(/,(?=(?:[^"]*"[^"]*")*[^"]*$)/);
      fields[col] = 'abc';
      const corrupt = [head, body[0], body[1], fields.join(',')].join('\n') + '\n';
      writeFileSync(csv, corrupt);
      const r = await wgnasInProcess([...SCORE, '--proxies', 'wrcor,naswot,vote', '--out', csv, '--resume']);
      expect(r.code).toBe(1);
      expect(r.err).toBe(`wgnas score: --resume: ${csv} row 3: wrcor score 'abc' is not a number\n`);
      expect(readFileSync(csv, 'utf8')).toBe(corrupt);

      // JSON lines: the -Infinity of the dead cell is kept, read back and written again as it was.
      const jl = join(tmp, 'k.JSONL');
      expect((await wgnasInProcess([...SCORE, '--proxies', 'synflow,naswot', '--out', jl])).code).toBe(0);
      const whole = lines(jl);
      expect(whole[1]).toContain('"synflow":"-Infinity"');
      writeFileSync(jl, whole.slice(0, 2).join('\n') + '\n');
      const again = await wgnasInProcess([...SCORE, '--proxies', 'synflow,naswot', '--out', jl, '--resume']);
      expect(again.code, again.err).toBe(0);
      const strip = (l: string) => l.replace(/"time_ms":\d+/, '');
      expect(lines(jl).map(strip)).toEqual(whole.map(strip));
    },
  );

  it(
    'score --out x.JSON and correlate --out x.json / x.JSONL: formats by extension, read back by correlate',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!available()) return skip();
      const json = join(tmp, 's.JSON');
      expect((await wgnasInProcess([...SCORE, '--proxies', 'synflow,naswot', '--out', json])).code).toBe(0);
      const rows = JSON.parse(readFileSync(json, 'utf8')) as Array<Record<string, unknown>>;
      expect(rows[1].synflow).toBe('-Infinity');
      const c = await wgnasInProcess(['correlate', '--scores', json, '--bootstrap', '0']);
      expect(c.code, c.err).toBe(0);
      expect(c.out).toMatch(/^synflow +2 /m);
      for (const name of ['c.json', 'c.JSONL']) {
        const out = join(tmp, name);
        const r = await wgnasInProcess([
          'correlate',
          ...CPU,
          '--sample',
          '2',
          '--proxies',
          'params',
          '--batch',
          '8',
          '--cells-per-stage',
          '1',
          '--bootstrap',
          '0',
          '--out',
          out,
        ]);
        expect(r.code, r.err).toBe(0);
        const text = readFileSync(out, 'utf8');
        if (name === 'c.json') expect((JSON.parse(text) as unknown[]).length).toBe(2);
        else
          expect(
            text
              .trim()
              .split('\n')
              .map((l) => Object.keys(JSON.parse(l) as object)),
          ).toEqual([
            ['arch', 'params', 'val_acc', 'time_ms'],
            ['arch', 'params', 'val_acc', 'time_ms'],
          ]);
        const back = await wgnasInProcess(['correlate', '--scores', out, '--bootstrap', '0']);
        expect(back.code, back.err).toBe(0);
        expect(back.out).toMatch(/^params +2 /m);
      }
    },
  );

  it(
    'correlate --out records the settings score --out records: merged with a file of other settings, refused',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!available()) return skip();
      const tiny = ['--batch', '8', '--cells-per-stage', '1', '--proxies', 'params'];
      const c = join(tmp, 'sampled.csv');
      const r = await wgnasInProcess(['correlate', ...CPU, '--sample', '3', ...tiny, '--bootstrap', '0', '--out', c]);
      expect(r.code, r.err).toBe(0);
      const sidecar = (f: string) =>
        JSON.parse(readFileSync(`${f}.settings.json`, 'utf8')) as {
          format: string;
          complete: boolean;
          settings: Record<string, unknown>;
          provenance: { command: string };
        };
      const side = sidecar(c);
      expect(side.format).toBe('wgnas-row-stream');
      expect(side.complete).toBe(true);
      expect(side.provenance.command).toMatch(/^wgnas correlate /);
      // The same settings as a score --out of the same flags (its rows: the same columns).
      const s = join(tmp, 'same.csv');
      expect((await wgnasInProcess([...SCORE, '--proxies', 'params', '--out', s])).code).toBe(0);
      expect(side.settings).toEqual(sidecar(s).settings);
      expect(side.settings['--batch']).toBe(8);
      expect(lines(c)[0]).toBe('arch,params,val_acc,time_ms');
      expect(lines(c)).toHaveLength(4);
      // Beside a file of the same settings it reads; beside one of another --batch it is refused.
      const same = await wgnasInProcess(['correlate', '--scores', c, '--scores', s, '--bootstrap', '0']);
      expect(same.code, same.err).toBe(0);
      const other = join(tmp, 'batch16.csv');
      const b16 = SCORE.map((a, i) => (SCORE[i - 1] === '--batch' ? '16' : a));
      expect((await wgnasInProcess([...b16, '--proxies', 'params', '--out', other])).code).toBe(0);
      const refused = await wgnasInProcess(['correlate', '--scores', c, '--scores', other, '--bootstrap', '0']);
      expect(refused.code).toBe(1);
      expect(refused.err).toBe(
        `wgnas correlate: --scores: ${c} and ${other} were scored with different settings: --batch 8 in the first, 16 in the second; correlate files of one setting\n`,
      );
    },
  );
});
