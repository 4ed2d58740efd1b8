/**
 * Progress in a log file (stderr not a terminal): a long search or score run used to print nothing
 * until its result; now plain lines (a count, rate and ETA; no carriage returns or escape codes) and
 * a summary, and nothing under --quiet.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';

const SEARCH = ['search', '--device', 'cpu', '--cpu-threads', '1', '--batch', '8', '--cells-per-stage', '1', '--budget', '20'];

describe('progress in a log', () => {
  it(
    'a search piped to a file prints plain progress lines and a summary; --quiet nothing',
    { timeout: 120_000 },
    async ({ skip }) => {
      if (cpuTestBackend() === null) return skip();
      const r = await wgnasChild(SEARCH);
      expect(r.code, r.stderr).toBe(0);
      const lines = r.stderr.trim().split('\n');
      expect(lines[0]).toMatch(/^search evolution\/wrcor on native CPU/);
      // The first 5% step, then (a run shorter than 30 s) only the summary.
      expect(lines[1]).toMatch(/^search evolution\/wrcor: 1\/20 \(5%\) [\d.]+ (it\/s|s\/it) eta [\dhms.]+$/);
      expect(lines.at(-1)).toMatch(/^search evolution\/wrcor: 20\/20 done in [\dhms.]+ \([\d.]+ (it\/s|s\/it)\)$/);
      expect(r.stderr.includes('\r') || r.stderr.includes('\x1b')).toBe(false);
      const quiet = await wgnasChild([...SEARCH, '--quiet']);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe('');
      expect(quiet.stdout.replace(/ in [\d.]+ s\n/, '')).toBe(r.stdout.replace(/ in [\d.]+ s\n/, ''));
    },
  );

  it(
    "a score run's summary gives the run's rate, not the last architecture's time as if it were the mean",
    { timeout: 120_000 },
    async ({ skip }) => {
      if (cpuTestBackend() === null) return skip();
      const args = ['score', '--device', 'cpu', '--cpu-threads', '1', '--batch', '8', '--cells-per-stage', '1'];
      const r = await wgnasChild([...args, '--sample', '3']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.trim().split('\n')).toHaveLength(3);
      const lines = r.stderr.trim().split('\n');
      expect(lines[1]).toMatch(/^score: 1\/3 \(33%\) [\d.]+ (it\/s|s\/it) eta [\dhms.]+ [\d.]+ s\/arch$/);
      expect(lines.at(-2)).toMatch(/^score: 3\/3 done in [\dhms.]+ \([\d.]+ (it\/s|s\/it)\)$/);
      // Then the mean without the first cell, whose time includes the process's set-up.
      expect(lines.at(-1)).toMatch(
        /^scored 3 cells; time_ms: the first cell [\d.]+ ms \(one-time setup included\), then [\d.]+ ms\/cell over 2 cells;/,
      );
    },
  );

  const tmp = mkdtempSync(join(tmpdir(), 'wgnas-progress-log-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("a resumed search's rate leaves out the evaluations replayed from --evaluated", { timeout: 120_000 }, async ({ skip }) => {
    if (cpuTestBackend() === null) return skip();
    const args = [...SEARCH.slice(0, -2), '--budget', '6', '--evaluated', join(tmp, 'ev.csv')];
    const first = await wgnasChild(args);
    expect(first.code, first.stderr).toBe(0);
    // Every evaluation replayed: nothing was computed, so no rate (it was thousands per second).
    const again = await wgnasChild([...args, '--resume']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout.split('\n')[0]).toBe(first.stdout.split('\n')[0]);
    expect(again.stderr.trim().split('\n').at(-1)).toMatch(/^search evolution\/wrcor: 6\/6 done in [\dhms.]+$/);
  });
});
