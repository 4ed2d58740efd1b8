/**
 * Fault injection on `wgnas profile` (real child processes, native addon): killed after an entry,
 * inside the header write and inside the --resume rewrite, the table always parses with its stamp
 * and keeps every entry measured before the kill; resumed, it ends with every key once. Two
 * processes on one table: the second refuses while the first lives. A table measured elsewhere
 * (the Pixel 1 table, another thread count) is never extended: a usage error (exit 2). Runs that
 * are not killed go in this process (a child's start-up is much of a run at these sizes).
 */
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseLatencyTable, type LatencyTable } from '../../src/latency/lut.js';
import { proxylessSpace, spaceKeys } from '../../src/latency/space.js';
import type { NativeBinding } from '../../src/native/binding.js';
import { wgnasChild } from '../helpers/child.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { nativeOrNull } from '../helpers/native.js';

let native: NativeBinding | null;
beforeAll(() => {
  native = nativeOrNull();
});
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-rel-profile-'));
const N = 10;
const KEYS = spaceKeys(proxylessSpace({ inputSize: 32 })).slice(0, N);
const base = (out: string) => [
  'profile',
  '--resolution',
  '32',
  '--limit',
  String(N),
  '--repeats',
  '3',
  '--warmup',
  '0',
  '--max-time-ms',
  '50',
  '--out',
  out,
];

function readTable(path: string): LatencyTable {
  return parseLatencyTable(readFileSync(path, 'utf8'), { file: path, allowTruncatedTail: true });
}

function noLeftovers(dir: string): void {
  expect(readdirSync(dir).filter((n) => n.endsWith('.tmp') || n.endsWith('.lock'))).toEqual([]);
}

