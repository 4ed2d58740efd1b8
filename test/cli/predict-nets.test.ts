/**
 * `wgnas predict` and `profile --net` on the networks the searches write: a wgnas-arch of MBConv
 * cells is priced by the same block keys as its net.config, one with a learned cell by its nodes'
 * keys (or refused in one line by a table without them); a missing key is explained for what it is
 * (a table of another resolution, a --missing policy that found nothing); a Once-for-All table is
 * refused in one line; --measure compares like with like (--field's statistic of the runs).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { archParts, fromNetConfig } from '../../src/latency/arch.js';
import { readLatencyTable } from '../../src/latency/lut.js';
import { cellNetParts } from '../../src/mobilenet/cell-latency-keys.js';
import { formatCell, parseCell } from '../../src/mobilenet/cell-text.js';
import { CIFAR_LAYOUT, layerShapes } from '../../src/mobilenet/layout.js';
import { archJson, spaceEntry, spaceFromLayout, handDesignedSpace, loadSpace } from '../../src/mobilenet/space-file.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';
import { NET, wgnasInProcess } from '../helpers/cli.js';
import { nativeOrNull } from '../helpers/native.js';

const tmp = mkdtempSync(join(tmpdir(), 'wgnas-predict-nets-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** A table of `keys`, entry i with mean i + 1 and median 10 (i + 1). */
function writeTable(name: string, keys: readonly string[]): string {
  const path = join(tmp, name);
  writeFileSync(path, keys.map((k, i) => `${k}:\n  count: 3\n  mean: ${i + 1}\n  median: ${10 * (i + 1)}\n`).join(''));
  return path;
}
const write = (name: string, json: unknown) => {
  const path = join(tmp, name);
  writeFileSync(path, JSON.stringify(json));
  return path;
};
const totalOf = (out: string) => Number(/^total\s+([\d.]+) ms/m.exec(out)![1]);

const space = spaceFromLayout(CIFAR_LAYOUT);
const choices = space.cells.map((c, b) => (b * 5) % c.length);
const configPath = write('cifar.config', toNetConfig(CIFAR_LAYOUT, choices));
const mbArchPath = write('mb-arch.json', archJson(space, choices));
const blockKeys = [...new Set(archParts(fromNetConfig(JSON.parse(readFileSync(configPath, 'utf8')))).map((p) => p.key))];
const blockTable = writeTable('blocks.yaml', blockKeys);
/** The config's total from blockTable's means: every part its key's index + 1. */
const meanTotal = archParts(fromNetConfig(JSON.parse(readFileSync(configPath, 'utf8')))).reduce(
  (s, p) => s + blockKeys.indexOf(p.key) + 1,
  0,
);

/** The CIFAR space with a two-branch cell (no MBConv) at the first stride-1 layer, chosen there. */
const layer = layerShapes(CIFAR_LAYOUT).findIndex((s) => s.stride === 1);
const learnedFile = handDesignedSpace(CIFAR_LAYOUT);
learnedFile.layers[layer].cells.push(spaceEntry(parseCell('pw3<0;dw3<1;pwl<2;pwl<0;=>3+4'), layerShapes(CIFAR_LAYOUT)[layer]));
const learned = loadSpace({ ...learnedFile, source: 'autospace' });
const learnedChoices = choices.map((j, b) => (b === layer ? learned.cells[b].length - 1 : j));
const learnedPath = write('learned-arch.json', archJson(learned, learnedChoices));
const nodeParts = cellNetParts(
  CIFAR_LAYOUT,
  learnedChoices.map((j, b) => learned.cells[b][j]),
);
const nodeKeys = [...new Set(nodeParts.map((p) => p.key))];
const nodeTable = writeTable('nodes.yaml', nodeKeys);

