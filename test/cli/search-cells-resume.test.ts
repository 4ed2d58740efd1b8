/**
 * `search --space-file ... --evaluated FILE` streams each evaluated architecture and resumes (CPU
 * backend, small spaces): stopped by Ctrl-C and SIGKILLed mid-run again and again, each time resumed,
 * it ends with the rows and the result of an uninterrupted run; cells timed on this CPU for
 * --max-latency-ms are recorded with the first rows and a resume uses them instead of timing them
 * again (the pricer is wrapped to count its calls); a resume with a changed setting is refused in one
 * line naming the flag, before any work.
 */
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readCsvObjects } from '../../src/data/csv.js';
import { measuredCost } from '../../src/mobilenet/cost/measured.js';
import { archCost, type CostModel } from '../../src/mobilenet/cost/model.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, readSpaceFile, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { halfwayCost, TINY_CIFAR_LAYOUT } from '../helpers/cases.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';

// The pricer, counted: a resume must not time the cells again.
vi.mock(import('../../src/mobilenet/cost/measured.js'), async (original) => {
  const m = await original();
  return { ...m, measuredCost: vi.fn(m.measuredCost) };
});

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-search-cells-resume-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const available = () => cpuTestBackend() !== null;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const CPU = ['--device', 'cpu', '--cpu-threads', '1', '--quiet', '--json'];
const EVOLUTION = ['--strategy', 'evolution', '--population', '4', '--sample-size', '2', '--seed', '3', '--batch', '8'];

/** The rows of a CSV --evaluated FILE without their times. */
const rowsOf = (path: string) => readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);
const rowCount = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').split('\n').length - 2 : 0);
/** The JSON result without its wall time and provenance (each run's date and command line). */
const result = (out: string) => {
  const { seconds: _s, provenance: _p, ...r } = JSON.parse(out) as Record<string, unknown>;
  return r;
};
/** FILE's settings record, less the provenance (a resumed run's keeps the earlier runs' records: provenance.test.ts). */
const sidecar = (path: string) => {
  const { provenance: _p, ...side } = JSON.parse(readFileSync(`${path}.settings.json`, 'utf8')) as {
    settings: Record<string, unknown>;
    complete: boolean;
    state?: { cellPrices?: { cost: CostModel; host: string; at: string } };
    provenance?: unknown;
  };
  return side;
};