describe('profile survives kills', () => {
  it('killed after an entry, inside the header write and inside the resume rewrite: resumes to the full table', async ({
    skip,
  }) => {
    if (!native) return skip();
    const out = join(tmp, 'chain.yaml');
    // Each step: the kill point of one run. A fresh run first, then --resume runs.
    // (A kill after an entry of a fresh run and of a resumed one; the rewrite killed before and after its rename.)
    const plan = [
      'table.header.tmp-written:1',
      'table.entry:3',
      'table.rewrite.tmp-written:1',
      'table.entry:2',
      'table.rewrite.renamed:1',
    ];
    let kept = new Map<string, unknown>();
    for (const killAt of plan) {
      const r = await wgnasChild([...base(out), ...(existsSync(out) ? ['--resume'] : [])], { killAt });
      expect(r.signal, `${killAt}: ${r.stderr}`).toBe('SIGKILL');
      if (!existsSync(out)) {
        expect(killAt).toMatch(/^table\.header/); // killed before the first table was in place
        continue;
      }
      const t = readTable(out);
      expect(t.meta.cpu, killAt).toBe(native.cpuInfo().model); // the stamp is never lost
      expect(t.meta.threads).toBe('1');
      // Every entry measured before this kill is still there, unchanged.
      for (const [k, v] of kept) expect(t.entries.get(k), `${killAt}: ${k}`).toEqual(v);
      kept = new Map(t.entries);
    }
    expect(kept.size).toBeGreaterThan(0);
    const r = await wgnasInProcess([...base(out), '--resume']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(new RegExp(`${N} entries \\(\\d+ measured, ${kept.size} reused\\)`));
    const t = readTable(out);
    expect([...t.entries.keys()].sort()).toEqual([...KEYS].sort());
    for (const [k, v] of kept) expect(t.entries.get(k)).toEqual(v);
    expect(readFileSync(out, 'utf8')).toMatch(/^# generator: wgnas profile/);
    noLeftovers(tmp);
  });

  it('two processes on one table: the second refuses naming the first; after the first is killed it takes over', async ({
    skip,
  }) => {
    if (!native) return skip();
    const out = join(tmp, 'shared.yaml');
    const slow = ['profile', '--resolution', '224', '--limit', '40', '--repeats', '200', '--warmup', '0', '--out', out];
    let firstPid = 0;
    let firstDone = false;
    const first = wgnasChild(slow, { onStart: (c) => (firstPid = c.pid!) }).then((r) => ((firstDone = true), r));
    // Wait until the first has written its header.
    for (let i = 0; i < 600 && !firstDone && !(existsSync(out) && readFileSync(out, 'utf8').includes('# date:')); i++)
      await new Promise((res) => setTimeout(res, 100));
    expect(firstDone).toBe(false);
    const second = await wgnasInProcess([...slow, '--resume']);
    expect(second.code).toBe(1);
    expect(second.err.trim().split('\n')).toHaveLength(1);
    expect(second.err).toMatch(new RegExp(`latency table .*shared\\.yaml is in use by process ${firstPid} `));
    process.kill(firstPid, 'SIGKILL');
    expect((await first).signal).toBe('SIGKILL');
    const before = readTable(out).entries.size;
    const third = await wgnasInProcess([
      'profile',
      '--resolution',
      '224',
      '--limit',
      String(before + 1),
      '--repeats',
      '200',
      '--warmup',
      '0',
      '--out',
      out,
      '--resume',
    ]);
    expect(third.code, third.err).toBe(0);
    expect(third.err).toMatch(new RegExp(`was locked by process ${firstPid}, which is gone: taking it over`));
    const t = readTable(out);
    expect(t.entries.size).toBe(before + 1); // no duplicate keys (the parser refuses them)
    noLeftovers(tmp);
  });
});

describe('profile --resume refuses a table measured elsewhere', () => {
  it('the Pixel 1 table, an empty file, another thread count: one line naming the reason, file untouched', async ({ skip }) => {
    if (!native) return skip();
    const pixel = join(tmp, 'pixel1.yaml');
    copyFileSync(new URL('../../data/latency/proxylessnas_mobile_trim.yaml', import.meta.url).pathname, pixel);
    const text = readFileSync(pixel, 'utf8');
    let r = await wgnasInProcess([...base(pixel), '--resume']);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(
      /^wgnas profile: cannot resume .*pixel1\.yaml: it has no stamp header \(empty, or not a wgnas profile table\)/,
    );
    expect(readFileSync(pixel, 'utf8')).toBe(text);

    const empty = join(tmp, 'empty.yaml');
    writeFileSync(empty, '');
    r = await wgnasInProcess([...base(empty), '--resume']);
    expect(r.err).toMatch(/no stamp header/);
    expect(readFileSync(empty, 'utf8')).toBe('');

    const other = join(tmp, 'threads.yaml');
    expect((await wgnasInProcess([...base(other).map((a) => (a === String(N) ? '2' : a))])).code).toBe(0);
    r = await wgnasInProcess([...base(other), '--threads', '2', '--resume']);
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/it was measured with threads '1', this run has '2'/);
    const cpuEdited = join(tmp, 'cpu.yaml');
    writeFileSync(cpuEdited, readFileSync(other, 'utf8').replace(/^# cpu: .*$/m, '# cpu: Qualcomm Snapdragon 821'));
    r = await wgnasInProcess([...base(cpuEdited), '--resume']);
    expect(r.err).toMatch(/measured with cpu 'Qualcomm Snapdragon 821'/);
    noLeftovers(tmp);
  });

  it('other timing settings: --repeats, --warmup, --max-time-ms, --no-pin refused naming the flag, file untouched', async ({
    skip,
  }) => {
    if (!native) return skip();
    const out = join(tmp, 'timing.yaml');
    const two = base(out).map((a) => (a === String(N) ? '2' : a));
    expect((await wgnasInProcess(two)).code).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toMatch(/^# max-time-ms: 50$/m);
    const changed = (flag: string, value?: string) => {
      const i = two.indexOf(flag);
      if (value === undefined) return [...two, flag];
      return i < 0 ? [...two, flag, value] : two.map((a, j) => (j === i + 1 ? value : a));
    };
    for (const [argv, re] of [
      [changed('--repeats', '5'), /measured with repeats '3', this run has '5' \(--repeats\)/],
      [changed('--warmup', '1'), /measured with warmup '0', this run has '1' \(--warmup\)/],
      [changed('--max-time-ms', '40'), /measured with max-time-ms '50', this run has '40' \(--max-time-ms\)/],
      [changed('--no-pin'), /measured with pinned '.*', this run has 'no \(disabled\)' \(--no-pin\)/],
    ] as const) {
      const r = await wgnasInProcess([...argv, '--resume']);
      expect(r.code, argv.join(' ')).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(re);
      expect(readFileSync(out, 'utf8')).toBe(text);
    }
    // The same settings resume.
    const same = await wgnasInProcess([...two, '--resume']);
    expect(same.code, same.err).toBe(0);
    expect(same.out).toMatch(/2 entries \(0 measured, 2 reused\)/);
    noLeftovers(tmp);
  });

  it('a torn last entry is measured again: cut after "mean: 0" and inside a number', async ({ skip }) => {
    if (!native) return skip();
    const out = join(tmp, 'torn.yaml');
    expect((await wgnasInProcess(base(out))).code).toBe(0);
    const whole = readFileSync(out, 'utf8');
    const at = whole.lastIndexOf('  mean: ') + '  mean: '.length;
    const lastKey = [...readTable(out).entries.keys()].at(-1)!;
    for (const cut of [whole.slice(0, at + 1), whole.slice(0, at + 9)]) {
      writeFileSync(out, cut);
      const r = await wgnasInProcess([...base(out), '--resume']);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(new RegExp(`${N} entries \\(1 measured, ${N - 1} reused\\)`));
      const t = readTable(out);
      expect(t.entries.size).toBe(N);
      expect(Object.keys(t.entries.get(lastKey)!).sort()).toEqual(['count', 'iqr', 'mean', 'median', 'var']);
      expect(readFileSync(out, 'utf8').endsWith('\n')).toBe(true);
    }
    noLeftovers(tmp);
  });
});
