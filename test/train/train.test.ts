/**
 * `wgnas train`: the loss and schedule against references, a tiny run on a separable image folder
 * whose test accuracy must rise far above chance (CPU backend), a run killed mid-epoch and resumed
 * that ends with the same weights as an uninterrupted one, and resumes with other settings refused.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeNetwork, jsonNetwork, nb201Network, networkDigest } from '../../src/export/index.js';
import { readWeights } from '../../src/export/weights.js';
import { softmaxCrossEntropyF64 } from '../../src/kernels/reference/loss.js';
import { checkpointLockPath } from '../../src/nn/checkpoint.js';
import { smoothedCrossEntropy } from '../../src/nn/loss.js';
import { withClasses } from '../../src/train/network.js';
import { nb201CosineLr, warmupCosineLr } from '../../src/train/schedule.js';
import { sha256Hex } from '../../src/util/durable.js';
import { Rng } from '../../src/util/rng.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { wgnasChild } from '../helpers/child.js';
import { tinyNb201, wgnasInProcess } from '../helpers/cli.js';
import { writeImageFolder } from '../helpers/datasets.js';
import { MBCONV_PARITY } from '../helpers/train-parity.js';

const ARCH = '|nor_conv_3x3~0|+|skip_connect~0|nor_conv_1x1~1|+|avg_pool_3x3~0|skip_connect~1|nor_conv_3x3~2|';

describe('smoothedCrossEntropy', () => {
  const rng = new Rng(3);
  const N = 5;
  const K = 7;
  const logits = Float64Array.from(rng.normals(N * K, 2));
  const labels = [0, 6, 3, 3, 1];

  it('without smoothing is the softmax cross-entropy op and its gradient', () => {
    const r = smoothedCrossEntropy(logits, labels, K, 0);
    const ref = softmaxCrossEntropyF64(logits, labels, N, K);
    expect(r.loss).toBeCloseTo(ref.loss, 10);
    for (let i = 0; i < N * K; i++) expect(r.dlogits[i]).toBeCloseTo(ref.dlogits[i], 6);
  });

  it('with smoothing: the loss against (1-ε) one-hot + ε/K, and its gradient against finite differences', () => {
    const eps = 0.1;
    const r = smoothedCrossEntropy(logits, labels, K, eps);
    let want = 0;
    for (let n = 0; n < N; n++) {
      const row = logits.subarray(n * K, (n + 1) * K);
      const max = Math.max(...row);
      const logZ = Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0)) + max;
      for (let k = 0; k < K; k++) want -= ((k === labels[n] ? 1 - eps : 0) + eps / K) * (row[k] - logZ);
    }
    expect(r.loss).toBeCloseTo(want / N, 10);
    const h = 1e-6;
    for (const i of [0, 6, 13, 20, 34]) {
      const up = Float64Array.from(logits);
      const dn = Float64Array.from(logits);
      up[i] += h;
      dn[i] -= h;
      const fd = (smoothedCrossEntropy(up, labels, K, eps).loss - smoothedCrossEntropy(dn, labels, K, eps).loss) / (2 * h);
      expect(r.dlogits[i]).toBeCloseTo(fd, 5);
    }
  });

  it('counts argmax hits and refuses bad sizes', () => {
    expect(smoothedCrossEntropy([0, 1, 5, 0], [1, 0], 2).correct).toBe(2);
    expect(() => smoothedCrossEntropy([0, 1, 2], [0], 2)).toThrow(/3 logits for 1 labels x 2 classes/);
  });
});

describe('warmupCosineLr', () => {
  it('rises linearly over the warm-up, then follows the cosine to 0', () => {
    expect(warmupCosineLr(0.4, 0, 100, 4)).toBeCloseTo(0.1);
    expect(warmupCosineLr(0.4, 3, 100, 4)).toBeCloseTo(0.4);
    expect(warmupCosineLr(0.4, 4, 100, 4)).toBeCloseTo(0.4);
    expect(warmupCosineLr(0.4, 52, 100, 4)).toBeCloseTo(0.2);
    expect(warmupCosineLr(0.4, 99, 100, 0)).toBeCloseTo(0.2 * (1 + Math.cos((Math.PI * 99) / 100)));
  });
});

describe('nb201CosineLr', () => {
  it("is NAS-Bench-201's: warm-up lr(e + k/S)/W from 0, then the cosine per epoch over the epochs after it", () => {
    // 4 steps per epoch, 5 epochs, 1 of warm-up: T_max = 4.
    [0, 0.1, 0.2, 0.3].forEach((lr, t) => expect(nb201CosineLr(0.4, t, 4, 5, 1)).toBeCloseTo(lr, 15));
    for (let e = 1; e < 5; e++)
      for (let k = 0; k < 4; k++)
        expect(nb201CosineLr(0.4, 4 * e + k, 4, 5, 1)).toBeCloseTo(0.2 * (1 + Math.cos((Math.PI * (e - 1)) / 4)), 15);
    // No warm-up (the benchmark's 200E config): epoch e at 0.5 lr (1 + cos(pi e / E)).
    expect(nb201CosineLr(0.1, 199 * 195 + 7, 195, 200, 0)).toBeCloseTo(0.05 * (1 + Math.cos((Math.PI * 199) / 200)), 15);
  });
});

describe('wgnas train', () => {
  const hasCpu = cpuTestBackend() !== null;
  let dir = '';
  let data = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wgnas-train-'));
    data = join(dir, 'colours');
    await writeImageFolder(join(data, 'train'), [12, 12, 12, 12], { size: 40 });
    await writeImageFolder(join(data, 'test'), [5, 5, 5, 5], { size: 40 });
  }, 60_000);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** The command line; `o` replaces or adds flags (true: a switch, undefined: left out). */
  const args = (out: string, o: Record<string, string | true | undefined> = {}) => {
    const flags: Record<string, string | true | undefined> = {
      nb201: ARCH,
      channels: '4',
      'cells-per-stage': '1',
      dataset: `folder:${data}`,
      epochs: '4',
      batch: '8',
      lr: '0.05',
      device: 'cpu',
      'cpu-threads': '2',
      'latency-runs': '2',
      out,
      ...o,
    };
    return [
      'train',
      ...Object.entries(flags).flatMap(([k, v]) => (v === undefined ? [] : v === true ? [`--${k}`] : [`--${k}`, v])),
    ];
  };
  const short = { epochs: '3', quiet: true, 'latency-runs': '0' } as const;

  it.skipIf(!hasCpu)(
    'trains a separable folder dataset far above chance and writes weights, curve and report',
    { timeout: 240_000 },
    async () => {
      const out = join(dir, 'run');
      const r = await wgnasInProcess(args(out));
      expect(r.code, r.err).toBe(0);
      expect(r.out).toMatch(/test accuracy [\d.]+ % after 4 epochs/);
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.history).toHaveLength(4);
      // 4 classes: chance is 25 %.
      expect(report.testAccuracy).toBeGreaterThanOrEqual(0.8);
      expect(report.params).toBeGreaterThan(0);
      expect(report.madds).toBeGreaterThan(0);
      // NAS-Bench-201 is no op chain: no deployable figure, wgnas' own forward labelled as such.
      expect(report.latencyMs).toBeNull();
      expect(report.forwardLatencyMs).toBeGreaterThan(0);
      expect(report.forwardLatency).toMatchObject({ batch: 1, runs: 2, device: 'native CPU (1 thread)' });
      expect(r.out).toMatch(/batch 1: wgnas CPU-backend forward [\d.]+ ms \(native CPU \(1 thread\); not an MBConv chain/);
      const index = JSON.parse(readFileSync(join(out, 'weights.json'), 'utf8'));
      expect(index.format).toBe('wgnas-weights');
      const names: string[] = index.tensors.map((t: { name: string }) => t.name);
      expect(names).toContain('stem.bn.running_mean');
      expect(names).toContain('last.bn.running_var');
      expect(readFileSync(join(out, 'curve.svg'), 'utf8')).toMatch(/^<svg[^]*accuracy[^]*<\/svg>/);
      // The weights file feeds wgnas export (every BN's running statistics present).
      const ex = await wgnasInProcess([
        'export',
        ...tinyNb201(ARCH),
        '--classes',
        '4',
        '--weights',
        join(out, 'weights.json'),
        '--out',
        join(out, 'm.onnx'),
      ]);
      expect(ex.code, ex.err).toBe(0);
      expect(ex.out).toMatch(/running statistics from the weights file/);
    },
  );

  it.skipIf(!hasCpu)(
    'a run killed mid-epoch and resumed ends with the same weights as an uninterrupted one; other settings are refused',
    { timeout: 300_000 },
    async () => {
      const whole = join(dir, 'whole');
      const cut = join(dir, 'cut');
      const a = await wgnasChild(args(whole, short));
      expect(a.code, a.stderr).toBe(0);
      // 48 images / batch 8 = 6 steps per epoch: step 9 is in the middle of epoch 2.
      const killed = await wgnasChild(args(cut, short), { killAt: 'train.step:9' });
      expect(killed.signal).toBe('SIGKILL');
      expect(existsSync(join(cut, 'weights.json'))).toBe(false);
      const again = await wgnasInProcess(args(cut, short));
      expect(again.code).toBe(2);
      expect(again.err).toMatch(/holds a checkpoint of an earlier run: --resume continues it, --force starts over/);
      // Without --quiet: refused before the device opens (no 'training ...' line first); the one line
      // besides the refusal is the note that the killed run's lock is taken over.
      const other = await wgnasInProcess(args(cut, { ...short, quiet: undefined, lr: '0.2', resume: true }));
      expect(other.code).toBe(2);
      expect(
        other.err
          .trim()
          .split('\n')
          .filter((l) => !l.startsWith('note: ')),
      ).toEqual([expect.stringMatching(/^wgnas train: --resume: lr was 0.05, now 0.2 in \S+; give the saved settings/)]);
      // Fewer images change their fingerprint too: the count is named, not 'dataset images'.
      const fewer = await wgnasInProcess(args(cut, { ...short, 'train-images': '40', resume: true }));
      expect(fewer.code).toBe(2);
      expect(fewer.err).toMatch(/^wgnas train: --resume: train-images was 48, now 40 in \S+; give the saved settings/);
      const resumed = await wgnasChild(args(cut, { epochs: '3', 'latency-runs': '0', resume: true }));
      expect(resumed.code, resumed.stderr).toBe(0);
      expect(resumed.stderr).toMatch(/\nresuming after epoch 1 of 3 from \S+checkpoint\nepoch 2\/3: /);
      expect(readFileSync(join(cut, 'weights.bin')).equals(readFileSync(join(whole, 'weights.bin')))).toBe(true);
      const h = (p: string) =>
        JSON.parse(readFileSync(join(p, 'report.json'), 'utf8')).history.map((e: { testAcc: number; trainLoss: number }) => [
          e.testAcc,
          e.trainLoss,
        ]);
      expect(h(cut)).toEqual(h(whole));
    },
  );

  it.skipIf(!hasCpu)(
    'a --force run killed between the weights .bin and its index leaves no index naming the other .bin; --resume writes both and removes the temporary',
    { timeout: 240_000 },
    async () => {
      const out = join(dir, 'pair');
      const one = { epochs: '1', quiet: true, 'latency-runs': '0' } as const;
      const first = await wgnasInProcess(args(out, { ...one, seed: '1' }));
      expect(first.code, first.err).toBe(0);
      const old = readFileSync(join(out, 'weights.bin'));
      const killed = await wgnasChild(args(out, { ...one, force: true }), { killAt: 'weights.index.tmp-written' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      // The other seed's .bin is in place: an index left beside it would describe the old weights.
      expect(readFileSync(join(out, 'weights.bin')).equals(old)).toBe(false);
      if (existsSync(join(out, 'weights.json'))) expect(() => readWeights(join(out, 'weights.json'))).not.toThrow();
      const resumed = await wgnasInProcess(args(out, { ...one, resume: true }));
      expect(resumed.code, resumed.err).toBe(0);
      expect(readWeights(join(out, 'weights.json')).sha256).toBe(sha256Hex(readFileSync(join(out, 'weights.bin'))));
      expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    },
  );

  it.skipIf(!hasCpu)(
    'a --force run killed after its new weights leaves no report.json of the earlier run beside them; --resume writes the set',
    { timeout: 240_000 },
    async () => {
      const out = join(dir, 'report-set');
      const one = { epochs: '1', quiet: true, 'latency-runs': '0' } as const;
      const seedOf = () =>
        (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as { settings: { seed: number } }).settings.seed;
      const first = await wgnasInProcess(args(out, { ...one, seed: '1' }));
      expect(first.code, first.err).toBe(0);
      expect(seedOf()).toBe(1);
      const killed = await wgnasChild(args(out, { ...one, seed: '2', force: true }), { killAt: 'weights.index.renamed' });
      expect(killed.signal, killed.stderr).toBe('SIGKILL');
      // Seed 2's weights are in place (their index verifies); a report there would be seed 1's.
      expect(() => readWeights(join(out, 'weights.json'))).not.toThrow();
      expect(existsSync(join(out, 'report.json'))).toBe(false);
      const resumed = await wgnasInProcess(args(out, { ...one, seed: '2', resume: true }));
      expect(resumed.code, resumed.err).toBe(0);
      expect(seedOf()).toBe(2);
      expect(readWeights(join(out, 'weights.json')).sha256).toBe(sha256Hex(readFileSync(join(out, 'weights.bin'))));
    },
  );

  it.skipIf(!hasCpu)('search --train-epochs hands the cell it found to wgnas train', { timeout: 240_000 }, async () => {
    const out = join(dir, 'found');
    const r = await wgnasInProcess([
      'search',
      '--budget',
      '2',
      '--batch',
      '8',
      '--cells-per-stage',
      '1',
      '--dataset',
      `folder:${data}`,
      '--device',
      'cpu',
      '--cpu-threads',
      '2',
      '--quiet',
      '--train-epochs',
      '1',
      '--train-out',
      out,
    ]);
    expect(r.code, r.err).toBe(0);
    const best = /best cell:\s+(\S+)/.exec(r.out)![1];
    // The cell quoted: pasted into a shell, `|` would start a pipeline.
    const line = `wgnas train --out ${out} --epochs 1 --dataset folder:${data} --device cpu --seed 0 --batch 48 --cpu-threads 2 --quiet --nb201 '${best}' --cells-per-stage 1`;
    expect(r.err).toContain(`training the network found: ${line}\n`);
    const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
    expect(report.network).toContain(best);
    // DIR/network.json: the cell trained, as a file train --net and export --net read.
    const file = JSON.parse(readFileSync(join(out, 'network.json'), 'utf8'));
    expect(file).toEqual({ format: 'wgnas-nb201', version: 1, arch: best, channels: 16, cellsPerStage: 1 });
    expect(jsonNetwork(file)).toEqual(nb201Network(best, { cellsPerStage: 1 }));
    expect(describeNetwork(withClasses(jsonNetwork(file), 4))).toBe(report.network);
    expect(report.history).toHaveLength(1);
    const lone = await wgnasInProcess(['search', '--budget', '2', '--train-epochs', '1']);
    expect(lone.code).toBe(2);
    expect(lone.err).toMatch(/--train-epochs writes the training into a directory; give --train-out DIR/);
  });

  it.skipIf(!hasCpu)(
    "--recipe nb201 sets NAS-Bench-201's values for the flags not given, records the recipe and refuses a resume under another",
    { timeout: 120_000 },
    async () => {
      const out = join(dir, 'recipe');
      const r = await wgnasInProcess(args(out, { ...short, epochs: '1', recipe: 'nb201' }));
      expect(r.code, r.err).toBe(0);
      const { settings } = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      // --epochs, --batch and --lr were given; the others are the recipe's.
      expect(settings).toMatchObject({
        recipe: 'nb201',
        epochs: 1,
        batch: 8,
        lr: 0.05,
        momentum: 0.9,
        'weight-decay': 5e-4,
        'label-smoothing': 0,
        'warmup-epochs': 0,
      });
      // A lock left by a killed run: the refusal is still one line (no 'taking it over' note first).
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      writeFileSync(
        checkpointLockPath(join(out, 'checkpoint')),
        JSON.stringify({ pid: dead, host: hostname(), since: '2026-01-01T00:00:00.000Z' }) + '\n',
      );
      const other = await wgnasInProcess(args(out, { ...short, epochs: '2', resume: true }));
      expect(other.code).toBe(2);
      expect(other.err).toMatch(/--resume: recipe was nb201, now default/);
      expect(other.err.trimEnd().split('\n'), other.err).toHaveLength(1);
    },
  );

  it.skipIf(!hasCpu)(
    "trains a net.config at its BN eps and momentum (--bn-momentum overrides it); export's model has the eps",
    { timeout: 120_000 },
    async () => {
      const cfg = join(dir, 'eps.config');
      writeFileSync(cfg, JSON.stringify({ ...MBCONV_PARITY.netConfig, bn: { momentum: 0.2, eps: 1e-3 } }));
      const noNb201 = { nb201: undefined, channels: undefined, 'cells-per-stage': undefined };
      const out = join(dir, 'eps');
      // No warm-up: a 1-epoch run's default one is cut with a note, and stderr is to say nothing here.
      const r = await wgnasInProcess(args(out, { ...short, ...noNb201, epochs: '1', net: cfg, 'warmup-epochs': '0' }));
      expect(r.code, r.err).toBe(0);
      expect(r.err).toBe('');
      const report = JSON.parse(readFileSync(join(out, 'report.json'), 'utf8'));
      expect(report.network).toMatch(/, BN eps 0\.001$/);
      expect(report.settings['bn-momentum']).toBe(0.2);
      expect(report.settings['network digest']).toMatch(/^[0-9a-f]{16}$/);
      // The class count is the dataset's, named as such on a resume: not part of the digest.
      const net = jsonNetwork(JSON.parse(readFileSync(cfg, 'utf8')));
      expect(networkDigest(withClasses(net, 7))).toBe(report.settings['network digest']);
      // Another net.config of the same size (a block's kernel 3 -> 5): its description is the same,
      // the recorded digest is not; a resume is refused naming it, before any work.
      const blocks = MBCONV_PARITY.netConfig!.blocks as Array<{ mobile_inverted_conv: Record<string, unknown> }>;
      const other = structuredClone(blocks);
      other[2].mobile_inverted_conv.kernel_size = 5;
      const cfg2 = join(dir, 'eps-k5.config');
      writeFileSync(cfg2, JSON.stringify({ ...MBCONV_PARITY.netConfig, blocks: other, bn: { momentum: 0.2, eps: 1e-3 } }));
      const resumed = await wgnasInProcess(
        args(out, { ...short, ...noNb201, epochs: '2', net: cfg2, 'warmup-epochs': '0', resume: true }),
      );
      expect(resumed.code, resumed.err).toBe(2);
      expect(resumed.err).toMatch(
        /^wgnas train: --resume: network digest was [0-9a-f]{16}, now [0-9a-f]{16} in \S+; --net names another network than the one this checkpoint trains; give its file, or --force starts over\n$/,
      );
      const onnx = join(out, 'model.onnx');
      const e = await wgnasInProcess([
        'export',
        '--net',
        cfg,
        '--classes',
        '4',
        '--weights',
        join(out, 'weights.json'),
        '--out',
        onnx,
      ]);
      expect(e.code, e.err).toBe(0);
      const meta = Object.fromEntries(
        onnxProto.onnx.ModelProto.decode(new Uint8Array(readFileSync(onnx))).metadataProps.map((p) => [p.key, p.value]),
      );
      expect(meta['wgnas.bn-epsilon']).toBe('0.001');
      const given = await wgnasInProcess(
        args(join(dir, 'eps2'), { ...short, ...noNb201, epochs: '1', net: cfg, 'bn-momentum': '0.3' }),
      );
      expect(given.code, given.err).toBe(0);
      expect(JSON.parse(readFileSync(join(dir, 'eps2', 'report.json'), 'utf8')).settings['bn-momentum']).toBe(0.3);
    },
  );

  it('refuses bad input with one line before any work', async () => {
    const out = join(dir, 'bad');
    const cases: Array<[Record<string, string | true>, RegExp]> = [
      [{ 'train-images': '1000' }, /--train-images 1000: folder:.* has 48 training images/],
      [{ batch: '64' }, /--batch 64 is more than the 48 training images/],
      [{ resume: true }, /--resume: no checkpoint in .*checkpoint/],
      [{ resume: true, force: true }, /--resume and --force contradict each other/],
    ];
    for (const [extra, msg] of cases) {
      const r = await wgnasInProcess(args(out, extra));
      expect(r.code, r.err).toBe(2);
      expect(r.err.trim().split('\n')).toHaveLength(1);
      expect(r.err).toMatch(msg);
    }
    // A file of DIR that is a directory would fail its write after the whole training.
    const taken = join(dir, 'taken');
    mkdirSync(join(taken, 'report.json'), { recursive: true });
    const r = await wgnasInProcess(args(taken));
    expect(r.code).toBe(2);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(
      /--out '.*taken': report\.json there is a directory, where the run writes a file; remove it or name another --out/,
    );
    expect(existsSync(join(taken, 'checkpoint'))).toBe(false);
    const found = await wgnasInProcess(['search', '--budget', '2', '--train-epochs', '1', '--train-out', taken]);
    expect(found.code).toBe(2);
    expect(found.err).toMatch(/--train-out '.*taken': report\.json there is a directory/);
    // Its checkpoint folder as a file: the first checkpoint would fail on it (a bare EEXIST).
    const blocked = join(dir, 'blocked');
    mkdirSync(blocked);
    writeFileSync(join(blocked, 'checkpoint'), '');
    for (const [argv, flag] of [
      [args(blocked), 'out'],
      [['search', '--budget', '2', '--train-epochs', '1', '--train-out', blocked], 'train-out'],
    ] as const) {
      const b = await wgnasInProcess(argv);
      expect(b.code).toBe(2);
      expect(b.err.trim().split('\n'), b.err).toHaveLength(1);
      expect(b.err).toMatch(
        new RegExp(
          `--${flag} '.*blocked': checkpoint there is a regular file, where the run keeps its checkpoints \\(a directory\\)`,
        ),
      );
    }
    const noNet = await wgnasInProcess(['train', '--out', out]);
    expect(noNet.code).toBe(2);
    expect(noNet.err).toMatch(/give the network: --net CONFIG.json or --nb201 ARCH/);
  });
});
