/**
 * Fault injection on `wgnas score` and `wgnas search` (real child processes on the GPU, tiny
 * networks): killed after some rows (by a test hook and after a random delay) and resumed, the
 * output equals an uninterrupted run's (apart from the time_ms column), the rows already scored
 * are not scored again, and a resume with other settings is refused naming the flag. The
 * uninterrupted runs, the last resume and the refusals run in this process (only the kills need
 * children): a child's start-up is most of a run at these shapes.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Several CLI children per test; lavapipe on a shared 2-core machine can be slow.
const SLOW = { timeout: 900_000 };
import { readCsvObjects } from '../../src/data/csv.js';
import { wgnasChild } from '../helpers/child.js';
import { jsonlRowsWithoutTime, wgnasInProcess } from '../helpers/cli.js';
import { testGpu } from '../helpers/gpu.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-rel-zeroshot-'));
const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--channels', '4'];
const SCORE = ['score', '--sample', '6', '--ground-truth', '--proxies', 'vote,params', ...SMALL];

function withoutTime(path: string): Array<Record<string, string>> {
  return readCsvObjects(readFileSync(path, 'utf8'), path).map(({ time_ms: _t, ...r }) => r);
}

function leftovers(): string[] {
  return readdirSync(tmp).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'));
}

describe('score streams and resumes', () => {
  it(
    'killed after rows (hook and random delay), it resumes without rescoring and ends equal to an uninterrupted run',
    SLOW,
    async () => {
      if (!(await testGpu())) return;
      const ref = join(tmp, 'ref.csv');
      const r0 = await wgnasInProcess([...SCORE, '--out', ref]);
      expect(r0.code, r0.err).toBe(0);
      const out = join(tmp, 'run.csv');
      const plan = ['score.rows:2', 'random', 'score.rows:1'];
      let rows = 0;
      for (const point of plan) {
        // On a fast backend the randomly timed kill can land after the last row: nothing left to kill.
        if (rows === 6) break;
        const resume = existsSync(`${out}.settings.json`) ? ['--resume'] : [];
        const killAfterMs = point === 'random' ? 3000 + Math.floor(Math.random() * 3000) : undefined;
        const r = await wgnasChild([...SCORE, '--out', out, ...resume], point === 'random' ? { killAfterMs } : { killAt: point });
        if (point !== 'random') expect(r.signal, r.stderr).toBe('SIGKILL');
        if (existsSync(out)) {
          // Streamed rows are complete CSV lines of the reference's cells, in order.
          const got = withoutTime(out).map(({ vote: _v, ...x }) => x);
          expect(got.length).toBeGreaterThanOrEqual(rows);
          expect(got).toEqual(
            withoutTime(ref)
              .slice(0, got.length)
              .map(({ vote: _v, ...x }) => x),
          );
          rows = got.length;
        }
      }
      const last = await wgnasInProcess([...SCORE, '--out', out, '--resume']);
      expect(last.code, last.err).toBe(0);
      if (rows) expect(last.err).toMatch(new RegExp(`resuming .*run\\.csv: ${rows} of 6 cells already scored`));
      expect(withoutTime(out)).toEqual(withoutTime(ref)); // vote recomputed over all six
      expect(readFileSync(out, 'utf8').split('\n')[0]).toBe(readFileSync(ref, 'utf8').split('\n')[0]);
      expect(leftovers()).toEqual([]);

      const bad = await wgnasInProcess([...SCORE.map((a) => (a === '8' ? '16' : a)), '--out', out, '--resume']);
      expect(bad.code).toBe(2);
      expect(bad.err.trim()).toMatch(/^wgnas score: --resume: --batch was 8, now 16 in .*run\.csv/);
      expect(bad.err.trim().split('\n')).toHaveLength(1);
      const other = await wgnasInProcess([...SCORE.map((a) => (a === '6' ? '5' : a)), '--out', out, '--resume']);
      expect(other.code).toBe(2);
      expect(other.err.trim()).toMatch(
        /--resume: .*run\.csv has 6 rows, this run has only 5 architectures \(another selection\?\)$/,
      );
    },
  );
});

describe('search streams its evaluations and resumes by replaying them', () => {
  it(
    'killed after 4 evaluations (inside the evolution), the resumed search ends with the same best cell and the same evaluations',
    SLOW,
    async () => {
      if (!(await testGpu())) return;
      const SEARCH = [
        'search',
        '--budget',
        '5',
        '--population',
        '3',
        '--sample-size',
        '2',
        '--proxy',
        'wrcor',
        '--seed',
        '3',
        '--json',
        ...SMALL.slice(0, 4),
      ];
      const ref = join(tmp, 'ref.jsonl');
      const a = await wgnasInProcess([...SEARCH, '--evaluated', ref]);
      expect(a.code, a.err).toBe(0);
      const out = join(tmp, 'run.jsonl');
      const k = await wgnasChild([...SEARCH, '--evaluated', out], { killAt: 'search.rows:4' });
      expect(k.signal).toBe('SIGKILL');
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(4);
      const b = await wgnasInProcess([...SEARCH, '--evaluated', out, '--resume']);
      expect(b.code, b.err).toBe(0);
      expect(b.err).toMatch(/replaying 4 evaluated cells/);
      const strip = (s: string) => {
        const { seconds: _s, provenance: _p, ...r } = JSON.parse(s);
        return r;
      };
      expect(strip(b.out)).toEqual(strip(a.out));
      // Each row's time_ms is this run's measurement; everything else replays bit for bit.
      expect(jsonlRowsWithoutTime(out)).toEqual(jsonlRowsWithoutTime(ref));
      const bad = await wgnasInProcess([
        ...SEARCH.map((x, i) => (SEARCH[i - 1] === '--seed' ? '4' : x)),
        '--evaluated',
        out,
        '--resume',
      ]);
      expect(bad.code).toBe(2);
      expect(bad.err).toMatch(/^wgnas search: --resume: --seed was 3, now 4 in .*run\.jsonl/);
      // More --budget continues the search past the recorded evaluations.
      const longer = await wgnasInProcess([
        ...SEARCH.map((x, i) => (SEARCH[i - 1] === '--budget' ? '6' : x)),
        '--evaluated',
        out,
        '--resume',
      ]);
      expect(longer.code, longer.err).toBe(0);
      expect(readFileSync(out, 'utf8').trim().split('\n')).toHaveLength(6);
      expect(leftovers()).toEqual([]);
    },
  );
});
