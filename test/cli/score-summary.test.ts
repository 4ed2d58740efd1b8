/**
 * What `wgnas score` says at its end and before its work on the CPU: the final line gives the first
 * cell's time (one-time setup included) apart from the mean of the others, which the --out rows
 * bear out, and the pool's peak (also in --kernel-profile's JSON); `--procs N` whose N processes
 * (or one process) exceed this machine's memory is refused in one line before any work, and exceeding what is
 * available now is a warning (the machine's memory through the WGNAS_TEST_MEMORY_BYTES hook).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { memoryVerdict, type MemoryAsk } from '../../src/cli/memory-check.js';
import { ScoreRunStats } from '../../src/cli/score-summary.js';
import { readCsvObjects } from '../../src/data/csv.js';
import { NB201_DEFAULT } from '../../src/nn/nb201-net.js';
import { scoringProcessBytes } from '../../src/zeroshot/process-memory.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { refusalProblems, wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-score-summary-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
afterEach(() => void delete process.env.WGNAS_TEST_MEMORY_BYTES);
const MiB = 2 ** 20;
const GiB = 2 ** 30;
const SCORE = ['score', '--device', 'cpu', '--cpu-threads', '1', '--batch', '8', '--cells-per-stage', '1', '--quiet'];
const SAMPLE = [...SCORE, '--sample', '4', '--seed', '3'];

describe('ScoreRunStats', () => {
  const peak = { peakBytesInUse: 881 * MiB, peakBytesAllocated: 899 * MiB };

  it('one process: the first cell apart, the mean of the others, the pool', () => {
    const s = new ScoreRunStats();
    s.pass([3650.4], true);
    for (const ms of [250, 260, 240]) s.pass([ms], false);
    s.pool(peak);
    expect(s.text()).toBe(
      'time_ms: the first cell 3650.4 ms (one-time setup included), then 250.0 ms/cell over 3 cells; pool peak 899 MiB held (881 MiB in use)',
    );
  });

  it('a first group, processes, nothing scored', () => {
    const g = new ScoreRunStats();
    g.pass([900, 900, 900, 900], true);
    expect(g.text()).toBe('time_ms: the first pass 900.0 ms/cell (4 cells, one-time setup included)');
    const p = new ScoreRunStats(2);
    p.pass([4000], true);
    p.pass([3000], true);
    p.pass([20, 30], false);
    p.pool(peak);
    p.pool({ peakBytesInUse: 2 * GiB, peakBytesAllocated: 2.5 * GiB });
    expect(p.text()).toBe(
      "time_ms: each process's first pass 3500.0 ms/cell (2 cells, setup included), then 25 ms/cell over 2 cells; pool peak 2.5 GiB held per process (the largest; 2.0 GiB in use)",
    );
    expect(new ScoreRunStats().text()).toBe('');
  });
});

describe('memoryVerdict', () => {
  const ask: MemoryAsk = {
    flag: '--procs 4',
    n: 4,
    noun: 'scoring processes',
    eachBytes: 1.5 * GiB,
    at: 'at --batch 64',
    fewer: (fits) => `give --procs ${fits} or fewer`,
  };

  it('fits what is available: nothing; above it: a warning; above the machine: a refusal naming what fits', () => {
    expect(memoryVerdict(ask, { availableBytes: 6 * GiB, totalBytes: 8 * GiB })).toBeNull();
    expect(memoryVerdict(ask, { availableBytes: 4 * GiB, totalBytes: 8 * GiB })).toEqual({
      refuse: false,
      line: '--procs 4: 4 scoring processes of up to about 1.5 GiB each at --batch 64 need 6.0 GiB, more than the 4.0 GiB available now (of 8.0 GiB): they may swap',
    });
    expect(memoryVerdict(ask, { availableBytes: 4 * GiB, totalBytes: 5 * GiB })).toEqual({
      refuse: true,
      line: "--procs 4: 4 scoring processes of up to about 1.5 GiB each at --batch 64 need 6.0 GiB, more than this machine's 5.0 GiB: give --procs 3 or fewer",
    });
  });
});

describe('wgnas score on the CPU', () => {
  const available = () => cpuTestBackend() !== null;

  it('the final line: the first cell apart from the mean of the others (as in --out), the pool peak (as in the profile)', async ({
    skip,
  }) => {
    if (!available()) return skip();
    const out = join(tmp, 's.csv');
    const prof = join(tmp, 'prof.json');
    const r = await wgnasInProcess([...SAMPLE, '--out', out, '--kernel-profile', prof]);
    expect(r.code, r.err).toBe(0);
    const m =
      /^wrote 4 rows to .*s\.csv; time_ms: the first cell ([\d.]+) ms \(one-time setup included\), then ([\d.]+) ms\/cell over 3 cells; pool peak (\d+) MiB held \((\d+) MiB in use\)$/m.exec(
        r.err,
      );
    expect(m, r.err).not.toBeNull();
    const ms = readCsvObjects(readFileSync(out, 'utf8'), out).map((x) => Number(x.time_ms));
    expect(Math.abs(Number(m![1]) - ms[0])).toBeLessThanOrEqual(0.5);
    // The rows round each time to the ms.
    expect(Math.abs(Number(m![2]) - (ms[1] + ms[2] + ms[3]) / 3)).toBeLessThanOrEqual(0.5);
    const pool = (JSON.parse(readFileSync(prof, 'utf8')) as { pool: { peakBytesInUse: number; peakBytesAllocated: number } })
      .pool;
    expect(Math.round(pool.peakBytesAllocated / MiB)).toBe(Number(m![3]));
    expect(Math.round(pool.peakBytesInUse / MiB)).toBe(Number(m![4]));
    expect(pool.peakBytesAllocated).toBeGreaterThanOrEqual(pool.peakBytesInUse);
    expect(pool.peakBytesInUse).toBeGreaterThan(0);
  });

  it('rows on stdout: the same summary on stderr', async ({ skip }) => {
    if (!available()) return skip();
    const r = await wgnasInProcess(SAMPLE);
    expect(r.code, r.err).toBe(0);
    expect(r.out.trim().split('\n')).toHaveLength(4);
    expect(r.err).toMatch(
      /^scored 4 cells; time_ms: the first cell [\d.]+ ms \(one-time setup included\), then [\d.]+ ms\/cell over 3 cells; pool peak \d+ MiB held/m,
    );
  });

  it('--procs 2 above the machine: refused in one line before any work; above what is available: a warning', async ({ skip }) => {
    if (!available()) return skip();
    const out = join(tmp, 'p.csv');
    process.env.WGNAS_TEST_MEMORY_BYTES = `${256 * MiB},${512 * MiB}`;
    const refused = await wgnasInProcess([...SAMPLE, '--procs', '2', '--out', out]);
    expect(
      refusalProblems(
        refused,
        2,
        /^wgnas score: --procs 2: 2 scoring processes of up to about \d+ MiB each at --batch 8 need \d+ MiB, more than this machine's 512 MiB: give a smaller --batch, in one process$/m,
      ),
    ).toEqual([]);
    expect(existsSync(out)).toBe(false);
    process.env.WGNAS_TEST_MEMORY_BYTES = `${256 * MiB},${64 * GiB}`;
    const warned = await wgnasInProcess([...SAMPLE, '--procs', '2', '--out', out]);
    expect(warned.code, warned.err).toBe(0);
    expect(warned.err).toMatch(
      /^warning: --procs 2: 2 scoring processes .* more than the 256 MiB available now \(of 64\.0 GiB\): they may swap$/m,
    );
    // A process may score every shard before the other is up: the first passes are those of the processes that scored.
    expect(warned.err).toMatch(
      /; time_ms: each process's first pass [\d.]+ ms\/cell \([12] cells?, setup included\), then [\d.]+ ms\/cell over [23] cells; pool peak \d+ MiB held per process/,
    );
  });

  it('one process above the machine: refused in one line naming what sizes it, before any work', async ({ skip }) => {
    if (!available()) return skip();
    const out = join(tmp, 'one.csv');
    process.env.WGNAS_TEST_MEMORY_BYTES = `${16 * MiB},${32 * MiB}`;
    const refused = await wgnasInProcess([...SAMPLE, '--out', out]);
    expect(
      refusalProblems(
        refused,
        2,
        /^wgnas score: scoring: up to about \d+ MiB at --batch 8, --channels 16 and --cells-per-stage 1, more than this machine's 32 MiB: give a smaller --batch, --channels or --cells-per-stage$/m,
      ),
    ).toEqual([]);
    expect(existsSync(out)).toBe(false);
    process.env.WGNAS_TEST_MEMORY_BYTES = `${16 * MiB},${64 * GiB}`;
    const warned = await wgnasInProcess([...SAMPLE, '--out', out]);
    expect(warned.code, warned.err).toBe(0);
    expect(warned.err).toMatch(
      /^warning: scoring: up to about \d+ MiB at --batch 8, .* more than the 16 MiB available now \(of 64\.0 GiB\): it may swap$/m,
    );
  });

  it('--procs 2 with --group 4: each process holds a group, so what fits one cell per process is refused', async ({ skip }) => {
    if (!available()) return skip();
    const out = join(tmp, 'g.csv');
    const net = { ...NB201_DEFAULT, cellsPerStage: 1 };
    const one = scoringProcessBytes(net, 8, ['naswot']);
    const four = scoringProcessBytes(net, 8, ['naswot'], 4);
    // Room for two processes of one cell each, not of four.
    const total = Math.round(2.5 * one);
    expect(2 * four).toBeGreaterThan(total);
    process.env.WGNAS_TEST_MEMORY_BYTES = `${total},${total}`;
    const args = [...SAMPLE, '--proxies', 'naswot', '--procs', '2', '--out', out];
    const refused = await wgnasInProcess([...args, '--group', '4']);
    expect(
      refusalProblems(
        refused,
        2,
        /^wgnas score: --procs 2: 2 scoring processes of up to about \d+ MiB each at --batch 8 and --group 4 need \d+ MiB, more than this machine's \d+ MiB: give a smaller --batch or --group, in one process$/m,
      ),
    ).toEqual([]);
    expect(existsSync(out)).toBe(false);
    // One cell per pass fits.
    const ran = await wgnasInProcess(args);
    expect(ran.code, ran.err).toBe(0);
  });
});