describe('predict --net a wgnas-arch', () => {
  it('of MBConv cells: the same parts and total as its net.config', async () => {
    const a = await wgnasInProcess(['predict', '--table', blockTable, '--net', mbArchPath]);
    expect(a.code, a.err).toBe(0);
    const c = await wgnasInProcess(['predict', '--table', blockTable, '--net', configPath]);
    expect(a.out.split('\n').slice(0, -2)).toEqual(c.out.split('\n').slice(0, -2));
    // The sum of the means of the parts the network uses.
    expect(totalOf(a.out)).toBeCloseTo(meanTotal, 3);
  });

  it('with a learned cell: priced by its nodes in a table of nodes; a table of blocks refuses it in one line', async () => {
    const r = await wgnasInProcess(['predict', '--table', nodeTable, '--net', learnedPath, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out) as { totalMs: number; parts: Array<{ name: string; key: string }> };
    expect(j.parts.map((p) => p.key)).toEqual(nodeParts.map((p) => p.key));
    expect(j.parts.filter((p) => p.name.startsWith(`block ${layer + 1} node`))).toHaveLength(4);
    expect(j.totalMs).toBeCloseTo(
      nodeParts.reduce((s, p) => s + nodeKeys.indexOf(p.key) + 1, 0),
      9,
    );
    const bad = await wgnasInProcess(['predict', '--table', blockTable, '--net', learnedPath]);
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split('\n')).toHaveLength(1);
    expect(bad.err).toMatch(
      new RegExp(
        `--net .*learned-arch\\.json: layer ${layer}'s cell ${formatCell(learned.cells[layer].at(-1)!).replace(/[+]/g, '\\+')} is no MBConv block: a table prices it by its nodes' keys \\(conv-/dwconv-\\), and .*blocks\\.yaml has none; time them on the table's device: wgnas profile --net`,
      ),
    );
    const measure = await wgnasInProcess(['predict', '--table', nodeTable, '--net', learnedPath, '--measure']);
    expect(measure.code).toBe(2);
    expect(measure.err).toMatch(
      /--measure --runtime native: .* has cells that are no MBConv block; .*use --runtime onnxruntime\n$/,
    );
  });

  it('profile --net a wgnas-arch times the keys predict reads', { timeout: 120_000 }, async () => {
    if (!nativeOrNull()) return;
    for (const [net, keys] of [
      [mbArchPath, blockKeys],
      [learnedPath, nodeKeys],
    ] as const) {
      const out = join(tmp, `profiled-${keys.length}.yaml`);
      const args = ['profile', '--net', net, '--out', out, '--repeats', '2', '--warmup', '0', '--max-time-ms', '50'];
      const r = await wgnasInProcess([...args, '--limit', '3', '--quiet']);
      expect(r.code, r.err).toBe(0);
      expect([...readLatencyTable(out).entries.keys()]).toEqual(keys.slice(0, 3));
      expect(readLatencyTable(out).meta.resolution).toBe('32');
    }
  });
});

describe('predict: what is wrong when keys are missing', () => {
  it('a table of another resolution is named as such, with a way out that works and no --missing advice', async () => {
    // A CIFAR-layout net.config: its ImageNet-layout twin, as wgnas proxyless priced it (not --resolution
    // 224, whose stride-1 224x224 stem no 224 table has).
    const r = await wgnasInProcess(['predict', '--table', 'data/latency/proxylessnas_mobile_trim.yaml', '--net', configPath]);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /has no entry for \d+ key\(s\); the table is of 224x224 inputs, the network takes 32x32: none of its keys can be there; profile it on the table's device \(wgnas profile --net NET\), or price its ImageNet-layout twin as wgnas proxyless did with this table: --imagenet-twin: Conv-input:32x32x3/,
    );
    expect(r.err).not.toMatch(/--missing|--resolution/);
    const twin = await wgnasInProcess([
      ...['predict', '--table', 'data/latency/proxylessnas_mobile_trim.yaml', '--net', configPath, '--imagenet-twin'],
    ]);
    expect(twin.code, twin.err).toBe(0);
    // The shipped mobile net at 32: --resolution 224 prices it, with --missing nearest for the 3 keys the trim table lacks.
    const net = write('mobile-32.config', { ...JSON.parse(readFileSync(NET, 'utf8')), resolution: 32 });
    const m = await wgnasInProcess(['predict', '--table', 'data/latency/proxylessnas_mobile_trim.yaml', '--net', net]);
    expect(m.err).toMatch(
      /the network takes 32x32: .*, or price it at the table's input size: --resolution 224 --missing nearest: Conv-input:32x32x3/,
    );
    const at224 = await wgnasInProcess([
      ...['predict', '--table', 'data/latency/proxylessnas_mobile_trim.yaml', '--net', net, '--resolution', '224'],
      ...['--missing', 'nearest'],
    ]);
    expect(at224.code, at224.err).toBe(0);
  });

  it('--missing nearest that finds nothing says so instead of suggesting --missing', async () => {
    // The table without the stem: no other Conv key of that input size to approximate it from.
    const short = writeTable('no-stem.yaml', blockKeys.slice(1));
    const r = await wgnasInProcess(['predict', '--table', short, '--net', configPath, '--missing', 'nearest']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(
      /has no entry for 1 key\(s\); --missing nearest found no entry of the same op, sizes, expand, kernel, stride and skip to approximate them from; profile them \(wgnas profile --net NET\): Conv-input:32x32x3-output:32x32x16\n$/,
    );
    const plain = await wgnasInProcess(['predict', '--table', short, '--net', configPath]);
    expect(plain.err).toMatch(/approximate them from the closest entries with missing policy 'nearest' or 'scale' \(--missing\)/);
  });
});