describe('search --space-file --evaluated: streamed, resumed, refused', () => {
  it(
    'stopped by Ctrl-C, then SIGKILLed mid-run three times, each time resumed: the rows and result of an uninterrupted run',
    { timeout: 600_000 },
    async ({ skip }) => {
      if (!available()) return skip();
      const space = join(tmp, 'cifar.json');
      writeSpaceFile(space, handDesignedSpace(CIFAR_LAYOUT));
      const args = [
        'search',
        '--space-file',
        space,
        ...EVOLUTION,
        '--budget',
        '60',
        '--min-madds',
        '2M',
        '--budget-madds',
        '4M',
        ...CPU,
      ];
      const ref = join(tmp, 'ref.csv');
      const whole = await wgnasInProcess([...args, '--evaluated', ref]);
      expect(whole.code, whole.err).toBe(0);
      const refRows = rowsOf(ref);
      expect(refRows.length).toBeGreaterThan(40);
      for (const r of refRows) expect(Number(r.madds)).toBeGreaterThanOrEqual(2e6);

      const ev = join(tmp, 'ev.csv');
      // Ctrl-C once a few architectures are in the file.
      const stopped = await wgnasChild([...args, '--evaluated', ev], {
        onStart: (c) =>
          void (async () => {
            while (c.exitCode === null && rowCount(ev) < 3) await sleep(10);
            c.kill('SIGINT');
          })(),
      });
      expect(stopped.signal, stopped.stderr).toBe('SIGINT');
      expect(stopped.stderr.trim().split('\n').at(-1)).toBe(
        `wgnas search: stopped by SIGINT; --evaluated ${ev} keeps the work done: repeat the command with --resume to continue`,
      );
      expect(existsSync(`${ev}.lock`)).toBe(false);
      let kept = rowCount(ev);
      expect(kept).toBeGreaterThanOrEqual(3);
      expect(rowsOf(ev)).toEqual(refRows.slice(0, kept));
      for (const n of [5, 2, 7]) {
        const k = await wgnasChild([...args, '--evaluated', ev, '--resume'], { killAt: `search.rows:${n}` });
        expect(k.signal, k.stderr).toBe('SIGKILL');
        expect(k.stderr).toContain(`resuming ${ev}: replaying ${kept} evaluated architectures`);
        // The rows streamed are whole lines of the uninterrupted run's, in order: n more of them.
        expect(rowCount(ev)).toBe(kept + n);
        kept += n;
        expect(rowsOf(ev)).toEqual(refRows.slice(0, kept));
      }
      const last = await wgnasInProcess([...args, '--evaluated', ev, '--resume']);
      expect(last.code, last.err).toBe(0);
      expect(rowsOf(ev)).toEqual(refRows);
      expect(readFileSync(ev, 'utf8').split('\n')[0]).toBe('choices,wrcor,madds,time_ms');
      expect(result(last.out)).toEqual(result(whole.out));
      expect(sidecar(ev)).toEqual(sidecar(ref));
      expect(existsSync(`${ev}.lock`)).toBe(false);
    },
  );

  it(
    'cells timed on this CPU: recorded with the first rows; a resume uses them (no timing, one line saying so) and decides as the run did',
    { timeout: 600_000 },
    async ({ skip }) => {
      if (!available()) return skip();
      const space = join(tmp, 'tiny.json');
      writeSpaceFile(space, { ...handDesignedSpace(TINY_CIFAR_LAYOUT), source: 'autospace' });
      // A ceiling some architectures meet and some do not.
      const ceiling = halfwayCost(await measuredCost(readSpaceFile(space)));
      const priced = vi.mocked(measuredCost);
      const args = ['search', '--space-file', space, ...EVOLUTION, '--budget', '14', '--max-latency-ms', String(ceiling), ...CPU];

      // A fresh run times the cells once and records exactly those prices.
      priced.mockClear();
      const fresh = join(tmp, 'fresh.csv');
      const a = await wgnasInProcess([...args, '--evaluated', fresh]);
      expect(a.code, a.err).toBe(0);
      expect(priced).toHaveBeenCalledTimes(1);
      const timed = await priced.mock.results[0].value;
      expect(sidecar(fresh).state?.cellPrices?.cost).toEqual(timed);
      expect(a.err).toMatch(/^priced the space's cells on this CPU /);

      // Killed after 4 rows in another process, resumed here: no timing, the recorded prices.
      const ev = join(tmp, 'priced.csv');
      const k = await wgnasChild([...args, '--evaluated', ev], { killAt: 'search.rows:4' });
      expect(k.signal, k.stderr).toBe('SIGKILL');
      const rec = sidecar(ev).state!.cellPrices!;
      expect(rec.cost.source).toBe('measured');
      priced.mockClear();
      const b = await wgnasInProcess([...args, '--evaluated', ev, '--resume']);
      expect(b.code, b.err).toBe(0);
      expect(priced).not.toHaveBeenCalled();
      const using = `using the cells' prices recorded on ${rec.at} on host ${rec.host}, not timing them again (`;
      expect(b.err.split(using)).toHaveLength(2); // said once
      expect(b.err).not.toMatch(/priced the space's cells/);
      // Every row and the answer are priced by the recorded numbers, and within the ceiling.
      const rows = rowsOf(ev);
      for (const r of rows) {
        const lat = archCost(rec.cost, String(r.choices).split(',').map(Number));
        expect(Number(r.latency_ms)).toBe(lat);
        expect(lat).toBeLessThanOrEqual(ceiling);
      }
      const got = JSON.parse(b.out) as { choices: number[]; latencyMs: number; evaluations: number };
      expect(rows).toHaveLength(got.evaluations);
      expect(got.latencyMs).toBe(archCost(rec.cost, got.choices));
      expect(sidecar(ev).state?.cellPrices).toEqual(rec);

      // An uninterrupted run with those prices (its record, no rows yet) ends with the same rows and answer.
      const whole = join(tmp, 'whole.csv');
      const side = sidecar(ev);
      writeFileSync(`${whole}.settings.json`, JSON.stringify({ ...side, complete: false }));
      const c = await wgnasInProcess([...args, '--evaluated', whole, '--resume']);
      expect(c.code, c.err).toBe(0);
      expect(priced).not.toHaveBeenCalled();
      expect(rowsOf(whole)).toEqual(rows);
      expect(result(c.out)).toEqual(result(b.out));

      // Another run (another seed) priced as the fresh one was: --latency-table FILE.settings.json, no timing.
      priced.mockClear();
      const other = join(tmp, 'other.csv');
      const seed4 = args.map((a, i) => (args[i - 1] === '--seed' ? '4' : a));
      const d = await wgnasInProcess([...seed4, '--latency-table', `${fresh}.settings.json`, '--evaluated', other]);
      expect(d.code, d.err).toBe(0);
      expect(priced).not.toHaveBeenCalled();
      const fr = sidecar(fresh).state!.cellPrices!;
      expect(d.err).toContain(
        `using the cells' prices recorded in ${fresh}.settings.json (timed on ${fr.at} on host ${fr.host}), not timing them (`,
      );
      for (const r of rowsOf(other))
        expect(Number(r.latency_ms)).toBe(archCost(fr.cost, String(r.choices).split(',').map(Number)));
      // A timed run says its prices move from one timing to the next, and where they are kept.
      expect(a.err).toContain(`another run prices them so with --latency-table ${fresh}.settings.json`);
      // A settings file without prices is named in one line.
      const bare = join(tmp, 'bare.csv');
      writeFileSync(
        `${bare}.settings.json`,
        JSON.stringify({ format: 'wgnas-row-stream', version: 1, settings: {}, complete: true }),
      );
      const e = await wgnasInProcess([...args, '--latency-table', `${bare}.settings.json`]);
      expect(e.code).toBe(2);
      expect(e.err.trim()).toMatch(/^wgnas search: --latency-table .*bare\.csv\.settings\.json records no cell prices \(/);
    },
  );

  it('a resume with a changed setting is refused in one line naming the flag, before any work; FILE is kept', async ({
    skip,
  }) => {
    if (!available()) return skip();
    const space = join(tmp, 'tiny.json');
    const ev = join(tmp, 'priced.csv');
    expect(existsSync(ev), 'the test before writes it').toBe(true);
    const ceiling = sidecar(ev).settings['--max-latency-ms'] as number;
    /** The command line of the run in FILE, with some flags changed (null: dropped). */
    const run = (over: Record<string, string | null> = {}) =>
      Object.entries({
        '--space-file': space,
        '--strategy': 'evolution',
        '--population': '4',
        '--sample-size': '2',
        '--seed': '3',
        '--budget': '14',
        '--max-latency-ms': String(ceiling),
        '--batch': '8',
        ...over,
      }).reduce<string[]>((a, [k, x]) => (x === null ? a : [...a, k, x]), ['search', ...CPU]);
    const before = readFileSync(ev, 'utf8');
    const beforeSide = readFileSync(`${ev}.settings.json`, 'utf8');
    // The same space read from another place resumes; another content does not.
    const moved = join(tmp, 'moved.json');
    copyFileSync(space, moved);
    const other = join(tmp, 'other.json');
    writeFileSync(other, JSON.stringify({ ...JSON.parse(readFileSync(space, 'utf8')), bn: { eps: 1e-3, momentum: 0.1 } }));
    const cases: Array<[Record<string, string | null>, RegExp]> = [
      [{ '--seed': '4' }, /--seed was 3, now 4 in /],
      [{ '--space-file': other }, /--space-file was autospace space, sha256 \w{12}, now autospace space, sha256 \w{12} in /],
      [{ '--max-latency-ms': String(ceiling * 2) }, /--max-latency-ms was [\d.e-]+, now [\d.e-]+ in /],
      [{ '--max-latency-ms': null }, /--max-latency-ms was [\d.e-]+, now unset in /],
      [{ '--backend': 'xnnpack' }, /--backend was onednn, now xnnpack in /],
      [{ '--budget-madds': '4M' }, /--budget-madds was unset, now 4000000 in /],
      [{ '--batch': '16' }, /--batch was 8, now 16 in /],
      [{ '--proxy': 'naswot' }, /--proxy was wrcor, now naswot in /],
      [{ '--strategy': 'random', '--population': null, '--sample-size': null }, /--strategy was evolution, now random in /],
      [{ '--budget': '3' }, /holds \d+ evaluations, more than --budget 3\n$/],
    ];
    for (const [over, match] of cases) {
      const r = await wgnasInProcess([...run(over), '--evaluated', ev, '--resume']);
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n'), r.err).toHaveLength(1);
      expect(r.err).toMatch(/^wgnas search: --resume: /);
      expect(r.err).toMatch(match);
      expect(r.out).toBe('');
    }
    expect(readFileSync(ev, 'utf8')).toBe(before);
    expect(readFileSync(`${ev}.settings.json`, 'utf8')).toBe(beforeSide);
    const same = await wgnasInProcess([...run({ '--space-file': moved }), '--evaluated', ev, '--resume']);
    expect(same.code, same.err).toBe(0);
  });
});
