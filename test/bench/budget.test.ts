/**
 * `--repeats` against the time budget per measurement: the budget is in the header and the JSON
 * (options.maxSeconds), `--max-seconds` sets it, a measurement it cut short says budgetCut with its
 * real sample count, and the table shows samples/repeats for ours and a note for the baselines.
 * A derived baseline time (a batched matmul on oneDNN: one product x batch) is an estimate, printed
 * with ~, and the ~ legend is printed only when a row uses it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/harness.js';
import { BASELINE_TIMINGS } from '../../src/bench/baselines.js';
import { formatNotes, formatTable, reportHeader } from '../../src/bench/report.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-budget-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const BASE = ['bench', 'matmul', '--device', 'cpu', '--cpu-threads', '1', '--shapes', 'tiny', '--warmup', '0', '--quiet'];

function ratioCell(out: string, label: string, column: string): string {
  const lines = out.split('\n');
  const header = lines.find((l) => l.startsWith('kernel'))!;
  const start = header.indexOf(column);
  const row = lines.find((l) => l.startsWith(`matmul  ${label}`))!;
  // Columns are right-aligned to the end of their header.
  return row.slice(start, start + column.length).trim();
}

describe('bench time budget and estimates', () => {
  it('--max-seconds cuts every measurement short: samples counted, budgetCut, n/repeats and a note', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const json = join(tmp, 'cut.json');
    const r = await wgnasInProcess([
      ...BASE,
      '--baselines',
      'cpu,onednn',
      '--repeats',
      '4',
      '--max-seconds',
      '1e-6',
      '--json',
      json,
    ]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.schemaVersion).toBe('1.6');
    expect(report.options.maxSeconds).toEqual({ ours: 1e-6, cpuBaselines: 1e-6 });
    expect(report.results.map((x) => x.label)).toEqual(['64x64x64', 'b2 33x47x29']);
    for (const x of report.results) {
      // One sample takes longer than a microsecond: the budget stops each measurement after it.
      expect(x.ours!.samples).toBe(1);
      expect(x.ours!.budgetCut).toBe(true);
      expect(x.baselines.cpu).toMatchObject({ status: 'ok', samples: 1, budgetCut: true });
    }
    expect(r.out).toMatch(/repeats 4 \(each measurement at most 1\.00e-6 s: --max-seconds\)/);
    expect(r.out).toMatch(/^kernel\s+shape\s+median ms\s+p10 ms\s+p90 ms\s+samples\s+GFLOP\/s/m);
    expect(r.out).toMatch(/^matmul\s+64x64x64\s+\S+\s+\S+\s+\S+\s+1\/4\s/m);
    expect(r.out).toMatch(
      /^note: ours matmul 64x64x64 \(1 samples\), matmul b2 33x47x29 \(1 samples\): fewer samples than --repeats 4/m,
    );
    expect(r.out).toMatch(
      /^note: cpu matmul 64x64x64 \(1 samples\), matmul b2 33x47x29 \(1 samples\): fewer samples than --repeats 4/m,
    );
  });

  it('a budget that lets every repeat run: no cut, no samples column, the default budgets in the header', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const json = join(tmp, 'full.json');
    const r = await wgnasInProcess([...BASE, '--baselines', 'none', '--repeats', '3', '--json', json]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    expect(report.options.maxSeconds).toEqual({ ours: 30, cpuBaselines: 3 });
    for (const x of report.results) {
      expect(x.ours!.samples).toBe(3);
      expect(x.ours!.budgetCut).toBeUndefined();
    }
    expect(r.out).toMatch(
      /repeats 3 \(at most 30\.0 s a measurement of ours or a GPU baseline, 3\.00 s of a CPU baseline: --max-seconds\)/,
    );
    expect(r.out).not.toMatch(/samples|~/);
  });

  it('oneDNN on a batched matmul is an estimate (~, legend); on one product it is timed (no ~)', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const json = join(tmp, 'est.json');
    const r = await wgnasInProcess([...BASE, '--baselines', 'onednn', '--repeats', '3', '--json', json]);
    expect(r.code, r.err).toBe(0);
    const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
    const [single, batched] = report.results.map((x) => x.baselines.onednn!);
    expect(single).toMatchObject({ status: 'ok', timing: 'wall-clock (native)' });
    expect(single.estimate).toBeUndefined();
    expect(batched).toMatchObject({ status: 'ok', estimate: true, timing: 'wall-clock (native)' });
    expect(batched.note).toMatch(/time of one product x batch/);
    expect(ratioCell(r.out, '64x64x64', 'vs oneDNN(1t)')).toMatch(/^\d[\d.e-]*x$/);
    expect(ratioCell(r.out, 'b2 33x47x29', 'vs oneDNN(1t)')).toMatch(/^~\d[\d.e-]*x$/);
    expect(r.out).toMatch(/~: estimate, derived rather than timed/);
  });

  it('the ~ legend only when a ratio uses it; budgets absent from reports before 1.5', () => {
    const ok = { status: 'ok', medianMs: 1, gflops: 1, speedup: 2 } as const;
    const report = {
      tool: 'wgnas bench',
      date: '2025-01-01T00:00:00Z',
      adapter: { name: 'A', vendor: 'v', architecture: 'a', isSoftware: false },
      timing: 'timestamp-query',
      peak: { flopsPerS: 1e12, bytesPerS: 1e11, source: 'table', name: 'P', gflops: 1000, gbps: 100 },
      options: { shapes: 'tiny', warmup: 1, repeats: 30, baselines: ['cpu'] },
      where: { ours: 'here', cpu: 'there' },
      labels: { cpu: 'cpu' },
      results: [
        {
          kernel: 'k',
          shape: {},
          label: 's',
          flops: 1,
          bytes: 1,
          intensity: 1,
          ours: {
            medianMs: 1,
            p10Ms: 1,
            p90Ms: 1,
            meanMs: 1,
            minMs: 1,
            samples: 13,
            innerRuns: 1,
            gflops: 1,
            gbps: 1,
            pctPeak: 1,
            timing: 't',
            budgetCut: true,
          },
          baselines: { cpu: { ...ok } },
        },
      ],
    } as unknown as BenchReport;
    expect(reportHeader(report)).not.toMatch(/~|--max-seconds/);
    expect(formatTable(report)).toMatch(/^k\s+s\s+1\.00\s+1\.00\s+1\.00\s+13\/30\s/m);
    expect(formatNotes(report)).toMatch(
      /^note: ours k s \(13 samples\): fewer samples than --repeats 30, stopped by the time budget \(a larger --max-seconds takes them all\)$/m,
    );
    report.results[0].baselines.cpu = { ...ok, estimate: true };
    expect(reportHeader(report)).toMatch(/~: estimate/);
    expect(formatTable(report)).toMatch(/~2\.00x$/m);
  });

  it('docs/bench.md names every baseline timing value', () => {
    const doc = readFileSync(new URL('../../docs/bench.md', import.meta.url), 'utf8');
    for (const t of BASELINE_TIMINGS) expect(doc, t).toContain(`\`${t}\``);
  });
});
