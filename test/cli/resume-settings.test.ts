/**
 * What a resume is refused on beyond the flags as typed (src/cli/resume-settings.ts): the images the
 * same --dataset reads (three data roots built here from whichever CIFAR-10 file the tests see: A,
 * B with other pixels, C an exact copy of A), the CPU backend's thread count (score, search, train,
 * proxyless), score --procs on the CPU equal to one process at the thread count it records, a fresh
 * run over an interrupted output refused without --resume or --force, the --train-out hand-over
 * refused before any search, and score's --group-mode (a file from before it was recorded: separate).
 * CPU backend, tiny settings, in process (one child is killed).
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dataOrigin, recordedData } from '../../src/cli/resume-settings.js';
import { clearCifarCache } from '../../src/data/cifar-dataset.js';
import { openDataset, parseDatasetSpec } from '../../src/data/dataset-spec.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { jsonlRowsWithoutTime, TABLE, TINY_PROXYLESS, tinyNb201, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';

const hasCpu = cpuTestBackend() !== null;
const tmp = mkdtempSync(join(tmpdir(), 'wgnas-resume-settings-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const ROOT = { A: join(tmp, 'rootA'), B: join(tmp, 'rootB'), C: join(tmp, 'rootC') };
const RECORD = 3073;
const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';

beforeAll(async () => {
  // The first 1000 records of the CIFAR-10 file the default --dataset reads here (../shared/data,
  // the committed fixture of a clone without it, or a fetched release), as the bundled subset.
  const { ds } = await openDataset(parseDatasetSpec('cifar10'), 'train');
  const file = ds.source(0).replace(/ record \d+$/, '');
  const bytes = readFileSync(file).subarray(0, 1000 * RECORD);
  const other = Buffer.from(bytes);
  for (let r = 0; r < 1000; r++) for (let p = 1; p < RECORD; p++) other[r * RECORD + p] = 255 - other[r * RECORD + p];
  for (const [root, b] of [
    [ROOT.A, bytes],
    [ROOT.B, other],
    [ROOT.C, bytes],
  ] as const) {
    mkdirSync(join(root, 'cifar10'), { recursive: true });
    writeFileSync(join(root, 'cifar10', 'train_5000.bin'), b);
    writeFileSync(join(root, 'cifar10', 'test_2000.bin'), b.subarray(0, 200 * RECORD));
  }
  mkdirSync(join(tmp, 'empty-cache'));
}, 60_000);

/** `wgnas argv` reading the data of `root` alone (no fetched release, no ../shared). */
async function inRoot(root: string, argv: string[]) {
  const saved = { ...process.env };
  Object.assign(process.env, {
    WGNAS_DATA_DIR: root,
    WGNAS_SHARED_DATA_DIR: 'none',
    WGNAS_CACHE_DIR: join(tmp, 'empty-cache'),
  });
  clearCifarCache();
  try {
    return await wgnasInProcess(argv);
  } finally {
    process.env = saved;
    clearCifarCache();
  }
}

const settingsOf = (out: string) => JSON.parse(readFileSync(`${out}.settings.json`, 'utf8'));
const oneLine = (r: { err: string }) => expect(r.err.trim().split('\n'), r.err).toHaveLength(1);

const SCORE = ['score', '--sample', '3', '--seed', '1', '--cells-per-stage', '1', '--batch', '8', '--channels', '4'];
const CPU = ['--device', 'cpu', '--quiet'];
const SEARCH = ['search', '--budget', '4', '--population', '2', '--sample-size', '1', '--cells-per-stage', '1', '--batch', '8'];

