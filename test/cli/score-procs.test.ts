/**
 * `score --procs N`: N child processes share the device; the rows (and the population-level votes)
 * equal a run in one process, in selection order; a resume after a kill (rows in any order, some
 * missing) scores only the rest; bad combinations are refused in one line before any work.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { jsonlRowsWithoutTime, wgnasInProcess } from '../helpers/cli.js';

const SMALL = ['--cells-per-stage', '1', '--batch', '8', '--channels', '4', '--device', 'cpu', '--cpu-threads', '1', '--quiet'];
const SEL = ['--sample', '7', '--seed', '3', '--proxies', 'wrcor,vote'];

describe('score --procs', () => {
  it('gives the rows of one process, in selection order, and resumes from any subset', { timeout: 180_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-procs-'));
    const [one, three, resumed] = ['one.jsonl', 'three.jsonl', 'resumed.jsonl'].map((f) => join(dir, f));
    const a = await wgnasInProcess(['score', ...SEL, ...SMALL, '--out', one]);
    expect(a.code, a.err).toBe(0);
    const b = await wgnasInProcess(['score', ...SEL, ...SMALL, '--procs', '3', '--out', three]);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/scoring 7 cells with .* in 3 processes on the cpu/);
    const want = jsonlRowsWithoutTime(one);
    expect(want).toHaveLength(7);
    expect(jsonlRowsWithoutTime(three)).toEqual(want);
    // A killed run's file: rows in arrival order, some missing (the vote is recomputed at the end).
    const lines = readFileSync(three, 'utf8').trim().split('\n');
    writeFileSync(resumed, [lines[5], lines[1], lines[3]].join('\n') + '\n');
    copyFileSync(`${three}.settings.json`, `${resumed}.settings.json`);
    const c = await wgnasInProcess(['score', ...SEL, ...SMALL, '--procs', '2', '--out', resumed, '--resume']);
    expect(c.code, c.err).toBe(0);
    expect(c.err).toMatch(/resuming .*: 3 of 7 cells already scored/);
    expect(c.err).toMatch(/scoring 4 cells/);
    expect(jsonlRowsWithoutTime(resumed)).toEqual(want);
    // Rows in arrival order cannot resume in one process (it scores the selection's tail): said so.
    writeFileSync(resumed, [lines[5], lines[1]].join('\n') + '\n');
    const e = await wgnasInProcess(['score', ...SEL, ...SMALL, '--out', resumed, '--resume']);
    expect(e.code).toBe(2);
    expect(e.err).toMatch(/holds this selection's rows in another order .*: resume it with --procs 2 or more/);
    const f = await wgnasInProcess(['score', ...SEL, ...SMALL, '--procs', '2', '--out', resumed, '--resume']);
    expect(f.code, f.err).toBe(0);
    expect(jsonlRowsWithoutTime(resumed)).toEqual(want);
    // Nothing left: no process starts, the file stays the same.
    const d = await wgnasInProcess(['score', ...SEL, ...SMALL, '--procs', '2', '--out', resumed, '--resume']);
    expect(d.code, d.err).toBe(0);
    expect(d.err).toMatch(/scoring 0 cells/);
    expect(jsonlRowsWithoutTime(resumed)).toEqual(want);
  });

  it('is refused with --redis or --kernel-profile, in one line', async () => {
    const r = await wgnasInProcess(['score', '--sample', '2', '--procs', '2', '--redis', 'redis://127.0.0.1:1', ...SMALL]);
    expect(r.code).not.toBe(0);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/--procs runs local processes/);
    const k = await wgnasInProcess([
      'score',
      '--sample',
      '2',
      '--procs',
      '2',
      '--kernel-profile',
      join(tmpdir(), 'k.json'),
      ...SMALL,
    ]);
    expect(k.err).toMatch(/--procs runs local processes/);
    const z = await wgnasInProcess(['score', '--sample', '2', '--procs', '0', ...SMALL]);
    expect(z.err).toMatch(/--procs/);
    const arch = '|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|';
    const d = await wgnasInProcess(['score', '--arch', arch, '--arch', arch, '--procs', '2', ...SMALL]);
    expect(d.err.trim()).toMatch(/^wgnas score: --procs scores each architecture once: the selection names .* twice$/);
  });
});
