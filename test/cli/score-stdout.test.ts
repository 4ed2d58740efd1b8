/**
 * `wgnas score` without --out prints each row as it is scored, not all at the end: a run redirected
 * to a file and killed keeps the rows done. With a population-level score (vote) the rows can only
 * be printed at the end, as before. CPU backend, tiny networks, in process (the scorer is watched to
 * see when the first row is printed).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { runCli } from '../../src/cli/cli.js';
import { ZeroShotScorer } from '../../src/zeroshot/index.js';
import { cpuTestBackend } from '../helpers/backend.js';

const hasCpu = cpuTestBackend() !== null;
const SCORE = ['score', '--cells-per-stage', '1', '--channels', '4', '--batch', '4', '--device', 'cpu', '--cpu-threads', '1'];
afterEach(() => vi.restoreAllMocks());

/** `wgnas argv` in process: its stdout lines, and how many scorer passes had run when each was printed. */
async function printedWhen(argv: string[]): Promise<{ code: number; lines: string[]; passes: number[]; total: number }> {
  const spy = vi.spyOn(ZeroShotScorer.prototype, 'scoreMany');
  const lines: string[] = [];
  const passes: number[] = [];
  const code = await runCli(argv, {
    out: (s) => {
      for (const l of s.split('\n').filter(Boolean)) {
        lines.push(l);
        passes.push(spy.mock.calls.length);
      }
    },
    err: () => {},
  });
  return { code, lines, passes, total: spy.mock.calls.length };
}

describe('score without --out', () => {
  it('prints each row once it is scored, before the next pass', async ({ skip }) => {
    if (!hasCpu) return skip();
    const r = await printedWhen([...SCORE, '--sample', '6']);
    expect(r.code).toBe(0);
    expect(r.lines).toHaveLength(6);
    expect(r.total).toBe(6);
    // Row k is out when pass k is done (one architecture per pass on the CPU backend).
    expect(r.passes).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.lines.map((l) => JSON.parse(l).arch)).toHaveLength(6);
  });

  it('with a population-level score (vote) prints the rows at the end, vote included', async ({ skip }) => {
    if (!hasCpu) return skip();
    const r = await printedWhen([...SCORE, '--sample', '4', '--proxies', 'vote']);
    expect(r.code).toBe(0);
    expect(r.passes).toEqual([4, 4, 4, 4]);
    expect(r.lines.map((l) => typeof JSON.parse(l).vote)).toEqual(['number', 'number', 'number', 'number']);
  });
});
