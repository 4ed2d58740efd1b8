/**
 * scripts/device-summary.mjs on what a device run leaves when steps are cut, fail or never run: a
 * readable summary.md every time (each part it cannot read costs that part only), partial score
 * files counted, and the progress logs of steps cut before their result file shown in their place.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const script = resolve(__dirname, '..', '..', 'scripts', 'device-summary.mjs');
let dir = '';
afterEach(() => rmSync(dir, { recursive: true, force: true }));

function summarise(files: Record<string, string>): string {
  dir = mkdtempSync(join(tmpdir(), 'wgnas-summary-'));
  for (const [f, text] of Object.entries(files)) writeFileSync(join(dir, f), text);
  execFileSync(process.execPath, [script, dir], { stdio: 'pipe' });
  return readFileSync(join(dir, 'summary.md'), 'utf8');
}

const HEADER = 'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,wrcor_stage,val_acc,time_ms\n';
/** score --out's columns at WRCor definition 2 (wrcor 2^stage, wrcor_module 2^module). */
const V2_HEADER = 'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,wrcor_module,val_acc,time_ms\n';
/** score --out's columns at WRCor definition 1 (before 2026-12-06: wrcor 2^stage only). */
const OLD_HEADER = 'arch,wrcor,wrcor_act,wrcor_grad,wrcor_unweighted,val_acc,time_ms\n';

