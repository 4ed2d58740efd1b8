/**
 * `wgnas bench --compare FILE`: this run's medians beside an earlier --json report, kernel by kernel,
 * with the settings in which the two runs differ; a file that is not such a report is refused in one
 * line before any timing.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { arch, cpus, platform, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compareReports, parseBenchReport } from '../../src/bench/compare.js';
import { BENCH_SCHEMA_VERSION, type BenchReport } from '../../src/bench/harness.js';
import { codeVersion } from '../../src/queue/code-version.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-bench-compare-'));
const savedCache = process.env.WGNAS_CACHE_DIR;
process.env.WGNAS_CACHE_DIR = join(tmp, 'cache'); // the measured peak's cache: not the user's
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
  if (savedCache === undefined) delete process.env.WGNAS_CACHE_DIR;
  else process.env.WGNAS_CACHE_DIR = savedCache;
});

const timing = (medianMs: number, p10Ms: number, p90Ms: number) => ({ medianMs, p10Ms, p90Ms });
function report(device: 'gpu' | 'cpu', adapter: string, results: Array<[string, string, ReturnType<typeof timing>]>) {
  return {
    tool: 'wgnas bench',
    date: '2026-12-05T00:00:00.000Z',
    adapter: { name: adapter },
    device,
    timing: 'timestamp-query',
    options: { shapes: 'tiny', warmup: 1, repeats: 5, baselines: [] },
    results: results.map(([kernel, label, ours]) => ({ kernel, label, ours, baselines: {} })),
  } as unknown as BenchReport;
}

describe('bench --compare', () => {
  it('pairs kernel and shape, divides the medians, tells overlap and what differs', () => {
    const before = report('gpu', 'H100', [
      ['matmul', '64x64x64', timing(2, 1.8, 2.4)],
      ['conv2d', 'N2 3->5 9x9 k3s1', timing(1, 0.9, 1.1)],
    ]);
    const now = report('gpu', 'H200', [
      ['matmul', '64x64x64', timing(1, 0.9, 1.2)],
      ['conv2d', 'N2 3->5 9x9 k3s1', timing(1.05, 1.0, 1.2)],
      ['depthwise', 'N2 4x4 k3', timing(3, 2, 4)],
    ]);
    const c = compareReports(before, now);
    expect(c.rows).toEqual([
      { kernel: 'matmul', label: '64x64x64', beforeMs: 2, nowMs: 1, speedup: 2, overlap: false },
      { kernel: 'conv2d', label: 'N2 3->5 9x9 k3s1', beforeMs: 1, nowMs: 1.05, speedup: 1 / 1.05, overlap: true },
    ]);
    expect(c.unmatched).toEqual(['depthwise N2 4x4 k3']);
    expect(c.differences).toEqual(['adapter: H100 -> H200']);
    expect(() => parseBenchReport('{"tool": "wgnas score"}', 'x.json')).toThrow(
      /--compare x\.json is not a report of wgnas bench --json/,
    );
    expect(() => parseBenchReport('{', 'x.json')).toThrow(/--compare x\.json is not valid JSON/);
  });

  it('a GPU report against a CPU run: the device changed, and the adapter gave way to the CPU backend', () => {
    const gpu = report('gpu', 'llvmpipe (LLVM 15.0.6, 256 bits)', []);
    const cpu = report('cpu', 'native CPU (2 threads)', []);
    expect(compareReports(gpu, cpu).differences).toEqual([
      'device: gpu -> cpu',
      'adapter -> CPU backend: llvmpipe (LLVM 15.0.6, 256 bits) -> native CPU (2 threads)',
    ]);
    expect(compareReports(cpu, gpu).differences).toEqual([
      'device: cpu -> gpu',
      'CPU backend -> adapter: native CPU (2 threads) -> llvmpipe (LLVM 15.0.6, 256 bits)',
    ]);
    // A report before 'device' existed ran on the GPU.
    expect(compareReports({ ...gpu, device: undefined }, cpu).differences[1]).toMatch(/^adapter -> CPU backend: /);
  });

  it('names another machine (1.4 reports), and is silent where the earlier report has none', () => {
    const at = (cpu: string, logicalCores: number) => ({ cpu, logicalCores, platform: 'linux x64', node: 'v22.0.0' });
    const a = { ...report('cpu', 'native CPU (2 threads)', []), machine: at('AMD EPYC', 2) };
    const b = { ...report('cpu', 'native CPU (2 threads)', []), machine: at('Intel Xeon', 8) };
    expect(compareReports(a, b).differences).toEqual(['machine: AMD EPYC (2 logical cores) -> Intel Xeon (8 logical cores)']);
    expect(compareReports(a, { ...a, machine: at('AMD EPYC', 2) }).differences).toEqual([]);
    expect(compareReports(report('cpu', 'native CPU (2 threads)', []), b).differences).toEqual([]);
  });

  it('reads reports of its schema major version (unversioned ones are 1.0) and refuses another in one line', () => {
    expect(BENCH_SCHEMA_VERSION).toBe('1.6');
    const text = (v?: unknown) =>
      JSON.stringify({ ...report('gpu', 'H100', []), ...(v === undefined ? {} : { schemaVersion: v }) });
    for (const v of [undefined, '1.0', '1.1', '1.2', '1.3', '1.4', '1.5', '1.6', '1.9'])
      expect(parseBenchReport(text(v), 'x.json').tool).toBe('wgnas bench');
    expect(() => parseBenchReport(text('2.0'), 'x.json')).toThrow(
      new Error(
        '--compare x.json: a bench report of schema version "2.0"; this wgnas reads 1.x (compare it with the wgnas that wrote it)',
      ),
    );
    expect(() => parseBenchReport(text(1), 'x.json')).toThrow(
      /--compare x\.json: a bench report of schema version 1; this wgnas reads 1\.x/,
    );
  });

  it('prints the comparison after the run; refuses a file that is not a report before timing', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const args = ['bench', 'matmul', '--device', 'cpu', '--cpu-threads', '2', '--shapes', 'tiny', '--baselines', 'none'];
    const fast = ['--warmup', '0', '--quiet'];
    const first = join(tmp, 'first.json');
    const a = await wgnasInProcess([...args, ...fast, '--repeats', '2', '--json', first]);
    expect(a.code, a.err).toBe(0);
    const json = JSON.parse(readFileSync(first, 'utf8')) as BenchReport;
    expect(json.schemaVersion).toBe(BENCH_SCHEMA_VERSION);
    // What the header says is in the file: the code, the host, the threads of ours and of oneDNN/XNNPACK.
    expect(json.version).toBe(codeVersion());
    expect(json.machine).toEqual({
      cpu: cpus()[0].model.trim(),
      logicalCores: cpus().length,
      platform: `${platform()} ${arch()}`,
      node: process.version,
    });
    expect(json.options).toEqual({
      shapes: 'tiny',
      warmup: 0,
      warmupMs: 0,
      repeats: 2,
      baselines: [],
      cpuThreads: 2,
      nativeThreads: 1,
      maxSeconds: { ours: 30, cpuBaselines: 3 },
    });
    expect(a.out.split('\n').slice(0, 2)).toEqual([
      `wgnas bench ${codeVersion()} | device: native CPU (2 threads) | ${json.date}`,
      `machine: ${cpus()[0].model.trim()}, ${cpus().length} logical cores, ${platform()} ${arch()}, node ${process.version}`,
    ]);
    const b = await wgnasInProcess([...args, ...fast, '--repeats', '3', '--compare', first]);
    expect(b.code, b.err).toBe(0);
    const part = b.out.slice(b.out.indexOf('compared with'));
    expect(part).toMatch(
      new RegExp(
        `^compared with ${first} \\(2\\d{3}-.*, wgnas ${codeVersion().replace(/[.+]/g, '\\$&')}\\); change = before / now \\(>1: faster now\\)\n`,
      ),
    );
    expect(part).toMatch(/^note: the runs differ in repeats: 2 -> 3\n/m);
    expect(part).toMatch(/^kernel\s+shape\s+before ms\s+now ms\s+change\s+p10-p90 overlap$/m);
    expect(
      part.split('\n').filter((l) => /^matmul\s+(64x64x64|b2 33x47x29)\s+[\d.]+\s+[\d.]+\s+[\d.e-]+x\s+(yes|no)$/.test(l)),
    ).toHaveLength(2);
    const wrong = join(tmp, 'wrong.json');
    writeFileSync(wrong, '{"tool": "wgnas correlate", "rows": []}\n');
    const c = await wgnasInProcess([...args, ...fast, '--compare', wrong]);
    expect(c.code).toBe(1);
    expect(c.out).toBe('');
    expect(c.err).toBe(
      `wgnas bench: --compare ${wrong} is not a report of wgnas bench --json (no "tool": "wgnas bench" with results)\n`,
    );
    // A report of another major version: one line, before any timing.
    const future = join(tmp, 'future.json');
    writeFileSync(future, JSON.stringify({ ...JSON.parse(readFileSync(first, 'utf8')), schemaVersion: '2.0' }));
    const d = await wgnasInProcess([...args, ...fast, '--compare', future]);
    expect(d.code).toBe(1);
    expect(d.out).toBe('');
    expect(d.err).toBe(
      `wgnas bench: --compare ${future}: a bench report of schema version "2.0"; this wgnas reads 1.x (compare it with the wgnas that wrote it)\n`,
    );
  });
});
