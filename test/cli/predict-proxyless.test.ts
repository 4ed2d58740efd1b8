/**
 * `wgnas predict` prices the net.config `wgnas proxyless` writes with the table the search used, to
 * the latency the search reported: at the CIFAR layout as its ImageNet-layout twin
 * (--imagenet-twin, the search's 'imagenet-proxy' pricing), and at the ImageNet layout on a
 * 10-class folder, whose 10-class Logits the 1000-class table lacks (--missing nearest: the table's
 * Logits as the search priced it; --missing scale: scaled by multiply-accumulates, said so). The
 * hint of a table of another input size names a flag that works. And docs/api.md's predictLatency
 * pair (the shipped mobile net, the shipped trim table) as the doc says to call it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fromNetConfig } from '../../src/latency/arch.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { keyMacs, MissingLatencyError, predictLatency } from '../../src/latency/predictor.js';
import { parseLatencyKey } from '../../src/latency/keys.js';
import { archCost } from '../../src/mobilenet/cost/model.js';
import { tableCost } from '../../src/mobilenet/cost/table.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT, type MobileNetLayout } from '../../src/mobilenet/layout.js';
import { choicesFromNetConfig } from '../../src/proxyless/net-config.js';
import { cpuTestBackend } from '../helpers/backend.js';
import { NET, TABLE, TINY_PROXYLESS, wgnasInProcess } from '../helpers/cli.js';
import { writeNoiseImageFolder } from '../helpers/datasets.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-predict-proxyless-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const table = readLatencyTable(TABLE);
/** The "latency X ms" proxyless printed (2 decimals). */
const reportedMs = (out: string) => Number(/^latency ([\d.]+) ms \(table /m.exec(out)![1]);
/** The search's own cost of the net.config it wrote: its cost model of the layout, summed as it sums. */
function searchCost(layout: MobileNetLayout, config: unknown): number {
  const r = tableCost(table, layout);
  return archCost(r.cost!, choicesFromNetConfig(layout, config));
}
const predictJson = async (args: string[]) => {
  const r = await wgnasInProcess(['predict', '--table', TABLE, ...args, '--json']);
  expect(r.code, r.err).toBe(0);
  return JSON.parse(r.out) as {
    totalMs: number;
    pricedAs?: string;
    parts: Array<{ name: string; key: string; ms: number; approx?: { from: string; method: string; factor: number } }>;
  };
};

describe('predict prices what proxyless priced, with the same table', () => {
  it('CIFAR layout: --imagenet-twin gives the reported latency; the hint names it', { timeout: 180_000 }, async ({ skip }) => {
    if (!cpuTestBackend()) return skip();
    const out = join(tmp, 'cifar.config');
    const run = ['proxyless', ...TINY_PROXYLESS, '--steps', '2', '--device', 'cpu', '--cpu-threads', '1', '--quiet'];
    const px = await wgnasInProcess([...run, '--out', out]);
    expect(px.code, px.err).toBe(0);
    expect(px.out).toMatch(/the ImageNet-layout twin at 224x224 on the table's device/);
    const config = JSON.parse(readFileSync(out, 'utf8'));
    const searched = searchCost(CIFAR_LAYOUT, config);
    expect(reportedMs(px.out)).toBe(Number(searched.toFixed(2)));

    // Without the flag: refused, and the hint is the flag that prices it (followed below).
    const plain = await wgnasInProcess(['predict', '--table', TABLE, '--net', out]);
    expect(plain.code).toBe(1);
    expect(plain.err).toMatch(
      /the table is of 224x224 inputs, the network takes 32x32: none of its keys can be there; profile it on the table's device \(wgnas profile --net NET\), or price its ImageNet-layout twin as wgnas proxyless did with this table: --imagenet-twin: Conv-input:32x32x3/,
    );
    expect(plain.err).not.toMatch(/--resolution/);

    const p = await predictJson(['--net', out, '--imagenet-twin']);
    // The same table entries as the search's fixed part and rows, summed in another order: equal to
    // float rounding of a ~20-term sum, not bit for bit.
    expect(p.totalMs).toBeCloseTo(searched, 9);
    expect(p.parts.every((x) => !x.approx)).toBe(true);
    expect(p.parts[0].key).toBe('Conv-input:224x224x3-output:112x112x32');
    expect(p.parts.at(-1)!.key).toBe('Logits-input:7x7x1280-output:1000');
    expect(p.pricedAs).toBe("the cifar layout's ImageNet-layout twin at 224x224");
    const text = await wgnasInProcess(['predict', '--table', TABLE, '--net', out, '--imagenet-twin']);
    expect(text.out).toMatch(/^priced as the ImageNet-layout twin of .*cifar\.config \(cifar layout\)/m);
    expect(Number(/^total\s+([\d.]+) ms/m.exec(text.out)![1])).toBe(Number(searched.toFixed(3)));

    // The twin is 224x224 and another network than --measure runs.
    const both = await wgnasInProcess(['predict', '--table', TABLE, '--net', out, '--imagenet-twin', '--resolution', '224']);
    expect(both.code).toBe(2);
    expect(both.err).toMatch(/--imagenet-twin prices the twin at 224x224: drop --resolution/);
    const shipped = await wgnasInProcess(['predict', '--table', TABLE, '--net', NET, '--imagenet-twin']);
    expect(shipped.code).toBe(2);
    expect(shipped.err).toMatch(/--imagenet-twin: .* no net\.config of a built-in layout other than imagenet/);
  });

  it(
    'ImageNet layout on a 10-class folder: --missing nearest gives the reported latency, scale scales Logits',
    { timeout: 300_000 },
    async ({ skip }) => {
      if (!cpuTestBackend()) return skip();
      const folder = await writeNoiseImageFolder(join(tmp, 'images'), 10, 3);
      const out = join(tmp, 'imagenet.config');
      const px = await wgnasInProcess([
        'proxyless',
        ...['--latency-table', TABLE, '--target-ms', '100', '--layout', 'imagenet', '--dataset', `folder:${folder}`],
        ...['--train', '8', '--val', '4', '--batch', '2', '--val-batch', '2', '--warmup', '1', '--steps', '1'],
        ...['--device', 'cpu', '--cpu-threads', '1', '--quiet', '--out', out],
      ]);
      expect(px.code, px.err).toBe(0);
      // The search priced the table's head (its 1000-class Logits) and says so.
      expect(px.out).toMatch(/the classifier priced as the table's 1000-class Logits/);
      const config = JSON.parse(readFileSync(out, 'utf8'));
      expect(config.classifier.out_features).toBe(10);
      const searched = searchCost(IMAGENET_LAYOUT, config);
      expect(reportedMs(px.out)).toBe(Number(searched.toFixed(2)));

      const plain = await wgnasInProcess(['predict', '--table', TABLE, '--net', out]);
      expect(plain.code).toBe(1);
      expect(plain.err).toMatch(/no entry for 1 key\(s\).*Logits-input:7x7x1280-output:10\n$/);

      const nearest = await predictJson(['--net', out, '--missing', 'nearest']);
      expect(nearest.totalMs).toBeCloseTo(searched, 9);
      const logits = nearest.parts.at(-1)!;
      expect(logits.approx).toEqual({ from: 'Logits-input:7x7x1280-output:1000', method: 'nearest', factor: 1 });
      expect(nearest.parts.filter((x) => x.approx)).toHaveLength(1);

      const scale = await predictJson(['--net', out, '--missing', 'scale']);
      const factor = (7 * 7 * 1280 + 1280 * 10) / (7 * 7 * 1280 + 1280 * 1000);
      const l1000 = table.entries.get('Logits-input:7x7x1280-output:1000')!.mean!;
      expect(scale.parts.at(-1)!.approx!.factor).toBeCloseTo(factor, 12);
      expect(scale.parts.at(-1)!.ms).toBeCloseTo(l1000 * factor, 12);
      expect(scale.totalMs).toBeCloseTo(searched - l1000 + l1000 * factor, 9);
      const text = await wgnasInProcess(['predict', '--table', TABLE, '--net', out, '--missing', 'scale']);
      expect(text.out).toMatch(
        /^note: 1 part\(s\) not in the table were approximated \(--missing scale; a Logits entry of another class count scaled by multiply-accumulates, the pooling h\*w\*c plus in\*out features\); the other \d+ are the table's entries$/m,
      );
    },
  );
});

describe('--missing on a classifier of another class count (library)', () => {
  it('nearest takes the closest class count as is; scale multiplies by the MAC ratio', () => {
    const arch = { ...fromNetConfig(JSON.parse(readFileSync(NET, 'utf8'))), classes: 10 };
    expect(() => predictLatency(table, arch)).toThrow(MissingLatencyError);
    const p = predictLatency(table, arch, { missing: 'scale' });
    const logits = p.parts.find((x) => x.name === 'Logits')!;
    const want = parseLatencyKey('Logits-input:7x7x1280-output:10');
    const from = parseLatencyKey('Logits-input:7x7x1280-output:1000');
    expect(logits.approx).toEqual({
      from: 'Logits-input:7x7x1280-output:1000',
      method: 'scale',
      factor: keyMacs(want) / keyMacs(from),
    });
  });
});

describe("docs/api.md's predictLatency example", () => {
  it('the shipped mobile net with the shipped trim table: 3 keys missing, priced with missing nearest', () => {
    const doc = readFileSync(new URL('../../docs/api.md', import.meta.url), 'utf8');
    expect(doc).toMatch(
      /predictLatency\(readLatencyTable\(dataFile\('latency', 'proxylessnas_mobile_trim\.yaml'\)\), config, \{ missing: 'nearest' \}\)/,
    );
    const config = JSON.parse(readFileSync(NET, 'utf8'));
    let err: unknown;
    try {
      predictLatency(table, config);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(MissingLatencyError);
    expect((err as MissingLatencyError).keys).toHaveLength(3);
    const p = predictLatency(table, config, { missing: 'nearest' });
    expect(p.approximated).toHaveLength(3);
    expect(p.totalMs).toBeCloseTo(82.5, 1);
  });
});
