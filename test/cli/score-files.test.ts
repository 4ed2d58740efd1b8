/**
 * correlate --scores over several files: files scored with different settings (their
 * OUT.settings.json; a copy gzipped after the run, OUT.gz, by its run's) are refused naming both
 * and the setting (not the device, threads or group mode, which move scores only at float
 * rounding); a cell read twice counts once (the same scores, within the proxy's merge tolerance:
 * dropped and said; other columns: merged; another score: refused naming both rows).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { gzipBytes } from '../../src/util/gz-file.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { distinctAccuracyCells, proxyRow as rowOf, writeScoreFile } from '../helpers/scores.js';

const dir = mkdtempSync(join(tmpdir(), 'wgnas-score-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// 12 cells with distinct accuracies; the scores a noisy function of the accuracy.
const cells = distinctAccuracyCells(12);
const wrcor = (i: number) => cells[i].valAcc + ((i * 7) % 5);
// wrcor beside wrcor_stage, as a current score --out writes them (WRCor definition 3): read as they are.
const stage = (i: number) => -wrcor(i);
const WRCOR = ['arch', 'wrcor', 'wrcor_stage'];
const synflow = (i: number) => cells[i].valAcc - ((i * 3) % 4);

const SETTINGS = {
  '--proxies': 'wrcor',
  '--batch': 64,
  '--seed': 0,
  '--device': 'cpu',
  '--dataset': 'cifar10',
  '--dataset images': '0123456789ab from /data/cifar10/ (5000 images)',
  '--cpu-threads': 2,
};

/** A score file of `rows` (arch, then the columns), with its settings beside it unless null. */
const write = (name: string, header: string[], rows: Array<Array<string | number>>, settings: object | null = SETTINGS) =>
  writeScoreFile(join(dir, name), [header.join(','), ...rows.map((r) => r.join(','))].join('\n') + '\n', settings);
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);
const wrcorRows = (is: number[]) => is.map((i) => [cells[i].arch, wrcor(i), stage(i)]);
const correlate = (...files: string[]) =>
  wgnasInProcess(['correlate', '--bootstrap', '0', ...files.flatMap((f) => ['--scores', f])]);

