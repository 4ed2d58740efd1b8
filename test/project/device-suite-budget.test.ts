/**
 * scripts/device-suite.sh's budget (SUITE_BUDGET_S) at size large, with stand-ins for the CLI and
 * the benchmarks that hang until killed (a GPU too slow for every step): steps are cut to what is
 * left, the rest skipped, and the summary and the tarball still come within the budget, where the
 * device call's own limit would have killed the run before either existed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..', '..');
let work = '';
afterEach(() => rmSync(work, { recursive: true, force: true }));

// `info` answers, as does `data list` (CIFAR-10 is there); `score` writes a row of its --out, then hangs like everything else (exec: the
// sleep itself takes timeout's signal).
const FAKE = `#!/usr/bin/env bash
case "$1" in
  info) echo '{"adapter": {"vendor": "fake", "architecture": "", "description": "fake GPU", "features": [], "limits": {}}}'; exit 0 ;;
  data) echo '[{"name": "cifar10", "dir": "/fake/cifar10"}]'; exit 0 ;;
  score)
    while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
    printf 'arch,wrcor,val_acc,time_ms\\n"|a|",1,50,9\\n' > "$out" ;;
esac
exec sleep 60
`;

describe('device suite budget (SUITE_SIZE=large, a GPU that never finishes)', () => {
  it('cuts and skips steps to keep the summary and the tarball within SUITE_BUDGET_S', () => {
    work = mkdtempSync(join(tmpdir(), 'wgnas-suite-budget-'));
    const fake = join(work, 'fake.sh');
    writeFileSync(fake, FAKE, { mode: 0o755 });
    const out = join(work, 'out');
    const limits = [
      'TUNE',
      'SCORE',
      'PARITY',
      'STACKED',
      'PROCS',
      'PROFILE',
      'BENCH',
      'F16',
      'CONV_AB',
      'BN_AB',
      'STEPS',
      'AUTOSPACE',
      'IMAGENET',
      'TRAIN',
    ];
    const budget = 30;
    const t0 = Date.now();
    let rc = 0;
    try {
      execFileSync('bash', ['scripts/device-suite.sh'], {
        cwd: root,
        stdio: 'pipe',
        env: {
          ...process.env,
          SUITE_OUT: out,
          SUITE_TAR: join(work, 'suite.tgz'),
          SUITE_BUDGET_S: String(budget),
          SUITE_LATENCY_S: '0',
          ...Object.fromEntries(limits.map((k) => [`SUITE_${k}_S`, '2'])),
          WGNAS_CLI: `bash ${fake}`,
          WGNAS_PROXYLESS_STEP: `bash ${fake}`,
          WGNAS_IMAGENET_BENCH: `bash ${fake}`,
          PATH: process.env
            .PATH!.split(':')
            .filter((d) => !existsSync(join(d, 'nvidia-smi')))
            .join(':'),
        },
      });
    } catch (e) {
      rc = (e as { status: number }).status;
    }
    const seconds = (Date.now() - t0) / 1000;
    expect(rc).toBe(1); // the cut steps that are no 'partial' ones count as failed
    expect(seconds).toBeLessThan(budget);
    const log = readFileSync(join(out, 'suite.log'), 'utf8');
    expect(log).toMatch(/budget=30s/);
    expect(log).toMatch(/info limit 15s cut to \d+s by the suite's 30s budget/);
    expect(log).toMatch(/end score-all rc=124 in [23]s\n.*score-all cut by its limit \(partial result kept\)/);
    expect(log).toMatch(/skip \S+: the suite's 30s budget is spent/);
    // wgnas train comes last: the step the spent budget skips, said in the summary too.
    expect(log).toMatch(/skip train: the suite's 30s budget is spent\n(.*\n)?.*start summary/);
    expect(log).toMatch(/end summary rc=0/);
    expect(log).toMatch(/done, \d+ failed step\(s\)/);
    const md = readFileSync(join(out, 'summary.md'), 'utf8');
    expect(md).toMatch(/^# Device suite — fake GPU/);
    expect(md).toMatch(
      /\| all cells, --group auto \(cut by the time limit(: the first \d+ cells in index order, not a random sample)?\) \| 1 \|/,
    );
    expect(md).toMatch(/\nwgnas train: skipped \(the suite's 30s budget is spent\)\.\n/);
    expect(existsSync(join(work, 'suite.tgz'))).toBe(true);
  });
});
