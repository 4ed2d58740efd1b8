/**
 * What `wgnas search` prints agrees with its JSON: the accuracy percentile reads the same way, scores
 * are shown to 6 significant digits (the JSON keeps every digit), and a --space-file search reports
 * one MAdds figure (the whole network) on stdout and in the JSON, inside the --min-madds band. An
 * NB201 cell's accuracy is said to be NAS-Bench-201's CIFAR-10 figure (noted on other images), and
 * the --evaluated rows are what its help says.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readLatencyTable } from '../../src/latency/lut.js';
import { tableCost } from '../../src/mobilenet/cost/table.js';
import { CIFAR_LAYOUT } from '../../src/mobilenet/layout.js';
import { handDesignedSpace, writeSpaceFile } from '../../src/mobilenet/space-file.js';
import { printNb201Result } from '../../src/cli/search-report.js';
import type { Provenance } from '../../src/cli/provenance.js';
import { parseArch } from '../../src/spaces/nb201.js';
import { fmtSig } from '../../src/util/format.js';
import { wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { nativeOrNull } from '../helpers/native.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-search-out-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const FAST = ['--budget', '2', '--batch', '8', '--device', 'cpu', '--quiet'];

describe('search output', () => {
  it('fmtSig keeps 6 significant digits and no trailing zeros', () => {
    expect(fmtSig(48.52210281180749)).toBe('48.5221');
    expect(fmtSig(0.0006698799999999999)).toBe('0.00066988');
    expect(fmtSig(2)).toBe('2');
    expect(fmtSig(-1234567.89)).toBe('-1234570');
    expect(fmtSig(NaN)).toBe('NaN');
  });

  it(
    'nb201: the percentile on stdout is the JSON accPercentile; the score is rounded only on stdout',
    { timeout: 300_000 },
    async () => {
      if (!nativeOrNull()) return;
      const text = await wgnasInProcess(['search', ...FAST]);
      expect(text.code, text.err).toBe(0);
      const json = await wgnasInProcess(['search', ...FAST, '--json']);
      expect(json.code, json.err).toBe(0);
      const j = JSON.parse(json.out) as { bestScore: number; accPercentile: number; best: string };
      expect(text.out).toContain(`best cell:  ${j.best}`);
      expect(text.out).toContain(`wrcor score: ${fmtSig(j.bestScore)}\n`);
      expect(text.out).toContain(
        `(percentile ${j.accPercentile.toFixed(1)}: as good as or better than ${j.accPercentile.toFixed(1)} % of the 9445 cells;`,
      );
      expect(text.out).not.toMatch(/\btop \d/);
      // The accuracy is the table's CIFAR-10 figure for the cell, said so; scored on CIFAR-10: no note.
      expect(text.out).toContain(`NAS-Bench-201's CIFAR-10 val accuracy of this cell: `);
      expect(text.err).not.toMatch(/not a result on --dataset/);
    },
  );

  it(
    "nb201 on an image folder: the accuracy is said to be the table's CIFAR-10 figure; --evaluated rows are arch, the scores and time_ms, as its help says",
    { timeout: 300_000 },
    async () => {
      if (!nativeOrNull()) return;
      const data = join(tmp, 'three');
      await writeImageFolder(join(data, 'train'), [4, 4, 4], { format: 'png' });
      const evaluated = join(tmp, 'ev.csv');
      const r = await wgnasInProcess([
        'search',
        ...FAST,
        '--cells-per-stage',
        '1',
        '--dataset',
        `folder:${data}`,
        '--evaluated',
        evaluated,
      ]);
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/^NAS-Bench-201's CIFAR-10 val accuracy of this cell: \d+\.\d+ %/m);
      expect(r.err).toContain(
        `note: the accuracy is NAS-Bench-201's table figure for this cell trained on CIFAR-10, not a result on --dataset folder:${data}: the search scored cells on its images and trained nothing (--train-epochs N --train-out DIR trains the cell on them)\n`,
      );
      expect(readFileSync(evaluated, 'utf8').split('\n')[0]).toBe(
        'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,wrcor_stage,time_ms',
      );
      const c = await wgnasInProcess(['correlate', '--scores', evaluated, '--bootstrap', '0']);
      expect(c.code, c.err).toBe(0);
      expect(c.out).toMatch(/^wrcor\s+2\s/m);
    },
  );

  it('the note on the accuracy on other images: suggests --train-epochs only when the search does not train next', () => {
    const note = (trainEpochs?: number) => {
      let err = '';
      const v = {
        strategy: 'random',
        proxy: 'wrcor',
        budget: 1,
        json: true,
        dataset: 'folder:/imgs',
        'cells-per-stage': 1,
        seed: 0,
        population: 1,
        'sample-size': 1,
        batch: 8,
        ...(trainEpochs === undefined ? {} : { 'train-epochs': trainEpochs }),
      };
      const best = parseArch('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|');
      printNb201Result(
        v,
        { out: () => {}, err: (s) => (err += s) },
        { best, bestScore: 1, evaluations: 1 },
        1,
        {},
        {} as Provenance,
      );
      return err;
    };
    const head =
      "note: the accuracy is NAS-Bench-201's table figure for this cell trained on CIFAR-10, not a result on --dataset folder:/imgs: the search scored cells on its images and trained nothing";
    expect(note()).toBe(`${head} (--train-epochs N --train-out DIR trains the cell on them)\n`);
    expect(note(1)).toBe(`${head}; the training that follows (--train-epochs) gives its accuracy on them\n`);
  });

  it('--space-file: one MAdds figure on stdout and in the JSON, never below --min-madds', { timeout: 300_000 }, async () => {
    if (!nativeOrNull()) return;
    const space = join(tmp, 'cifar-space.json');
    writeSpaceFile(space, handDesignedSpace(CIFAR_LAYOUT));
    const out = join(tmp, 'arch.json');
    const r = await wgnasInProcess(['search', '--space-file', space, '--min-madds', '4M', '--out', out, ...FAST]);
    expect(r.code, r.err).toBe(0);
    const j = (await import(out, { with: { type: 'json' } })).default as { madds: number; cellMadds: number; minMadds: number };
    expect(j.minMadds).toBe(4e6);
    expect(j.madds).toBeGreaterThanOrEqual(4e6);
    expect(j.cellMadds).toBeLessThan(j.madds);
    expect(r.out).toContain(`hand-designed space, ${(j.madds / 1e6).toFixed(2)} M MAdds)`);
    // The file written is said, as the other commands' --out is.
    expect(r.out.endsWith(`\nwrote ${out}\n`), r.out).toBe(true);
  });

  it("--latency-table without the layout's keys: the priced line names the table's source and says the ImageNet positions priced them", async () => {
    if (!nativeOrNull()) return;
    const space = join(tmp, 'cifar-space-lut.json');
    writeSpaceFile(space, handDesignedSpace(CIFAR_LAYOUT));
    const PIXEL = 'data/latency/proxylessnas_mobile_trim.yaml';
    const cost = tableCost(readLatencyTable(PIXEL), CIFAR_LAYOUT).cost!;
    expect(cost.source).toBe('imagenet-proxy');
    const args = ['search', '--space-file', space, '--max-latency-ms', '1000', '--latency-table', PIXEL];
    const r = await wgnasInProcess([...args, '--budget', '1', '--batch', '8', '--device', 'cpu']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toContain(
      `priced the space's blocks from ${PIXEL} (Pixel 1, TFLite, 1 thread; published by ProxylessNAS) as the same positions of the ImageNet space (the table has no cifar keys: ImageNet-resolution latencies): skeleton ${cost.fixed.toFixed(3)} ms\n`,
    );
  }, 300_000);

  it('--latency-table missing many keys: the one-line error lists the keys that fit and says how many more', async () => {
    const space = join(tmp, 'cifar-space-one.json');
    writeSpaceFile(space, handDesignedSpace(CIFAR_LAYOUT));
    const one = join(tmp, 'one.yaml');
    const PIXEL = 'data/latency/proxylessnas_mobile_trim.yaml';
    writeFileSync(one, readFileSync(PIXEL, 'utf8').split('\n').slice(0, 4).join('\n') + '\n');
    const args = ['search', '--space-file', space, '--max-latency-ms', '1000', '--latency-table', one];
    const r = await wgnasInProcess([...args, '--budget', '1', '--device', 'cpu']);
    expect(r.code).toBe(1);
    expect(r.err).toBe(
      `wgnas search: latency table ${one} has no entry for 70 key(s) of this cifar-layout space: ` +
        'Conv-input:32x32x3-output:32x32x16, Conv_1-input:2x2x64-output:2x2x256, Logits-input:2x2x256-output:10, and 67 more; ' +
        'profile them (wgnas profile --space-file SPACE.json) or drop --latency-table to time the cells on this CPU\n',
    );
  });
});