describe('device-summary.mjs', () => {
  it('summarises a folder with only the suite log', () => {
    const md = summarise({ 'suite.log': '[suite 10:00:00] cli=x size=large\n[suite 10:00:01] end info rc=1 in 1s\n' });
    expect(md).toMatch(/^# Device suite — unknown adapter — /);
    expect(md).toMatch(/## Steps\n\n```\n\[suite 10:00:00\] cli=x/);
  });

  it('keeps going past files cut mid-write, and shows what cut steps kept', () => {
    const md = summarise({
      'suite.log': [
        '[suite 10:00:00] cli=x size=large budget=550s shapes=large cells=[--all] group=auto stacked-group=auto parity=32 procs=4 batch=64',
        '[suite 10:00:46] end score-all rc=124 in 45s',
        '[suite 10:02:10] end bench rc=124 in 80s',
        '[suite 10:03:00] end imagenet rc=124 in 45s',
        "[suite 10:03:00] skip latency-gpu: the suite's 550s budget is spent",
      ].join('\n'),
      'info.json': '{"adapter": {"vendor": "nvidia", "desc', // cut mid-write
      // Two dead cells (-Infinity) tie; the last line was cut short.
      'score-all.csv': `${HEADER}"|a|",-Infinity,1,1,1,-Infinity,10,5\n"|b|",-Infinity,1,1,1,-Infinity,20,5\n"|c|",5,1,1,1,5,30,5\n"|d|",7,1,`,
      'score-group1.csv': HEADER,
      'kernel-profile.json': '{"profile": {"wallMs": 1, "kernels": []}}', // no perArch: that part only
      'bench.log': 'matmul 4096x4096x4096\n  ours           3.800 ms  36000.00 GFLOP/s\nmatmul 8192x8192x8192\n',
      'imagenet-folder.log': 'proxyless  batch  64: 0.20 s/step, 640.00 images/s, peak RSS 900 MiB, tensors 5000 MiB\n',
      'bench-f16.json': JSON.stringify({
        results: [{ kernel: 'matmul-sgmat', label: '4096x4096x4096', error: 'no configuration' }],
      }),
    });
    expect(md).toMatch(/^# Device suite — unknown adapter/);
    // 3 whole rows; Kendall tau 2 / sqrt(6) with the -Infinity pair a tie (as a NaN difference it was discordant).
    // --all scores in index order: the cut run's cells are a prefix, and the line says so.
    expect(md).toMatch(
      /\| all cells, --group auto \(cut by the time limit: the first 3 cells in index order, not a random sample\) \| 3 \| 0\.0 \| 45 \| 0\.07 \| 0\.816 \|/,
    );
    expect(md).toMatch(/\| --group 1 \(parity\) \| 0 \|/);
    expect(md).toMatch(/Grouped vs ungrouped WRCor on the 0 common cells: [^\n]*: FAIL: nothing to compare\./);
    expect(md).toMatch(/\(kernel profile: not summarised: /);
    expect(md).toMatch(/\| matmul-sgmat \| 4096x4096x4096 \| error: no configuration \|/);
    expect(md).toMatch(
      /## bench: cut by its time limit, no bench\.json; the end of bench\.log\n\n```\nmatmul 4096x4096x4096\n {2}ours {11}3\.800 ms/,
    );
    expect(md).toMatch(
      /## imagenet: cut by its time limit, no imagenet-folder\.json;[^\n]*\n\n```\nproxyless {2}batch {2}64: 0\.20 s\/step/,
    );
    expect(md).toMatch(/skip latency-gpu: the suite's 550s budget is spent\n```/);
  });

  it('reads empty score cells as missing, -Infinity pairs as equal, and marks the parity lines ok or FAIL', () => {
    const log = (sel: string, rc: number) =>
      [
        `[suite 10:00:00] cli=x size=large budget=550s shapes=large cells=[${sel}] group=2 stacked-group=2 parity=32 procs=4 batch=64`,
        `[suite 10:00:46] end score-all rc=${rc} in 45s`,
      ].join('\n');
    const all = [
      `${HEADER}"|a|",-Infinity,1,1,1,-Infinity,10,5`,
      '"|b|",,,,,,40,5', // a cell whose score is missing: not WRCor 0 (which would rank it)
      '"|c|",5,1,1,1,5,30,5',
      '"|d|",7,1,1,1,7,20,5',
      '"|e|",9,1,1,1,9,,5', // no accuracy: out of tau, still in parity
    ].join('\n');
    const md = summarise({
      'suite.log': log('--sample 5', 0),
      'score-all.csv': all,
      // -Infinity on both sides agrees (a NaN difference before); |b| empty on one side: left out, not 1e12.
      'score-group1.csv': `${HEADER}"|a|",-Infinity,1,1,1,-Infinity,10,5\n"|b|",3,1,1,1,3,40,5\n"|c|",5.0001,1,1,1,5.0001,30,5\n"|e|",9,1,1,1,9,,5`,
      'score-stacked.csv': `${HEADER}"|a|",-Infinity,1,1,1,-Infinity,10,5\n"|c|",5,1,1,1,5,30,5\n"|d|",7.01,1,1,1,7.01,20,5`,
    });
    // tau over |a| |c| |d|: wrcor -Inf < 5 < 7 against accuracies 10 < 30 > 20: (2 - 1) / 3.
    expect(md).toMatch(/\| all cells, --group 2 \| 5 \| [\d.]+ \| 45 \| [\d.]+ \| 0\.333 \| 0\.333 \|/);
    expect(md).toMatch(
      /Grouped vs ungrouped WRCor and wrcor_stage on the 3 common cells \(1 without a score on one side, left out\): largest relative difference 2\.00e-5: ok \(threshold 0\.0001 relative\)\./,
    );
    expect(md).toMatch(
      /Stacked vs separate groups' WRCor and wrcor_stage on the 3 common cells: largest relative difference 1\.43e-3: FAIL \(threshold 0\.0001 relative\)\./,
    );
    expect(md).not.toMatch(/NaN|e\+12/);
    // A cut --sample run is a prefix of a random sample: no index-order note.
    const cut = summarise({ 'suite.log': log('--sample 5', 124), 'score-all.csv': all });
    expect(cut).toMatch(/\| all cells, --group 2 \(cut by the time limit\) \| 5 \|/);
  });

  it("gives wrcor_stage's tau beside wrcor's and holds both to the parity; older files read under the current names", () => {
    const md = summarise({
      'suite.log': [
        '[suite 10:00:00] cli=x size=large budget=550s shapes=large cells=[--sample 3] group=2 stacked-group=2 parity=3 procs=4 batch=64',
        '[suite 10:00:46] end score-all rc=0 in 45s',
      ].join('\n'),
      // Accuracies 10 < 30 > 20: wrcor 1 < 2 < 3 has tau 1/3, wrcor_stage 3 > 2 > 1 tau -1/3.
      'score-all.csv': `${HEADER}"|a|",1,1,1,1,3,10,5\n"|c|",2,1,1,1,2,30,5\n"|d|",3,1,1,1,1,20,5`,
      // Definition 2: its wrcor_module is wrcor (equal), its wrcor wrcor_stage (1e-3 apart): the parity fails on wrcor_stage alone.
      'score-group1.csv': `${V2_HEADER}"|a|",3.003,1,1,1,1,10,5\n"|c|",2,1,1,1,2,30,5\n"|d|",1,1,1,1,3,20,5`,
      // Definition 1: its wrcor (2^stage) is wrcor_stage; it has no wrcor of this definition.
      'score-stacked.csv': `${OLD_HEADER}"|a|",3,1,1,1,10,5\n"|c|",2,1,1,1,30,5\n"|d|",1,1,1,1,20,5`,
    });
    expect(md).toMatch(/\| wrcor_stage tau \|\n\|---\|---:\|---:\|---:\|---:\|---:\|---:\|\n/);
    expect(md).toMatch(/\| all cells, --group 2 \| 3 \| [\d.]+ \| 45 \| [\d.]+ \| 0\.333 \| -0\.333 \|\n/);
    expect(md).toMatch(/\| --group 1 \(parity\) \| 3 \| [^\n]*\| 0\.333 \| -0\.333 \|\n/);
    expect(md).toMatch(/\| --group 2 --group-mode stacked, the same cells \| 3 \| [^\n]*\| {2}\| -0\.333 \|\n/);
    expect(md).toMatch(
      /Grouped vs ungrouped WRCor and wrcor_stage on the 3 common cells: largest relative difference 9\.99e-4: FAIL \(threshold 0\.0001 relative\)\./,
    );
    expect(md).toMatch(
      /Stacked vs separate groups' wrcor_stage on the 3 common cells: largest relative difference 0\.00e\+0: ok /,
    );
  });

  it('tables the ImageNet configurations a cut run finished (its JSON is rewritten after each)', () => {
    const row = {
      method: 'proxyless',
      batch: 64,
      secondsPerStep: 0.2,
      imagesPerSecond: 640,
      peakRssBytes: 2 ** 30,
      peakTensorBytes: 2 ** 31,
    };
    const md = summarise({
      'suite.log': '[suite 10:03:00] end imagenet rc=124 in 45s\n',
      'imagenet-folder.json': JSON.stringify({
        folder: '8 classes x 64 JPEGs',
        size: 224,
        rows: [row, { method: 'evolve', batch: 256, device: 'gpu', error: 'exit 1: see the log above' }],
      }),
      'imagenet-folder.log': 'proxyless  batch  64: 0.20 s/step\n',
    });
    expect(md).toMatch(
      /## ImageNet layout at 224 \(8 classes x 64 JPEGs; cut by its time limit: the configurations it finished\)/,
    );
    expect(md).toMatch(/\| proxyless \| 64 \| 0\.200 \| 640\.0 \| 2048 \| 1024 \|/);
    expect(md).toMatch(/\| evolve \| 256 \| failed \(exit 1: see the log above; imagenet-folder\.log\) \| \| \| \|/);
    expect(md).not.toMatch(/## imagenet: /);
  });

  it("tables wgnas train's last epoch as images/s; says when the step was skipped or cut", () => {
    const epoch = (n: number, seconds: number) => ({ epoch: n, trainLoss: 2, testAcc: 0.1, seconds });
    const report = {
      format: 'wgnas-train-report',
      network: 'NAS-Bench-201 |a| (C=16, N=5, 10 classes, 32x32)',
      dataset: 'cifar10 (bundled subset: 2560 train / 512 test images)',
      settings: { batch: 256, 'test-images': 512 },
      schedule: { stepsPerEpoch: 10 },
      history: [epoch(1, 9), epoch(2, 1.6)],
    };
    const md = summarise({
      'suite.log': '[suite 10:09:00] end train rc=0 in 14s\n',
      'train-report.json': JSON.stringify(report),
    });
    // The second epoch: 10 steps of 256 images in 1.6 s.
    expect(md).toMatch(
      /## wgnas train: NAS-Bench-201 \|a\| \(C=16, N=5, 10 classes, 32x32\), cifar10 \(bundled subset: 2560 train \/ 512 test images\)\n\n\| batch \| steps per epoch \| epoch \| epoch s \| images\/s \| test images evaluated in the epoch \|\n\|[-:|]+\n\| 256 \| 10 \| 2 of 2 \| 1\.60 \| 1600\.0 \| 512 \|\n/,
    );
    expect(md).toMatch(/Peak memory: wgnas train does not report it\./);
    const skipped = summarise({ 'suite.log': "[suite 10:09:00] skip train: the suite's 550s budget is spent\n" });
    expect(skipped).toMatch(/\nwgnas train: skipped \(the suite's 550s budget is spent\)\.\n/);
    expect(skipped).not.toMatch(/## wgnas train/);
    // Cut before its report: the epoch lines its log kept.
    const cut = summarise({
      'suite.log': '[suite 10:09:20] end train rc=124 in 20s\n',
      'train.log': 'training NAS-Bench-201 |a|\nepoch 1/2: lr 0.100 to 0.100, train loss 2.3 acc 10.00 % (9.0 s)\n',
    });
    expect(cut).toMatch(
      /## train: cut by its time limit, no train-report\.json; the end of train\.log\n\n```\ntraining NAS-Bench-201 \|a\|\nepoch 1\/2: /,
    );
  });

  it('tables the batch norm A/B (WGNAS_BN_WG=64 / 256, WGNAS_BN_PLAN at 256) shape by shape, and shows what a cut run kept', () => {
    const row = (kernel: string, label: string, ms: number, gbps: number, chunks: number, kernels: number) => ({
      kernel,
      label,
      ours: { medianMs: ms, gbps },
      config: { wg: 0, chunks, kernels },
    });
    const md = summarise({
      'suite.log': '[suite 10:00:00] cli=x size=large\n[suite 10:01:00] end bench-bn-256 rc=124 in 15s\n',
      'bench-bn-64.json': JSON.stringify({
        results: [
          row('batchnorm', 'N64 C16 32x32', 0.08, 52.4, 4, 2),
          row('batchnorm-bwd', 'N64 C32 16x16', 0.1, 62.9, 1, 1),
          { kernel: 'batchnorm', label: 'N128 C144 56x56', error: 'out of memory' },
        ],
      }),
      'bench-bn-256.log': 'batchnorm N64 C16 32x32\n  ours           0.020 ms\n',
    });
    // 256's runs were cut or skipped before their JSON: their columns are n/a, and the cut one's log is shown.
    expect(md).toMatch(
      /\| batchnorm \| N64 C16 32x32 \| 80\.0 \| n\/a \| n\/a \| n\/a \| 52\.4 \(64\) \| {2}\| {2}\| 4x2 \/ \? \/ \? \/ \? \|/,
    );
    expect(md).toMatch(/\| batchnorm \| N128 C144 56x56 \| error: out of memory \| n\/a \| n\/a \| n\/a \| {2}\|/);
    expect(md).toMatch(/## bench-bn-256: cut by its time limit, no bench-bn-256\.json; the end of bench-bn-256\.log/);
    const all = summarise({
      'suite.log': '[suite 10:00:00] cli=x size=large\n',
      'bench-bn-64.json': JSON.stringify({ results: [row('batchnorm', 'N64 C32 16x16', 0.08, 52.4, 1, 1)] }),
      'bench-bn-256.json': JSON.stringify({ results: [row('batchnorm', 'N64 C32 16x16', 0.01, 419.4, 4, 2)] }),
      'bench-bn-256-single.json': JSON.stringify({ results: [row('batchnorm', 'N64 C32 16x16', 0.02, 209.7, 1, 1)] }),
      'bench-bn-256-split.json': JSON.stringify({ results: [row('batchnorm', 'N64 C32 16x16', 0.0125, 335.5, 16, 2)] }),
    });
    expect(all).toMatch(
      /\| batch norm A\/B \(WGNAS_BN_WG, WGNAS_BN_PLAN\) \| shape \| 64: us \| 256 auto: us \| 256 single: us \| 256 split: us \| fastest GB\/s \| auto vs 64 \| auto vs single \| chunks x kernels: 64 \/ 256 auto \/ 256 single \/ 256 split \|\n\|---\|[^\n]*\n\| batchnorm \| N64 C32 16x16 \| 80\.0 \| 10\.0 \| 20\.0 \| 12\.5 \| 419\.4 \(256 auto\) \| 8\.00x \| 2\.00x \| 1x1 \/ 4x2 \/ 1x1 \/ 16x2 \|\n/,
    );
  });
});
