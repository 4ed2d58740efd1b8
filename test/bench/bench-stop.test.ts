/**
 * bench's thread warnings and Ctrl-C: --native-threads above the cores is said as --cpu-threads is;
 * a sweep stopped by SIGINT writes the cases that finished to --json, atomically, marked partial,
 * and says so on its stop line (then dies by SIGINT).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { BenchReport } from '../../src/bench/harness.js';
import { defaultCpuThreads } from '../../src/cli/resume-settings.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-bench-stop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('bench: threads and Ctrl-C', () => {
  it('--native-threads above the cores: one warning line, and the run goes on', async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const n = defaultCpuThreads() + 1;
    const r = await wgnasInProcess([
      'bench',
      'matmul',
      '--device',
      'cpu',
      '--cpu-threads',
      '1',
      '--shapes',
      'tiny',
      '--only',
      '64x64x64',
      '--baselines',
      'onednn',
      '--native-threads',
      String(n),
      '--repeats',
      '1',
      '--warmup',
      '0',
      '--quiet',
    ]);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe(
      `warning: --native-threads ${n} is more than the ${n - 1} cores this process may use: the threads share them\n`,
    );
    expect(r.out).toMatch(new RegExp(`oneDNN\\(${n}t\\)`));
  });

  it(
    'Ctrl-C mid-sweep: the finished cases in --json, marked partial, said on the stop line',
    { timeout: 240_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const json = join(tmp, 'stopped.json');
      let seen = '';
      // Each case runs its 1 s budget (repeats far above it): stopped once the second case has begun.
      const args = ['bench', 'matmul', 'correlation', '--device', 'cpu', '--cpu-threads', '1', '--shapes', 'tiny'];
      const r = await wgnasChild(
        [...args, '--baselines', 'none', '--repeats', '100000', '--warmup', '0', '--max-seconds', '1', '--json', json],
        {
          onStart: (c) => {
            c.stderr!.on('data', (d) => (seen += String(d)));
            void (async () => {
              while (c.exitCode === null && !/^matmul b2 33x47x29$/m.test(seen)) await sleep(20);
              c.kill('SIGINT');
            })();
          },
        },
      );
      expect(r.signal, r.stderr).toBe('SIGINT');
      expect(r.stderr.trim().split('\n').at(-1)).toBe(
        `wgnas bench: stopped by SIGINT; wrote the 1 finished case of 3 to --json ${json}, marked partial`,
      );
      expect(r.stderr).not.toMatch(/\n\s+at /);
      const report = JSON.parse(readFileSync(json, 'utf8')) as BenchReport;
      expect(report.partial).toEqual({ casesDone: 1, casesTotal: 3, stoppedBy: 'SIGINT' });
      expect(report.results.map((x) => `${x.kernel} ${x.label}`)).toEqual(['matmul 64x64x64']);
      expect(report.results[0].ours!.medianMs).toBeGreaterThan(0);
      expect(report.options.maxSeconds).toEqual({ ours: 1, cpuBaselines: 1 });
      // Written atomically: no temporary file left beside it.
      expect(readdirSync(tmp)).toEqual(['stopped.json']);
    },
  );
});