describe('the data a resume reads', () => {
  it('names where the images come from; compares their fingerprint only', () => {
    const ds = (files: string[]) => ({
      count: files.length,
      source: (i: number) => `${files[i]} record ${i}`,
    });
    expect(dataOrigin(ds(['/d/cifar10/train_5000.bin', '/d/cifar10/train_5000.bin']))).toBe(
      '/d/cifar10/train_5000.bin (2 images)',
    );
    expect(dataOrigin(ds(['/d/c/data_batch_1.bin', '/d/c/data_batch_5.bin', '/d/c/data_batch_5.bin']))).toBe('/d/c/ (3 images)');
    expect(recordedData('0123456789ab from /a (5 images)', '0123456789ab from /b (5 images)')).toBe(
      '0123456789ab from /a (5 images)',
    );
    expect(recordedData('0123456789ab from /a (5 images)', 'ffff56789abc from /a (5 images)')).toBe(
      'ffff56789abc from /a (5 images)',
    );
    expect(recordedData(undefined, 'x from /a')).toBe('x from /a');
  });

  it.skipIf(!hasCpu)(
    'score --resume on other images under the same --dataset is refused naming --dataset and both places',
    async () => {
      const out = join(tmp, 'data.jsonl');
      const a = await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', out]);
      expect(a.code, a.err).toBe(0);
      const recorded = settingsOf(out).settings['--dataset images'];
      expect(recorded).toMatch(/^[0-9a-f]{12} from \S*rootA\S*train_5000\.bin \(1000 images\)$/);
      const b = await inRoot(ROOT.B, [...SCORE, ...CPU, '--out', out, '--resume']);
      expect(b.code).toBe(2);
      oneLine(b);
      expect(b.err.trim()).toMatch(
        /^wgnas score: --resume: --dataset images was [0-9a-f]{12} from \S*rootA\S* \(1000 images\), now [0-9a-f]{12} from \S*rootB\S* \(1000 images\) in \S*data\.jsonl; /,
      );
      // The same images in another place resume; the output keeps the place it was started from.
      const c = await inRoot(ROOT.C, [...SCORE, ...CPU, '--out', out, '--resume']);
      expect(c.code, c.err).toBe(0);
      expect(c.err).toMatch(/3 of 3 cells already scored/);
      expect(settingsOf(out).settings['--dataset images']).toBe(recorded);
      // An output written before the fingerprint was recorded resumes (what it read cannot be told).
      const side = settingsOf(out);
      delete side.settings['--dataset images'];
      delete side.settings['--cpu-threads'];
      writeFileSync(`${out}.settings.json`, JSON.stringify({ ...side, complete: false }));
      const old = await inRoot(ROOT.B, [...SCORE, ...CPU, '--out', out, '--resume']);
      expect(old.code, old.err).toBe(0);
    },
  );

  it.skipIf(!hasCpu)('search --evaluated --resume on other images or CPU threads is refused', async () => {
    const out = join(tmp, 'evaluated.jsonl');
    const a = await inRoot(ROOT.A, [...SEARCH, ...CPU, '--cpu-threads', '2', '--evaluated', out, '--json']);
    expect(a.code, a.err).toBe(0);
    expect(settingsOf(out).settings).toMatchObject({ '--cpu-threads': 2 });
    const b = await inRoot(ROOT.B, [...SEARCH, ...CPU, '--cpu-threads', '2', '--evaluated', out, '--resume']);
    expect(b.code).toBe(2);
    oneLine(b);
    expect(b.err).toMatch(/^wgnas search: --resume: --dataset images was \S+ from \S*rootA\S* .*, now \S+ from \S*rootB\S* /);
    const t = await inRoot(ROOT.A, [...SEARCH, ...CPU, '--cpu-threads', '1', '--evaluated', out, '--resume']);
    expect(t.code).toBe(2);
    oneLine(t);
    expect(t.err).toMatch(/^wgnas search: --resume: --cpu-threads was 2, now 1 in \S*evaluated\.jsonl; /);
  });
});