describe('a Once-for-All MobileNetV3 table', () => {
  const OFA = 'data/latency/ofa_note10_224_lookup_table.yaml';
  it('predict refuses it in one line saying why, not with a list of missing keys', async () => {
    const net = 'data/latency/proxylessnas_proxyless_mobile.config';
    const r = await wgnasInProcess(['predict', '--table', OFA, '--net', net]);
    expect(r.code).toBe(2);
    expect(r.err).toBe(
      `wgnas predict: --table ${OFA}: a Once-for-All MobileNetV3 table (AvgPool2D / Conv_2 keys, blocks with squeeze-excite and h-swish fields, mid channels as expand), not one of ProxylessNAS MobileNetV2 blocks: wgnas prices MobileNetV2 networks and cell spaces only (docs/latency-tables.md)\n`,
    );
  });

  it('search --space-file --latency-table refuses it the same way', async () => {
    const file = write('hand.json', handDesignedSpace(CIFAR_LAYOUT));
    const r = await wgnasInProcess(['search', '--space-file', file, '--latency-table', OFA, '--max-latency-ms', '5']);
    expect(r.code).toBe(1);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/latency table .*ofa_note10_224_lookup_table\.yaml is a Once-for-All MobileNetV3 table/);
  });
});

describe('predict --measure compares like with like', () => {
  it("--field mean against the runs' mean, --field median against their median, saying which", { timeout: 120_000 }, async () => {
    if (!nativeOrNull()) return;
    for (const field of ['mean', 'median'] as const) {
      const args = ['predict', '--table', blockTable, '--net', configPath, '--field', field, '--measure', '--repeats', '3'];
      const r = await wgnasInProcess(args);
      expect(r.code, r.err).toBe(0);
      const m = new RegExp(
        `^measured ([\\d.]+) ms ${field} \\(${field === 'mean' ? 'median' : 'mean'} [\\d.]+, IQR .*; table minus measured \\(${field} vs ${field}\\) ([+-][\\d.]+)%$`,
        'm',
      ).exec(r.out);
      expect(m, r.out).not.toBeNull();
      expect(totalOf(r.out)).toBeCloseTo(field === 'mean' ? meanTotal : 10 * meanTotal, 3);
      const j = JSON.parse((await wgnasInProcess([...args, '--json'])).out) as {
        totalMs: number;
        measured: { statistic: string; meanMs: number; medianMs: number; errorPct: number };
      };
      expect(j.measured.statistic).toBe(field);
      const ms = field === 'mean' ? j.measured.meanMs : j.measured.medianMs;
      expect(j.measured.errorPct).toBe(((j.totalMs - ms) / ms) * 100);
      // The synthetic table sums mean i + 1 / median 10 (i + 1) per key: the median total is 10 times the mean's.
      expect(j.totalMs).toBe(field === 'mean' ? meanTotal : 10 * meanTotal);
    }
  });
});
