import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { testGpu } from '../helpers/gpu.js';
import { BIN, REPO } from '../helpers/paths.js';

const run = promisify(execFile);

async function wgnas(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [BIN, ...args], { timeout: 240_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code: number; stdout: string; stderr: string };
    return { code: err.code, stdout: err.stdout, stderr: err.stderr };
  }
}

describe('wgnas CLI', () => {
  it('lists its commands and rejects unknown ones', async () => {
    expect((await wgnas(['--help'])).stdout).toMatch(/score[\s\S]*correlate[\s\S]*search[\s\S]*profile/);
    const bad = await wgnas(['frobnicate']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('refuses bad input in one line, exit 2, before any work (the real binary, a representative handful)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-cli-bad-'));
    const cases: Array<[string[], RegExp]> = [
      [['score', '--arch', '|nor_conv_3x3~0|+|bogus~0|none~1|'], /--arch: parseArch/],
      [['search', '--strategy', 'annealing'], /--strategy must be one of random, evolution, reinforce, got 'annealing'/],
      [['search', '--budgt', '3'], /unknown option --budgt for 'wgnas search'; did you mean --budget\?/],
      [['score', '--sample', '2', '--out', join(dir, 'missing', 'x.csv')], /directory .*missing does not exist/],
      [
        [
          'proxyless',
          '--latency-table',
          'data/latency/proxylessnas_mobile_trim.yaml',
          '--target-ms',
          '40',
          '--checkpoint',
          '/proc/self/ck',
        ],
        /cannot write under \/proc or \/sys/,
      ],
    ];
    const results = await Promise.all(cases.map(([argv]) => wgnas(argv)));
    results.forEach((r, i) => {
      expect(r.code, `${cases[i][0].join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(cases[i][1]);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stdout).toBe('');
    });
    expect(readdirSync(dir)).toEqual([]);
  });

  it('prints the package version', async () => {
    const version = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version;
    const [top, sub] = await Promise.all([wgnas(['--version']), wgnas(['score', '--version'])]);
    expect(top.stdout).toBe(`wgnas ${version}\n`);
    expect(sub.stdout).toBe(`wgnas ${version}\n`);
  });

  it('correlate --reference reproduces the reference NASWOT tau on 9445 cells', async () => {
    const r = await wgnas(['correlate', '--reference']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/nwot\s+9445\s+0\.6025/);
  });

  it('score writes a CSV that correlate reads back; search prints the best cell with its accuracy', async () => {
    if (!(await testGpu())) return;
    const dir = mkdtempSync(join(tmpdir(), 'wgnas-cli-'));
    const out = join(dir, 'scores.csv');
    const small = ['--cells-per-stage', '1', '--batch', '8'];
    const s = await wgnas(['score', '--sample', '4', '--ground-truth', '--proxies', 'vote,params', ...small, '--out', out]);
    expect(s.code, s.stderr).toBe(0);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0].split(',')).toEqual(
      expect.arrayContaining(['arch', 'wrcor', 'synflow', 'jacob_cov', 'params', 'vote', 'val_acc', 'time_ms']),
    );
    expect(csv.length).toBe(5);
    const c = await wgnas(['correlate', '--scores', out]);
    expect(c.code, c.stderr).toBe(0);
    expect(c.stdout).toMatch(/wrcor\s+4\s/);
    const r = await wgnas(['search', '--budget', '3', '--population', '2', '--sample-size', '1', ...small, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout);
    expect(res.best).toMatch(/^\|.*\|$/);
    expect(res.evaluations).toBeGreaterThan(0);
    expect(typeof res.cifar10ValAcc).toBe('number');
  });
});