describe('CPU threads', () => {
  it.skipIf(!hasCpu)(
    'score records the thread count it ran with; a resume with another is refused naming --cpu-threads',
    async () => {
      const out = join(tmp, 'threads.jsonl');
      const a = await inRoot(ROOT.A, [...SCORE, ...CPU, '--cpu-threads', '2', '--out', out]);
      expect(a.code, a.err).toBe(0);
      expect(settingsOf(out).settings['--cpu-threads']).toBe(2);
      const b = await inRoot(ROOT.A, [...SCORE, ...CPU, '--cpu-threads', '1', '--out', out, '--resume']);
      expect(b.code).toBe(2);
      oneLine(b);
      expect(b.err.trim()).toMatch(
        /^wgnas score: --resume: --cpu-threads was 2, now 1 in \S*threads\.jsonl; resume with its settings or write another --out$/,
      );
      // The default is every core, recorded as the number: the same machine resumes with it.
      const dflt = join(tmp, 'default.jsonl');
      expect((await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', dflt])).code).toBe(0);
      const cores = settingsOf(dflt).settings['--cpu-threads'] as number;
      expect(cores).toBeGreaterThanOrEqual(1);
      expect((await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', dflt, '--resume'])).code).toBe(0);
      const c = await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', out, '--resume']);
      if (cores === 2) expect(c.code, c.err).toBe(0);
      else {
        expect(c.code).toBe(2);
        expect(c.err).toMatch(
          /--cpu-threads was 2, now \d+ \(the default: this machine's cores\) .*give --cpu-threads 2 to resume it/,
        );
      }
    },
  );

  it.skipIf(!hasCpu)(
    "score --procs 2 on the CPU records each process's threads and gives the rows of one process with that --cpu-threads",
    { timeout: 180_000 },
    async () => {
      const dflt = join(tmp, 'procs-cores.jsonl');
      expect((await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', dflt])).code).toBe(0);
      const cores = settingsOf(dflt).settings['--cpu-threads'] as number;
      const procs = join(tmp, 'procs.jsonl');
      const p = await inRoot(ROOT.A, [...SCORE, ...CPU, '--procs', '2', '--out', procs]);
      expect(p.code, p.err).toBe(0);
      const each = settingsOf(procs).settings['--cpu-threads'] as number;
      expect(each).toBe(Math.max(1, Math.floor(cores / 2)));
      const one = join(tmp, 'procs-one.jsonl');
      const o = await inRoot(ROOT.A, [...SCORE, ...CPU, '--cpu-threads', String(each), '--out', one]);
      expect(o.code, o.err).toBe(0);
      expect(jsonlRowsWithoutTime(procs)).toEqual(jsonlRowsWithoutTime(one));
      // The same settings: the one-process output resumes with --procs 2, and the other way round.
      expect((await inRoot(ROOT.A, [...SCORE, ...CPU, '--procs', '2', '--out', one, '--resume'])).code).toBe(0);
      const back = await inRoot(ROOT.A, [...SCORE, ...CPU, '--out', procs, '--resume']);
      if (each === cores) expect(back.code, back.err).toBe(0);
      else {
        expect(back.code).toBe(2);
        oneLine(back);
        expect(back.err).toMatch(new RegExp(`--cpu-threads was ${each}, now ${cores} .*give --cpu-threads ${each} to resume it`));
        const given = await inRoot(ROOT.A, [...SCORE, ...CPU, '--cpu-threads', String(each), '--out', procs, '--resume']);
        expect(given.code, given.err).toBe(0);
      }
    },
  );

  it.skipIf(!hasCpu)(
    'train and proxyless refuse a resume with another --cpu-threads or other data',
    { timeout: 180_000 },
    async () => {
      // proxyless: the thread count, --dataset, and the images under the same --dataset.
      const ck = join(tmp, 'ck');
      const px = ['proxyless', ...TINY_PROXYLESS, '--checkpoint', ck, '--device', 'cpu'];
      const a = await inRoot(ROOT.A, [...px, '--steps', '1', '--cpu-threads', '2', '--out', join(tmp, 'net.config')]);
      expect(a.code, a.err).toBe(0);
      const t = await inRoot(ROOT.A, [...px, '--steps', '1', '--cpu-threads', '1', '--resume']);
      expect(t.code).toBe(2);
      oneLine(t);
      expect(t.err).toMatch(/^wgnas proxyless: --resume: --cpu-threads was 2, now 1; /);
      const folder = await writeImageFolder(join(tmp, 'ten'), Array(10).fill(10));
      const d = await inRoot(ROOT.A, [...px, '--steps', '1', '--cpu-threads', '2', '--dataset', `folder:${folder}`, '--resume']);
      expect(d.code).toBe(2);
      oneLine(d);
      expect(d.err).toMatch(/^wgnas proxyless: --resume: --dataset was cifar10, now folder:\S*ten; /);
      const b = await inRoot(ROOT.B, [...px, '--steps', '1', '--cpu-threads', '2', '--resume']);
      expect(b.code).toBe(2);
      oneLine(b);
      expect(b.err).toMatch(
        /^wgnas proxyless: --resume: --dataset images was \S+ from \S*rootA\S* .*, now \S+ from \S*rootB\S* /,
      );
      const c = await inRoot(ROOT.C, [...px, '--cpu-threads', '2', '--steps', '2', '--resume']);
      expect(c.code, c.err).toBe(0);
      expect(c.err).toMatch(/resumed from .*ck: warm-up 1\/1, search 1\/2/);

      // train: the thread count, and the images of the same folder.
      const colours = await writeImageFolder(join(tmp, 'colours', 'train'), [12, 12, 12, 12]);
      await writeImageFolder(join(tmp, 'colours', 'test'), [5, 5, 5, 5]);
      const out = join(tmp, 'trained');
      const tr = (threads: string) => [
        'train',
        ...tinyNb201(ARCH),
        '--dataset',
        `folder:${join(tmp, 'colours')}`,
        '--epochs',
        '1',
        '--batch',
        '8',
        '--device',
        'cpu',
        '--cpu-threads',
        threads,
        '--latency-runs',
        '0',
        '--quiet',
        '--out',
        out,
      ];
      const r = await wgnasInProcess(tr('2'));
      expect(r.code, r.err).toBe(0);
      const r1 = await wgnasInProcess([...tr('1'), '--resume']);
      expect(r1.code).toBe(2);
      oneLine(r1);
      expect(r1.err).toMatch(/^wgnas train: --resume: cpu-threads was 2, now 1 in \S*checkpoint; /);
      // One training image replaced by another colour: the same --dataset, other images.
      await sharp({ create: { width: 32, height: 32, channels: 3, background: { r: 7, g: 7, b: 7 } } })
        .png()
        .toFile(join(colours, 'class0', 'img0.png'));
      const r2 = await wgnasInProcess([...tr('2'), '--resume']);
      expect(r2.code).toBe(2);
      oneLine(r2);
      expect(r2.err).toMatch(/^wgnas train: --resume: dataset images was [0-9a-f]{12} from .*, now [0-9a-f]{12} from /);
    },
  );
});

describe('score --group-mode', () => {
  it.skipIf(!hasCpu)(
    'is recorded; a resume in the other mode is refused naming it; a file from before it was recorded reads as separate, and a stacked resume of it says to resume separate',
    { timeout: 180_000 },
    async () => {
      const run = (out: string, mode: string, ...more: string[]) =>
        inRoot(ROOT.A, [...SCORE, ...CPU, '--cpu-threads', '2', '--group', '3', '--group-mode', mode, '--out', out, ...more]);
      const out = join(tmp, 'stacked.jsonl');
      const a = await run(out, 'stacked');
      expect(a.code, a.err).toBe(0);
      expect(settingsOf(out).settings['--group-mode']).toBe('stacked');
      const b = await run(out, 'separate', '--resume');
      expect(b.code).toBe(2);
      oneLine(b);
      expect(b.err.trim()).toMatch(
        /^wgnas score: --resume: --group-mode was stacked, now separate in \S*stacked\.jsonl; resume with its settings or write another --out$/,
      );
      expect((await run(out, 'stacked', '--resume')).code).toBe(0);
      // A file written before the mode was recorded reads as separate, the default. Stacked runs of
      // that time recorded no mode either: a stacked resume of one is refused saying how to go on.
      const old = join(tmp, 'before-group-mode.jsonl');
      expect((await run(old, 'stacked')).code).toBe(0);
      const side = settingsOf(old);
      delete side.settings['--group-mode'];
      writeFileSync(`${old}.settings.json`, JSON.stringify(side));
      const c = await run(old, 'stacked', '--resume');
      expect(c.code).toBe(2);
      oneLine(c);
      expect(c.err.trim()).toBe(
        `wgnas score: --resume: --group-mode was separate, now stacked in ${old}; ${old} predates the recorded --group-mode and reads as separate (stacked scores agree with separate ones within 1e-5 relative): resume with --group-mode separate, or write another --out`,
      );
      const d = await run(old, 'separate', '--resume');
      expect(d.code, d.err).toBe(0);
      // What makes that advice safe: the stacked rows are the separate ones within 1e-5 relative.
      const sep = join(tmp, 'separate.jsonl');
      expect((await run(sep, 'separate')).code).toBe(0);
      const stackedRows = jsonlRowsWithoutTime(old);
      const separateRows = jsonlRowsWithoutTime(sep);
      expect(stackedRows.map((r) => r.arch)).toEqual(separateRows.map((r) => r.arch));
      for (const [i, r] of stackedRows.entries())
        for (const [k, v] of Object.entries(r)) {
          const w = separateRows[i][k];
          if (typeof v !== 'number' || !Number.isFinite(v)) expect(v, `${k} of row ${i}`).toEqual(w);
          else expect(Math.abs(v - (w as number)), `${k} of row ${i}`).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(v)));
        }
    },
  );
});

describe('outputs checked before the work', () => {
  it.skipIf(!hasCpu)(
    'a fresh score or search over an interrupted output is refused in one line; --force starts over, a finished output is replaced',
    { timeout: 180_000 },
    async () => {
      const out = join(tmp, 'killed.jsonl');
      // A real kill (the first rows are in, the settings say incomplete).
      const k = await wgnasChild([...SCORE, ...CPU, '--group', '1', '--out', out], { killAt: 'score.rows:1' });
      expect(k.signal, k.stderr).toBe('SIGKILL');
      expect(settingsOf(out).complete).toBe(false);
      const kept = readFileSync(out, 'utf8');
      expect(kept.trim().split('\n')).toHaveLength(1);
      const again = await wgnasInProcess([...SCORE, ...CPU, '--out', out]);
      expect(again.code).toBe(2);
      oneLine(again);
      expect(again.err.trim()).toBe(
        `wgnas score: --out ${out} holds an interrupted run: --resume continues it, --force starts over`,
      );
      expect(readFileSync(out, 'utf8')).toBe(kept);
      const both = await wgnasInProcess([...SCORE, ...CPU, '--out', out, '--resume', '--force']);
      expect(both.code).toBe(2);
      expect(both.err).toMatch(/--resume and --force contradict each other/);
      const forced = await wgnasInProcess([...SCORE, ...CPU, '--out', out, '--force']);
      expect(forced.code, forced.err).toBe(0);
      expect(settingsOf(out).complete).toBe(true);
      expect(jsonlRowsWithoutTime(out)).toHaveLength(3);
      // A finished output is replaced as before.
      const over = await wgnasInProcess([...SCORE, ...CPU, '--out', out]);
      expect(over.code, over.err).toBe(0);

      const log = join(tmp, 'search-cut.jsonl');
      expect((await wgnasInProcess([...SEARCH, ...CPU, '--evaluated', log, '--json'])).code).toBe(0);
      const full = readFileSync(log, 'utf8').trim().split('\n');
      const fullRows = jsonlRowsWithoutTime(log);
      expect(full.length).toBeGreaterThan(2);
      writeFileSync(log, full.slice(0, 2).join('\n') + '\n');
      writeFileSync(`${log}.settings.json`, JSON.stringify({ ...settingsOf(log), complete: false }));
      const s = await wgnasInProcess([...SEARCH, ...CPU, '--evaluated', log, '--json']);
      expect(s.code).toBe(2);
      oneLine(s);
      expect(s.err.trim()).toBe(
        `wgnas search: --evaluated ${log} holds an interrupted run: --resume continues it, --force starts over`,
      );
      const resumed = await wgnasInProcess([...SEARCH, ...CPU, '--evaluated', log, '--json', '--resume']);
      expect(resumed.code, resumed.err).toBe(0);
      expect(resumed.err).toMatch(/replaying 2 evaluated cells/);
      writeFileSync(`${log}.settings.json`, JSON.stringify({ ...settingsOf(log), complete: false }));
      const forced2 = await wgnasInProcess([...SEARCH, ...CPU, '--evaluated', log, '--json', '--force']);
      expect(forced2.code, forced2.err).toBe(0);
      // The same rows, each with the time it took this time.
      expect(jsonlRowsWithoutTime(log)).toEqual(fullRows);
    },
  );

  it('--train-out holding a training checkpoint is refused before the search starts, with advice that works', async () => {
    const dir = join(tmp, 'handover');
    mkdirSync(join(dir, 'checkpoint'), { recursive: true });
    writeFileSync(join(dir, 'checkpoint', 'current'), 'ckpt-1\n');
    const space = join(tmp, 'space.json');
    expect((await wgnasInProcess(['evolve-space', '--hand-designed', '--out', space])).code).toBe(0);
    const handover = ['--device', 'cpu', '--train-epochs', '1', '--train-out', dir];
    const proxyless = [
      '--latency-table',
      TABLE,
      '--target-ms',
      '40',
      '--warmup',
      '1',
      '--steps',
      '1',
      '--train',
      '64',
      '--val',
      '32',
    ];
    const commands = [
      [...SEARCH, ...handover],
      ['search', '--space-file', space, '--budget', '2', '--batch', '8', ...handover],
      ['proxyless', ...proxyless, ...handover],
      ['search', '--space', 'proxyless', ...proxyless, ...handover],
      ['evolve-space', '--budget-madds', '4M', '--population', '3', '--k', '2', '--iterations', '1', '--steps', '1', ...handover],
    ];
    for (const argv of commands) {
      const r = await wgnasInProcess(argv);
      expect(r.code, `${argv.join(' ')}\n${r.err}`).toBe(2);
      expect(r.out).toBe('');
      // None of them can resume its search (no --evaluated, no --checkpoint): the training's own command.
      const head = `wgnas ${argv[0]}: --train-out ${dir} holds a training checkpoint of an earlier run: name another --train-out or remove it; or if it is this command's own (killed or stopped), its search finished (its network.json): continue the training with `;
      expect(r.err.trim().startsWith(head), r.err).toBe(true);
      expect(r.err.trim().slice(head.length)).toMatch(
        new RegExp(
          `^\`wgnas train --out ${dir} --epochs 1 --dataset cifar10 --device cpu --seed \\d+ --net ${dir}/network\\.json --resume\`$`,
        ),
      );
    }
    // A search that resumes itself (--evaluated) is continued by its own --resume.
    const logged = await wgnasInProcess([...SEARCH, '--evaluated', join(tmp, 'handover.csv'), ...handover]);
    expect(logged.code).toBe(2);
    expect(logged.err.trim()).toBe(
      `wgnas search: --train-out ${dir} holds a training checkpoint of an earlier run: name another --train-out or remove it; or if it is this command's own (killed or stopped), repeat the command with --resume to continue it`,
    );
    expect(existsSync(join(dir, 'network.json'))).toBe(false);
  });
});
