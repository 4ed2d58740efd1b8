/** Architecture conversion, table-sum prediction, missing-key policies and the supernet latency matrix. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import {
  ArchError,
  archParts,
  archToNativeOps,
  fromNetConfig,
  netConfigToKeys,
  parseArch,
  type ProxylessArch,
} from '../../src/latency/arch.js';
import { parseLatencyTable, readLatencyTable, type LatencyTable } from '../../src/latency/lut.js';
import {
  findLatency,
  lookupLatency,
  MissingLatencyError,
  predictLatency,
  supernetLatencies,
} from '../../src/latency/predictor.js';
import { archFromChoices, proxylessSpace, randomChoices, spaceKeys } from '../../src/latency/space.js';
import { Rng } from '../../src/util/rng.js';
import { CIFAR_LAYOUT, IMAGENET_LAYOUT } from '../../src/mobilenet/layout.js';
import { toNetConfig } from '../../src/proxyless/net-config.js';

const SHARED = new URL('../../data/latency/', import.meta.url).pathname;
const readJson = (f: string): unknown => JSON.parse(readFileSync(join(SHARED, f), 'utf8'));

// A tiny hand-made net at 8x8: stem 8 -> block (k3 e1) -> zero -> block (k5 e3 s2) -> Conv_1 -> Logits.
const tiny: ProxylessArch = {
  inputSize: 8,
  stem: { outC: 4, kernel: 3, stride: 2 },
  blocks: [
    { kernel: 3, expand: 1, stride: 1, inC: 4, outC: 4, inH: 4, idskip: true },
    'zero',
    { kernel: 5, expand: 3, stride: 2, inC: 4, outC: 8, inH: 4, idskip: false },
  ],
  featureMix: { outC: 16 },
  classes: 10,
};
const tinyKeys = [
  'Conv-input:8x8x3-output:4x4x4',
  'expanded_conv-input:4x4x4-output:4x4x4-expand:1-kernel:3-stride:1-idskip:1',
  'expanded_conv-input:4x4x4-output:2x2x8-expand:3-kernel:5-stride:2-idskip:0',
  'Conv_1-input:2x2x8-output:2x2x16',
  'Logits-input:2x2x16-output:10',
];
const tinyTable: LatencyTable = parseLatencyTable(
  tinyKeys
    .map((k, i) => `${k}:\n  count: 5\n  mean: ${[1.5, 2.25, 3, 0.5, 0.125][i]}\n  median: ${[1, 2, 3, 0.5, 0.25][i]}\n`)
    .join(''),
);

describe('architecture forms', () => {
  it('lists the keys and native ops of a compact arch (zero blocks skipped)', () => {
    expect(archParts(tiny).map((p) => p.key)).toEqual(tinyKeys);
    expect(archParts(tiny).map((p) => p.name)).toEqual(['Conv', 'block 0', 'block 2', 'Conv_1', 'Logits']);
    const ops = archToNativeOps(tiny);
    expect(ops[0]).toEqual({ type: 'conv', inH: 8, inC: 3, outC: 4, kernel: 3, stride: 2 });
    expect(ops[2]).toEqual({ type: 'mbconv', inH: 4, inC: 4, outC: 8, expand: 3, kernel: 5, stride: 2, idskip: false });
    expect(ops[4]).toEqual({ type: 'logits', inH: 2, inC: 16, outC: 10 });
  });

  it('converts the published ProxylessNAS-Mobile net.config', () => {
    const keys = netConfigToKeys(readJson('proxylessnas_proxyless_mobile.config'));
    expect(keys).toHaveLength(23); // stem + 19 MBConv (2 zero blocks) + Conv_1 + Logits
    expect(keys[0]).toBe('Conv-input:224x224x3-output:112x112x32');
    expect(keys[1]).toBe('expanded_conv-input:112x112x32-output:112x112x16-expand:1-kernel:3-stride:1-idskip:0');
    expect(keys[2]).toBe('expanded_conv-input:112x112x16-output:56x56x32-expand:3-kernel:5-stride:2-idskip:0');
    expect(keys[21]).toBe('Conv_1-input:7x7x320-output:7x7x1280');
    expect(keys[22]).toBe('Logits-input:7x7x1280-output:1000');
    const arch = fromNetConfig(readJson('proxylessnas_proxyless_mobile.config'));
    expect(arch.blocks.filter((b) => b === 'zero')).toHaveLength(2);
    for (const f of ['proxylessnas_proxyless_cpu.config', 'proxylessnas_proxyless_gpu.config']) {
      expect(() => parseArch(readJson(f))).not.toThrow();
    }
    // CIFAR layout: the same net at 32x32.
    expect(netConfigToKeys(readJson('proxylessnas_proxyless_mobile.config'), 32)[22]).toBe('Logits-input:1x1x1280-output:1000');
  });

  it('a net.config records its input resolution; predict prices it there unless told otherwise', () => {
    for (const layout of [CIFAR_LAYOUT, IMAGENET_LAYOUT]) {
      const blocks = toNetConfig(layout, Array.from({ length: 100 }, () => 0).slice(0, countSearchable(layout)));
      expect(blocks.resolution).toBe(layout.inputSize);
      expect(fromNetConfig(blocks).inputSize).toBe(layout.inputSize);
      expect(fromNetConfig(blocks, 64).inputSize).toBe(64); // an explicit --resolution wins
      const keys = netConfigToKeys(blocks);
      expect(keys[0]).toContain(`${layout.inputSize}x${layout.inputSize}`);
    }
    const legacy = { ...toNetConfig(CIFAR_LAYOUT, Array(countSearchable(CIFAR_LAYOUT)).fill(0)) } as Record<string, unknown>;
    delete legacy.resolution;
    expect(fromNetConfig(legacy).inputSize).toBe(224); // configs from elsewhere: the ImageNet default
    expect(() => fromNetConfig({ ...legacy, resolution: -3 })).toThrow(/resolution must be a positive integer/);
  });

  it('rejects inconsistent architectures', () => {
    const bad1 = { ...tiny, blocks: [{ ...(tiny.blocks[0] as object), inH: 5 }] } as ProxylessArch;
    expect(() => archParts(bad1)).toThrow(/block 0: input 5x5x4 does not match the previous output 4x4x4/);
    const bad2 = { ...tiny, blocks: [{ ...(tiny.blocks[0] as object), stride: 2 }] } as ProxylessArch;
    expect(() => archParts(bad2)).toThrow(/identity skip needs stride 1/);
    const cfg = readJson('proxylessnas_proxyless_mobile.config') as {
      blocks: Array<{ mobile_inverted_conv: Record<string, unknown> }>;
    };
    cfg.blocks[3].mobile_inverted_conv = { name: 'Transformer' };
    expect(() => fromNetConfig(cfg)).toThrow(/blocks\[3\]\.mobile_inverted_conv\.name is "Transformer": unknown layer/);
    expect(() => parseArch({ foo: 1 })).toThrow(ArchError);
    expect(() => fromNetConfig({ blocks: [] })).toThrow(/first_conv.in_channels/);
    // ProxylessNAS's mid_channels: honoured when it is in_channels x expand_ratio, refused otherwise.
    const mid = readJson('proxylessnas_proxyless_mobile.config') as typeof cfg;
    const conv = mid.blocks[2].mobile_inverted_conv;
    conv.mid_channels = (conv.in_channels as number) * (conv.expand_ratio as number);
    expect(() => fromNetConfig(mid)).not.toThrow();
    conv.mid_channels = (conv.mid_channels as number) + 1;
    expect(() => fromNetConfig(mid)).toThrow(/blocks\[2\]\.mobile_inverted_conv\.mid_channels is \d+; wgnas builds/);
  });
});

describe('table-sum prediction', () => {
  it('sums hand-computed entries (mean and median)', () => {
    expect(predictLatency(tinyTable, tiny).totalMs).toBe(1.5 + 2.25 + 3 + 0.5 + 0.125);
    expect(predictLatency(tinyTable, tiny, { field: 'median' }).totalMs).toBe(1 + 2 + 3 + 0.5 + 0.25);
    expect(predictLatency(tinyTable, tiny).parts.map((p) => p.ms)).toEqual([1.5, 2.25, 3, 0.5, 0.125]);
  });

  it('missing keys: error by default, nearest / MAC-scaled on request', () => {
    const wider: ProxylessArch = {
      ...tiny,
      blocks: [tiny.blocks[0], 'zero', { ...(tiny.blocks[2] as object), outC: 12 } as ProxylessArch['blocks'][number]],
    };
    // Conv_1 changes too (12 channels in), so two keys are missing.
    expect(() => predictLatency(tinyTable, wider)).toThrow(MissingLatencyError);
    const e = (() => {
      try {
        predictLatency(tinyTable, wider);
      } catch (err) {
        return err as MissingLatencyError;
      }
    })()!;
    expect(e.keys).toHaveLength(2);
    // A library caller is told the option and the export to use, in its terms: no CLI flag or command.
    expect(e.message).toBe(
      "latency table has no entry for 2 key(s); profile them on the table's device (buildLatencyTable), or approximate them " +
        `from the closest entries with the option missing: 'nearest' or 'scale': ${e.keys.join(', ')}`,
    );
    expect(e.message).not.toMatch(/--|wgnas /);
    const key = 'expanded_conv-input:4x4x4-output:2x2x12-expand:3-kernel:5-stride:2-idskip:0';
    const near = lookupLatency(tinyTable, key, { missing: 'nearest' });
    expect(near.ms).toBe(3);
    expect(near.approx?.from).toBe(tinyKeys[2]);
    // MACs: expand 4*4*4*12 = 768, dw 2*2*12*25 = 1200, project 2*2*12*outC.
    const macs = (outC: number): number => 768 + 1200 + 48 * outC;
    const scaled = lookupLatency(tinyTable, key, { missing: 'scale' });
    expect(scaled.ms).toBeCloseTo((3 * macs(12)) / macs(8), 12);
    // No entry of the same op and spatial size: still an error.
    expect(() =>
      lookupLatency(tinyTable, 'expanded_conv-input:9x9x4-output:9x9x4-expand:3-kernel:5-stride:1-idskip:1', {
        missing: 'nearest',
      }),
    ).toThrow(MissingLatencyError);
  });

  it('the published table covers the whole ProxylessNAS mobile space', () => {
    const pixel = readLatencyTable(join(SHARED, 'proxylessnas_mobile_trim.yaml'));
    const space = proxylessSpace();
    for (const k of spaceKeys(space)) expect(pixel.entries.has(k), k).toBe(true);
    const rng = new Rng(3);
    const arch = archFromChoices(space, randomChoices(space, rng));
    expect(predictLatency(pixel, arch).totalMs).toBeGreaterThan(20);
  });

  it('predicts ProxylessNAS-Mobile on Pixel 1 within 10% of the measured 80.64 ms', () => {
    const pixel = readLatencyTable(join(SHARED, 'proxylessnas_mobile_trim.yaml'));
    const arch = fromNetConfig(readJson('proxylessnas_proxyless_mobile.config'));
    // The published net widens stage 2 to 32 channels; the trimmed table only has the 24-channel
    // search space, so three blocks need the nearest-width entry.
    expect(() => predictLatency(pixel, arch)).toThrow(MissingLatencyError);
    const p = predictLatency(pixel, arch, { missing: 'nearest' });
    expect(p.approximated).toHaveLength(3);
    expect(Math.abs(p.totalMs - 80.64) / 80.64).toBeLessThan(0.1);
    expect(p.totalMs).toBeCloseTo(82.524, 2);
  });

  it('takes a net.config as parsed from its JSON (fromNetConfig at its resolution, else 224); names a value that is neither form', () => {
    const pixel = readLatencyTable(join(SHARED, 'proxylessnas_mobile_trim.yaml'));
    const config = readJson('proxylessnas_proxyless_mobile.config') as Parameters<typeof predictLatency>[1];
    expect(predictLatency(pixel, config, { missing: 'nearest' })).toEqual(
      predictLatency(pixel, fromNetConfig(config), { missing: 'nearest' }),
    );
    expect(() => predictLatency(pixel, config)).toThrow(MissingLatencyError);
    for (const bad of [{ foo: 1 }, null, 'net.config']) {
      expect(() => predictLatency(pixel, bad as never), JSON.stringify(bad)).toThrow(ArchError);
      expect(() => predictLatency(pixel, bad as never)).toThrow(
        /^expected an architecture: a ProxylessArch \{inputSize, stem, blocks, featureMix, classes\} or a ProxylessNAS net\.config, got /,
      );
    }
  });
});

describe('supernet latency matrix', () => {
  it('builds the candidate matrix of the ProxylessNAS space from the Pixel 1 table', () => {
    const pixel = readLatencyTable(join(SHARED, 'proxylessnas_mobile_trim.yaml'));
    const space = proxylessSpace();
    const lm = supernetLatencies(pixel, space);
    expect(lm.perPosition).toHaveLength(space.positions.length);
    expect(lm.fixedMs).toBeCloseTo(4.083755600814664 + 3.088623217922607 + 0.3096415478615071, 12);
    // Any one-hot choice equals the table sum of that architecture.
    const rng = new Rng(5);
    const choice = randomChoices(space, rng);
    expect(lm.missing).toEqual([]);
    const sum = choice.reduce((s, j, b) => s + lm.perPosition[b][j], lm.fixedMs);
    expect(sum).toBeCloseTo(predictLatency(pixel, archFromChoices(space, choice)).totalMs, 9);
  });

  it('keys the table lacks are listed once each and priced NaN, not thrown', () => {
    // The tiny table prices none of the ProxylessNAS space's 224×224 keys.
    const space = proxylessSpace();
    const lm = supernetLatencies(tinyTable, space);
    expect(new Set(lm.missing).size).toBe(lm.missing.length);
    expect(lm.missing.length).toBeGreaterThan(10);
    expect(Number.isNaN(lm.fixedMs)).toBe(true);
    expect(lm.perPosition.flat().filter((v) => Number.isNaN(v)).length).toBeGreaterThan(0);
    expect(findLatency(tinyTable, lm.missing[0])).toBeNull();
    expect(findLatency(tinyTable, tinyKeys[0])).toEqual({ ms: 1.5 });
  });
});

function countSearchable(layout: typeof CIFAR_LAYOUT): number {
  for (let n = 1; n < 64; n++) {
    try {
      toNetConfig(layout, Array(n).fill(0));
      return n;
    } catch {
      // wrong count: try the next
    }
  }
  throw new Error('no searchable count');
}