describe('correlate --scores: several files', () => {
  it('refuses files scored with different settings, naming both files and the setting', async () => {
    const a = write('batch64.csv', WRCOR, wrcorRows(range(0, 6)));
    const b = write('batch32.csv', WRCOR, wrcorRows(range(6, 12)), { ...SETTINGS, '--batch': 32 });
    const r = await correlate(a, b);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `wgnas correlate: --scores: ${a} and ${b} were scored with different settings: --batch 64 in the first, 32 in the second; correlate files of one setting\n`,
    );
    // b stored gzipped beside its run's b.settings.json: still compared, by that sidecar.
    writeFileSync(`${b}.gz`, gzipBytes(readFileSync(b)));
    const z = await correlate(a, `${b}.gz`);
    expect(z.code).toBe(1);
    expect(z.err).toMatch(/were scored with different settings: --batch 64 in the first, 32 in the second/);
  });

  it('other proxies, the same images found elsewhere, another device or group mode, a file without settings: read together', async () => {
    const a = write('same-a.csv', WRCOR, wrcorRows(range(0, 6)));
    const b = write('same-b.csv', WRCOR, wrcorRows(range(6, 12)), {
      ...SETTINGS,
      '--proxies': 'synflow,wrcor',
      '--dataset images': '0123456789ab from /elsewhere/cifar10/ (5000 images)',
      '--device': 'gpu',
      '--cpu-threads': 1,
      // Stacked scores equal separate ones within float rounding, as another device's do.
      '--group-mode': 'stacked',
    });
    const c = write('plain.csv', WRCOR, wrcorRows([0]), null);
    const r = await correlate(a, b, c);
    expect(r.code, r.err).toBe(0);
    expect(rowOf(r.out, 'wrcor')?.[1]).toBe('12');
    expect(r.err).toBe('note: --scores: 1 row repeats a cell read before with the same scores: dropped, each cell counts once\n');
  });

  it('a cell read twice with the same scores counts once, and the dropped rows are said', async () => {
    const all = write('all.csv', WRCOR, wrcorRows(range(0, 12)));
    const part = write('part.csv', WRCOR, wrcorRows(range(0, 5)));
    const once = await correlate(all);
    const twice = await correlate(all, part);
    expect(twice.code, twice.err).toBe(0);
    expect(twice.err).toBe(
      'note: --scores: 5 rows repeat cells read before with the same scores: dropped, each cell counts once\n',
    );
    expect(twice.out).toBe(once.out);
    expect(rowOf(twice.out, 'wrcor')?.[1]).toBe('12');
  });

  it('files of other columns for the same cells merge into one row per cell', async () => {
    const a = write('cols-a.csv', WRCOR, wrcorRows(range(0, 12)));
    const b = write(
      'cols-b.csv',
      ['arch', 'synflow'],
      range(0, 12).map((i) => [cells[i].arch, synflow(i)]),
      { ...SETTINGS, '--proxies': 'synflow' },
    );
    const r = await correlate(a, b);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    expect(r.out).toMatch(/\(12 cells/);
    expect(rowOf(r.out, 'wrcor')?.[1]).toBe('12');
    expect(rowOf(r.out, 'synflow')?.[1]).toBe('12');
  });

  it('another score for the same cell and proxy is refused, naming both rows', async () => {
    const a = write('diff-a.csv', WRCOR, wrcorRows(range(0, 12)));
    const b = write('diff-b.csv', WRCOR, [[cells[3].arch, wrcor(3) + 0.5, stage(3)]]);
    const r = await correlate(a, b);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `wgnas correlate: --scores: ${a}:5 and ${b}:2 give the cell ${cells[3].arch} different wrcor scores (${wrcor(3)} and ${wrcor(3) + 0.5}, more than wrcor's merge tolerance 1e-5 apart relative): scored twice another way; correlate one of them\n`,
    );
  });

  it('each proxy merges within its own tolerance: zico from the CPU backend and lavapipe is one score, wrcor that far apart is not', async () => {
    // zico of one cell on the CPU backend and on lavapipe, 1.1e-2 apart (bench/results/merge-tolerance/): within zico's 2e-1.
    const [cpu, gpu] = [418.05836456346134, 413.41995180222267];
    const rows = (x: number) => range(0, 12).map((i) => [cells[i].arch, wrcor(i), stage(i), i === 0 ? x : 400 + i]);
    const a = write('zico-cpu.csv', [...WRCOR, 'zico'], rows(cpu));
    const b = write('zico-gpu.csv', [...WRCOR, 'zico'], rows(gpu).slice(0, 3), { ...SETTINGS, '--device': 'gpu' });
    const r = await correlate(a, b);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('note: --scores: 3 rows repeat cells read before with the same scores: dropped, each cell counts once\n');
    // wrcor as far apart (relative) is another score.
    const w = write('wrcor-far.csv', WRCOR, [[cells[0].arch, wrcor(0) * (gpu / cpu), stage(0)]]);
    const f = await correlate(a, w);
    expect(f.code).toBe(1);
    expect(f.err).toMatch(/different wrcor scores .*more than wrcor's merge tolerance 1e-5 apart relative/);
  });

  it('another CPU thread count: scores equal up to float rounding are the same score; a genuine difference is refused', async () => {
    // synflow of one cell at --cpu-threads 2 and 1 (a real pair: oneDNN splits its sums by thread).
    const [two, one] = [68.64815147947265, 68.64815147765886];
    const rows = (x: number) => range(0, 12).map((i) => [cells[i].arch, wrcor(i), stage(i), i === 0 ? x : synflow(i)]);
    const a = write('threads2.csv', [...WRCOR, 'synflow'], rows(two));
    const b = write('threads1.csv', [...WRCOR, 'synflow'], rows(one).slice(0, 6), { ...SETTINGS, '--cpu-threads': 1 });
    const r = await correlate(a, b);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('note: --scores: 6 rows repeat cells read before with the same scores: dropped, each cell counts once\n');
    expect(r.out).toBe((await correlate(a)).out);
    // 2e-5 relative apart: another score, refused.
    const far = two * (1 + 2e-5);
    const c = write('far.csv', [...WRCOR, 'synflow'], rows(far).slice(0, 1));
    const f = await correlate(a, c);
    expect(f.code).toBe(1);
    expect(f.err).toBe(
      `wgnas correlate: --scores: ${a}:2 and ${c}:2 give the cell ${cells[0].arch} different synflow scores (${two} and ${far}, more than synflow's merge tolerance 1e-5 apart relative): scored twice another way; correlate one of them\n`,
    );
  });
});
